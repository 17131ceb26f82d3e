#include "pmd/packet/frame_parser.hpp"

#include <cstring>

#include "pmd/packet/net_headers.hpp"

namespace nvmeddp::pmd {

const char* to_string(FrameError error) noexcept {
    switch (error) {
        case FrameError::None: return "no error";
        case FrameError::TruncatedEthernet: return "frame shorter than an Ethernet header";
        case FrameError::TruncatedVlanTag: return "frame ends inside a VLAN tag";
        case FrameError::TooManyVlanTags: return "more than two VLAN tags";
        case FrameError::NotIp: return "EtherType is neither IPv4 nor IPv6";
        case FrameError::TruncatedIpHeader: return "frame ends inside the IP header";
        case FrameError::BadIpVersion: return "IP version does not match the EtherType";
        case FrameError::BadIhl: return "IPv4 IHL below 5";
        case FrameError::BadIpTotalLength: return "IPv4 total length below the header length";
        case FrameError::TruncatedIpPacket: return "IP length runs past the end of the frame";
        case FrameError::NotTcp: return "not TCP";
        case FrameError::Ipv4Fragment: return "IPv4 fragment";
        case FrameError::Ipv6ExtensionHeader: return "IPv6 extension header before TCP";
        case FrameError::IpPayloadTooShortForTcp: return "IP payload shorter than a TCP header";
        case FrameError::BadTcpDataOffset: return "TCP data offset below 5 or past the IP payload";
        case FrameError::HeadersNotInFirstSegment: return "headers continue past the first segment";
    }
    return "unknown frame error";
}

namespace {

// Each helper gets the frame and the offset of its header, and checks before it reads. Fields are
// loaded from the frame one by one: copying a header into a local struct first had GCC store it with
// vector stores and read the fields back with scalar loads, a store-forwarding stall per frame. On success
// it returns None and describes the IP payload. The flow key is built once, at the end, from the
// addresses and the ports (see FlowKey::ipv4 for why it is written in one go).
struct IpPayload {
    size_t offset = 0;  // first byte after the IP header(s)
    size_t len = 0;     // bytes of IP payload (the TCP segment), inside the frame
    const uint8_t* src = nullptr;  // source and destination addresses, inside the frame
    const uint8_t* dst = nullptr;
    IpFamily family = IpFamily::None;
};

// `frame` is the first segment (the headers must be in it); frame_len the whole frame's length.
FrameError parse_ipv4(std::span<const uint8_t> frame, size_t frame_len, size_t l3, IpPayload& out) noexcept {
    const size_t avail = frame_len - l3;
    if (frame.size() - l3 < sizeof(Ipv4Header)) {
        return avail < sizeof(Ipv4Header) ? FrameError::TruncatedIpHeader : FrameError::HeadersNotInFirstSegment;
    }
    const uint8_t* base = frame.data() + l3;
    const uint8_t version_ihl = base[offsetof(Ipv4Header, version_ihl)];
    if (version_ihl >> 4 != 4) return FrameError::BadIpVersion;
    if ((version_ihl & 0x0F) < kIpv4MinIhl) return FrameError::BadIhl;
    const size_t header_len = size_t{version_ihl & 0x0Fu} * 4;
    if (avail < header_len) return FrameError::TruncatedIpHeader;
    if (frame.size() - l3 < header_len) return FrameError::HeadersNotInFirstSegment;
    const size_t total = load_be16(base + offsetof(Ipv4Header, total_length));
    if (total < header_len) return FrameError::BadIpTotalLength;
    if (total > avail) return FrameError::TruncatedIpPacket;
    if (base[offsetof(Ipv4Header, protocol)] != ip_proto::kTcp) return FrameError::NotTcp;
    const uint16_t frag = load_be16(base + offsetof(Ipv4Header, frag));
    if ((frag & (ipv4_frag::kMoreFragments | ipv4_frag::kOffsetMask)) != 0) return FrameError::Ipv4Fragment;
    out = IpPayload{l3 + header_len, total - header_len, base + offsetof(Ipv4Header, src),
                    base + offsetof(Ipv4Header, dst), IpFamily::Ipv4};
    return FrameError::None;
}

FrameError parse_ipv6(std::span<const uint8_t> frame, size_t frame_len, size_t l3, IpPayload& out) noexcept {
    const size_t avail = frame_len - l3;
    if (frame.size() - l3 < sizeof(Ipv6Header)) {
        return avail < sizeof(Ipv6Header) ? FrameError::TruncatedIpHeader : FrameError::HeadersNotInFirstSegment;
    }
    const uint8_t* base = frame.data() + l3;
    if (base[0] >> 4 != 6) return FrameError::BadIpVersion;
    const size_t payload = load_be16(base + offsetof(Ipv6Header, payload_length));
    if (payload > avail - sizeof(Ipv6Header)) return FrameError::TruncatedIpPacket;
    const uint8_t next_header = base[offsetof(Ipv6Header, next_header)];
    if (next_header != ip_proto::kTcp) {
        return is_ipv6_extension_header(next_header) ? FrameError::Ipv6ExtensionHeader : FrameError::NotTcp;
    }
    out = IpPayload{l3 + sizeof(Ipv6Header), payload, base + offsetof(Ipv6Header, src),
                    base + offsetof(Ipv6Header, dst), IpFamily::Ipv6};
    return FrameError::None;
}

FrameParse fail(FrameError error) noexcept { return FrameParse{error, TcpSegment{}}; }

}  // namespace

FrameParse parse_frame(std::span<const uint8_t> frame) noexcept { return parse_frame(frame, frame.size()); }

FrameParse parse_frame(std::span<const uint8_t> frame, size_t frame_len) noexcept {
    return detail::parse_frame_after_shape_check(frame, frame_len, detail::plain_ipv4_tcp(frame, frame_len));
}

namespace detail {

// Everything is gathered in locals and the result is built once, field by field, at the return: the
// caller reads the flow key back at once as 64-bit words (hash, compare), and that load is only
// forwarded from the store buffer if it matches one earlier store. Zeroing the result up front and
// overwriting parts of it would leave the key spread over stores of other sizes (bench_packet:
// parse + lookup took ~35 ns per packet that way, ~22 ns this way).
FrameParse parse_frame_general(std::span<const uint8_t> frame, size_t frame_len) noexcept {
    if (frame_len < frame.size()) frame = frame.first(frame_len);  // a length below the bytes given wins
    if (frame.size() < sizeof(EthernetHeader)) {
        return fail(frame_len < sizeof(EthernetHeader) ? FrameError::TruncatedEthernet : FrameError::HeadersNotInFirstSegment);
    }
    size_t at = offsetof(EthernetHeader, ether_type);
    uint16_t type = load_be16(frame.data() + at);
    at += sizeof(be16);
    // The VIDs, outermost first, in scalars: an array here lived on the stack, and building the flow
    // key from it stalled on a store-forwarding failure (about 15 ns per frame, perf annotate).
    static_assert(kMaxVlanTags == 2);
    uint16_t vid_first = 0;
    uint16_t vid_second = 0;
    uint8_t vlan_count = 0;
    while (type == ether_type::kVlan || type == ether_type::kQinQ) {
        if (vlan_count == kMaxVlanTags) return fail(FrameError::TooManyVlanTags);
        if (frame.size() - at < sizeof(VlanTag)) {
            return fail(frame_len - at < sizeof(VlanTag) ? FrameError::TruncatedVlanTag : FrameError::HeadersNotInFirstSegment);
        }
        VlanTag tag;
        std::memcpy(&tag, frame.data() + at, sizeof tag);
        (vlan_count++ == 0 ? vid_first : vid_second) = tag.vid();
        type = tag.inner_type.get();
        at += sizeof(VlanTag);
    }

    IpPayload ip;
    FrameError error = FrameError::NotIp;
    if (type == ether_type::kIpv4) {
        error = parse_ipv4(frame, frame_len, at, ip);
    } else if (type == ether_type::kIpv6) {
        error = parse_ipv6(frame, frame_len, at, ip);
    }
    if (error != FrameError::None) return fail(error);

    // ip.offset + ip.len <= frame_len holds here: both IP parsers checked their length against the
    // frame, and the IP header against the first segment.
    if (ip.len < sizeof(TcpHeader)) return fail(FrameError::IpPayloadTooShortForTcp);
    if (frame.size() - ip.offset < sizeof(TcpHeader)) return fail(FrameError::HeadersNotInFirstSegment);
    const uint8_t* tcp = frame.data() + ip.offset;
    const uint8_t header_words = tcp[offsetof(TcpHeader, data_offset)] >> 4;
    const size_t tcp_len = size_t{header_words} * 4;
    if (header_words < kTcpMinDataOffset || tcp_len > ip.len) return fail(FrameError::BadTcpDataOffset);
    if (frame.size() - ip.offset < tcp_len) return fail(FrameError::HeadersNotInFirstSegment);

    const uint16_t sport = load_be16(tcp + offsetof(TcpHeader, src_port));
    const uint16_t dport = load_be16(tcp + offsetof(TcpHeader, dst_port));
    // The tag nearest the IP header is the connection's VLAN; an outer one (802.1ad) is kept apart.
    const uint16_t inner_vlan = vlan_count > 1 ? vid_second : vid_first;
    const uint16_t outer_vlan = vlan_count > 1 ? vid_first : 0;
    return FrameParse{
        FrameError::None,
        TcpSegment{
            ip.family == IpFamily::Ipv4 ? FlowKey::ipv4(ip.src, ip.dst, sport, dport, inner_vlan, outer_vlan)
                                        : FlowKey::ipv6(ip.src, ip.dst, sport, dport, inner_vlan, outer_vlan),
            load_be32(tcp + offsetof(TcpHeader, seq)),
            load_be32(tcp + offsetof(TcpHeader, ack)),
            static_cast<uint32_t>(ip.len - tcp_len),
            static_cast<uint16_t>(ip.offset + tcp_len),
            static_cast<uint16_t>(at),
            static_cast<uint16_t>(ip.offset),
            {vid_first, vid_second},
            vlan_count,
            tcp[offsetof(TcpHeader, flags)],
        },
    };
}

}  // namespace detail

}  // namespace nvmeddp::pmd
