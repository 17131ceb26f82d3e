// Building one outgoing TCP segment as a wire frame in mbufs: Ethernet (with one optional 802.1Q tag),
// IPv4 or IPv6, TCP with options, then the payload, with the checksums computed here or left to the
// port's tx checksum offload.
//
// The headers go into a header mbuf of their own and the payload mbufs are chained after it, so that
// data already in mbufs (the send queue's, kept for retransmission by reference) is never copied;
// build_copy() is the other way for control segments and small data, which fit in the header mbuf.
// Frames are not padded to Ethernet's 60-byte minimum: ports (NICs, veth, af_packet) pad on send,
// and padding after the headers would sit in front of a chained payload.
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "ddp/connection_config.hpp"
#include "tcp/addresses.hpp"
#include "tcp/options.hpp"
#include "tcp/seq.hpp"

namespace nvmeddp::tcp {

// One direction of a connection, down to the wire.
struct Route {
    MacAddress src_mac, dst_mac;
    bool has_vlan = false;
    uint16_t vlan_tci = 0;  // one 802.1Q tag when has_vlan
    IpAddress src_ip, dst_ip;  // same family (V4 or V6)
    uint16_t src_port = 0, dst_port = 0;  // host byte order
};

// The connection a route belongs to as the offload and rte_flow name it (local = our side).
inline ddp::ConnectionTuple connection_tuple(const Route& route) noexcept {
    ddp::ConnectionTuple t;
    t.family = route.src_ip.is_v4() ? ddp::IpFamily::Ipv4 : ddp::IpFamily::Ipv6;
    t.local_addr = route.src_ip.bytes;  // IPv4: the first 4 bytes, the rest zero (as the tuple wants them)
    t.remote_addr = route.dst_ip.bytes;
    t.local_port = route.src_port;
    t.remote_port = route.dst_port;
    t.vlan = route.has_vlan ? static_cast<uint16_t>(route.vlan_tci & 0x0FFF) : 0;
    return t;
}

// The TCP header fields that change from segment to segment.
struct SegmentFields {
    Seq seq;
    Seq ack;
    uint8_t flags = 0;     // pmd::tcp_flags
    uint16_t window = 0;   // as it goes on the wire (already shifted right by the window scale)
    const TcpOptions* options = nullptr;  // none when null
    // Non-zero: the port cuts the payload into segments of this many bytes (TSO; ol_flags
    // RTE_MBUF_F_TX_TCP_SEG, the TCP checksum field holds the pseudo-header sum without the length,
    // as DPDK asks). Only with TxChecksum::Offload; a payload of at most tso_segsz is sent as it is.
    uint16_t tso_segsz = 0;
};

// Who computes the checksums. Offload: the port does (ol_flags RTE_MBUF_F_TX_IPV4 | IP_CKSUM |
// TCP_CKSUM, or TX_IPV6 | TCP_CKSUM; l2_len, l3_len, l4_len set; the TCP checksum field holds the
// pseudo-header sum as rte_ipv4_phdr_cksum / rte_ipv6_phdr_cksum compute it, what the port expects).
enum class TxChecksum : uint8_t { Software, Offload };

// L2 + L3 + TCP header with options, in bytes.
size_t header_size(const Route& route, const TcpOptions* options) noexcept;

class FrameBuilder {
public:
    explicit FrameBuilder(TxChecksum checksum = TxChecksum::Software) noexcept;

    // Writes the headers into `hdr` (a fresh, empty, direct mbuf with tailroom >= header_size) and
    // chains `payload` after it (null = no payload; else an mbuf chain whose whole data is the TCP
    // payload; ownership passes into the frame). IPv4: DF set, TTL 64, an ID that increments per
    // frame, header checksum; IPv6: hop limit 64, no extension headers. Returns the frame (hdr), or
    // nullptr when it cannot (hdr not fresh, empty and direct; no tailroom; the chain would exceed
    // RTE_MBUF_MAX_NB_SEGS; the IP length would exceed 65535; families differ or are neither V4 nor
    // V6; tso_segsz set without checksum offload): then hdr and payload are untouched and still the
    // caller's.
    rte_mbuf* build(rte_mbuf* hdr, const Route& route, const SegmentFields& fields, rte_mbuf* payload) noexcept;

    // The same with a small payload copied into hdr right after the headers (control segments, small
    // data): nullptr when it does not fit hdr's tailroom.
    rte_mbuf* build_copy(rte_mbuf* hdr, const Route& route, const SegmentFields& fields,
                         std::span<const uint8_t> payload) noexcept;

private:
    rte_mbuf* build_frame(rte_mbuf* hdr, const Route& route, const SegmentFields& fields, rte_mbuf* payload,
                          std::span<const uint8_t> inline_payload) noexcept;

    TxChecksum checksum_;
    uint16_t next_ip_id_ = 0;
};

}  // namespace nvmeddp::tcp
