// The sender's SACK scoreboard: what the peer has told us, in SACK blocks (RFC 2018), that it holds
// above the cumulative acknowledgement, and the questions RFC 6675's conservative SACK-based loss
// recovery asks of it: IsLost(), SetPipe() and rule 1 of NextSeg().
//
// The scoreboard keeps the SACKed bytes as disjoint, non-adjacent ranges [left, right) above snd_una,
// sorted, in an array preallocated by the constructor (no allocation afterwards). It knows nothing of
// segments or mbufs: it answers in sequence numbers, and the connection decides what to send.
//
// Where the rest of RFC 6675 lives (the connection's part): entering and leaving recovery, cwnd and
// ssthresh (section 5), NextSeg() rules 2 (new data), 3 (unSACKed data that is not yet lost, below
// the highest SACKed byte) and 4 (the rescue retransmission), and HighRxt / RescueRxt themselves.
// RFC 6675's optional "lost retransmission" detection is not done: a lost retransmission is repaired
// by the retransmission timeout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "tcp/options.hpp"
#include "tcp/seq.hpp"

namespace nvmeddp::tcp {

class SackScoreboard {
public:
    // RFC 6675's DupThresh: three discontiguous SACKed ranges (or more than two segments' worth of
    // SACKed bytes) above a hole make it lost.
    static constexpr uint32_t kDupThresh = 3;

    // Room for `capacity` disjoint SACKed ranges above snd_una, preallocated (the only allocation).
    // When a new range finds no room, the range furthest from snd_una is forgotten (or the new one,
    // if it is the furthest): those bytes are then treated as not SACKed, which is conservative —
    // at worst they are retransmitted needlessly or counted in the pipe, never skipped.
    explicit SackScoreboard(uint32_t capacity = 64);

    // A new connection, or after a retransmission timeout: nothing SACKed, snd_una = `snd_una`.
    // RFC 6675 5.1 lets the sender keep the scoreboard over a timeout; we clear it, because RFC 2018
    // lets a receiver renege (discard data it SACKed), and after a timeout we resend from snd_una
    // anyway.
    void reset(Seq snd_una) noexcept;

    struct Update {
        uint32_t newly_sacked = 0;    // bytes the blocks added to the scoreboard (SACKed for the first time,
                                      // or again after being forgotten for room); not reduced by what
                                      // was forgotten to make room
        bool dsack = false;           // the first block was a D-SACK (RFC 2883): the peer got a duplicate
        uint32_t invalid_blocks = 0;  // blocks ignored as invalid (a D-SACK block is not counted)
    };

    // An ACK arrived: cumulative ack `ack` and its SACK blocks, snd_max the highest sequence number
    // sent + 1. `ack` is at or above the previous una (the caller guarantees; an ack below it is taken
    // as una). Ranges below the new ack are dropped (trimmed when the ack falls inside one).
    //
    // The first block is a D-SACK (RFC 2883 section 4) when it starts below `ack`, or when it lies
    // inside the second block (equal counts): it reports a duplicate the peer received, and what the
    // peer holds is in the other blocks, so it is reported and left out of the scoreboard. It must
    // still be non-empty and end at or below snd_max, or it is invalid. Any other block is used only
    // when ack < left < right <= snd_max (a peer never SACKs the byte at its own cumulative ack, nor
    // bytes never sent); the rest are counted in invalid_blocks and ignored. Blocks may come in any
    // order and overlap each other and the scoreboard; overlapping and adjacent ranges are merged.
    Update on_ack(Seq ack, const SackBlock* blocks, size_t count, Seq snd_max) noexcept;

    Seq una() const noexcept { return una_; }

    // The byte at `seq` is SACKed (false for bytes below una: they are acknowledged, not SACKed).
    bool is_sacked(Seq seq) const noexcept;

    // SACKed bytes above una.
    uint64_t sacked_bytes() const noexcept { return sacked_bytes_; }

    // The right edge of the highest SACKed range (one past its last byte); una when nothing is SACKed.
    Seq highest_sacked() const noexcept;

    // RFC 6675 IsLost(SeqNum): true when at least DupThresh (3) discontiguous SACKed ranges hold bytes
    // above `seq`, or more than (DupThresh - 1) * SMSS bytes above `seq` are SACKed. "Above" is strict:
    // a range holding `seq` counts for its bytes after `seq`. An smss of 0 is taken as 1.
    bool is_lost(Seq seq, uint32_t smss) const noexcept;

    // RFC 6675 SetPipe(): the bytes in flight. Every byte in [una, snd_max) that is not SACKed counts
    // once if it is not lost, and once more if it is below high_rxt (it was retransmitted; high_rxt
    // is the highest retransmitted sequence number + 1, or una when nothing was).
    //
    // Granularity: "lost" is decided per segment, as RFC 6675 defines SetPipe() over segments: the
    // sequence space from una is cut into SMSS-sized segments [una + k*SMSS, una + (k+1)*SMSS), and a
    // segment's unSACKed bytes are lost when IsLost(its first byte) is. The retransmitted count is
    // exact per byte. IsLost() only becomes more true towards una, so the lost segments are a prefix
    // of the window: the computation walks the ranges a bounded number of times, O(ranges), whatever
    // the window's size.
    uint32_t pipe(Seq snd_max, Seq high_rxt, uint32_t smss) const noexcept;

    // RFC 6675 NextSeg() rule 1: the first unSACKed byte S2 at or above `from` (HighRxt + 1 in the
    // RFC's terms: pass the connection's high_rxt, or una when nothing was retransmitted) that is
    // below highest_sacked() and for which IsLost(S2) holds. Gives the segment [S2, S2 + len), len up
    // to smss (at least 1) and stopping at the next SACKed range. False when there is none. Rules 2-4
    // are the connection's.
    bool next_lost(Seq from, uint32_t smss, Seq* seq, uint32_t* len) const noexcept;

    // For NextSeg() rule 3: the same segment without the IsLost() test (the first unSACKed byte at or
    // above `from` below highest_sacked(), up to smss bytes, stopping at the next SACKed range).
    bool next_unsacked(Seq from, uint32_t smss, Seq* seq, uint32_t* len) const noexcept;

    // Disjoint SACKed ranges held now, and the index-th of them counted up from una (index <
    // ranges()), e.g. for NextSeg() rule 4, which needs the hole under the highest range, and for stats.
    uint32_t ranges() const noexcept { return count_; }
    SackBlock range(uint32_t index) const noexcept { return SackBlock{ranges_[index].left, ranges_[index].right}; }
    uint32_t capacity() const noexcept { return capacity_; }

private:
    struct Range {
        Seq left;   // first SACKed byte
        Seq right;  // one past the last
    };

    void advance_una(Seq ack) noexcept;
    // Records [left, right) (ack < left < right <= snd_max); returns the bytes not SACKed before (0
    // when the range is forgotten at once for lack of room).
    uint32_t insert(Seq left, Seq right) noexcept;
    // The smallest index whose range ends after `seq` (count_ when none): the range holding `seq`,
    // or the first one above it.
    uint32_t first_ending_after(Seq seq) const noexcept;
    // SACKed bytes in [lo, hi).
    uint64_t sacked_between(Seq lo, Seq hi) const noexcept;
    // The end of the lost prefix: IsLost(seq) holds exactly for seq in [una, lost_below()).
    Seq lost_below(uint32_t smss) const noexcept;

    std::unique_ptr<Range[]> ranges_;
    uint32_t capacity_ = 0;
    uint32_t count_ = 0;
    uint64_t sacked_bytes_ = 0;
    Seq una_;
};

}  // namespace nvmeddp::tcp
