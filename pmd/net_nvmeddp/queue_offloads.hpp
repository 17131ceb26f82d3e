// The offloads a queue does in software, for the loopback and stacked paths alike: on tx, what it
// counts of TSO frames and their segments and of refused requests, the first of which is logged (the
// rest only counted: oerrors); on rx, LRO over a received burst.
#pragma once

#include "pmd/net_nvmeddp/nic_log.hpp"
#include "pmd/net_nvmeddp/nic_port.hpp"
#include "pmd/net_nvmeddp/rx_coalescing.hpp"
#include "pmd/net_nvmeddp/tx_segmentation.hpp"

namespace nvmeddp::pmd::nic {

inline void account_tx_offloads(TxQueue& q, const TxOffloadResult& r) noexcept {
    if (r.segmented && r.outcome == TxOffloadOutcome::Done) {
        ++q.tso_frames;
        q.tso_segments += r.frames;
    }
    if (r.outcome == TxOffloadOutcome::Plain || r.outcome == TxOffloadOutcome::Done) return;
    ++q.tx_offload_errors;
    if (!q.offload_error_logged) {
        q.offload_error_logged = true;
        NVMEDDP_PMD_LOG(WARNING, "%s: tx queue %u: frame dropped: %s (further ones only counted: oerrors)", q.port->name,
                        q.index, r.why);
    }
}

// LRO over the n frames a receive burst got, when the port has it on: in rx_burst, so before the rx
// callbacks, and the offload's engine (ddp=on) sees the merged frames. Returns the frames left.
inline uint16_t coalesce_received(RxQueue& q, rte_mbuf** pkts, uint16_t n) noexcept {
    if (!q.port->lro_enabled || n < 2) return n;
    LroCounters c;
    n = coalesce_tcp_frames(pkts, n, q.port->max_lro_pkt_size, c);
    q.lro_frames += c.frames;
    q.lro_segments_merged += c.merged;
    return n;
}

}  // namespace nvmeddp::pmd::nic
