#include "tcp/ndp.hpp"

#include <cstddef>
#include <cstring>

#include "pmd/packet/be_int.hpp"
#include "pmd/packet/l4_checksum.hpp"
#include "pmd/packet/net_headers.hpp"
#include "tcp/ethernet.hpp"

namespace nvmeddp::tcp {

namespace {

using pmd::EthernetHeader;
using pmd::InternetSum;
using pmd::Ipv6Header;

namespace icmpv6_type {
inline constexpr uint8_t kNeighborSolicitation = 135;
inline constexpr uint8_t kNeighborAdvertisement = 136;
}  // namespace icmpv6_type

namespace nd_option {
inline constexpr uint8_t kSourceLinkAddr = 1;
inline constexpr uint8_t kTargetLinkAddr = 2;
}  // namespace nd_option

// In the first byte after the ICMPv6 checksum of an NA (RFC 4861 4.4).
namespace na_flag {
inline constexpr uint8_t kRouter = 0x80;
inline constexpr uint8_t kSolicited = 0x40;
inline constexpr uint8_t kOverride = 0x20;
}  // namespace na_flag

// Sent and required at 255: a router on the way would have decremented it, so a message that still
// has it came from the link itself (RFC 4861 3.1).
inline constexpr uint8_t kNdHopLimit = 255;

// NS and NA share their layout up to the options: type, code, checksum, 4 bytes of flags (NA) or
// reserved (NS), the 16-byte target.
inline constexpr size_t kIcmpChecksumOffset = 2;
inline constexpr size_t kFlagsOffset = 4;
inline constexpr size_t kTargetOffset = 8;
inline constexpr size_t kNdFixedLen = 24;
// Option lengths count 8-byte units; an Ethernet link-layer address option is one unit: type,
// length, the 6-byte MAC (RFC 4861 4.6.1, RFC 2464 8).
inline constexpr size_t kOptionUnit = 8;
inline constexpr size_t kLinkAddrOptionLen = 8;

bool is_multicast(const uint8_t* addr) noexcept { return addr[0] == 0xff; }

bool is_unspecified(const uint8_t* addr) noexcept {
    for (size_t i = 0; i < pmd::kIpv6AddrLen; ++i) {
        if (addr[i] != 0) return false;
    }
    return true;
}

// ff02::1:ff00:0/104 (RFC 4291 2.7.1).
bool is_solicited_node(const uint8_t* addr) noexcept {
    static constexpr uint8_t kPrefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
    return std::memcmp(addr, kPrefix, sizeof kPrefix) == 0;
}

IpAddress ipv6_from(const uint8_t* p) noexcept {
    IpAddress ip;
    ip.family = IpAddress::Family::V6;
    std::memcpy(ip.bytes.data(), p, pmd::kIpv6AddrLen);
    return ip;
}

MacAddress mac_from(const uint8_t* p) noexcept {
    MacAddress m;
    std::memcpy(m.bytes.data(), p, m.bytes.size());
    return m;
}

// The ICMPv6 checksum covers the IPv6 pseudo-header (RFC 8200 8.1: source, destination, the 32-bit
// upper-layer length, three zero bytes, next header 58) and then the whole ICMPv6 message.
void add_pseudo_header(InternetSum& sum, const uint8_t* src, const uint8_t* dst, size_t icmp_length) noexcept {
    uint8_t pseudo[40] = {};
    std::memcpy(pseudo, src, pmd::kIpv6AddrLen);
    std::memcpy(pseudo + 16, dst, pmd::kIpv6AddrLen);
    pseudo[34] = static_cast<uint8_t>(icmp_length >> 8);  // ND messages fit 16 bits
    pseudo[35] = static_cast<uint8_t>(icmp_length);
    pseudo[39] = pmd::ip_proto::kIcmpv6;
    sum.add({pseudo, sizeof pseudo});
}

// What build_nd() writes; the two public builders differ only in these.
struct OutgoingNd {
    uint8_t icmp_type = 0;
    uint8_t flags = 0;  // NA flags; 0 for an NS
    MacAddress eth_dst, eth_src;
    const IpAddress* src = nullptr;
    const IpAddress* dst = nullptr;
    const IpAddress* target = nullptr;
    uint8_t link_option = 0;  // nd_option type carrying eth_src, or 0 for none
    bool has_vlan = false;
    uint16_t vlan_tci = 0;
};

bool build_nd(rte_mbuf* m, const OutgoingNd& nd) noexcept {
    if (m == nullptr || m->pkt_len != 0 || m->data_len != 0 || m->next != nullptr) return false;
    if (!nd.src->is_v6() || !nd.dst->is_v6() || !nd.target->is_v6()) return false;
    const size_t l2 = ethernet_header_size(nd.has_vlan);
    const size_t icmp_length = kNdFixedLen + (nd.link_option != 0 ? kLinkAddrOptionLen : 0);
    // At least 78 bytes: never under Ethernet's 60-byte minimum, so no padding.
    const size_t frame_length = l2 + sizeof(Ipv6Header) + icmp_length;
    if (rte_pktmbuf_tailroom(m) < frame_length) return false;
    auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(frame_length)));
    std::memset(frame, 0, frame_length);

