// What a port's rx checksum offload says of a frame (mbuf ol_flags), in the engine's terms.
//
// A frame the port found BAD, in its TCP checksum or its IPv4 header checksum, is one the host's
// TCP drops: Bad. GOOD for TCP (and the IP header not BAD): Good. Anything else is Unknown, for the
// engine to check itself: UNKNOWN (the port has no such offload, or did not look) and NONE.
// NONE says the checksum field is not valid but the data is (a virtual port that left the sum to
// be completed): the engine's own check will then fail on such a frame and leave it to the host, a
// loss of offload, never of data. (Good would keep the offload on such ports, but only if the
// host's TCP trusts NONE too: the engine must not follow what the host drops.)
#pragma once

#include <rte_mbuf_core.h>

#include <cstdint>

#include "pmd/engine/queue_engine.hpp"

namespace nvmeddp::pmd {

inline L4Checksum l4_checksum_of(uint64_t ol_flags) noexcept {
    const uint64_t l4 = ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    const uint64_t ip = ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD || ip == RTE_MBUF_F_RX_IP_CKSUM_BAD) return L4Checksum::Bad;
    if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD) return L4Checksum::Good;
    return L4Checksum::Unknown;
}

}  // namespace nvmeddp::pmd
