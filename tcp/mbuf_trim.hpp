// Cutting bytes off either end of a received mbuf chain without losing what the head mbuf carries.
//
// rte_pktmbuf_adj() trims within the first segment only. A retransmission overlapping what was
// already received can need a trim through several segments of a chain. The head mbuf is what the
// rest of the system looks at: it holds the per-packet DDP metadata (the dynamic field and its
// ol_flags bit, include/nvmeddp/ddp_mbuf.h), the steering MARK, the port and the packet type. So
// the head is never freed here: when the trim consumes all of its data it stays as an empty first
// segment (data_len 0) and the segments after it that are wholly trimmed are freed. The other
// choice, copying ol_flags and the dynamic fields into the next segment and freeing the head, would
// have to know every head-only field that matters now or later; an empty head costs one mbuf until
// the chain is delivered, and readers of a chain walk its segments by data_len anyway.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace nvmeddp::tcp {

// Removes the first `n` data bytes of the chain `m` (n <= m->pkt_len), keeping pkt_len and
// nb_segs exact. The head mbuf stays (possibly empty); wholly trimmed later segments are freed.
void trim_front(rte_mbuf* m, uint32_t n) noexcept;

// Removes the last `n` data bytes (n <= m->pkt_len): Ethernet padding after the TCP payload, or
// bytes beyond the receive window. Segments wholly past the new end are freed; the head stays.
void trim_back(rte_mbuf* m, uint32_t n) noexcept;

}  // namespace nvmeddp::tcp
