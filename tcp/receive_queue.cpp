#include "tcp/receive_queue.hpp"

#include <algorithm>

#include "pmd/dpdk/mbuf_free.hpp"
#include "tcp/mbuf_trim.hpp"

namespace nvmeddp::tcp {

namespace {

Seq end_of(const RxSegment& s) noexcept { return s.seq + s.len; }
Seq later(Seq a, Seq b) noexcept { return a < b ? b : a; }
Seq earlier(Seq a, Seq b) noexcept { return a < b ? a : b; }

void free_segment(RxSegment& s) noexcept {
    rte_pktmbuf_free(s.m);  // accepts nullptr
    s.m = nullptr;
}

}  // namespace

ReceiveQueue::ReceiveQueue(uint32_t ooo_capacity, uint32_t ready_capacity, OutOfOrderReserve* reserve)
    : ooo_capacity_(ooo_capacity),
      ready_capacity_(ready_capacity),
      reserve_(reserve),
      ooo_room_(reserve != nullptr ? std::min(kInlineSegments, ooo_capacity) : ooo_capacity),
      own_(reserve != nullptr ? nullptr : std::make_unique<Queued[]>(ooo_capacity)),
      ready_(std::make_unique<RxSegment[]>(ready_capacity)) {
    ooo_ = reserve != nullptr ? inline_.data() : own_.get();
}

ReceiveQueue::~ReceiveQueue() { reset(rcv_nxt_); }

void ReceiveQueue::reset(Seq rcv_nxt) noexcept {
    for (uint32_t i = 0; i < ready_count_; ++i) free_segment(ready_[i]);
    ready_count_ = 0;
    ready_bytes_ = 0;
    drop_out_of_order();
    rcv_nxt_ = rcv_nxt;
}

RxInsert ReceiveQueue::insert(RxSegment seg) noexcept {
    const RxInsert r = insert_segment(seg);
    give_back_if_small();  // in-order data may have drained the queue
    return r;
}

RxInsert ReceiveQueue::insert_segment(RxSegment seg) noexcept {
    if (seg.len == 0) {
        free_segment(seg);
        return {};
    }
    if (seg.seq <= rcv_nxt_) return insert_in_order(seg);
    // Right after in-order bytes parked for want of room: in order too, so parked as well.
    if (ready_full() && seg.seq <= parked_end()) return park(seg);
    return insert_out_of_order(seg);
}

Seq ReceiveQueue::parked_end() const noexcept {
    Seq reach = rcv_nxt_;
    for (uint32_t i = 0; i < ooo_count_ && ooo_[i].seq <= reach; ++i) reach = later(reach, ooo_[i].end());
    return reach;
}

RxInsert ReceiveQueue::insert_in_order(RxSegment seg) noexcept {
    RxInsert r;
    const Seq end = end_of(seg);
    if (end <= rcv_nxt_) {
        r.duplicate_bytes = seg.len;
        free_segment(seg);
        return r;
    }
    if (ready_full()) return park(seg);
    r.duplicate_bytes = seg.seq.bytes_to(rcv_nxt_) + queued_bytes_within(rcv_nxt_, end);
    r.in_order_bytes = push_ready(seg);
    r.in_order_bytes += drain_in_order();
    r.kept = true;
    return r;
}

RxInsert ReceiveQueue::insert_out_of_order(RxSegment seg) noexcept {
    RxInsert r;
    const Seq begin = seg.seq;
    const Seq end = end_of(seg);
    Queued* q = ooo_;
    // First queued segment starting at or after the new one, and the first after that not wholly
    // inside it: [at, past_covered) are the queued segments the new copy replaces. (Starts and ends
    // both increase along the array, see the header.)
    const auto first_at_or_after = [&] {
        return static_cast<uint32_t>(
            std::partition_point(q, q + ooo_count_, [&](const Queued& e) { return e.seq < begin; }) - q);
    };
    const uint32_t at = first_at_or_after();
    uint32_t past_covered = at;
    while (past_covered < ooo_count_ && q[past_covered].end() <= end) ++past_covered;
    uint32_t already = queued_bytes_within(begin, end);
    if (already == seg.len) {  // nothing new (an identical copy included): keep what is queued
        r.duplicate_bytes = seg.len;
        free_segment(seg);
        return r;
    }
    // A full queue first tries to borrow a larger one; only without one does it make room itself.
    if (past_covered == at && ooo_count_ == ooo_room_ && !borrow()) {
        if (at == ooo_count_) {  // after everything queued (or no room at all)
            r.no_room = true;
            free_segment(seg);
            return r;
        }
        remove_queued(ooo_count_ - 1);  // the highest, which `at` does not point past
        already = queued_bytes_within(begin, end);
    }
    q = ooo_;  // borrow() may have moved the same entries into a borrowed queue
    // The replaced segments lie inside [begin, end): the distinct bytes grow by what is new.
    for (uint32_t i = at; i < past_covered; ++i) rte_pktmbuf_free(q[i].m);
    const uint32_t replaced = past_covered - at;
    if (replaced == 0) {
        std::move_backward(q + at, q + ooo_count_, q + ooo_count_ + 1);
        ++ooo_count_;
    } else if (replaced > 1) {
        std::move(q + past_covered, q + ooo_count_, q + at + 1);
        ooo_count_ -= replaced - 1;
    }
    q[at] = Queued::of(seg, ++next_stamp_);
    r.ooo_bytes = seg.len - already;
    r.duplicate_bytes = already;
    ooo_distinct_bytes_ += r.ooo_bytes;
    r.kept = true;
    return r;
}

RxInsert ReceiveQueue::park(RxSegment seg) noexcept {
    // Bytes before rcv_nxt are trimmed off first: only the distinct bytes beyond it count as queued.
    const uint32_t trim = seg.seq < rcv_nxt_ ? seg.seq.bytes_to(rcv_nxt_) : 0;
    trim_front(seg.m, trim);
    seg.seq += trim;
    seg.len -= trim;
    RxInsert r = insert_out_of_order(seg);
    if (r.no_room) return r;  // freed: no counts
    r.duplicate_bytes += trim;
    r.parked_bytes = r.ooo_bytes;
    r.ooo_bytes = 0;
    return r;
}

uint32_t ReceiveQueue::push_ready(RxSegment seg) noexcept {
    const uint32_t trim = seg.seq.bytes_to(rcv_nxt_);
    trim_front(seg.m, trim);
    seg.seq = rcv_nxt_;
    seg.len -= trim;
    append_ready(seg);
    return seg.len;
}

uint32_t ReceiveQueue::drain_in_order() noexcept {
    uint32_t advanced = 0;
    while (ooo_count_ > 0 && ooo_[0].seq <= rcv_nxt_) {
        // One wholly before rcv_nxt goes even when the ready list is full: what stays queued
        // always reaches past rcv_nxt.
        const bool stale = ooo_[0].end() <= rcv_nxt_;
        if (!stale && ready_full()) break;
        RxSegment front = take_queued(0);
        if (stale) {
            free_segment(front);
        } else {
            advanced += push_ready(front);
        }
    }
    return advanced;
}

RxSegment ReceiveQueue::take_queued(uint32_t at) noexcept {
    Queued* const q = ooo_;
    const RxSegment s = q[at].segment();
    // Only the neighbours can overlap it without containing it: its own bytes are those between
    // the end of the one before and the start of the one after.
    const Seq own_begin = at > 0 ? later(s.seq, q[at - 1].end()) : s.seq;
    const Seq own_end = at + 1 < ooo_count_ ? earlier(end_of(s), q[at + 1].seq) : end_of(s);
    if (own_begin < own_end) ooo_distinct_bytes_ -= own_begin.bytes_to(own_end);
    std::move(q + at + 1, q + ooo_count_, q + at);
    --ooo_count_;
    return s;
}

void ReceiveQueue::remove_queued(uint32_t at) noexcept {
    RxSegment s = take_queued(at);
    free_segment(s);
}

uint32_t ReceiveQueue::queued_bytes_within(Seq begin, Seq end) const noexcept {
    uint32_t bytes = 0;
    Seq covered_to = begin;  // bytes of [begin, covered_to) are counted
    for (uint32_t i = 0; i < ooo_count_; ++i) {
        const Queued& s = ooo_[i];
        if (s.seq >= end) break;
        const Seq from = later(s.seq, covered_to);
        const Seq to = earlier(s.end(), end);
        if (from < to) {
            bytes += from.bytes_to(to);
            covered_to = to;
        }
    }
    return bytes;
}

void ReceiveQueue::finish_delivery() noexcept {
    // In bulk: one return to the pool per run of mbufs instead of one per mbuf (freeing them one by
    // one was about a tenth of the host's instructions per segment with the offload on; in bulk the
    // host runs 3-4% fewer), and without librte_mbuf's per-mbuf checks for the plain segments that
    // are nearly all of them (pmd/dpdk/mbuf_free.hpp). Mbufs the callback took are null: skipped.
    // The entries are not read again: ready_count_ drops to 0.
    pmd::free_mbufs_bulk(ready_count_, [this](unsigned i) { return ready_[i].m; });
    ready_count_ = 0;
    ready_bytes_ = 0;
    drain_in_order();
    give_back_if_small();
}

bool ReceiveQueue::borrow() noexcept {
    if (reserve_ == nullptr || borrowing()) return false;
    const uint32_t room = std::min(ooo_capacity_, reserve_->segments_per_queue());
    if (room <= ooo_room_) return false;
    Queued* const queue = reserve_->take();
    if (queue == nullptr) return false;
    std::copy(ooo_, ooo_ + ooo_count_, queue);
    ooo_ = queue;
    ooo_room_ = room;
    return true;
}

void ReceiveQueue::give_back() noexcept {
    std::copy(ooo_, ooo_ + ooo_count_, inline_.data());
    reserve_->give_back(ooo_);
    ooo_ = inline_.data();
    ooo_room_ = std::min(kInlineSegments, ooo_capacity_);
}

size_t ReceiveQueue::sack_blocks(SackBlock* out, size_t max) const noexcept {
    // Each pass walks the runs of contiguous queued bytes and picks the most recently changed one
    // not yet reported (stamps are unique, so "older than the last one reported" is exact). A
    // stamp's age (next_stamp_ - stamp, 0 the newest) orders them across the counter's wrap; only
    // 2^32 insertions while one segment stays queued would mislead it, and then only in the
    // blocks' order. Passes are few (a TCP header has room for at most four blocks), so no
    // per-call storage is needed.
    size_t n = 0;
    uint32_t older_than = 0;  // the age of the last block reported (none yet: n == 0)
    while (n < max) {
        bool found = false;
        SackBlock best{};
        uint32_t best_age = 0;
        for (uint32_t i = 0; i < ooo_count_;) {
            SackBlock run{ooo_[i].seq, ooo_[i].end()};
            uint32_t age = next_stamp_ - ooo_[i].stamp;
            for (++i; i < ooo_count_ && ooo_[i].seq <= run.right; ++i) {
                run.right = later(run.right, ooo_[i].end());
                age = std::min(age, next_stamp_ - ooo_[i].stamp);
            }
            // A run reaching back to rcv_nxt waits for room in the ready list: not a SACK block.
            if (run.left > rcv_nxt_ && (n == 0 || age > older_than) && (!found || age < best_age)) {
                found = true;
                best = run;
                best_age = age;
            }
        }
        if (!found) break;
        out[n++] = best;
        older_than = best_age;
    }
    return n;
}

Seq ReceiveQueue::ooo_end() const noexcept {
    return ooo_count_ > 0 ? ooo_[ooo_count_ - 1].end() : rcv_nxt_;
}

void ReceiveQueue::drop_out_of_order() noexcept {
    for (uint32_t i = 0; i < ooo_count_; ++i) rte_pktmbuf_free(ooo_[i].m);
    ooo_count_ = 0;
    ooo_distinct_bytes_ = 0;
    give_back_if_small();
}

}  // namespace nvmeddp::tcp