    write_ethernet(frame, nd.eth_dst, nd.eth_src, nd.has_vlan, nd.vlan_tci, pmd::ether_type::kIpv6);

    Ipv6Header ip{};
    ip.vtc_flow.set(uint32_t{6} << 28);  // traffic class and flow label 0
    ip.payload_length.set(static_cast<uint16_t>(icmp_length));
    ip.next_header = pmd::ip_proto::kIcmpv6;
    ip.hop_limit = kNdHopLimit;
    std::memcpy(ip.src, nd.src->bytes.data(), sizeof ip.src);
    std::memcpy(ip.dst, nd.dst->bytes.data(), sizeof ip.dst);
    std::memcpy(frame + l2, &ip, sizeof ip);

    uint8_t* const icmp = frame + l2 + sizeof ip;
    icmp[0] = nd.icmp_type;  // code (icmp[1]) 0, reserved bytes 0
    icmp[kFlagsOffset] = nd.flags;
    std::memcpy(icmp + kTargetOffset, nd.target->bytes.data(), pmd::kIpv6AddrLen);
    if (nd.link_option != 0) {
        uint8_t* const option = icmp + kNdFixedLen;
        option[0] = nd.link_option;
        option[1] = kLinkAddrOptionLen / kOptionUnit;
        std::memcpy(option + 2, nd.eth_src.bytes.data(), nd.eth_src.bytes.size());
    }
    InternetSum sum;
    add_pseudo_header(sum, ip.src, ip.dst, icmp_length);
    sum.add({icmp, icmp_length});
    // Stored in the CPU's byte order, the order InternetSum summed in (RFC 1071 2(B)).
    const auto checksum = static_cast<uint16_t>(~sum.folded());
    std::memcpy(icmp + kIcmpChecksumOffset, &checksum, sizeof checksum);
    return true;
}

}  // namespace

std::optional<NdMessage> parse_nd(std::span<const uint8_t> frame, MacAddress* eth_src) noexcept {
    const std::optional<EthernetPayload> l2 = read_ethernet(frame);
    if (!l2) return std::nullopt;
    const uint16_t ether_type = l2->ether_type;
    size_t at = l2->offset;
    if (ether_type != pmd::ether_type::kIpv6 || frame.size() - at < sizeof(Ipv6Header)) return std::nullopt;
    Ipv6Header ip;
    std::memcpy(&ip, frame.data() + at, sizeof ip);
    at += sizeof ip;
    if (ip.version() != 6 || ip.next_header != pmd::ip_proto::kIcmpv6 || ip.hop_limit != kNdHopLimit) {
        return std::nullopt;
    }
    const size_t icmp_length = ip.payload_length.get();
    if (frame.size() - at < icmp_length || icmp_length < kNdFixedLen) return std::nullopt;
    const uint8_t* const icmp = frame.data() + at;
    const uint8_t type = icmp[0];
    if (type != icmpv6_type::kNeighborSolicitation && type != icmpv6_type::kNeighborAdvertisement) return std::nullopt;
    if (icmp[1] != 0) return std::nullopt;  // code
    InternetSum sum;
    add_pseudo_header(sum, ip.src, ip.dst, icmp_length);
    sum.add({icmp, icmp_length});
    if (sum.folded() != 0xFFFF) return std::nullopt;
    const uint8_t* const target = icmp + kTargetOffset;
    if (is_multicast(ip.src) || is_multicast(target)) return std::nullopt;

    const bool solicitation = type == icmpv6_type::kNeighborSolicitation;
    const uint8_t wanted_option = solicitation ? nd_option::kSourceLinkAddr : nd_option::kTargetLinkAddr;
    bool has_source_link_option = false;
    const uint8_t* link_addr = nullptr;
    for (size_t off = kNdFixedLen; off < icmp_length;) {
        if (icmp_length - off < 2) return std::nullopt;  // no room for an option's type and length
        const size_t option_length = size_t{icmp[off + 1]} * kOptionUnit;
        if (option_length == 0 || option_length > icmp_length - off) return std::nullopt;
        const uint8_t option_type = icmp[off];
        if (option_type == nd_option::kSourceLinkAddr) has_source_link_option = true;
        if (option_type == wanted_option && option_length == kLinkAddrOptionLen && link_addr == nullptr) {
            link_addr = icmp + off + 2;
        }
        off += option_length;
    }

    NdMessage msg{};
    msg.type = solicitation ? NdMessage::Type::Solicitation : NdMessage::Type::Advertisement;
    if (solicitation) {
        // Duplicate address detection (RFC 4861 7.1.1): the prober has no address yet, so it asks the
        // group and may not announce a link address that nobody could tie to an IP address.
        if (is_unspecified(ip.src) && (!is_solicited_node(ip.dst) || has_source_link_option)) return std::nullopt;
    } else {
        const uint8_t flags = icmp[kFlagsOffset];
        msg.router = (flags & na_flag::kRouter) != 0;
        msg.solicited = (flags & na_flag::kSolicited) != 0;
        msg.override_flag = (flags & na_flag::kOverride) != 0;
        if (msg.solicited && is_multicast(ip.dst)) return std::nullopt;
    }
    msg.src_ip = ipv6_from(ip.src);
    msg.dst_ip = ipv6_from(ip.dst);
    msg.target = ipv6_from(target);
    if (link_addr != nullptr) msg.link_addr = mac_from(link_addr);
    if (eth_src != nullptr) *eth_src = mac_from(frame.data() + offsetof(EthernetHeader, src));
    return msg;
}

