#include "nvmetcp/host/c2h_receive.hpp"

#include <algorithm>
#include <cstring>

#include "nvmetcp/host/ddp_receive.hpp"

namespace nvmeddp::nvmetcp::host {

C2HDataWriter::C2HDataWriter(CommandSlot& slot, uint16_t cid, uint32_t buffer_offset, QueueStats& stats,
                             DdpReceive* offload) noexcept
    : slot_(slot), cursor_(slot.data, slot.rx_at), cid_(cid), begin_(buffer_offset), stats_(stats), offload_(offload) {
    cursor_.seek(buffer_offset);
}

void C2HDataWriter::put_runs(std::span<const RxSpan> spans, uint32_t len, uint64_t stream_offset) noexcept {
    given_ += len;
    uint32_t at = 0;
    while (at < len && !short_) {
        // Without the offload every byte is copied; with it, the runs its claims name exactly are in
        // the buffer already and are skipped. A claim speaks of the packet, so one question covers
        // all of the packet's spans.
        DdpReceive::Run part{len - at, false};
        if (offload_ != nullptr)
            part = offload_->next_run(spans[0].piece, stream_offset + at, cid_, uint64_t{begin_} + done_, len - at);
        if (part.len == 0) part = {len - at, false};  // never spin on an answer of no bytes: copy
        if (part.claimed) {
            skip_claimed(part.len);
        } else if (!copy(spans, at, part.len)) {
            short_ = true;
        }
        at += part.len;
    }
}

bool C2HDataWriter::copy(std::span<const RxSpan> spans, uint32_t at, uint32_t n) noexcept {
    step_over_claimed();
    size_t i = 0;
    while (at >= spans[i].bytes.size()) at -= static_cast<uint32_t>(spans[i++].bytes.size());
    while (n > 0) {
        const std::span<const uint8_t> from = spans[i].bytes;
        if (at == from.size()) {  // this span is done (or empty): the next one
            ++i;
            at = 0;
            continue;
        }
        const auto into = cursor_.contiguous(std::min(n, static_cast<uint32_t>(from.size()) - at));
        if (into.empty()) return false;
        std::memcpy(into.data(), from.data() + at, into.size());
        cursor_.advance(static_cast<uint32_t>(into.size()));
        done_ += static_cast<uint32_t>(into.size());
        copied_ += static_cast<uint32_t>(into.size());
        n -= static_cast<uint32_t>(into.size());
        at += static_cast<uint32_t>(into.size());
    }
    return true;
}

void C2HDataWriter::finish() noexcept {
    step_over_claimed();
    slot_.rx_at = cursor_.position();
    slot_.bytes += done_;
    stats_.c2h_bytes += given_;
    stats_.bytes_placed += placed_;
    stats_.bytes_copied += copied_;
    if (offload_ != nullptr) offload_->filled(cid_, uint64_t{begin_} + done_);
}

}  // namespace nvmeddp::nvmetcp::host
