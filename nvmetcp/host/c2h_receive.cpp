#include "nvmetcp/host/c2h_receive.hpp"

#include <cstring>

namespace nvmeddp::nvmetcp::host {

void receive_c2h_data(CommandSlot& slot, const C2HDataRun& run, const RxPiece& piece, QueueStats& stats) noexcept {
    (void)piece;  // the offload decides placement from it; without the offload every byte is copied
    slot.rx_cursor.seek(run.buffer_offset);
    const uint8_t* from = run.data;
    uint32_t left = run.len;
    while (left > 0) {
        const auto into = slot.rx_cursor.contiguous(left);
        if (into.empty()) break;  // cannot happen: submit checked the buffers cover data_len
        std::memcpy(into.data(), from, into.size());
        slot.rx_cursor.advance(static_cast<uint32_t>(into.size()));
        from += into.size();
        left -= static_cast<uint32_t>(into.size());
    }
    const uint32_t delivered = run.len - left;
    slot.bytes += delivered;
    stats.bytes_copied += delivered;
    stats.c2h_bytes += run.len;
}

}  // namespace nvmeddp::nvmetcp::host
