// Parsing one received Ethernet frame down to its TCP payload, without DPDK.
//
// parse_frame() takes the frame's bytes (first segment of an mbuf, a pcap record, a test vector) and
// says either where the TCP payload is and which flow it belongs to, or exactly why the frame is not
// a TCP segment the offload engine can follow. Accepted: Ethernet II, up to two VLAN tags (802.1Q,
// or 802.1ad S-tag + C-tag), IPv4 with options, IPv6 without extension headers, TCP with options.
//
// Safety: it reads only inside the span, and checks every length field against both the header it
// belongs to and the bytes present before using it. A frame longer than its IP packet (Ethernet
// padding up to 60 bytes, trailing FCS) is fine: the payload ends where IP says the packet ends.
//
// Checksums (IPv4 header, TCP) are not verified here: l4_checksum.hpp does that on the TcpSegment
// parsed here, for a NIC's rx checksum offload (our net_nvmeddp) and for the engine when the port
// could not say. Parsing a corrupted frame is safe (every length is checked); following one is not:
// the host's TCP drops it, so the queue engine checks its checksum (or takes the port's verdict)
// before a connection engine sees its payload. The flow key includes the frame's VLAN tags.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "pmd/packet/flow_key.hpp"
#include "pmd/packet/net_headers.hpp"

namespace nvmeddp::pmd {

enum class FrameError : uint8_t {
    None = 0,
    TruncatedEthernet,        // shorter than an Ethernet header
    TruncatedVlanTag,         // a VLAN TPID with fewer than 4 bytes after it
    TooManyVlanTags,          // a third VLAN tag (at most S-tag + C-tag are parsed)
    NotIp,                    // EtherType neither IPv4 nor IPv6 (ARP, LLDP, 802.3 length, ...)
    TruncatedIpHeader,        // the frame ends inside the IPv4 header (options included) or IPv6 header
    BadIpVersion,             // version nibble disagrees with the EtherType
    BadIhl,                   // IPv4 IHL below 5
    BadIpTotalLength,         // IPv4 total length below the header length
    TruncatedIpPacket,        // IPv4 total length / IPv6 payload length runs past the end of the frame
    NotTcp,                   // upper protocol is not TCP (UDP, ICMP, IPv6 no-next-header, ...)
    Ipv4Fragment,             // MF set or fragment offset non-zero: the segment is not whole here
    Ipv6ExtensionHeader,      // an extension header before TCP: not offloadable (net_headers.hpp)
    IpPayloadTooShortForTcp,  // the IP payload is shorter than a TCP header without options
    BadTcpDataOffset,         // TCP data offset below 5, or the TCP header runs past the IP payload
    HeadersNotInFirstSegment, // multi-segment frame whose headers do not all sit in the first segment
};

const char* to_string(FrameError error) noexcept;

inline constexpr uint8_t kMaxVlanTags = 2;

// A TCP segment found in a frame. Offsets are from the first byte of the frame.
struct TcpSegment {
    FlowKey flow;                       // as sent: src = the peer that sent this frame
    uint32_t seq = 0;
    uint32_t ack = 0;
    uint32_t payload_len = 0;           // TCP payload bytes (may be 0: a pure ACK)
    uint16_t payload_offset = 0;        // first payload byte
    uint16_t l3_offset = 0;             // IP header
    uint16_t l4_offset = 0;             // TCP header
    uint16_t vlan_ids[kMaxVlanTags] = {};  // VIDs, outermost first
    uint8_t vlan_count = 0;
    uint8_t tcp_flags = 0;              // tcp_flags::* (net_headers.hpp)

    friend bool operator==(const TcpSegment&, const TcpSegment&) = default;
};

struct FrameParse {
    FrameError error = FrameError::None;
    TcpSegment segment{};  // meaningful only when ok()

