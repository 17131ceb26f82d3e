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
    void reset(std::span<const IoVec> iovs) noexcept {
        iovs_ = iovs;
        index_ = 0;
        within_ = 0;
        offset_ = 0;
        skip_empty();
    }

    // Positions the cursor at byte `offset` of the list (at the end if the list is shorter).
    void seek(uint32_t offset) noexcept {
        if (offset < offset_) reset(iovs_);
        advance(offset - offset_);
    }

    // The contiguous bytes at the position, at most `max` of them (empty at the end of the list).
    std::span<uint8_t> contiguous(uint32_t max) const noexcept {
        if (index_ >= iovs_.size()) return {};
        const IoVec& v = iovs_[index_];
        const uint32_t n = v.len - within_ < max ? v.len - within_ : max;
        return {v.base + within_, n};
    }

    void advance(uint32_t n) noexcept {
        while (n > 0 && index_ < iovs_.size()) {
            const uint32_t room = iovs_[index_].len - within_;
            const uint32_t step = n < room ? n : room;
            within_ += step;
            offset_ += step;
            n -= step;
            skip_empty();
        }
    }

    uint32_t offset() const noexcept { return offset_; }

private:
    void skip_empty() noexcept {
        while (index_ < iovs_.size() && within_ == iovs_[index_].len) {
            ++index_;
            within_ = 0;
        }
    }

    std::span<const IoVec> iovs_;
    size_t index_ = 0;
    uint32_t within_ = 0;  // offset inside iovs_[index_]
    uint32_t offset_ = 0;  // offset from the start of the list
};

}  // namespace nvmeddp::nvmetcp::host
