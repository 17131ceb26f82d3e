// What a tx queue counts of the offloads it did in software (tx_segmentation.hpp), for the loopback
// and stacked paths alike: TSO frames and their segments, and refused requests, the first of which
// is logged (the rest only counted: oerrors).
#pragma once

#include "pmd/net_nvmeddp/nic_log.hpp"
#include "pmd/net_nvmeddp/nic_port.hpp"
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

}  // namespace nvmeddp::pmd::nic
