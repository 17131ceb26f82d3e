// What the host receive-path benchmarks share (bench_host_rx.cpp, bench_host_rx_tcp.cpp): prebuilt
// rounds of C2HData frames for reads of one size (Workload), the host queue with the offload engine's
// device and its DdpReceive (HostRig, over a QueueTransport the benchmark gives it), the TSC clock.
#pragma once

#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include <benchmark/benchmark.h>

#include "ddp/device.hpp"
#include "frame_seq.hpp"
#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/host/ddp_receive.hpp"
#include "nvmetcp/host/queue.hpp"
#include "nvmetcp/pdu_encoder.hpp"
#include "pmd/engine/sw_driver.hpp"
#include "testlib/flow_config.hpp"
#include "testlib/frame_gen.hpp"
#include "testlib/read_stream_gen.hpp"

namespace nvmeddp::bench::host_rx {

using bench::set_seq;
using bench::set_tcp_flags;


using nvmetcp::host::Completion;
using nvmetcp::host::DdpReceive;
using nvmetcp::host::IoRequest;
using nvmetcp::host::IoVec;
using nvmetcp::host::Queue;
using nvmetcp::host::QueueConfig;
using nvmetcp::host::QueueState;
using nvmetcp::host::RxPiece;

constexpr uint16_t kDepth = 128;
constexpr uint64_t kRoundData = 256 * 1024;
constexpr size_t kBurst = 32;
constexpr uint64_t kMiB = 1024 * 1024;

// TSC ticks per nanosecond, measured once against the steady clock.
inline double tsc_per_ns() {
    static const double ratio = [] {
        const auto t0 = std::chrono::steady_clock::now();
        const uint64_t c0 = __rdtsc();
        while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(50)) {
        }
        const uint64_t c1 = __rdtsc();
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
        return static_cast<double>(c1 - c0) / static_cast<double>(ns);
    }();
    return ratio;
}

// Frames and destination buffers together: two rounds (in cache) or twice the L3 (out of cache).
inline uint64_t working_set_bytes(bool out_of_cache, uint64_t round_bytes) {
    if (!out_of_cache) return 4 * round_bytes;
    const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    const uint64_t twice = l3 > 0 ? 2 * static_cast<uint64_t>(l3) : 0;
    return std::clamp<uint64_t>(twice, 64 * kMiB, 1024 * kMiB);
}

// One round: the frames of a few reads' C2HData and CapsuleResps, cut at the MSS.
struct Round {
    std::vector<testlib::GeneratedFrame> frames;
    uint32_t stream_len = 0;
    std::vector<uint16_t> cids;  // the reads' command ids, in submission order
    size_t first_read = 0;       // index of its first read in the working set
};

struct Workload {
    using Key = std::tuple<uint32_t, uint32_t, bool, bool, std::vector<uint16_t>>;
    Key key;
    uint32_t read_len = 0;
    std::vector<Round> rounds;
    std::vector<uint32_t> truth_crc;  // CRC32C of each read's data
    uint64_t frame_bytes = 0;
};

// The frame generator sets PSH on every frame. A controller's TCP sets it where a send ends: after
// each command's CapsuleResp, as Linux nvmet's last send of a command goes without MSG_MORE (and a
// TSO send's earlier segments never carry it). A port's LRO ends a merged frame at PSH.
inline void push_where_sends_end(std::vector<testlib::GeneratedFrame>& frames, const testlib::ReadStream& stream) {
    std::vector<uint64_t> ends;  // one past each command's last byte, ascending
    for (const auto& pdu : stream.pdus) {
        if (pdu.type == nvmetcp::PduType::CapsuleResp) ends.push_back(pdu.offset + pdu.plen);
    }
    ends.push_back(stream.bytes.size());
    size_t e = 0;
    for (auto& f : frames) {
        const uint64_t frame_end = f.truth.stream_offset + f.truth.length;
        while (e < ends.size() && ends[e] < f.truth.stream_offset + 1) ++e;
        const bool push = e < ends.size() && ends[e] <= frame_end;
        const uint8_t flags = f.bytes[f.truth.layout.l4_offset + 13];
        set_tcp_flags(f.bytes.data(), f.truth.layout,
                      push ? flags | testlib::kTcpPsh : static_cast<uint8_t>(flags & ~testlib::kTcpPsh));
    }
}

