#include "tcp/sack_scoreboard.hpp"

#include <algorithm>

namespace nvmeddp::tcp {

namespace {

Seq later_of(Seq a, Seq b) noexcept { return a > b ? a : b; }
Seq earlier_of(Seq a, Seq b) noexcept { return a < b ? a : b; }

// RFC 6675's (DupThresh - 1) * SMSS: more SACKed bytes than this above a hole make it lost.
uint64_t lost_bytes_threshold(uint32_t smss) noexcept {
    return uint64_t{SackScoreboard::kDupThresh - 1} * std::max<uint32_t>(smss, 1);
}

}  // namespace

SackScoreboard::SackScoreboard(uint32_t capacity)
    : ranges_(std::make_unique<Range[]>(capacity)), capacity_(capacity) {}

void SackScoreboard::reset(Seq snd_una) noexcept {
    count_ = 0;
    sacked_bytes_ = 0;
    una_ = snd_una;
}

uint32_t SackScoreboard::first_ending_after(Seq seq) const noexcept {
    // The right edges increase with the index (the ranges are sorted and disjoint): binary search.
    uint32_t lo = 0;
    uint32_t hi = count_;
    while (lo < hi) {
        const uint32_t mid = lo + (hi - lo) / 2;
        if (ranges_[mid].right > seq) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

bool SackScoreboard::is_sacked(Seq seq) const noexcept {
    if (seq < una_) return false;
    const uint32_t i = first_ending_after(seq);
    return i < count_ && ranges_[i].left <= seq;
}

Seq SackScoreboard::highest_sacked() const noexcept { return count_ == 0 ? una_ : ranges_[count_ - 1].right; }

void SackScoreboard::advance_una(Seq ack) noexcept {
    if (ack <= una_) return;
    const uint32_t gone = first_ending_after(ack);
    for (uint32_t i = 0; i < gone; ++i) sacked_bytes_ -= ranges_[i].left.bytes_to(ranges_[i].right);
    Range* const r = ranges_.get();
    std::copy(r + gone, r + count_, r);
    count_ -= gone;
    if (count_ > 0 && ranges_[0].left < ack) {
        // The peer acknowledged into a SACKed range: the part below the ack is acknowledged now.
        sacked_bytes_ -= ranges_[0].left.bytes_to(ack);
        ranges_[0].left = ack;
    }
    una_ = ack;
}

uint32_t SackScoreboard::insert(Seq left, Seq right) noexcept {
    // Ranges [first, last) overlap [left, right) or touch it (adjacent ranges are merged, so that
    // the count of ranges IsLost() compares with DupThresh counts real holes between them).
    const uint32_t first = first_ending_after(left - 1);
    uint32_t last = first;
    while (last < count_ && ranges_[last].left <= right) ++last;

    if (first == last) {
        const uint32_t size = left.bytes_to(right);
        if (count_ == capacity_) {
            // No room: forget the range furthest from una (see the constructor's comment).
            if (first == count_) return 0;  // that is the new one
            --count_;
            sacked_bytes_ -= ranges_[count_].left.bytes_to(ranges_[count_].right);
        }
        Range* const r = ranges_.get();
        std::copy_backward(r + first, r + count_, r + count_ + 1);
        ranges_[first] = Range{left, right};
        ++count_;
        sacked_bytes_ += size;
        return size;
    }

    uint64_t covered_before = 0;
    for (uint32_t i = first; i < last; ++i) covered_before += ranges_[i].left.bytes_to(ranges_[i].right);
    const Range merged{earlier_of(left, ranges_[first].left), later_of(right, ranges_[last - 1].right)};
    // The merged range is the union of the block and the ranges it meets: what it adds is its size
    // less what they held.
    const auto newly = static_cast<uint32_t>(merged.left.bytes_to(merged.right) - covered_before);
    ranges_[first] = merged;
    Range* const r = ranges_.get();
    std::copy(r + last, r + count_, r + first + 1);
    count_ -= last - first - 1;
    sacked_bytes_ += newly;
    return newly;
}

SackScoreboard::Update SackScoreboard::on_ack(Seq ack, const SackBlock* blocks, size_t count,
                                              Seq snd_max) noexcept {
    Update update;
    advance_una(ack);
    // Blocks are judged by their distance from una (which is `ack`, unless the caller passed an
    // older one): exact, where serial comparisons of far-apart numbers are not.
    const int32_t window = snd_max - una_;
    for (size_t k = 0; k < count; ++k) {
        const SackBlock& block = blocks[k];
        if (k == 0) {
            // RFC 2883 section 4: a first block below the cumulative ack, or inside the second
            // block, reports a duplicate segment. It must still be a block of bytes we sent.
            const bool well_formed = block.left < block.right && block.right <= snd_max;
            const bool below_ack = block.left < una_;
            const bool inside_second =
                count >= 2 && blocks[1].left <= block.left && block.right <= blocks[1].right;
            if (well_formed && (below_ack || inside_second)) {
                update.dsack = true;
                continue;
            }
        }
        const uint32_t left_offset = block.left.raw() - una_.raw();
        const uint32_t right_offset = block.right.raw() - una_.raw();
        const bool valid = window > 0 && left_offset > 0 && left_offset < right_offset &&
                           right_offset <= static_cast<uint32_t>(window);
        if (!valid) {
            ++update.invalid_blocks;
            continue;
        }
        update.newly_sacked += insert(block.left, block.right);
    }
    return update;
}

bool SackScoreboard::is_lost(Seq seq, uint32_t smss) const noexcept {
    const uint64_t threshold = lost_bytes_threshold(smss);
    const Seq after = seq + 1;  // the first byte "above seq"
    uint32_t ranges_above = 0;
    uint64_t bytes_above = 0;
    for (uint32_t i = count_; i-- > 0;) {
        const Range& range = ranges_[i];
        if (range.right <= after) break;
        bytes_above += later_of(range.left, after).bytes_to(range.right);
        ++ranges_above;
        if (ranges_above >= kDupThresh || bytes_above > threshold) return true;
    }
    return false;
}

Seq SackScoreboard::lost_below(uint32_t smss) const noexcept {
    // IsLost(s) can only become false as s grows (fewer ranges and bytes above it), so it holds on a
    // prefix [una, end) of the window. Each criterion gives its own end; the prefix is the longer.
    Seq end = una_;
    // DupThresh ranges above s: the DupThresh-th range from the top ends after s + 1.
    if (count_ >= kDupThresh) end = ranges_[count_ - kDupThresh].right - 1;
    // More than threshold bytes above s: find the range in which, counting down from the top, the
    // SACKed bytes pass the threshold. With `above` bytes in the ranges over it, s + 1 inside it leaves
    // above + (right - (s + 1)) bytes above s: more than the threshold while
    // s < right - (threshold - above) - 1, a point inside the range as its size exceeds
    // threshold - above.
    const uint64_t threshold = lost_bytes_threshold(smss);
    uint64_t above = 0;
    for (uint32_t i = count_; i-- > 0;) {
        const uint32_t size = ranges_[i].left.bytes_to(ranges_[i].right);
        if (above + size > threshold) {
            end = later_of(end, ranges_[i].right - static_cast<uint32_t>(threshold - above) - 1);
            break;
        }
        above += size;
    }
    return end;
}

uint64_t SackScoreboard::sacked_between(Seq lo, Seq hi) const noexcept {
    uint64_t bytes = 0;
    for (uint32_t i = first_ending_after(lo); i < count_ && ranges_[i].left < hi; ++i) {
        bytes += later_of(ranges_[i].left, lo).bytes_to(earlier_of(ranges_[i].right, hi));
    }
    return bytes;
}

uint32_t SackScoreboard::pipe(Seq snd_max, Seq high_rxt, uint32_t smss) const noexcept {
    if (!(snd_max > una_)) return 0;
    const uint64_t segment = std::max<uint32_t>(smss, 1);
    const uint64_t window = una_.bytes_to(snd_max);
    // The lost segments are those starting below lost_below(): round its offset up to a segment
    // boundary.
    const uint64_t lost_prefix = una_.bytes_to(lost_below(smss));
    const uint64_t lost_end = std::min(window, (lost_prefix + segment - 1) / segment * segment);
    const uint64_t retransmitted_end = high_rxt > una_ ? std::min<uint64_t>(window, una_.bytes_to(high_rxt)) : 0;
    const auto unsacked = [this](uint64_t from, uint64_t to) {
        if (from >= to) return uint64_t{0};
        const Seq lo = una_ + static_cast<uint32_t>(from);
        const Seq hi = una_ + static_cast<uint32_t>(to);
        return (to - from) - sacked_between(lo, hi);
    };
    // Not lost: once; retransmitted: once more. The window is below 2^31, so the sum fits.
    return static_cast<uint32_t>(unsacked(lost_end, window) + unsacked(0, retransmitted_end));
}

bool SackScoreboard::next_unsacked(Seq from, uint32_t smss, Seq* seq, uint32_t* len) const noexcept {
    Seq candidate = later_of(from, una_);
    uint32_t i = first_ending_after(candidate);
    if (i < count_ && ranges_[i].left <= candidate) {
        // SACKed: the first unSACKed byte is the range's end (the next range does not touch it).
        candidate = ranges_[i].right;
        ++i;
    }
    // Rule 1.b: below the highest SACKed byte, i.e. in a hole under range i.
    if (i == count_) return false;
    *seq = candidate;
    *len = std::min(std::max<uint32_t>(smss, 1), candidate.bytes_to(ranges_[i].left));
    return true;
}

bool SackScoreboard::next_lost(Seq from, uint32_t smss, Seq* seq, uint32_t* len) const noexcept {
    Seq candidate;
    uint32_t candidate_len = 0;
    // IsLost() only gets less true further up: when the first unSACKed byte is not lost, no later
    // one is.
    if (!next_unsacked(from, smss, &candidate, &candidate_len) || !is_lost(candidate, smss)) return false;
    *seq = candidate;
    *len = candidate_len;
    return true;
}

}  // namespace nvmeddp::tcp
