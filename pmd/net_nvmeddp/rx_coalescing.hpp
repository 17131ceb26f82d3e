// What a NIC's receive side does for RTE_ETH_RX_OFFLOAD_TCP_LRO, done in software on a burst of
// received frames: consecutive frames of one TCP flow that continue each other exactly are delivered
// as one frame, their payloads chained (not copied).
//
// Frame i+1 joins the frame being built from frame i (and those before it) when both are TCP over
// IPv4 without options or IPv6 without extension headers (not fragments), of the same flow (addresses,
// ports, VLANs), carry payload and no bytes after their IP packet, have ACK set and none of
// SYN/FIN/RST/URG/CWR/ECE, have valid checksums (the port's verdict where it gave one, else verified
// here), and i+1's sequence number is i's plus i's payload length; their TCP option bytes must be the
// same, except for the values of a timestamp option, whose TSval must not go back. A PSH frame may
// join but ends the frame. The built frame stays within max_frame_len bytes (L2 header included),
// 65535 bytes of IP packet, and kMaxLroSegments mbufs. The first frame's first segment is
// written (it must be owned: direct, refcnt 1), every later frame's first segment loses its headers.
//
// The frame built: the first frame's headers with the IP length (IPv4 header checksum recomputed),
// the last frame's ACK number, window, timestamp values and PSH; ol_flags RTE_MBUF_F_RX_LRO with
// RTE_MBUF_F_RX_L4_CKSUM_GOOD (and RTE_MBUF_F_RX_IP_CKSUM_GOOD for IPv4) in place of the checksum
// verdicts, every other flag (the MARK) the first frame's; tso_segsz the largest payload merged
// (DPDK's meaning for LRO frames). Its TCP checksum field is the first frame's, stale: every frame in
// it was verified, which the L4 GOOD flag says, so nothing downstream checks the field (a NIC's LRO
// frames are the same). Frames not merged are left exactly as they were.
//
// Not tied to a port: loopback's rx_burst calls it on what it dequeued; a stacked path could too.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace nvmeddp::pmd::nic {

struct LroCounters {
    uint64_t frames = 0;  // frames built from several
    uint64_t merged = 0;  // received frames that went into them
};

// Coalesces pkts[0..n) in place and returns how many frames there are now, in their order.
uint16_t coalesce_tcp_frames(rte_mbuf** pkts, uint16_t n, uint32_t max_frame_len, LroCounters& counters) noexcept;

// The longest IP packet a built frame may hold (the IPv4 total length / 40 + IPv6 payload length).
constexpr uint32_t kMaxLroIpLength = 0xFFFF;
// The most mbufs a built frame may chain: the offload's engine follows frames of at most 64 payload
// chunks (QueueEngine::kMaxChunks) and leaves longer ones to the host, losing its framing.
constexpr uint16_t kMaxLroSegments = 64;

}  // namespace nvmeddp::pmd::nic