// The host hands out command ids from a LIFO free list: the reads of one round take the ids the last
// round returned, in reverse order. The rounds alternate between `cids` and its reverse; every
// round checks that the queue handed out exactly these (a changed allocator fails the benchmark).
inline std::unique_ptr<Workload> build_workload(const Workload::Key& key) {
    const auto& [read_len, mss, digest, out_of_cache, cids] = key;
    auto w = std::make_unique<Workload>();
    w->key = key;
    w->read_len = read_len;
    const auto per_round = static_cast<uint32_t>(cids.size());
    const uint64_t round_bytes = uint64_t{per_round} * read_len;
    // Frames and buffers take about half of the working set each.
    size_t rounds = static_cast<size_t>(std::max<uint64_t>(2, working_set_bytes(out_of_cache, round_bytes) / 2 / round_bytes));
    rounds += rounds % 2;
    std::vector<uint16_t> reversed(cids.rbegin(), cids.rend());
    w->rounds.reserve(rounds);
    // Two rounds are generated (one for each order of the ids); the others are copies of them, in
    // memory of their own: out of cache they are as cold as generated ones (the seq fields are
    // rewritten before each round anyway), and a 1 GiB working set is built in a second, not in
    // fifteen (bench.sh builds each one three times when the repetitions are interleaved). The data
    // repeats every two rounds, as the command ids do: a read placed into another round's buffer
    // shows in check_run() only on the first pass over the working set (the buffers start zeroed).
    for (size_t r = 0; r < rounds; ++r) {
        if (r >= 2) {
            const Round& same = w->rounds[r % 2];
            Round round = same;  // frames copied: fresh memory
            round.first_read = w->truth_crc.size();
            for (size_t i = 0; i < same.cids.size(); ++i) {
                const uint32_t crc = w->truth_crc[same.first_read + i];
                w->truth_crc.push_back(crc);
            }
            for (const auto& f : round.frames) w->frame_bytes += f.bytes.size();
            w->rounds.push_back(std::move(round));
            continue;
        }
        testlib::ReadStreamOptions ro;
        ro.commands = per_round;
        ro.min_len = ro.max_len = read_len;
        ro.data_digest = digest;
        ro.cids = r % 2 == 0 ? cids : reversed;
        ro.seed = r + 1;
        const testlib::ReadStream stream = testlib::generate_read_stream(ro);
        testlib::FrameGenOptions fo;
        fo.mss = mss;
        Round round;
        round.frames = testlib::generate_frames(stream.bytes, fo).frames;
        push_where_sends_end(round.frames, stream);
        round.stream_len = static_cast<uint32_t>(stream.bytes.size());
        round.cids = ro.cids;
        round.first_read = w->truth_crc.size();
        for (const auto& read : stream.reads) w->truth_crc.push_back(nvmetcp::crc32c(read.data));
        for (const auto& f : round.frames) w->frame_bytes += f.bytes.size();
        w->rounds.push_back(std::move(round));
    }
    return w;
}

// In-cache workloads (two rounds, a few MiB at most) are kept, every one, so that repetitions in
// random order do not build them again; an out-of-cache one (up to 1 GiB) is kept one at a time.
inline const Workload& workload_for(const Workload::Key& key) {
    static std::map<Workload::Key, std::unique_ptr<Workload>> in_cache;
    static std::unique_ptr<Workload> out_of_cache;
    if (!std::get<3>(key)) {
        std::unique_ptr<Workload>& kept = in_cache[key];
        if (!kept) kept = build_workload(key);
        return *kept;
    }
    if (!out_of_cache || out_of_cache->key != key) {
        out_of_cache.reset();  // before the next is built: two would not fit in memory
        out_of_cache = build_workload(key);
    }
    return *out_of_cache;
}

