// In-order TCP segments handed to a host queue: each mbuf of a segment's chain is one span, all with
// the head mbuf's DDP metadata, the later ones marked as the same packet (a port's LRO chains several
// packets' payloads into one segment, and the device claimed them as one packet: a claim's second
// run is applied only if the host sees the bytes before it come from the same packet). Spans inside
// one C2HData PDU's data reach the queue as one run (rx_span_batch.hpp). Shared by the host's TCP
// transport and the benchmarks that play its part.
#pragma once

#include <rte_mbuf.h>

#include <span>

#include "nvmetcp/host/queue.hpp"
#include "nvmetcp/host/rx_span_batch.hpp"
#include "pmd/dpdk/mbuf_meta.hpp"
#include "tcp/rx_segment.hpp"

namespace nvmeddp::nvmetcp::host {

// Stops early, and returns false, when open() turns false (the queue failed and its connection is
// closing: the rest is of no use to it). The segments' mbufs must live until it returns.
template <class StillOpen>
inline bool receive_segments(Queue& queue, std::span<const tcp::RxSegment> segments, StillOpen open) {
    RxSpanBatch batch(queue);
    for (const tcp::RxSegment& s : segments) {
        RxPiece piece;
        piece.meta = pmd::MbufMeta::registered() && pmd::MbufMeta::has(s.m) ? pmd::MbufMeta::get(s.m) : nullptr;
        piece.seq = s.seq.raw();
        for (const rte_mbuf* seg = s.m; seg != nullptr; seg = seg->next) {
            if (seg->data_len == 0) continue;
            const bool took = batch.add({rte_pktmbuf_mtod(seg, const uint8_t*), seg->data_len}, piece);
            piece.continues_packet = true;
            piece.seq += seg->data_len;
            if (took && !open()) return false;
        }
    }
    batch.flush();
    return open();
}

}  // namespace nvmeddp::nvmetcp::host