    bool ok() const noexcept { return error == FrameError::None; }
};

namespace detail {
// Every frame the parser accepts, and the exact error of every other: parse_frame() takes a
// straight-line path for untagged IPv4 with a 20-byte header and TCP (below), and this one for the
// rest. Exposed so that tests and the fuzzer can check that both say the same of any frame.
FrameParse parse_frame_general(std::span<const uint8_t> first, size_t frame_len) noexcept;

// The frame nearly every NVMe/TCP packet is: untagged Ethernet, IPv4 with a 20-byte header, not a
// fragment, TCP whose header lies in `frame`. When every one of those holds, returns the TCP
// header, and plain_ipv4_segment() builds exactly what parse_frame_general would; otherwise null,
// and parse_frame_general says what is wrong, if anything. The same checks in one straight line,
// with no VLAN loop and no per-family dispatch: the parse is most of what a payload-less segment
// costs the engine.
inline constexpr size_t kPlainL3 = sizeof(EthernetHeader);
inline constexpr size_t kPlainL4 = kPlainL3 + sizeof(Ipv4Header);
static_assert(kPlainL3 == 14 && kPlainL4 == 34);

// The TCP header's length in bytes, from its data offset (in 32-bit words).
inline size_t tcp_header_len(const uint8_t* tcp) noexcept {
    return (size_t{tcp[offsetof(TcpHeader, data_offset)]} >> 4) * 4;
}

inline const uint8_t* plain_ipv4_tcp(std::span<const uint8_t> frame, size_t frame_len) noexcept {
    // The bytes given may run past the frame (frame_len cuts them, as in parse_frame_general).
    const size_t have = frame.size() < frame_len ? frame.size() : frame_len;
    if (have < kPlainL4 + sizeof(TcpHeader)) return nullptr;
    const uint8_t* p = frame.data();
    if (load_be16(p + offsetof(EthernetHeader, ether_type)) != ether_type::kIpv4) return nullptr;
    const uint8_t* ip = p + kPlainL3;
    if (ip[offsetof(Ipv4Header, version_ihl)] != 0x45 || ip[offsetof(Ipv4Header, protocol)] != ip_proto::kTcp) {
        return nullptr;
    }
    const size_t total = load_be16(ip + offsetof(Ipv4Header, total_length));
    if (total < sizeof(Ipv4Header) + sizeof(TcpHeader) || total > frame_len - kPlainL3) return nullptr;
    if ((load_be16(ip + offsetof(Ipv4Header, frag)) & (ipv4_frag::kMoreFragments | ipv4_frag::kOffsetMask)) != 0) {
        return nullptr;
    }
    const uint8_t* tcp = p + kPlainL4;
    const size_t tcp_len = tcp_header_len(tcp);
    if (tcp_len < size_t{kTcpMinDataOffset} * 4 || tcp_len > total - sizeof(Ipv4Header) || have - kPlainL4 < tcp_len) {
        return nullptr;
    }
    return tcp;
}

// The TCP payload bytes of a frame plain_ipv4_tcp() accepted (its tcp).
inline uint32_t plain_ipv4_payload_len(const uint8_t* frame, const uint8_t* tcp) noexcept {
    const size_t ip_len = size_t{load_be16(frame + kPlainL3 + offsetof(Ipv4Header, total_length))} - sizeof(Ipv4Header);
    return static_cast<uint32_t>(ip_len - tcp_header_len(tcp));
}

// Both TCP ports of a frame plain_ipv4_tcp() accepted, as the four bytes lie on the wire read in the
// CPU's byte order: for a value that does not depend on the order of the bytes (an XOR of them).
inline uint32_t plain_ipv4_ports_raw(const uint8_t* tcp) noexcept {
    static_assert(offsetof(TcpHeader, dst_port) == offsetof(TcpHeader, src_port) + 2);
    uint32_t v;
    std::memcpy(&v, tcp + offsetof(TcpHeader, src_port), sizeof(v));
    return v;
}

// Built in one go at the return, as parse_frame_general builds its result (see there why).
inline FrameParse plain_ipv4_segment(const uint8_t* frame, const uint8_t* tcp) noexcept {
    const uint8_t* ip = frame + kPlainL3;
    const size_t tcp_len = tcp_header_len(tcp);
    return FrameParse{
        FrameError::None,
        TcpSegment{
            FlowKey::ipv4(ip + offsetof(Ipv4Header, src), ip + offsetof(Ipv4Header, dst),
                          load_be16(tcp + offsetof(TcpHeader, src_port)), load_be16(tcp + offsetof(TcpHeader, dst_port))),
            load_be32(tcp + offsetof(TcpHeader, seq)),
            load_be32(tcp + offsetof(TcpHeader, ack)),
            plain_ipv4_payload_len(frame, tcp),
            static_cast<uint16_t>(kPlainL4 + tcp_len),
            static_cast<uint16_t>(kPlainL3),
            static_cast<uint16_t>(kPlainL4),
            {0, 0},
            0,
            tcp[offsetof(TcpHeader, flags)],
        },
    };
}
}  // namespace detail

// A frame in several segments (an mbuf chain): `first` is the first segment, which must hold every
// header; frame_len is the whole frame's length (pkt_len). The payload may continue in later segments.
FrameParse parse_frame(std::span<const uint8_t> first, size_t frame_len) noexcept;
FrameParse parse_frame(std::span<const uint8_t> frame) noexcept;

namespace detail {
// parse_frame() for a caller that ran the shape check already: plain_tcp is what plain_ipv4_tcp()
// said of this frame.
inline FrameParse parse_frame_after_shape_check(std::span<const uint8_t> first, size_t frame_len,
                                                const uint8_t* plain_tcp) noexcept {
    return plain_tcp != nullptr ? plain_ipv4_segment(first.data(), plain_tcp) : parse_frame_general(first, frame_len);
}
}  // namespace detail

}  // namespace nvmeddp::pmd
