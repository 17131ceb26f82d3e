// Fuzz target: tcp::ReceiveQueue, the receive side of our user-space TCP, on real mbuf chains.
//
// The input chooses the starting rcv_nxt (anywhere, or just before the 32-bit wrap), the capacities
// of the out-of-order queue and the ready list, how far behind and ahead of rcv_nxt segments may
// start, and then a run of operations: insert a segment (offset from rcv_nxt, length 0..3000, cut
// into a chain of mbufs of a chosen size), deliver (the callback taking ownership of some mbufs or
// not), drop the out-of-order queue. Every segment holds the bytes of one truth stream (a function
// of the sequence number), so any copy of a byte is as good as another, and its DDP metadata says
// where the segment began, how long it was and which segment it is. The input may give the queue an
// out-of-order reserve of 0 or 1 queues, shared with a rival queue that an operation makes borrow
// (by queueing more than its inline entries) or give back (drop_out_of_order).
// Invariants, after every operation:
//   - the concatenation of the delivered bytes is exactly the truth from the initial rcv_nxt;
//   - each delivered mbuf still carries its own metadata, its bytes lie inside the segment the
//     metadata names (a packet's bytes stay its own), and no segment is delivered twice;
//   - rcv_nxt == initial + delivered + ready bytes, and insert() says by how much it advanced;
//     bytes it reports parked (in order, the ready list full) leave rcv_nxt where it was;
//   - SACK blocks lie after rcv_nxt, inside bytes received, up to ooo_end(), disjoint and not
//     touching; the first contains the segment queued last; when no queued run waits for room in
//     the ready list they add up to ooo_bytes();
//   - the reserve has lent exactly the queues the two queues say they borrow, never more than it has;
//   - the queue still accepts the rest of the stream at the end (nothing stuck), and every mbuf
//     is back in the pool after the queue is destroyed.
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "fuzz_dpdk.hpp"
#include "fuzz_input.hpp"
#include "pmd/dpdk/eal.hpp"
#include "pmd/dpdk/mbuf_meta.hpp"
#include "tcp/receive_queue.hpp"

using namespace nvmeddp;
using tcp::Seq;

namespace {

rte_mempool* g_pool = nullptr;

// Enough for both stores full of 64-mbuf chains (see the caps below) and one segment more.
void bring_up() { g_pool = fuzz::dpdk_pool("fuzz_tcp_receive", "fuzz_rx_pool", 16383); }

uint8_t truth(uint32_t seq) { return static_cast<uint8_t>((seq * 2654435761u) >> 24); }

constexpr uint32_t kMaxLen = 3000;
constexpr uint32_t kMaxMbufsPerSegment = 64;
constexpr uint32_t kMaxCapacity = 64;

// A chain of `chunk`-byte mbufs holding the truth at [seq, seq + len), metadata naming it.
rte_mbuf* segment_mbuf(uint32_t seq, uint32_t len, uint32_t chunk, uint32_t id) {
    rte_mbuf* head = nullptr;
    uint32_t at = 0;
    do {
        rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
        if (m == nullptr) fuzz::invariant_broken("mbuf pool exhausted (a leak, or the caps are wrong)");
        const uint32_t n = std::min(chunk, len - at);
        auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(n)));
        for (uint32_t i = 0; i < n; ++i) p[i] = truth(seq + at + i);
        at += n;
        if (head == nullptr) {
            head = m;
        } else if (rte_pktmbuf_chain(head, m) != 0) {
            fuzz::invariant_broken("rte_pktmbuf_chain refused");
        }
    } while (at < len);
    nvmeddp_pkt_meta meta{};
    meta.conn_id = id;
    meta.place_seq = seq;
    meta.digest_pdu_seq = len;
    pmd::MbufMeta::set(head, meta);
    return head;
}

// Which stream bytes (as offsets from the initial rcv_nxt) were ever in a segment the queue kept:
// disjoint, non-touching intervals [start, end), kept as start -> end.
class ReceivedBytes {
public:
    void add(uint64_t from, uint64_t to) {
        if (from >= to) return;
        auto it = runs_.upper_bound(from);
        if (it != runs_.begin() && std::prev(it)->second >= from) {
            --it;
            from = it->first;
        }
        while (it != runs_.end() && it->first <= to) {
            to = std::max(to, it->second);
            it = runs_.erase(it);
        }
        runs_[from] = to;
    }
    void forget_from(uint64_t from) {
        auto it = runs_.lower_bound(from);
        runs_.erase(it, runs_.end());
        if (!runs_.empty() && runs_.rbegin()->second > from) runs_.rbegin()->second = from;
    }
    bool all(uint64_t from, uint64_t to) const {
        const auto it = runs_.upper_bound(from);
        return it != runs_.begin() && std::prev(it)->second >= to;
    }

private:
    std::map<uint64_t, uint64_t> runs_;
};