// The queue's transport: what it sends is kept only as far as bring-up needs it (the Connect's cid).
class SinkTransport final : public nvmetcp::host::QueueTransport {
public:
    size_t send_space() const override { return size_t{1} << 30; }
    size_t send(std::span<const uint8_t> bytes) override {
        const size_t keep = std::min(bytes.size(), kKeep - std::min(kKeep, head.size()));
        head.insert(head.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep));
        return bytes.size();
    }
    void close() override { closed = true; }
    static constexpr size_t kKeep = 4096;
    std::vector<uint8_t> head;
    bool closed = false;
};

// A host queue, the engine's device and (offload 1) the queue's DdpReceive on it. The queue sends
// into a SinkTransport of its own, or into `transport` (the TCP variant's connection).
class HostRig final : private nvmetcp::host::QueueObserver {
public:
    // tx_digests: the device writes the data digests of the PDUs the queue sends, from the sequence
    // number send_queue_end gives when the connection is added (the TCP variant's connection).
    HostRig(bool digest, bool offload, nvmetcp::host::QueueTransport* transport = nullptr, bool tx_digests = false)
        : offload_(offload), tx_digests_(tx_digests) {
        pmd::SoftwareDriverConfig dc;
        dc.log = [](const std::string&) {};
        dc.tx_digests = tx_digests;
        auto d = std::make_unique<pmd::SoftwareDriver>(dc);
        driver_ = d.get();
        device_ = std::make_unique<ddp::Device>(std::move(d));
        rx_ = std::make_unique<DdpReceive>(*device_, kDepth);
        QueueConfig c;
        c.qid = 1;
        c.depth = kDepth;
        c.data_digest = digest;
        c.subnqn = "nqn.2024-01.io.nvmeddp:bench";
        c.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001";
        c.cntlid = 1;
        queue_ = std::make_unique<Queue>(c, transport != nullptr ? transport : &transport_);
        queue_->set_observer(this);
        iovs_.reserve(kDepth);  // submit_read's pointers into it stay valid for a round
    }
    ~HostRig() override {
        queue_->set_offload(nullptr);
        rx_->remove();
        for (int i = 0; i < 1000 && device_->connection_count() != 0; ++i) driver_->queue(0).poll_idle();
    }

    // The controller's answers of bring-up: the ICResp, and the CapsuleResp of the Connect whose
    // capsule follows the 128-byte ICReq in what the queue sent (its SQE's cid at bytes 10-11).
    std::vector<uint8_t> icresp() const {
        std::vector<uint8_t> out(256);
        out.resize(nvmetcp::encode_pdu(out, nvmetcp::make_icresp(0, queue_->config().data_digest ? nvmetcp::ic_digest::kData : 0, 131072), {},
                                       nvmetcp::SendParams{}));
        return out;
    }
    static std::vector<uint8_t> connect_resp(const std::vector<uint8_t>& sent) {
        if (sent.size() < 128 + 72 || sent[128] != static_cast<uint8_t>(nvmetcp::PduType::CapsuleCmd)) return {};
        nvmetcp::NvmeCqe cqe{};
        cqe.cid.set(static_cast<uint16_t>(sent[128 + 10] | sent[128 + 11] << 8));
        std::vector<uint8_t> out(256);
        out.resize(nvmetcp::encode_pdu(out, nvmetcp::make_capsule_resp(cqe), {}, nvmetcp::SendParams{}));
        return out;
    }
    const char* ready_or_why() const {
        if (queue_->state() == QueueState::Ready) return nullptr;
        return queue_->failure() ? queue_->failure() : "the queue is not ready after Connect";
    }

