// Editing a burst of mbufs in its own array, in place: taking frames out (dropped, held back) and
// putting frames in (the frames kept, duplicates right after their original, held frames released)
// in order, without a second array.
//
// The array holds `n` frames and has room for `capacity`. Frames are read front to back; what is
// put is written behind the read position, so a frame taken out leaves a gap that a later put fills.
// A put with no gap left moves the unread frames up by one, if the array has room (an rx burst may
// return up to the caller's nb_pkts); otherwise the put is refused. A tx burst has capacity == n:
// the array is the caller's and may only shrink.
#pragma once

#include <cstdint>
#include <cstring>

struct rte_mbuf;

namespace nvmeddp::pmd {

class BurstEditor {
public:
    BurstEditor(rte_mbuf** pkts, uint16_t n, uint16_t capacity) noexcept
        : pkts_(pkts), unread_end_(n), capacity_(capacity) {}

    // The next unread frame, or null when all were read.
    rte_mbuf* next() noexcept { return read_ < unread_end_ ? pkts_[read_++] : nullptr; }

    // Appends m to the output; false (m not put) when neither a gap nor room is left.
    bool put(rte_mbuf* m) noexcept {
        if (written_ < read_) {
            pkts_[written_++] = m;
            return true;
        }
        if (unread_end_ == capacity_) return false;
        std::memmove(pkts_ + read_ + 1, pkts_ + read_, (unread_end_ - read_) * sizeof(rte_mbuf*));
        pkts_[written_++] = m;
        ++read_;
        ++unread_end_;
        return true;
    }

    // Frames put so far; once next() returned null, the burst's new length.
    uint16_t written() const noexcept { return written_; }

    // After the last put: the slots from written() to the original end hold frames that were taken
    // out (or moved); null them so that a caller looking past the count finds no stale pointer.
    void clear_tail(uint16_t original_n) noexcept {
        for (uint16_t i = written_; i < original_n; ++i) pkts_[i] = nullptr;
    }

private:
    rte_mbuf** pkts_;
    uint16_t read_ = 0;      // next unread frame
    uint16_t written_ = 0;   // next output slot; always <= read_
    uint16_t unread_end_;    // end of the unread frames
    uint16_t capacity_;
};

}  // namespace nvmeddp::pmd
