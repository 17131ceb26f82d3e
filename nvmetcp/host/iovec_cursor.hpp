// A position inside a command's buffer list (IoVecs) by byte offset, for the receive copy and the
// H2CData sender. Moving forward is O(1) per segment; seeking backwards or jumping restarts from the
// first segment, which in-order NVMe/TCP data never needs.
#pragma once

#include <cstdint>
#include <span>

#include "nvmetcp/host/queue_types.hpp"

namespace nvmeddp::nvmetcp::host {

class IoVecCursor {
public:
    // Where a cursor stands, without the list: what a command slot keeps between C2HData PDUs (the
    // list is the slot's own; keeping it twice would cost 16 bytes a command).
    struct Position {
        uint32_t index = 0;   // of the IoVec
        uint32_t within = 0;  // offset inside it
        uint32_t offset = 0;  // offset from the start of the list
    };

    IoVecCursor() = default;
    // A cursor on `iovs` where position() of a cursor on the same list said it was (Position{}:
    // the start).
    IoVecCursor(std::span<const IoVec> iovs, Position at) noexcept : iovs_(iovs), at_(at) { skip_empty(); }

    void reset(std::span<const IoVec> iovs) noexcept {
        iovs_ = iovs;
        at_ = Position{};
        skip_empty();
    }

    // Positions the cursor at byte `offset` of the list (at the end if the list is shorter).
    void seek(uint32_t offset) noexcept {
        if (offset < at_.offset) reset(iovs_);
        advance(offset - at_.offset);
    }

    // The contiguous bytes at the position, at most `max` of them (empty at the end of the list).
    std::span<uint8_t> contiguous(uint32_t max) const noexcept {
        if (at_.index >= iovs_.size()) return {};
        const uint32_t left = room();
        return {static_cast<uint8_t*>(iovs_[at_.index].addr) + at_.within, left < max ? left : max};
    }

    void advance(uint32_t n) noexcept {
        while (n > 0 && at_.index < iovs_.size()) {
            const uint32_t left = room();
            const uint32_t step = n < left ? n : left;
            at_.within += step;
            at_.offset += step;
            n -= step;
            skip_empty();
        }
    }

    uint32_t offset() const noexcept { return at_.offset; }
    Position position() const noexcept { return at_; }

private:
    // Bytes left in the entry at the position. An entry may be longer than 4 GiB, a command's
    // offsets never are: counted up to UINT32_MAX, so a step is never 0 while bytes are left.
    uint32_t room() const noexcept {
        const uint64_t left = iovs_[at_.index].len - at_.within;
        return left < UINT32_MAX ? static_cast<uint32_t>(left) : UINT32_MAX;
    }
    void skip_empty() noexcept {
        while (at_.index < iovs_.size() && at_.within == iovs_[at_.index].len) {
            ++at_.index;
            at_.within = 0;
        }
    }

    std::span<const IoVec> iovs_;
    Position at_;
};

}  // namespace nvmeddp::nvmetcp::host