    // Over the SinkTransport: ICReq out, ICResp in (the engine is not following yet), Connect out,
    // its CapsuleResp in through the engine. Returns an error sentence, or null.
    const char* bring_up() {
        queue_->on_transport_connected();
        const std::vector<uint8_t> ic = icresp();
        queue_->receive(ic, RxPiece{seq_, nullptr});
        seq_ += static_cast<uint32_t>(ic.size());
        if (offload_ && !rx_->active()) return "the offload could not be added to the device";
        const std::vector<uint8_t> resp = connect_resp(transport_.head);
        if (resp.empty()) return "no Connect capsule after the ICReq";
        testlib::TcpFields tcp;
        tcp.seq = seq_;
        testlib::BuiltFrame frame = testlib::build_frame(flow_, tcp, resp);
        deliver(frame.bytes, frame.layout.payload_offset, static_cast<uint32_t>(resp.size()));
        return ready_or_why();
    }

    // One frame through the engine (offload 1) and into the queue: for bring-up, untimed.
    void deliver(const std::vector<uint8_t>& frame, size_t payload_offset, uint32_t payload_len) {
        nvmeddp_pkt_meta meta{};
        if (offload_) {
            pmd::QueueEngine& q = driver_->queue(0);
            q.begin_burst();
            q.process(frame, frame.size(), {}, nullptr, pmd::L4Checksum::Unknown, meta);
            q.end_burst();
        }
        queue_->receive({frame.data() + payload_offset, payload_len}, RxPiece{seq_, offload_ ? &meta : nullptr});
        seq_ += payload_len;
    }

    // Submits a read into `buffer`, or a write from it (by R2T: nothing goes in capsule); the cid the
    // queue gave it, or -1.
    int submit_read(uint8_t* buffer, uint32_t len) { return submit(buffer, len, false); }
    int submit_write(const uint8_t* buffer, uint32_t len) { return submit(const_cast<uint8_t*>(buffer), len, true); }
    // A read's IoVec is the caller's until completion; one round's reads at most are outstanding.
    void new_round() { iovs_.clear(); }

    Queue& queue() { return *queue_; }
    const Queue& queue() const { return *queue_; }
    DdpReceive& rx() { return *rx_; }
    pmd::QueueEngine& engine() { return driver_->queue(0); }
    uint32_t& seq() { return seq_; }
    bool offload() const noexcept { return offload_; }
    const testlib::FlowSpec& flow() const noexcept { return flow_; }
    uint64_t completed = 0;
    uint64_t failed = 0;
    std::function<uint32_t()> send_queue_end;

private:
    int submit(uint8_t* buffer, uint32_t len, bool write) {
        if (iovs_.size() == kDepth) return -1;
        iovs_.push_back({buffer, len});
        IoRequest r;
        r.sqe = write ? nvmetcp::nvme::make_write(0, 1, 0, 1, len, false) : nvmetcp::nvme::make_read(0, 1, 0, 1, len);
        r.data = {&iovs_.back(), 1};
        r.data_len = len;
        r.to_controller = write;
        r.done = &HostRig::on_done;
        r.ctx = this;
        uint16_t cid = 0xFFFF;
        if (queue_->submit(r, &cid) != nvmetcp::host::SubmitResult::Ok) return -1;
        return cid;
    }
    void on_ic_done(Queue& queue, uint64_t next_stream_offset, const RxPiece& next) override {
        if (!offload_) return;
        ddp::ConnectionConfig config;
        config.tuple = testlib::host_tuple(flow_);
        config.queue_depth = kDepth;
        config.data_digest = queue.receive_params().data_digest;
        config.rcv_seq = next.seq;
        // The queue sends nothing between its ICReq and the ICResp: its next byte starts a PDU.
        config.tx_data_digest = tx_digests_ && config.data_digest && send_queue_end;
        if (config.tx_data_digest) {
            config.tx_pda = queue.send_params().pda;
            config.snd_seq = send_queue_end();
        }
        if (rx_->add(config, next_stream_offset) != ddp::Status::Ok) return;
        driver_->queue(0).poll_idle();  // the engine applies the new connection
        queue.set_offload(rx_.get());
        if (config.tx_data_digest) queue.leave_data_digests_to_device(device_->limits().tx_digests_in_flight);
    }
    static void on_done(void* ctx, const Completion& c) {
        auto* rig = static_cast<HostRig*>(ctx);
        ++(c.status.ok() ? rig->completed : rig->failed);
    }

