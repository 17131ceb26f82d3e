// The receive side of a TCP connection between the segment checks and the NVMe/TCP host: it puts
// received payloads in order and hands them up as the very mbufs that arrived (zero copy), each
// with its per-packet DDP metadata intact.
//
// Why the mbufs are never merged or copied: the offload's claims (include/nvmeddp/ddp_mbuf.h) are
// per packet and in TCP sequence space, so they stay exact when a packet's front is trimmed or when
// it waits out of order, but would be wrong for bytes of another packet. Which copy of a
// retransmitted byte is kept does not matter as long as each packet's bytes stay its own.
//
// Two stores, both preallocated (no allocation afterwards):
//  - the ready list: in-order segments waiting for deliver(), each trimmed to start where the one
//    before it ends. deliver() always empties it, so it is an array filled from the front: a ring
//    whose start never moves, and one span for the callback;
//  - the out-of-order queue: segments beyond rcv_nxt, in an array sorted by sequence number. Either
//    the queue's own, sized for the window at construction, or, given an OutOfOrderReserve
//    (ooo_reserve.hpp), kInlineSegments entries of its own and a queue sized for the window borrowed
//    from the reserve while more than those wait; given back once what waits fits in half of them
//    again (not at once, so a count going up and down by one does not borrow and give back each
//    time). With every queue of the reserve lent, the inline entries are the queue's capacity. An array
//    with insertion by shifting is the simplest structure that keeps order and walks fast: for the
//    few hundred entries a receive window holds, a shift moves at most a few KiB (24 bytes an
//    entry), and segments mostly arrive in increasing order, going at the end with no shift. Entries
//    never contain one another (a new segment adding no new bytes is freed; queued ones a new
//    segment wholly covers are freed and replaced by it), so both their starts and their ends increase
//    along the array; partial overlaps keep both copies untrimmed until they become in order.
//
// When the out-of-order queue is full (and no larger one can be borrowed): a new segment after
// everything queued is freed (no_room); otherwise the queued segment with the highest sequence
// number is freed to make room (as Linux prunes its out-of-order queue from the end): data nearer
// rcv_nxt is what lets delivery go on.
//
// When the ready list is full: a segment that would be in order, and queued segments that become in
// order, wait in the out-of-order queue until deliver() has made room (it moves them then, so
// rcv_nxt can advance in deliver()); insert() reports the new bytes of such a segment as parked, not
// as out of order. Such waiting runs are not reported as SACK blocks (they would not lie after
// rcv_nxt). So the ready list need only hold what one delivery hands up at once (a burst), not the
// window: the out-of-order queue, sized for the window, holds the rest (with a reserve, while it has
// a queue borrowed: otherwise its inline entries hold what they can and the rest is dropped, to come
// again from the sender).
//
// Chains whose front is trimmed keep their head mbuf (and with it the metadata) and may then start
// with an empty segment (tcp/mbuf_trim.hpp): readers walk a chain by data_len.
//
// Sequence numbers are compared only as tcp::Seq (serial arithmetic), so everything holds across
// wraparound as long as the window is under 2^31, which the caller's window check guarantees.
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <array>
#include <memory>
#include <span>

#include "tcp/ooo_reserve.hpp"
#include "tcp/rx_segment.hpp"
#include "tcp/sack_block.hpp"
#include "tcp/seq.hpp"

namespace nvmeddp::tcp {

struct RxInsert {
    uint32_t in_order_bytes = 0;   // new bytes now in order: rcv_nxt advanced by this
    uint32_t ooo_bytes = 0;        // new bytes queued out of order (not counting bytes already queued)
    uint32_t duplicate_bytes = 0;  // bytes of the segment that were already received (before rcv_nxt or already queued)
    uint32_t parked_bytes = 0;     // new bytes in order but waiting in the out-of-order queue for room in the ready list
    bool kept = false;             // false: the segment was freed (wholly duplicate, or no room)
    bool no_room = false;          // freed because a queue was full (then the byte counts are all 0)
};

class ReceiveQueue {
public:
    static constexpr uint32_t kInlineSegments = 8;

    // Room for `ooo_capacity` out-of-order segments and `ready_capacity` in-order segments awaiting
    // delivery. Without a reserve, both preallocated here: the only allocation. With one, the
    // out-of-order queue holds up to kInlineSegments itself and borrows from the reserve beyond
    // that, up to the smaller of ooo_capacity and the reserve's queue size; the reserve must outlive
    // this queue.
    ReceiveQueue(uint32_t ooo_capacity, uint32_t ready_capacity, OutOfOrderReserve* reserve = nullptr);
    ~ReceiveQueue();  // frees every mbuf it holds
    ReceiveQueue(const ReceiveQueue&) = delete;
    ReceiveQueue& operator=(const ReceiveQueue&) = delete;

    void reset(Seq rcv_nxt) noexcept;  // frees everything held
    Seq rcv_nxt() const noexcept { return rcv_nxt_; }

    // Takes ownership of seg.m (frees it when not kept). The caller has already cut the segment at
    // the receive window's right edge. Bytes before rcv_nxt are trimmed off the front. A segment at
    // rcv_nxt goes to the ready list, then every queued segment that has become in order (each
    // trimmed to rcv_nxt first; one wholly before it is freed); with the ready list full, it and any
    // segment continuing the in-order bytes park in the queue instead. A later segment is queued out of
    // order, sorted by seq: one adding no new bytes (wholly covered by one queued segment, or by
    // several together) is freed as duplicate; otherwise queued ones wholly covered by the new one are
    // freed (the new copy replaces them); partial overlaps keep both. Never merges two mbufs. An empty segment
    // (len 0) is freed and counts nothing.
    RxInsert insert(RxSegment seg) noexcept;

