// The C2HData data step: the bytes of a C2HData PDU the parser hands up go into the command's
// buffers at datao + their offset in the PDU.
//
// Kept apart from the rest of the receive path because this is where the receive offload plugs in:
// bytes the device already placed in the buffer are skipped instead of copied (counted in
// QueueStats::bytes_placed), which it decides from the packet metadata in the RxPiece.
#pragma once

#include <cstdint>
#include <span>

#include "nvmetcp/host/command_table.hpp"
#include "nvmetcp/host/ddp_receive.hpp"
#include "nvmetcp/host/queue_types.hpp"

namespace nvmeddp::nvmetcp::host {

// Consecutive data bytes of one C2HData PDU, in stream order, packet by packet, into `slot`'s
// buffers from buffer_offset on. The queue has already checked (TransferValidator) that the PDU lies
// inside the command's transfer. One cursor walks the buffers for the whole run, and the device
// hears once, at finish(), that the buffer is final up to where the run ended.
class C2HDataWriter {
public:
    // offload: the queue's receive offload, or null (every byte copied).
    C2HDataWriter(CommandSlot& slot, uint16_t cid, uint32_t buffer_offset, QueueStats& stats,
                  DdpReceive* offload) noexcept;

    // The next bytes: `spans`, all of one packet (what piece.meta says of the first says of them
    // all), together `len` bytes from stream_offset on. Claimed runs are skipped, the rest copied.
    // A packet claimed whole, the usual case with the offload on, is counted here inline: the queue's
    // run calls this for every packet.
    void put(std::span<const RxSpan> spans, uint32_t len, uint64_t stream_offset) noexcept {
        if (offload_ != nullptr && !short_ &&
            offload_->claims_whole(spans[0].piece, stream_offset, cid_, uint64_t{begin_} + done_, len)) {
            given_ += len;
            skip_claimed(len);
            return;
        }
        put_runs(spans, len, stream_offset);
    }
    // put() of one span.
    void put(const uint8_t* data, uint32_t len, uint64_t stream_offset, const RxPiece& piece) noexcept {
        const RxSpan one{{data, len}, piece};
        put({&one, 1}, len, stream_offset);
    }
    // The run is over: the slot's position and counts, and the device told the buffer is final
    // below the run's end (it may not write there any more: a later copy of these sequence numbers
    // it might follow must not overwrite what the host kept). Before any completion.
    void finish() noexcept;

private:
    // put() run by run, as next_run() answers.
    void put_runs(std::span<const RxSpan> spans, uint32_t len, uint64_t stream_offset) noexcept;
    // n claimed bytes: in the buffer already, the cursor steps over them before the next copy or at
    // finish().
    void skip_claimed(uint32_t n) noexcept {
        unskipped_ += n;
        placed_ += n;
        done_ += n;
    }
    // Copies n bytes of `spans` from byte `at` of them into the buffer; false when the buffer list
    // ended first (cannot happen: submit checked the buffers cover data_len).
    bool copy(std::span<const RxSpan> spans, uint32_t at, uint32_t n) noexcept;
    // The cursor steps over the claimed bytes put since it last moved.
    void step_over_claimed() noexcept {
        cursor_.advance(unskipped_);
        unskipped_ = 0;
    }

    CommandSlot& slot_;
    IoVecCursor cursor_;
    uint16_t cid_;
    uint32_t begin_;          // buffer offset of the run's first byte
    uint32_t done_ = 0;       // bytes in the buffer (placed or copied) from begin_ on
    uint32_t given_ = 0;      // bytes put
    uint32_t placed_ = 0;
    uint32_t unskipped_ = 0;  // claimed bytes after the cursor's position: stepped over in one go
    uint32_t copied_ = 0;
    bool short_ = false;      // the buffer list ended: nothing more is written
    QueueStats& stats_;
    DdpReceive* offload_;
};

}  // namespace nvmeddp::nvmetcp::host
