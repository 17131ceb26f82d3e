#include "nvmetcp/host/c2h_receive.hpp"

#include <cstring>

#include "nvmetcp/host/ddp_receive.hpp"

namespace nvmeddp::nvmetcp::host {

void receive_c2h_data(CommandSlot& slot, const C2HDataRun& run, const RxPiece& piece, QueueStats& stats,
                      DdpReceive* offload) noexcept {
    IoVecCursor cursor(slot.data, slot.rx_at);
    cursor.seek(run.buffer_offset);
    uint32_t done = 0;
    while (done < run.len) {
        // Without the offload every byte is copied; with it, the runs its claims name exactly are in
        // the buffer already and are skipped.
        DdpReceive::Run part{run.len - done, false};
        if (offload != nullptr)
            part = offload->next_run(piece, run.stream_offset + done, run.cid, uint64_t{run.buffer_offset} + done,
                                     run.len - done);
        if (part.len == 0) part = {run.len - done, false};  // never spin on an answer of no bytes: copy
        if (part.claimed) {
            cursor.advance(part.len);
            stats.bytes_placed += part.len;
            done += part.len;
            continue;
        }
        uint32_t left = part.len;
        while (left > 0) {
            const auto into = cursor.contiguous(left);
            if (into.empty()) break;  // cannot happen: submit checked the buffers cover data_len
            std::memcpy(into.data(), run.data + done, into.size());
            cursor.advance(static_cast<uint32_t>(into.size()));
            done += static_cast<uint32_t>(into.size());
            left -= static_cast<uint32_t>(into.size());
            stats.bytes_copied += into.size();
        }
        if (left > 0) break;
    }
    slot.rx_at = cursor.position();
    slot.bytes += done;
    stats.c2h_bytes += run.len;
    // The buffer is final below here: the device may not write there any more (a later copy of
    // these sequence numbers it might follow must not overwrite what the host kept).
    if (offload != nullptr) offload->filled(run.cid, uint64_t{run.buffer_offset} + done);
}

}  // namespace nvmeddp::nvmetcp::host
