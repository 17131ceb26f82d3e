// In-order stream spans gathered for a host queue: spans that lie inside one C2HData PDU's data go
// to the queue together (Queue::receive_data_run: one cursor, one claim question per packet, one
// "filled" to the device), any other span at once (Queue::receive). What a transport does with the
// spans of a burst's segments; the order of the bytes the queue sees is the order they were added.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nvmetcp/host/queue.hpp"

namespace nvmeddp::nvmetcp::host {

class RxSpanBatch {
public:
    // Spans in one run at most: a 64 KiB LRO frame of 1448-byte segments has 46.
    static constexpr size_t kMaxSpans = 48;

    explicit RxSpanBatch(Queue& queue) noexcept : queue_(queue) {}
    RxSpanBatch(const RxSpanBatch&) = delete;
    RxSpanBatch& operator=(const RxSpanBatch&) = delete;

    // The next span: `bytes`, of `piece`. True when the queue took bytes meanwhile (the caller may
    // then find it failed).
    bool add(std::span<const uint8_t> bytes, const RxPiece& piece) {
        const uint32_t len = static_cast<uint32_t>(bytes.size());
        if (len == 0) return false;
        bool took = false;
        if (n_ > 0 && (n_ == kMaxSpans || len > room_)) took = flush();
        if (n_ == 0) room_ = queue_.c2h_data_left();
        // Written into the next slot before it is known whether it stays there, and handed from
        // there to receive() when it does not: the caller's span and piece can then live in registers.
        // Built on the stack and copied in whole, the span was read back in wider loads than its
        // parts were stored with, which the CPU cannot forward from the stores: a stall per span.
        RxSpan& slot = run_[n_];
        slot.bytes = bytes;
        slot.piece = piece;
        if (len <= room_) {
            ++n_;
            room_ -= len;
            return took;
        }
        queue_.receive(slot.bytes, slot.piece);
        return true;
    }
    bool add(const RxSpan& span) { return add(span.bytes, span.piece); }

    // Hands over what is gathered; true when there was something. Before the caller lets go of the
    // spans' bytes, and before anything else reaches the queue.
    bool flush() {
        if (n_ == 0) return false;
        queue_.receive_data_run({run_, n_});
        n_ = 0;
        return true;
    }

private:
    Queue& queue_;
    // Left uninitialised (a variant member of an anonymous union is not initialised): a slot is
    // written before it is read, and zeroing the array cost a 1.9 KiB memset per batch, i.e. per burst.
    union {
        RxSpan run_[kMaxSpans];
    };
    size_t n_ = 0;
    uint32_t room_ = 0;  // C2HData data bytes the queue takes next, less those already gathered
};

}  // namespace nvmeddp::nvmetcp::host
