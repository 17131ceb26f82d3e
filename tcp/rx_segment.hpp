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

// An entry of an out-of-order queue.
struct QueuedSegment {
    RxSegment seg;
    uint64_t stamp;  // when it was queued (a counter), for the SACK blocks' order
};

}  // namespace nvmeddp::tcp
