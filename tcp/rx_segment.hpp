// A received TCP payload as the receive side holds it: the mbuf chain that arrived and where it lies
// in sequence space.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "tcp/seq.hpp"

namespace nvmeddp::tcp {

struct RxSegment {
    rte_mbuf* m;     // chain whose data is exactly the segment's TCP payload (headers adj'ed off, trailer trimmed); DDP metadata untouched
    Seq seq;         // sequence number of its first byte
    uint32_t len;    // == m->pkt_len
};

// An entry of an out-of-order queue: 16 bytes, where an RxSegment and a stamp took 24. The shared
// reserve (ooo_reserve.hpp) holds a window's worth of these per queue it lends, a large part of a
// connection's memory. The length is not kept twice: a queued chain's pkt_len is its length (m is
// never null while the entry is queued).
struct QueuedSegment {
    rte_mbuf* m;
    Seq seq;
    uint32_t stamp;  // when it was queued (a counter that wraps), for the SACK blocks' order

    static QueuedSegment of(const RxSegment& s, uint32_t stamp) noexcept { return {s.m, s.seq, stamp}; }
    uint32_t len() const noexcept { return m->pkt_len; }
    Seq end() const noexcept { return seq + len(); }
    RxSegment segment() const noexcept { return {m, seq, len()}; }
};
static_assert(sizeof(QueuedSegment) == 16);

}  // namespace nvmeddp::tcp
