// Where the next placed byte of a C2HData PDU goes in its registration's buffer list.
//
// seek() positions the cursor at a byte offset of the registration (datao) by walking the segments;
// copy() then writes consecutive bytes, crossing segment boundaries as needed. The cursor never moves
// past the end of the list: the engine checked datao + datal against the registration's total length
// (the sum of the segment lengths, checked at setup) before seeking, and copy() stops at the end
// regardless, so a wrong length can never write outside the registered buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "ddp/buffer_list.hpp"
#include "nvmetcp/crc32c_copy.hpp"

namespace nvmeddp::pmd {

class SglCursor {
public:
    // false when offset is at or past the end of the list.
    bool seek(std::span<const ddp::BufferSegment> segments, uint64_t offset) noexcept {
        segments_ = segments;
        for (index_ = 0; index_ < segments.size(); ++index_) {
            if (offset < segments[index_].len) {
                within_ = offset;
                return true;
            }
            offset -= segments[index_].len;
        }
        within_ = 0;
        return false;
    }

    // Copies up to n bytes; returns how many were copied (n unless the list ended). Always inline:
    // the placement step it is in is inlined at several places, and GCC then made it a call.
    [[gnu::always_inline]] size_t copy(const uint8_t* src, size_t n) noexcept {
        // The usual case, a packet's bytes inside the current segment (or up to its end, where a
        // PDU's data often ends: a 4 KiB read's last bytes), without copy_with()'s loop (which the
        // compiler keeps out of line). Two tests rather than one `n <= room` with the cursor moved
        // after the copy: that form cost the in-segment copy 7 more instructions (callgrind, 64 KiB PDUs).
        if (index_ < segments_.size()) {
            const ddp::BufferSegment& seg = segments_[index_];
            const uint64_t room = seg.len - within_;
            if (n < room) {
                std::memcpy(static_cast<uint8_t*>(seg.addr) + within_, src, n);
                within_ += n;
                return n;
            }
            if (n == room) {
                std::memcpy(static_cast<uint8_t*>(seg.addr) + within_, src, n);
                ++index_;
                within_ = 0;
                return n;
            }
        }
        return copy_with([](uint8_t* d, const uint8_t* s, size_t k) { std::memcpy(d, s, k); }, src, n);
    }
    // Moves over n bytes without writing them (data this device did not receive in order).
    void skip(uint64_t n) noexcept {
        while (n > 0 && index_ < segments_.size()) {
            const uint64_t room = segments_[index_].len - within_;
            if (n < room) {
                within_ += n;
                return;
            }
            n -= room;
            ++index_;
            within_ = 0;
        }
    }
    // The same, extending a raw CRC32C state over the copied bytes in the same pass.
    size_t copy_and_crc(const uint8_t* src, size_t n, uint32_t& crc_state) noexcept {
        return copy_with([&](uint8_t* d, const uint8_t* s, size_t k) { crc_state = nvmetcp::crc32c_copy_extend(crc_state, d, s, k); },
                         src, n);
    }

    // Whether the next n bytes of the list equal src's, moving over them; false when they differ or
    // the list ends first. Reads only (bytes the engine placed before, compared with another copy).
    bool equals(const uint8_t* src, size_t n) noexcept {
        bool same = true;
        const size_t seen = copy_with([&](uint8_t* d, const uint8_t* s, size_t k) { same = same && std::memcmp(d, s, k) == 0; },
                                      src, n);
        return same && seen == n;
    }

private:
    template <typename Copy>
    size_t copy_with(Copy&& copy_fn, const uint8_t* src, size_t n) noexcept {
        size_t done = 0;
        while (done < n && index_ < segments_.size()) {
            const ddp::BufferSegment& seg = segments_[index_];
            const size_t room = static_cast<size_t>(seg.len - within_);
            const size_t take = n - done < room ? n - done : room;
            copy_fn(static_cast<uint8_t*>(seg.addr) + within_, src + done, take);
            done += take;
            within_ += take;
            if (within_ == seg.len) {
                ++index_;
                within_ = 0;
            }
        }
        return done;
    }

    std::span<const ddp::BufferSegment> segments_{};
    size_t index_ = 0;
    uint64_t within_ = 0;
};

}  // namespace nvmeddp::pmd
