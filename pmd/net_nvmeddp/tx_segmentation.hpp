// What a NIC's transmit side does with the offloads a frame asks for in its ol_flags, done in
// software: the IPv4 header checksum (RTE_MBUF_F_TX_IP_CKSUM), the TCP checksum over IPv4 or IPv6
// (RTE_MBUF_F_TX_TCP_CKSUM) and TCP segmentation (RTE_MBUF_F_TX_TCP_SEG, "TSO"), with the mbuf
// fields as DPDK defines them: l2_len / l3_len / l4_len, RTE_MBUF_F_TX_IPV4 or _IPV6, tso_segsz.
//
// The TCP checksum field holds what the application put there, as rte_ipv4_phdr_cksum /
// rte_ipv6_phdr_cksum compute it: the pseudo-header sum, without the length for TSO. That sum is
// taken as the start of the checksum, as NICs that take it do (Intel's): an application that leaves
// the field wrong gets a wrong checksum here as there, which the receiving side then reports.
//
// TSO cuts the frame into frames of at most tso_segsz payload bytes, as a NIC does on the wire: each
// a copy of the headers (in a fresh mbuf) with the IP length set, the IPv4 id incremented per segment,
// the sequence number advanced, FIN and PSH only on the last segment and CWR only on the first, TCP
// options as they are, every checksum computed. The payload is not copied: each segment chains
// indirect mbufs (rte_pktmbuf_attach) on the frame's own buffers. The IP length fields of the frame
// asked to be cut are not read (applications put the whole length there, or 0, or anything).
//
// A frame's first segment is written in place only when the frame owns it (a direct mbuf, no
// external buffer, refcnt 1); otherwise its headers are copied into a fresh mbuf first, so that a
// buffer the sender still holds (a retransmission queue's clone) keeps the bytes it had.
//
// Not tied to a port: the loopback path calls it before steering, and a stacked path could call it
// for a lower port that lacks the offloads.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdint>

namespace nvmeddp::pmd::nic {

enum class TxOffloadOutcome : uint8_t {
    Plain,       // nothing asked: the frame handed to the sink as it is
    Done,        // checksums completed, or the frame cut into segments, all handed to the sink
    NotEnabled,  // asks for an offload the queue was not configured with (DPDK: undefined): freed
    Malformed,   // the request does not describe the frame (lengths, protocol, tso_segsz 0): freed
    NoMbufs,     // the pool ran dry: what was not yet handed to the sink is freed
};

struct TxOffloadResult {
    TxOffloadOutcome outcome = TxOffloadOutcome::Plain;
    uint32_t frames = 0;      // frames handed to the sink
    bool segmented = false;   // a TSO request (whatever its outcome)
    const char* why = "";     // for NotEnabled / Malformed / NoMbufs: a sentence saying what
};

// Takes each frame to send, in order, and owns it from then on.
using TxFrameSink = void (*)(void* ctx, rte_mbuf* frame);

// Does what `m` asks of tx and hands the result to `sink`. `enabled`: the RTE_ETH_TX_OFFLOAD_* bits
// the queue was configured with. Segments' mbufs come from `pool`. Owns `m` (frees what it does not
// hand on). Frames handed on for Done carry no offload request in their ol_flags any more; Plain
// ones are as they came.
TxOffloadResult apply_tx_offloads(rte_mbuf* m, uint64_t enabled, rte_mempool* pool, TxFrameSink sink,
                                  void* ctx) noexcept;

// The tx offloads this code does: what a port that calls it may offer (tx_offload_capa).
constexpr uint64_t kTxOffloadsDone = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
                                     RTE_ETH_TX_OFFLOAD_TCP_TSO;

}  // namespace nvmeddp::pmd::nic