struct Run {
    explicit Run(Seq initial, uint32_t ooo_cap, uint32_t ready_cap, bool share, uint32_t reserve_queues)
        : reserve(reserve_queues, kMaxCapacity),
          rival(kMaxCapacity, 1, &reserve),
          q(ooo_cap, ready_cap, share ? &reserve : nullptr),
          shared(share),
          initial_seq(initial),
          ready_capacity(ready_cap) {
        q.reset(initial);
        rival.reset(Seq(0));
    }

    tcp::OutOfOrderReserve reserve;  // before the queues: outlives them
    tcp::ReceiveQueue rival;         // shares the reserve
    tcp::ReceiveQueue q;
    bool shared;  // q borrows from the reserve
    Seq initial_seq;
    uint32_t ready_capacity;
    uint64_t delivered = 0;  // bytes
    uint32_t next_id = 0;
    std::vector<bool> id_delivered;
    std::vector<uint32_t> id_len;
    ReceivedBytes received;
    bool last_queued_valid = false;  // the segment queued last is still the newest SACK information
    tcp::SackBlock last_queued{};

    uint64_t offset_of(Seq s) const { return delivered + static_cast<uint64_t>(static_cast<int64_t>(s - expected_next())); }
    Seq expected_next() const { return initial_seq + static_cast<uint32_t>(delivered); }

    void check_delivered(tcp::RxSegment& s) {
        if (s.seq != expected_next()) fuzz::invariant_broken("delivered out of order");
        uint32_t bytes = 0;
        uint16_t segs = 0;
        uint32_t at = 0;
        for (const rte_mbuf* m = s.m; m != nullptr; m = m->next) {
            const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
            for (uint16_t i = 0; i < m->data_len; ++i, ++at) {
                if (p[i] != truth(s.seq.raw() + at)) fuzz::invariant_broken("delivered a wrong byte");
            }
            bytes += m->data_len;
            ++segs;
        }
        if (bytes != s.len || s.m->pkt_len != s.len || segs != s.m->nb_segs) fuzz::invariant_broken("chain lengths inconsistent");
        if (!pmd::MbufMeta::has(s.m)) fuzz::invariant_broken("metadata flag lost");
        const nvmeddp_pkt_meta& meta = *pmd::MbufMeta::get(s.m);
        if (meta.conn_id >= next_id || id_delivered[meta.conn_id]) fuzz::invariant_broken("segment delivered twice, or metadata of none");
        id_delivered[meta.conn_id] = true;
        if (meta.digest_pdu_seq != id_len[meta.conn_id]) fuzz::invariant_broken("metadata changed");
        const Seq own_begin(meta.place_seq);
        if (s.seq < own_begin || own_begin + meta.digest_pdu_seq < s.seq + s.len || s.len == 0) {
            fuzz::invariant_broken("delivered bytes outside the packet they came in");
        }
        delivered += s.len;
    }

    void deliver(bool take_some) {
        std::vector<rte_mbuf*> taken;
        bool take = false;
        q.deliver([&](std::span<tcp::RxSegment> segs) {
            for (tcp::RxSegment& s : segs) {
                check_delivered(s);
                take = !take;  // every other one
                if (take_some && take) {
                    taken.push_back(s.m);
                    s.m = nullptr;
                }
            }
        });
        for (rte_mbuf* m : taken) rte_pktmbuf_free(m);
    }

    // The rival borrows (queueing one segment more than its inline entries, behind a hole) or, when
    // it holds any, gives back.
    void toggle_rival() {
        if (rival.ooo_segments() > 0) {
            rival.drop_out_of_order();
            return;
        }
        for (uint32_t i = 1; i <= tcp::ReceiveQueue::kInlineSegments + 1; ++i) {
            rival.insert(tcp::RxSegment{segment_mbuf(i * 10, 5, 5, UINT32_MAX), Seq(i * 10), 5});
        }
    }