IpAddress solicited_node(const IpAddress& target) noexcept {
    if (!target.is_v6()) return IpAddress{};
    IpAddress group;
    group.family = IpAddress::Family::V6;
    group.bytes = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, target.bytes[13], target.bytes[14],
                   target.bytes[15]};
    return group;
}

MacAddress ipv6_multicast_mac(const IpAddress& group) noexcept {
    return {{0x33, 0x33, group.bytes[12], group.bytes[13], group.bytes[14], group.bytes[15]}};
}

bool build_neighbor_solicitation(rte_mbuf* m, const MacAddress& our_mac, const IpAddress& our_ip,
                                 const IpAddress& target, bool has_vlan, uint16_t vlan_tci) noexcept {
    if (!target.is_v6()) return false;
    const IpAddress group = solicited_node(target);
    OutgoingNd nd;
    nd.icmp_type = icmpv6_type::kNeighborSolicitation;
    nd.eth_dst = ipv6_multicast_mac(group);
    nd.eth_src = our_mac;
    nd.src = &our_ip;
    nd.dst = &group;
    nd.target = &target;
    nd.link_option = is_unspecified(our_ip.bytes.data()) ? 0 : nd_option::kSourceLinkAddr;
    nd.has_vlan = has_vlan;
    nd.vlan_tci = vlan_tci;
    return build_nd(m, nd);
}

bool build_neighbor_advertisement(rte_mbuf* m, const MacAddress& our_mac, const IpAddress& our_ip,
                                  const MacAddress& to_mac, const IpAddress& to_ip, bool solicited, bool has_vlan,
                                  uint16_t vlan_tci) noexcept {
    if (solicited && is_multicast(to_ip.bytes.data())) return false;
    OutgoingNd nd;
    nd.icmp_type = icmpv6_type::kNeighborAdvertisement;
    // Override: the address is ours alone (not anycast), so our answer replaces whatever the
    // solicitor had cached (RFC 4861 7.2.4).
    nd.flags = na_flag::kOverride | (solicited ? na_flag::kSolicited : 0);
    nd.eth_dst = to_mac;
    nd.eth_src = our_mac;
    nd.src = &our_ip;
    nd.dst = &to_ip;
    nd.target = &our_ip;
    nd.link_option = nd_option::kTargetLinkAddr;
    nd.has_vlan = has_vlan;
    nd.vlan_tci = vlan_tci;
    return build_nd(m, nd);
}

IpAddress link_local_from_mac(const MacAddress& mac) noexcept {
    IpAddress ip;
    ip.family = IpAddress::Family::V6;
    const auto& b = mac.bytes;
    ip.bytes = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(b[0] ^ 0x02), b[1], b[2], 0xff, 0xfe, b[3], b[4],
                b[5]};
    return ip;
}

}  // namespace nvmeddp::tcp
