// Room for the cut copies of a queue's buffer lists (those whose read ends inside an entry): a fixed
// run of segment slots cut in blocks of kBlockSegments, handed out as runs of adjacent blocks (the
// device wants one array per registration) and given back when the registration ends.
//
// Why not depth x max_segments slots, as once: a list whose read ends where an entry does is
// registered as it stands, and the C API cuts every list to its transfer, so a copy is the
// exception; a 32-entry list per command cost 64 KiB a queue at depth 128 for lists almost never
// used. Linux's host keeps two inline scatterlist entries per request and allocates longer ones from
// a pool; this has no allocation after construction, so a list that finds no room is not registered
// (the host copies its data, as without the offload) and the caller counts it.
//
// At most 64 blocks, tracked in one word: a bit set is a free block.
#pragma once

#include <bit>
#include <cstdint>

namespace nvmeddp::nvmetcp::host {

class SegmentBlocks {
public:
    static constexpr uint32_t kBlockSegments = 8;
    static constexpr uint32_t kMaxBlocks = 64;
    static constexpr uint8_t kNone = 0xFF;

    // Room for `segments` slots, rounded down to whole blocks, at most kMaxBlocks of them.
    explicit SegmentBlocks(uint32_t segments) noexcept
        : blocks_(segments / kBlockSegments < kMaxBlocks ? segments / kBlockSegments : kMaxBlocks),
          free_(all()) {}

    uint32_t blocks() const noexcept { return blocks_; }
    uint32_t slots() const noexcept { return blocks_ * kBlockSegments; }
    static uint32_t blocks_for(uint32_t segments) noexcept { return (segments + kBlockSegments - 1) / kBlockSegments; }

    // The first of `count` adjacent free blocks, now taken (the lowest such run), or kNone.
    uint8_t take(uint32_t count) noexcept {
        if (count == 0 || count > blocks_) return kNone;
        // Bit j of `starts` survives only if blocks j .. j+count-1 are all free (bits above blocks_
        // are never set, so a run cannot reach past the end).
        uint64_t starts = free_;
        for (uint32_t i = 1; i < count && starts != 0; ++i) starts &= free_ >> i;
        if (starts == 0) return kNone;
        const auto first = static_cast<uint8_t>(std::countr_zero(starts));
        free_ &= ~(run(count) << first);
        return first;
    }

    void give_back(uint8_t first, uint32_t count) noexcept {
        if (first == kNone || count == 0) return;
        free_ |= run(count) << first;
    }

    void reset() noexcept { free_ = all(); }
    uint32_t free_blocks() const noexcept { return static_cast<uint32_t>(std::popcount(free_)); }

private:
    static uint64_t run(uint32_t count) noexcept { return count >= 64 ? ~uint64_t{0} : (uint64_t{1} << count) - 1; }
    uint64_t all() const noexcept { return run(blocks_); }

    uint32_t blocks_;
    uint64_t free_;
};

}  // namespace nvmeddp::nvmetcp::host