    void check_state() {
        const uint32_t borrowing = (q.borrowing() ? 1u : 0u) + (rival.borrowing() ? 1u : 0u);
        const nvmetcp::LendingStats rs = reserve.stats();
        if (rs.lent != borrowing || rs.lent > rs.items) fuzz::invariant_broken("the reserve's loans do not match the queues borrowing");
        // A loan is held only while more wait than half the inline entries (given back at the end
        // of insert, deliver and drop alike), and without one a queue holds no more than them.
        constexpr uint32_t kInline = tcp::ReceiveQueue::kInlineSegments;
        if (shared && q.borrowing() && q.ooo_segments() <= kInline / 2) fuzz::invariant_broken("a loan kept for what fits inline");
        if (shared && !q.borrowing() && q.ooo_segments() > kInline) fuzz::invariant_broken("more queued than the inline entries hold, not borrowing");
        forget_last_queued_if_gone();
        if (q.rcv_nxt() != expected_next() + static_cast<uint32_t>(q.ready_bytes())) {
            fuzz::invariant_broken("rcv_nxt is not initial + delivered + ready bytes");
        }
        if (q.ready_count() > ready_capacity) fuzz::invariant_broken("ready list over capacity");
        if (q.ooo_segments() == 0 && (q.ooo_end() != q.rcv_nxt() || q.ooo_bytes() != 0)) {
            fuzz::invariant_broken("empty out-of-order queue with an end or bytes");
        }
        if (q.ooo_end() < q.rcv_nxt()) fuzz::invariant_broken("ooo_end before rcv_nxt");
        tcp::SackBlock blocks[kMaxCapacity + 1];
        const size_t n = q.sack_blocks(blocks, kMaxCapacity + 1);
        if (n > q.ooo_segments()) fuzz::invariant_broken("more SACK blocks than queued segments");
        uint64_t sum = 0;
        for (size_t i = 0; i < n; ++i) {
            const tcp::SackBlock& b = blocks[i];
            if (!(b.left > q.rcv_nxt()) || !(b.left < b.right) || b.right > q.ooo_end()) fuzz::invariant_broken("SACK block out of place");
            if (!received.all(offset_of(b.left), offset_of(b.right))) fuzz::invariant_broken("SACK block over bytes never received");
            for (size_t j = 0; j < i; ++j) {
                if (!(b.right < blocks[j].left || blocks[j].right < b.left)) fuzz::invariant_broken("SACK blocks overlap or touch");
            }
            sum += b.left.bytes_to(b.right);
        }
        // (Unless it joined a run that waits for room in the ready list, which is not reported.)
        const bool none_waiting = q.ready_count() < ready_capacity;
        if (none_waiting && last_queued_valid && (n == 0 || blocks[0].left > last_queued.left || blocks[0].right < last_queued.right)) {
            fuzz::invariant_broken("the first SACK block does not hold the segment queued last");
        }
        // A run reaching back to rcv_nxt (waiting for room in the ready list) is held but not
        // reported; otherwise the blocks are exactly the queued bytes.
        if (none_waiting && sum != q.ooo_bytes()) fuzz::invariant_broken("SACK blocks do not add up to ooo_bytes()");
        if (sum > q.ooo_bytes()) fuzz::invariant_broken("SACK blocks larger than ooo_bytes()");
    }

