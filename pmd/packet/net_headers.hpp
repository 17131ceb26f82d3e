// Wire formats of the headers in front of NVMe/TCP bytes: Ethernet II, 802.1Q/802.1ad VLAN tags,
// IPv4, IPv6 and TCP. One struct per header, exact layout (alignment 1, see be_int.hpp); the
// static_asserts pin each size and field offset so that a layout mistake fails the build.
//
// Only the fixed parts are structs. Variable parts (IPv4 options, TCP options) are located with the
// length fields, which the frame parser checks before using (frame_parser.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "pmd/packet/be_int.hpp"

namespace nvmeddp::pmd {

namespace ether_type {
inline constexpr uint16_t kIpv4 = 0x0800;
inline constexpr uint16_t kArp = 0x0806;
inline constexpr uint16_t kVlan = 0x8100;  // 802.1Q C-tag
inline constexpr uint16_t kQinQ = 0x88A8;  // 802.1ad S-tag (outer tag of QinQ)
inline constexpr uint16_t kIpv6 = 0x86DD;
}  // namespace ether_type

inline constexpr size_t kEtherAddrLen = 6;
// Shortest Ethernet frame without FCS; shorter IP packets are padded up to it by the sender, so a
// frame can be longer than its IP packet.
inline constexpr size_t kEtherMinFrameLen = 60;

struct EthernetHeader {
    uint8_t dst[kEtherAddrLen];
    uint8_t src[kEtherAddrLen];
    be16 ether_type;  // or the TPID of a VLAN tag that follows
};
static_assert(sizeof(EthernetHeader) == 14);
static_assert(offsetof(EthernetHeader, dst) == 0 && offsetof(EthernetHeader, src) == 6 &&
              offsetof(EthernetHeader, ether_type) == 12);

// The 4 bytes a tag inserts after the source address: its TPID is the EthernetHeader's ether_type
// (or the previous tag's inner_type), so the struct holds TCI and the EtherType that follows.
struct VlanTag {
    be16 tci;         // PCP 3 bits, DEI 1 bit, VID 12 bits
    be16 inner_type;  // EtherType (or the TPID of the next tag)

    uint16_t vid() const noexcept { return tci.get() & 0x0FFF; }
};
static_assert(sizeof(VlanTag) == 4);
static_assert(offsetof(VlanTag, tci) == 0 && offsetof(VlanTag, inner_type) == 2);

namespace ip_proto {
inline constexpr uint8_t kHopByHop = 0;
inline constexpr uint8_t kIcmp = 1;
inline constexpr uint8_t kTcp = 6;
inline constexpr uint8_t kUdp = 17;
inline constexpr uint8_t kIpv6Routing = 43;
inline constexpr uint8_t kIpv6Fragment = 44;
inline constexpr uint8_t kEsp = 50;
inline constexpr uint8_t kAh = 51;
inline constexpr uint8_t kIcmpv6 = 58;
inline constexpr uint8_t kIpv6NoNext = 59;
inline constexpr uint8_t kIpv6DestOpts = 60;
inline constexpr uint8_t kMobility = 135;
inline constexpr uint8_t kHip = 139;
inline constexpr uint8_t kShim6 = 140;
inline constexpr uint8_t kExperimental1 = 253;
inline constexpr uint8_t kExperimental2 = 254;
}  // namespace ip_proto

// True for the IPv6 extension header numbers (IANA "IPv6 Extension Header Types"). A packet with any
// of them before TCP is not offloaded: walking a chain of unbounded length per packet is what the fast
// path must not do, and a hardware parser would punt it too.
constexpr bool is_ipv6_extension_header(uint8_t next_header) noexcept {
    switch (next_header) {
        case ip_proto::kHopByHop:
        case ip_proto::kIpv6Routing:
        case ip_proto::kIpv6Fragment:
        case ip_proto::kEsp:
        case ip_proto::kAh:
        case ip_proto::kIpv6DestOpts:
        case ip_proto::kMobility:
        case ip_proto::kHip:
        case ip_proto::kShim6:
        case ip_proto::kExperimental1:
        case ip_proto::kExperimental2:
            return true;
        default:
            return false;
    }
}

inline constexpr size_t kIpv4AddrLen = 4;
inline constexpr size_t kIpv6AddrLen = 16;

struct Ipv4Header {
    uint8_t version_ihl;  // version 4 bits (4), IHL 4 bits (header length in 32-bit words, >= 5)
    uint8_t tos;
    be16 total_length;    // header + options + payload, bytes
    be16 id;
    be16 frag;            // flags 3 bits (reserved, DF, MF), fragment offset 13 bits (8-byte units)
    uint8_t ttl;
    uint8_t protocol;
    be16 checksum;
    uint8_t src[kIpv4AddrLen];
    uint8_t dst[kIpv4AddrLen];

