// One in-order TCP segment handed to a host queue: each mbuf of its chain is one span for
// Queue::receive, all with the head mbuf's DDP metadata, the later ones marked as the same packet
// (a port's LRO chains several packets' payloads into one segment, and the device claimed them as
// one packet: a claim's second run is applied only if the host sees the bytes before it come from
// the same packet). Shared by the host's TCP transport and the benchmarks that play its part.
#pragma once

#include <rte_mbuf.h>

#include "nvmetcp/host/queue.hpp"
#include "pmd/dpdk/mbuf_meta.hpp"
#include "tcp/rx_segment.hpp"

namespace nvmeddp::nvmetcp::host {

// Stops early, and returns false, when open() turns false after a span (the queue failed and its
// connection is closing: the rest is of no use to it).
template <class StillOpen>
inline bool receive_segment(Queue& queue, const tcp::RxSegment& s, StillOpen open) {
    RxPiece piece;
    piece.meta = pmd::MbufMeta::registered() && pmd::MbufMeta::has(s.m) ? pmd::MbufMeta::get(s.m) : nullptr;
    uint32_t seq = s.seq.raw();
    for (const rte_mbuf* seg = s.m; seg != nullptr; seg = seg->next) {
        if (seg->data_len == 0) continue;
        piece.seq = seq;
        queue.receive({rte_pktmbuf_mtod(seg, const uint8_t*), seg->data_len}, piece);
        piece.continues_packet = true;
        seq += seg->data_len;
        if (!open()) return false;
    }
    return true;
}

}  // namespace nvmeddp::nvmetcp::host
