// One TCP payload byte of a frame altered in its mbuf, as the fault shim's `corrupt` and `lie` do.
//
// corrupt: the byte is flipped and the TCP checksum left as it was, so it no longer matches (a
// single altered byte always changes the ones' complement sum: the difference is below 0xFFFF and
// not zero). It models damage on the wire that a receiver's checksum check catches.
// lie: the byte is flipped and the checksum recomputed over the new bytes (pseudo-header included,
// IPv4 or IPv6), so it is valid again: a peer or middlebox that lies, which only a data digest catches.
//
// The mbuf's checksum flags are kept true to what the frame now is:
//  - rx: the fault happened on the wire before the NIC, so a frame the port had flagged L4 GOOD (or
//    NONE, "data valid") that is now corrupt becomes L4 BAD, as the NIC would have said; a lie stays
//    GOOD.
//  - tx: a frame that asks the NIC to compute its TCP checksum (RTE_MBUF_F_TX_TCP_CKSUM) would get a
//    valid one after any change made before the NIC. For `corrupt` the checksum is therefore computed
//    here first, the request cleared, and then the byte flipped; for `lie` the byte is flipped and
//    the NIC's checksum covers it. A TSO frame (RTE_MBUF_F_TX_TCP_SEG) is left alone: the NIC cuts
//    and sums it.
//
// Only IPv4/IPv6 TCP segments with payload, as pmd/packet/frame_parser.hpp parses them (headers in
// the first segment), are touched; the byte may sit in any segment of the chain.
#pragma once

#include <cstdint>

struct rte_mbuf;

namespace nvmeddp::pmd {

enum class PayloadFault : uint8_t { Corrupt, Lie };
enum class FaultDirection : uint8_t { Rx, Tx };

// `draw` picks the byte (its low 32 bits, modulo the payload length) and the non-zero value it is
// XORed with (from its high bits). False, and the frame untouched, when it is not a TCP segment with
// payload (or a TSO frame on tx).
bool alter_tcp_payload_byte(rte_mbuf* m, PayloadFault fault, FaultDirection direction, uint64_t draw) noexcept;

// Recomputes the TCP checksum of a frame parsed as a TCP segment (for `lie`, and for tests).
// False when the frame is not one.
bool rewrite_tcp_checksum(rte_mbuf* m) noexcept;

}  // namespace nvmeddp::pmd
