// IPv6 neighbour discovery (RFC 4861) as the endpoint needs it: reading and writing Neighbor
// Solicitation and Neighbor Advertisement frames, the solicited-node multicast addresses they are
// sent to, and the EUI-64 link-local address of a MAC. The IPv6 counterpart of arp.hpp; resolved
// addresses go into the same NeighbourTable.
//
// Only what resolving a peer's link address and answering for our own takes: no router or prefix
// discovery, no redirects, no SEND. A packet with IPv6 extension headers before the ICMPv6 message is
// not parsed (nullopt): neighbours send NS/NA without them, and RFC 4861 7.1 allows dropping what
// cannot be validated.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <optional>
#include <span>

#include "tcp/addresses.hpp"

namespace nvmeddp::tcp {

// A Neighbor Solicitation or Advertisement as the endpoint needs it.
struct NdMessage {
    enum class Type : uint8_t { Solicitation, Advertisement } type;
    IpAddress src_ip;      // IPv6 header source (:: for DAD probes)
    IpAddress dst_ip;      // IPv6 header destination
    IpAddress target;      // the ND target address
    MacAddress link_addr;  // source link-layer option (NS) / target link-layer option (NA); zero when absent
    bool solicited = false, override_flag = false, router = false;  // NA flags
};

// A whole received Ethernet frame (at most one 802.1Q tag) holding an IPv6 ICMPv6 NS (type 135) or
// NA (136), validated as RFC 4861 7.1.1 / 7.1.2 require: hop limit 255, ICMP code 0, ICMPv6 checksum
// right, ICMP length >= 24, target not multicast, every option of non-zero length and inside the
// message; an NS from :: must be sent to a solicited-node group and carry no source link-layer
// option; an NA to a multicast destination must not have the solicited flag. Also refused: a
// multicast IPv6 source (RFC 4291 2.7), extension headers, a frame shorter than its IPv6 payload
// length. Bytes after the IPv6 payload (Ethernet padding) are ignored. A link-layer option whose
// length is not 8 bytes (not an Ethernet address) is ignored, as are other options, and only the
// first of a kind counts. Returns the message, and the Ethernet source MAC in *eth_src when non-null
// (untouched on nullopt); else nullopt.
std::optional<NdMessage> parse_nd(std::span<const uint8_t> frame, MacAddress* eth_src = nullptr) noexcept;

// The solicited-node multicast address of target (ff02::1:ffXX:XXXX, its low 24 bits; RFC 4291
// 2.7.1). Family None when target is not IPv6.
IpAddress solicited_node(const IpAddress& target) noexcept;
// The Ethernet multicast MAC of an IPv6 multicast group (33:33 and its low 32 bits; RFC 2464 7).
MacAddress ipv6_multicast_mac(const IpAddress& group) noexcept;

// Writes a whole Neighbor Solicitation frame into the empty mbuf m: Ethernet (+ one VLAN tag) to the
// target's solicited-node MAC, IPv6 from our_ip to the solicited-node group with hop limit 255,
// ICMPv6 type 135 with its checksum and our source link-layer address option. When our_ip is ::
// (a duplicate address detection probe) the option is left out, as RFC 4861 7.2.2 requires.
// false, m untouched, when m is null or not empty, has no room, or an address is not IPv6.
bool build_neighbor_solicitation(rte_mbuf* m, const MacAddress& our_mac, const IpAddress& our_ip,
                                 const IpAddress& target, bool has_vlan = false, uint16_t vlan_tci = 0) noexcept;

// Writes a whole Neighbor Advertisement frame for our_ip into the empty mbuf m: Ethernet (+ one VLAN
// tag) to to_mac, IPv6 from our_ip to to_ip with hop limit 255, ICMPv6 type 136 with target our_ip,
// the override flag, the solicited flag when `solicited`, our target link-layer address option and
// the checksum. false, m untouched, when m is null or not empty, has no room, an address is not IPv6,
// or `solicited` is asked for with a multicast to_ip (receivers drop that, RFC 4861 7.1.2: an answer
// to a solicitation from :: goes to ff02::1 unsolicited, 7.2.4).
bool build_neighbor_advertisement(rte_mbuf* m, const MacAddress& our_mac, const IpAddress& our_ip,
                                  const MacAddress& to_mac, const IpAddress& to_ip, bool solicited,
                                  bool has_vlan = false, uint16_t vlan_tci = 0) noexcept;

// The IPv6 link-local address fe80::/64 with the modified EUI-64 interface identifier of mac (RFC
// 4291 2.5.1 and appendix A: ff:fe in the middle, the universal/local bit inverted).
IpAddress link_local_from_mac(const MacAddress& mac) noexcept;

}  // namespace nvmeddp::tcp
