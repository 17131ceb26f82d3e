#include "workload.hpp"

#include <chrono>
#include <cstdio>

#include "nvmetcp/byte_pattern.hpp"
#include "nvmetcp/nvme_command.hpp"

namespace nvmeddp::host_app {
namespace {

uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

}  // namespace

uint64_t now_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

Workload::Workload(nvmetcp::host::Controller& controller, Pump pump, std::vector<uint16_t> queues)
    : controller_(controller), pump_(std::move(pump)), queues_(std::move(queues)) {}

uint64_t Workload::pick_lba(uint64_t index) const {
    // Aligned to the I/O size, spread over the region so consecutive I/Os do not share blocks.
    const uint64_t slots = region_blocks_ / io_blocks_;
    return region_base_ + (mix(index ^ (spec_.seed << 32)) % slots) * io_blocks_;
}

bool Workload::submit(Slot& slot, uint64_t index) {
    slot.slba = pick_lba(index);  // the read-back pass visits the blocks the write pass wrote
    slot.iov = {slot.buffer.data(), spec_.io_size};
    const uint32_t nlb = static_cast<uint32_t>(io_blocks_);
    nvmetcp::host::SubmitResult r;
    if (spec_.write && !reading_back_) {
        nvmetcp::fill_pattern(kWritePattern, slot.slba * block_, {slot.buffer.data(), spec_.io_size});
        r = controller_.write(slot.queue, slot.slba, nlb, {&slot.iov, 1}, &Workload::on_done, &slot);
    } else {
        // A byte the read does not write must not pass as right by chance.
        std::fill(slot.buffer.begin(), slot.buffer.begin() + spec_.io_size, uint8_t{0xEE});
        r = controller_.read(slot.queue, slot.slba, nlb, {&slot.iov, 1}, &Workload::on_done, &slot);
    }
    if (r != nvmetcp::host::SubmitResult::Ok) {
        if (result_.first_error.empty())
            result_.first_error = std::string("submit on queue ") + std::to_string(slot.queue) + ": " +
                                  nvmetcp::host::to_string(r);
        ++result_.ios_failed;
        return false;
    }
    slot.busy = true;
    return true;
}

void Workload::on_done(void* ctx, const nvmetcp::host::Completion& c) {
    Slot& slot = *static_cast<Slot*>(ctx);
    Workload& w = *slot.owner;
    slot.busy = false;
    ++w.completed_;
    const bool is_read = !w.spec_.write || w.reading_back_;
    if (w.log_ != nullptr) {
        // The status last: a failed command's bytes are those that arrived before it failed (a
        // PDU cut off by a timeout among them), which a capture's dissector does not count.
        std::fprintf(w.log_, "%u %u %u %llu %llu %llu 0x%04x\n", slot.queue + 1u, c.cid, is_read ? 2u : 1u,
                     static_cast<unsigned long long>(slot.slba), static_cast<unsigned long long>(w.io_blocks_),
                     static_cast<unsigned long long>(c.bytes), static_cast<unsigned>(c.status.value));
    }
    if (!c.status.ok()) {
        ++w.result_.ios_failed;
        if (c.status == nvmetcp::nvme::status::kTransientTransportError) ++w.result_.digest_failed;
        if (w.result_.first_error.empty()) {
            char buf[160];
            w.result_.first_error = std::string(is_read ? "read" : "write") + " at LBA " + std::to_string(slot.slba) +
                                    ": " + nvmetcp::nvme::describe(c.status, buf, sizeof buf) +
                                    (c.reason ? std::string(": ") + c.reason : std::string());
        }
        return;
    }
    ++w.result_.ios_ok;
    if (!is_read) return;
    w.result_.bytes += w.spec_.io_size;
    const uint32_t direction = w.spec_.write ? kWritePattern : nvmetcp::kNamespacePattern;
    const uint64_t address = slot.slba * w.block_;
    const size_t bad = nvmetcp::first_mismatch(direction, address, {slot.buffer.data(), w.spec_.io_size});
    if (bad != w.spec_.io_size) {
        ++w.result_.wrong_bytes;
        if (w.result_.first_error.empty()) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "read at LBA %llu: byte %zu is 0x%02x, the target holds 0x%02x there",
                          static_cast<unsigned long long>(slot.slba), bad, slot.buffer[bad],
                          nvmetcp::pattern_byte(direction, address + bad));
            w.result_.first_error = buf;
        }
    }
}

WorkloadResult Workload::run(const WorkloadSpec& spec) {
    spec_ = spec;
    result_ = {};
    block_ = controller_.block_size();
    io_blocks_ = spec.io_size / block_;
    if (io_blocks_ == 0 || spec.io_size % block_ != 0) {
        result_.first_error = "I/O size " + std::to_string(spec.io_size) + " is not a multiple of the block size " +
                              std::to_string(block_);
        result_.ios_failed = spec.ios;
        return result_;
    }
    // Reads use the first half of the namespace, writes the second: a write never changes what a
    // read of the pattern expects.
    const uint64_t half = controller_.namespace_blocks() / 2;
    region_base_ = spec.write ? half : 0;
    region_blocks_ = half;
    if (region_blocks_ < io_blocks_) {
        result_.first_error = "the namespace is too small for " + std::to_string(spec.io_size) + "-byte I/Os";
        result_.ios_failed = spec.ios;
        return result_;
    }
    std::vector<uint16_t> queues = queues_;
    if (queues.empty()) {
        for (uint16_t i = 0; i < controller_.io_queue_count(); ++i) queues.push_back(i);
    }
    slots_.resize(static_cast<size_t>(spec.depth) * queues.size());
    for (size_t i = 0; i < slots_.size(); ++i) {
        Slot& s = slots_[i];
        s.owner = this;
        s.queue = queues[i % queues.size()];
        if (s.buffer.size() < spec.io_size) s.buffer.resize(spec.io_size);
    }
    const auto start = std::chrono::steady_clock::now();
    const uint64_t deadline = now_ms() + spec.timeout_ms;
    for (int pass = 0; pass < (spec.write ? 2 : 1); ++pass) {
        reading_back_ = pass == 1;
        uint64_t next = 0;
        for (;;) {
            for (Slot& s : slots_) {
                if (!s.busy && next < spec.ios) submit(s, next++);
            }
            bool any_busy = false;
            for (const Slot& s : slots_) any_busy |= s.busy;
            if (!any_busy && next >= spec.ios) break;
            pump_();
            if (now_ms() > deadline) {
                result_.timed_out = true;
                if (result_.first_error.empty())
                    result_.first_error = "not done after " + std::to_string(spec.timeout_ms / 1000) + " s (" +
                                          std::to_string(completed_) + " I/Os completed, " +
                                          std::to_string(spec.ios) + " per pass)";
                break;
            }
        }
        if (result_.timed_out) break;
    }
    result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result_;
}

}  // namespace nvmeddp::host_app