    uint8_t version() const noexcept { return version_ihl >> 4; }
    uint8_t ihl() const noexcept { return version_ihl & 0x0F; }
};
static_assert(sizeof(Ipv4Header) == 20);
static_assert(offsetof(Ipv4Header, total_length) == 2 && offsetof(Ipv4Header, id) == 4 &&
              offsetof(Ipv4Header, frag) == 6 && offsetof(Ipv4Header, ttl) == 8 &&
              offsetof(Ipv4Header, protocol) == 9 && offsetof(Ipv4Header, checksum) == 10 &&
              offsetof(Ipv4Header, src) == 12 && offsetof(Ipv4Header, dst) == 16);

namespace ipv4_frag {
inline constexpr uint16_t kDontFragment = 0x4000;
inline constexpr uint16_t kMoreFragments = 0x2000;
inline constexpr uint16_t kOffsetMask = 0x1FFF;
}  // namespace ipv4_frag

inline constexpr uint8_t kIpv4MinIhl = 5;
inline constexpr size_t kIpv4MaxHeaderLen = 15 * 4;

struct Ipv6Header {
    be32 vtc_flow;        // version 4 bits (6), traffic class 8 bits, flow label 20 bits
    be16 payload_length;  // bytes after this 40-byte header (extension headers included)
    uint8_t next_header;
    uint8_t hop_limit;
    uint8_t src[kIpv6AddrLen];
    uint8_t dst[kIpv6AddrLen];

    uint8_t version() const noexcept { return vtc_flow.bytes[0] >> 4; }
};
static_assert(sizeof(Ipv6Header) == 40);
static_assert(offsetof(Ipv6Header, payload_length) == 4 && offsetof(Ipv6Header, next_header) == 6 &&
              offsetof(Ipv6Header, hop_limit) == 7 && offsetof(Ipv6Header, src) == 8 &&
              offsetof(Ipv6Header, dst) == 24);

struct TcpHeader {
    be16 src_port;
    be16 dst_port;
    be32 seq;
    be32 ack;
    uint8_t data_offset;  // header length in 32-bit words in the high 4 bits (>= 5); low bits reserved/NS
    uint8_t flags;        // tcp_flags below
    be16 window;
    be16 checksum;
    be16 urgent;

    uint8_t header_words() const noexcept { return data_offset >> 4; }
};
static_assert(sizeof(TcpHeader) == 20);
static_assert(offsetof(TcpHeader, dst_port) == 2 && offsetof(TcpHeader, seq) == 4 &&
              offsetof(TcpHeader, ack) == 8 && offsetof(TcpHeader, data_offset) == 12 &&
              offsetof(TcpHeader, flags) == 13 && offsetof(TcpHeader, window) == 14 &&
              offsetof(TcpHeader, checksum) == 16 && offsetof(TcpHeader, urgent) == 18);

namespace tcp_flags {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
inline constexpr uint8_t kEce = 0x40;
inline constexpr uint8_t kCwr = 0x80;
}  // namespace tcp_flags

inline constexpr uint8_t kTcpMinDataOffset = 5;
inline constexpr size_t kTcpMaxHeaderLen = 15 * 4;

}  // namespace nvmeddp::pmd