    bool offload_;
    bool tx_digests_;
    testlib::FlowSpec flow_ = testlib::ipv4_flow();
    pmd::SoftwareDriver* driver_ = nullptr;
    std::unique_ptr<ddp::Device> device_;
    std::unique_ptr<DdpReceive> rx_;
    SinkTransport transport_;
    std::unique_ptr<Queue> queue_;
    std::vector<IoVec> iovs_;
    uint32_t seq_ = 0x7FFF0000u;
};

// The command ids a fresh queue hands out for one round of `per_round` reads, in order: the
// workload's frames are built with them. A probe rig submits the reads and is closed with them
// outstanding (they are never answered); a fresh rig hands out the same ids. Empty, with *why set,
// when the probe cannot bring its queue up or submit.
inline std::vector<uint16_t> first_round_cids(bool digest, bool offload, uint32_t read_len, uint32_t per_round,
                                              const char** why) {
    std::vector<uint16_t> cids;
    HostRig probe(digest, offload);
    if ((*why = probe.bring_up()) != nullptr) return {};
    std::vector<uint8_t> buffer(read_len);
    probe.new_round();
    for (uint32_t i = 0; i < per_round; ++i) {
        const int cid = probe.submit_read(buffer.data(), read_len);
        if (cid < 0) {
            *why = "submit failed";
            return {};
        }
        cids.push_back(static_cast<uint16_t>(cid));
    }
    probe.queue().close("probe done");
    return cids;
}

// After a run: empty when every read completed with success, every data byte reached its buffer
// (copied or placed) and each buffer that was used holds its read's data; else what failed.
inline const char* check_run(const HostRig& rig, const Workload& w, const std::vector<uint8_t>& buffers, uint64_t reads) {
    const auto& qs = rig.queue().stats();
    if (rig.failed != 0 || rig.completed != reads) return "a read did not complete with success";
    if (qs.bytes_copied + qs.bytes_placed != reads * w.read_len) return "data bytes neither copied nor placed";
    const size_t used = std::min<uint64_t>(w.truth_crc.size(), reads);
    for (size_t i = 0; i < used; ++i) {
        if (nvmetcp::crc32c(buffers.data() + i * w.read_len, w.read_len) != w.truth_crc[i]) return "a read's buffer differs from its data";
    }
    return nullptr;
}

// The counters both host benchmarks report (bench_host_rx.cpp's header comment says what each is).
inline void set_counters(benchmark::State& state, const HostRig& rig, uint64_t read_len, uint64_t reads, uint64_t host_ticks,
                         uint64_t engine_ticks) {
    const auto& qs = rig.queue().stats();
    const double ticks_per_ns = tsc_per_ns();
    const double bytes = static_cast<double>(reads * read_len);
    state.SetBytesProcessed(static_cast<int64_t>(reads * read_len));
    state.counters["host_cyc_per_B"] = static_cast<double>(host_ticks) / bytes;
    state.counters["engine_cyc_per_B"] = static_cast<double>(engine_ticks) / bytes;
    state.counters["host_ns_per_read"] = static_cast<double>(host_ticks) / ticks_per_ns / static_cast<double>(reads);
    state.counters["engine_ns_per_read"] = static_cast<double>(engine_ticks) / ticks_per_ns / static_cast<double>(reads);
    state.counters["copied_pct"] = 100.0 * static_cast<double>(qs.bytes_copied) / bytes;
    const uint64_t digests = qs.digests_computed + qs.digests_offloaded;
    state.counters["host_digest_pct"] = digests ? 100.0 * static_cast<double>(qs.digests_computed) / static_cast<double>(digests) : 0.0;
}

}  // namespace nvmeddp::bench::host_rx