    // The header-prediction path (connection_fast_path.cpp): a segment starting at `seq` is exactly
    // the next bytes and can go straight to the ready list (nothing queued out of order, room left).
    bool next_fits(Seq seq) const noexcept { return seq == rcv_nxt_ && ooo_count_ == 0 && !ready_full(); }
    // Appends such a segment (next_fits(seg.seq), len > 0): what insert() would do with it.
    // Nothing to trim and nothing queued, so nothing to drain; the borrowed-queue check as insert()
    // ends with it.
    void append_next(RxSegment seg) noexcept {
        append_ready(seg);
        give_back_if_small();
    }

    uint32_t ready_count() const noexcept { return ready_count_; }
    uint64_t ready_bytes() const noexcept { return ready_bytes_; }

    // Calls f(std::span<RxSegment>) with the ready segments in order (callers must accept being called
    // twice, as for a ring that wraps; this one calls once, and not at all when none are ready), then frees every mbuf whose RxSegment.m the callback
    // did not set to nullptr (setting it to nullptr takes ownership). Returns segments delivered.
    // The callback must not call back into this queue, nor throw. Afterwards, queued segments that
    // were waiting for room in the ready list move into it (rcv_nxt may advance).
    template <class F>
    uint32_t deliver(F&& f) {
        const uint32_t n = ready_count_;
        if (n == 0) return 0;
        f(std::span<RxSegment>(ready_.get(), n));
        finish_delivery();
        return n;
    }

    // SACK blocks (RFC 2018) for the out-of-order queue: runs of contiguous queued bytes merged into
    // one block; the first block contains the most recently queued segment (RFC 2018 section 4),
    // the rest most recently changed (a segment queued into them) first; at most `max`. Returns the
    // count.
    size_t sack_blocks(SackBlock* out, size_t max) const noexcept;

    uint32_t ooo_segments() const noexcept { return ooo_count_; }
    // Distinct sequence bytes in the out-of-order queue (parked in-order bytes among them).
    uint64_t ooo_bytes() const noexcept { return ooo_distinct_bytes_; }
    // Highest sequence number held out of order (right edge), for window checks; rcv_nxt when none.
    Seq ooo_end() const noexcept;
    void drop_out_of_order() noexcept;  // frees every out-of-order segment (memory pressure)
    // The out-of-order queue is one borrowed from the reserve.
    bool borrowing() const noexcept { return reserve_ != nullptr && ooo_ != inline_.data(); }

private:
    using Queued = QueuedSegment;

    RxInsert insert_segment(RxSegment seg) noexcept;
    RxInsert insert_in_order(RxSegment seg) noexcept;
    RxInsert insert_out_of_order(RxSegment seg) noexcept;
    // A segment that would be in order but finds the ready list full: trimmed to rcv_nxt and queued.
    RxInsert park(RxSegment seg) noexcept;
    // Where the in-order bytes end counting those parked (rcv_nxt when none are).
    Seq parked_end() const noexcept;
    bool ready_full() const noexcept { return ready_count_ == ready_capacity_; }
    // Appends to the ready list (which has room) a segment starting at or before rcv_nxt and ending
    // after it, trimmed to rcv_nxt; returns how far rcv_nxt advanced.
    uint32_t push_ready(RxSegment seg) noexcept;
    // Appends to the ready list (which has room) a segment starting exactly at rcv_nxt.
    void append_ready(const RxSegment& seg) noexcept {
        ready_[ready_count_++] = seg;
        ready_bytes_ += seg.len;
        rcv_nxt_ += seg.len;
    }
    // Moves queued segments that are now in order into the ready list while it has room.
    uint32_t drain_in_order() noexcept;
    // Removes ooo_[at] and hands over its segment (the caller owns the mbuf), keeping the distinct
    // byte count exact.
    RxSegment take_queued(uint32_t at) noexcept;
    // Removes ooo_[at] and frees its mbuf.
    void remove_queued(uint32_t at) noexcept;
    // Bytes of [begin, end) held in the out-of-order queue.
    uint32_t queued_bytes_within(Seq begin, Seq end) const noexcept;
    void finish_delivery() noexcept;
    // The out-of-order queue is full: borrow a larger one from the reserve, moving what is queued
    // into it. False when there is none to borrow (no reserve, or all lent) or it is no larger.
    bool borrow() noexcept;
    // Gives the borrowed queue back once what is queued fits in half the inline entries. The test
    // is inline because every insert and delivery ends with it and it is almost always false.
    void give_back_if_small() noexcept {
        if (borrowing() && ooo_count_ <= kInlineSegments / 2) give_back();
    }
    void give_back() noexcept;  // moves what is queued into the inline entries, returns the borrowed queue

    uint32_t ooo_capacity_;        // the most it may hold, borrowing
    uint32_t ready_capacity_;
    OutOfOrderReserve* reserve_;   // null: ooo_ is own_
    Queued* ooo_;                  // own_, inline_ or a borrowed queue
    uint32_t ooo_room_;            // entries at ooo_
    std::unique_ptr<Queued[]> own_;
    std::array<Queued, kInlineSegments> inline_{};  // used only with a reserve
    std::unique_ptr<RxSegment[]> ready_;
    uint32_t ooo_count_ = 0;
    uint64_t ooo_distinct_bytes_ = 0;
    uint32_t next_stamp_ = 0;  // wraps: stamps are compared by their age, next_stamp_ - stamp
    uint32_t ready_count_ = 0;
    uint64_t ready_bytes_ = 0;
    Seq rcv_nxt_{};
};

}  // namespace nvmeddp::tcp