    void insert(Seq seq, uint32_t len, uint32_t chunk) {
        const uint32_t id = next_id++;
        id_delivered.push_back(false);
        id_len.push_back(len);
        const Seq before = q.rcv_nxt();
        const uint32_t ready_before = q.ready_count();
        const tcp::RxInsert r = q.insert(tcp::RxSegment{segment_mbuf(seq.raw(), len, chunk, id), seq, len});
        if (q.rcv_nxt() - before != static_cast<int32_t>(r.in_order_bytes)) fuzz::invariant_broken("in_order_bytes is not how far rcv_nxt moved");
        if (r.no_room && (r.kept || r.in_order_bytes != 0 || r.ooo_bytes != 0 || r.duplicate_bytes != 0 || r.parked_bytes != 0)) {
            fuzz::invariant_broken("no_room with counts");
        }
        if (!r.kept && !r.no_room && r.duplicate_bytes != len) fuzz::invariant_broken("freed without being a duplicate");
        if (r.kept && r.duplicate_bytes + r.ooo_bytes + r.parked_bytes > len) fuzz::invariant_broken("counts exceed the segment");
        if (r.kept && r.ooo_bytes == 0 && r.in_order_bytes == 0 && r.parked_bytes == 0) {
            fuzz::invariant_broken("kept a segment adding nothing");
        }
        // Parked: in order, but the ready list was full; the segment waits and rcv_nxt stays.
        if (r.parked_bytes != 0 && (r.in_order_bytes != 0 || r.ooo_bytes != 0)) fuzz::invariant_broken("parked bytes counted twice");
        if (r.parked_bytes != 0 && ready_before < ready_capacity) fuzz::invariant_broken("parked with room in the ready list");
        if (r.kept && seq > before && r.in_order_bytes != 0) fuzz::invariant_broken("a segment after rcv_nxt moved it");
        if (r.kept && seq + len > before) received.add(offset_of(seq > before ? seq : before), offset_of(seq + len));
        // A parked segment may have pushed the newest queued one out of a full queue (in-order
        // data goes first): which segment the first block must hold is then not known here.
        if (r.parked_bytes != 0) last_queued_valid = false;
        if (r.kept && seq > before && r.parked_bytes == 0) {
            last_queued_valid = true;
            last_queued = {seq, seq + len};
        }
    }

    // Queued data moves to the ready list when rcv_nxt reaches it; the segment queued last has
    // then left the queue (pruning removes it only to queue a newer one, drop_out_of_order is
    // followed by the caller).
    void forget_last_queued_if_gone() {
        if (last_queued_valid && !(last_queued.left > q.rcv_nxt())) last_queued_valid = false;
    }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    bring_up();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    bring_up();  // the replay program does not call LLVMFuzzerInitialize
    fuzz::FuzzInput in(data, size);
    const unsigned in_use_at_start = rte_mempool_in_use_count(g_pool);
    {
        const bool near_wrap = in.flag();
        const Seq initial = near_wrap ? Seq(0xFFFFFFFFu - in.range(0, 20000)) : Seq(in.take<uint32_t>());
        const uint32_t ooo_cap = in.range(0, kMaxCapacity);
        const uint32_t ready_cap = in.range(0, kMaxCapacity);
        const uint32_t behind = in.range(0, 4000);
        const uint32_t ahead = in.range(0, 16000);
        const bool shared = in.flag();
        const uint32_t reserve_queues = in.range(0, 1);
        Run run(initial, ooo_cap, ready_cap, shared, reserve_queues);
        run.check_state();
        while (in.left() > 0) {
            const uint8_t op = in.take<uint8_t>();
            if (op % 8 == 0) {
                run.deliver(op & 0x10);
            } else if (op == 0xFE) {
                run.toggle_rival();
            } else if (op == 0xFF) {
                run.q.drop_out_of_order();
                run.received.forget_from(run.offset_of(run.q.rcv_nxt()));
                run.last_queued_valid = false;
            } else {
                const Seq seq = run.q.rcv_nxt() - behind + in.range(0, behind + ahead);
                const uint32_t len = in.range(0, kMaxLen);
                const uint32_t chunk = std::max(in.range(1, 2048), len / kMaxMbufsPerSegment + 1);
                run.insert(seq, len, chunk);
            }
            run.check_state();
        }
        // Nothing is stuck: the rest of the stream, up to the end of what is queued, goes through.
        const Seq end = run.q.ooo_end();
        while (run.q.rcv_nxt() < end || run.q.ready_count() > 0) {
            while (run.q.ready_count() > 0) run.deliver(false);
            if (!(run.q.rcv_nxt() < end)) break;
            if (ready_cap == 0) break;  // nothing can ever be in order
            const Seq at = run.q.rcv_nxt();
            const uint32_t len = std::min<uint32_t>(1000, static_cast<uint32_t>(end - at));
            const tcp::RxInsert r = run.q.insert(tcp::RxSegment{segment_mbuf(at.raw(), len, 512, run.next_id), at, len});
            run.id_delivered.push_back(false);
            run.id_len.push_back(len);
            ++run.next_id;
            if (!r.kept || r.in_order_bytes < len) fuzz::invariant_broken("the queue refused the next in-order bytes");
            run.check_state();
        }
        if (ready_cap != 0 && run.q.ooo_segments() != 0) fuzz::invariant_broken("queued segments left behind the end");
    }
    if (rte_mempool_in_use_count(g_pool) != in_use_at_start) fuzz::invariant_broken("mbufs leaked");
    return 0;
}
