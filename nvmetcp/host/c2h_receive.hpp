// The C2HData data step: the bytes of a C2HData PDU the parser hands up go into the command's
// buffers at datao + their offset in the PDU.
//
// Kept apart from the rest of the receive path because this is where the receive offload plugs in:
// bytes the device already placed in the buffer are skipped instead of copied (counted in
// QueueStats::bytes_placed), which it decides from the packet metadata in the RxPiece.
#pragma once

#include <cstdint>

#include "nvmetcp/host/command_table.hpp"
#include "nvmetcp/host/queue_types.hpp"

namespace nvmeddp::nvmetcp::host {

class DdpReceive;

// One run of C2HData data, as one Data event of the parser.
struct C2HDataRun {
    uint16_t cid = 0;
    const uint8_t* data = nullptr;
    uint32_t len = 0;
    uint32_t buffer_offset = 0;  // datao + offset of data[0] within the PDU's data
    uint64_t stream_offset = 0;  // of data[0] on this connection
};

// Delivers the run into `slot`'s buffers. The queue has already checked (TransferValidator) that the
// PDU lies inside the command's transfer. piece.seq is the TCP sequence number of run.data[0] and
// piece.meta the metadata of the packet that carried it. offload: the queue's receive offload, or
// null (every byte copied).
void receive_c2h_data(CommandSlot& slot, const C2HDataRun& run, const RxPiece& piece, QueueStats& stats,
                      DdpReceive* offload) noexcept;

}  // namespace nvmeddp::nvmetcp::host
