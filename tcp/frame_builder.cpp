#include "tcp/frame_builder.hpp"

#include <rte_ip.h>

#include <cstring>

#include "pmd/packet/l4_checksum.hpp"
#include "pmd/packet/net_headers.hpp"
#include "tcp/ethernet.hpp"

namespace nvmeddp::tcp {

namespace {

using pmd::InternetSum;
using pmd::Ipv4Header;
using pmd::Ipv6Header;
using pmd::TcpHeader;

// The Assigned Numbers default TTL (RFC 1700), what Linux and most stacks send.
inline constexpr uint8_t kHopLimit = 64;

bool families_ok(const Route& r) noexcept {
    return r.src_ip.family == r.dst_ip.family && (r.src_ip.is_v4() || r.src_ip.is_v6());
}
size_t l2_size(const Route& r) noexcept { return ethernet_header_size(r.has_vlan); }
size_t l3_size(const Route& r) noexcept { return r.src_ip.is_v4() ? sizeof(Ipv4Header) : sizeof(Ipv6Header); }
size_t l4_size(const TcpOptions* options) noexcept {
    return sizeof(TcpHeader) + (options != nullptr ? options_size(*options) : 0);
}

// Stores a 16-bit checksum computed by InternetSum (or DPDK's raw sums) in the CPU's byte order:
// RFC 1071 2(B), a sum taken in either byte order is right when stored back in that same order.
void store_checksum(uint8_t* field, uint16_t value) noexcept { std::memcpy(field, &value, sizeof value); }

// `total_length`: the IP header and everything after it.
void write_ipv4(uint8_t* at, const Route& r, size_t total_length, uint16_t id, bool header_checksum) noexcept {
    Ipv4Header ip{};
    ip.version_ihl = 4 << 4 | pmd::kIpv4MinIhl;
    ip.total_length.set(static_cast<uint16_t>(total_length));
    ip.id.set(id);
    ip.frag.set(pmd::ipv4_frag::kDontFragment);  // path MTU discovery (RFC 1191); we never fragment
    ip.ttl = kHopLimit;
    ip.protocol = pmd::ip_proto::kTcp;
    std::memcpy(ip.src, r.src_ip.bytes.data(), sizeof ip.src);
    std::memcpy(ip.dst, r.dst_ip.bytes.data(), sizeof ip.dst);
    std::memcpy(at, &ip, sizeof ip);
    if (header_checksum) {
        InternetSum sum;
        sum.add({at, sizeof ip});
        store_checksum(at + offsetof(Ipv4Header, checksum), static_cast<uint16_t>(~sum.folded()));
    }
}

// `payload_length`: everything after the 40-byte header.
void write_ipv6(uint8_t* at, const Route& r, size_t payload_length) noexcept {
    Ipv6Header ip{};
    ip.vtc_flow.set(uint32_t{6} << 28);  // traffic class and flow label 0
    ip.payload_length.set(static_cast<uint16_t>(payload_length));
    ip.next_header = pmd::ip_proto::kTcp;
    ip.hop_limit = kHopLimit;
    std::memcpy(ip.src, r.src_ip.bytes.data(), sizeof ip.src);
    std::memcpy(ip.dst, r.dst_ip.bytes.data(), sizeof ip.dst);
    std::memcpy(at, &ip, sizeof ip);
}

// The TCP header and its options, checksum field 0.
void write_tcp(uint8_t* at, const Route& r, const SegmentFields& f, size_t header_len) noexcept {
    TcpHeader tcp{};
    tcp.src_port.set(r.src_port);
    tcp.dst_port.set(r.dst_port);
    tcp.seq.set(f.seq.raw());
    tcp.ack.set(f.ack.raw());
    tcp.data_offset = static_cast<uint8_t>(header_len / 4 << 4);
    tcp.flags = f.flags;
    tcp.window.set(f.window);
    std::memcpy(at, &tcp, sizeof tcp);
    if (f.options != nullptr) {
        write_options(*f.options, {at + sizeof tcp, header_len - sizeof tcp});
    }
}

// The TCP pseudo-header (RFC 9293 3.1; RFC 8200 8.1 for IPv6) summed. `tcp_length`: header + payload.
void add_pseudo_header(InternetSum& sum, const Route& r, size_t tcp_length) noexcept {
    uint8_t pseudo[40] = {};
    if (r.src_ip.is_v4()) {
        std::memcpy(pseudo, r.src_ip.bytes.data(), 4);
        std::memcpy(pseudo + 4, r.dst_ip.bytes.data(), 4);
        pseudo[9] = pmd::ip_proto::kTcp;
        pseudo[10] = static_cast<uint8_t>(tcp_length >> 8);
        pseudo[11] = static_cast<uint8_t>(tcp_length);
        sum.add({pseudo, 12});
    } else {
        std::memcpy(pseudo, r.src_ip.bytes.data(), 16);
        std::memcpy(pseudo + 16, r.dst_ip.bytes.data(), 16);
        pseudo[34] = static_cast<uint8_t>(tcp_length >> 8);  // 32-bit length; ours fits 16 bits
        pseudo[35] = static_cast<uint8_t>(tcp_length);
        pseudo[39] = pmd::ip_proto::kTcp;
        sum.add({pseudo, 40});
    }
}

}  // namespace

size_t header_size(const Route& route, const TcpOptions* options) noexcept {
    return l2_size(route) + l3_size(route) + l4_size(options);
}

FrameBuilder::FrameBuilder(TxChecksum checksum) noexcept : checksum_(checksum) {}

rte_mbuf* FrameBuilder::build(rte_mbuf* hdr, const Route& route, const SegmentFields& fields,
                              rte_mbuf* payload) noexcept {
    return build_frame(hdr, route, fields, payload, {});
}

rte_mbuf* FrameBuilder::build_copy(rte_mbuf* hdr, const Route& route, const SegmentFields& fields,
                                   std::span<const uint8_t> payload) noexcept {
    return build_frame(hdr, route, fields, nullptr, payload);
}

rte_mbuf* FrameBuilder::build_frame(rte_mbuf* hdr, const Route& route, const SegmentFields& fields,
                                    rte_mbuf* payload, std::span<const uint8_t> inline_payload) noexcept {
    // Every refusal comes before the first write, so that a refused hdr and payload are as they were.
    if (hdr == nullptr || !RTE_MBUF_DIRECT(hdr) || hdr->pkt_len != 0 || hdr->data_len != 0 || hdr->next != nullptr) {
        return nullptr;
    }
    if (!families_ok(route)) return nullptr;
    const bool v4 = route.src_ip.is_v4();
    const size_t l2 = l2_size(route);
    const size_t l3 = l3_size(route);
    const size_t l4 = l4_size(fields.options);
    const size_t in_hdr = l2 + l3 + l4 + inline_payload.size();
    if (in_hdr > rte_pktmbuf_tailroom(hdr)) return nullptr;
    if (payload != nullptr && size_t{hdr->nb_segs} + payload->nb_segs > RTE_MBUF_MAX_NB_SEGS) return nullptr;
    const size_t tcp_length = l4 + inline_payload.size() + (payload != nullptr ? payload->pkt_len : 0);
    // IPv4's total length counts its header, IPv6's payload length does not; both are 16 bits.
    const size_t ip_length = (v4 ? l3 : 0) + tcp_length;
    if (ip_length > UINT16_MAX) return nullptr;
    const size_t payload_length = tcp_length - l4;
    const bool tso = fields.tso_segsz != 0 && payload_length > fields.tso_segsz;
    if (tso && checksum_ != TxChecksum::Offload) return nullptr;

    auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(hdr, static_cast<uint16_t>(in_hdr)));
    uint8_t* const ip = frame + l2;
    uint8_t* const tcp = ip + l3;
    const bool software = checksum_ == TxChecksum::Software;
    write_ethernet(frame, route.dst_mac, route.src_mac, route.has_vlan, route.vlan_tci,
                   v4 ? pmd::ether_type::kIpv4 : pmd::ether_type::kIpv6);
    if (v4) {
        write_ipv4(ip, route, ip_length, next_ip_id_++, software);
    } else {
        write_ipv6(ip, route, ip_length);
    }
    write_tcp(tcp, route, fields, l4);
    if (!inline_payload.empty()) std::memcpy(tcp + l4, inline_payload.data(), inline_payload.size());
    if (payload != nullptr) rte_pktmbuf_chain(hdr, payload);  // cannot fail: nb_segs checked above

    hdr->l2_len = l2;  // set in both modes: a tx path may want them (TSO, tracing) either way
    hdr->l3_len = l3;
    hdr->l4_len = l4;
    uint8_t* const checksum_field = tcp + offsetof(TcpHeader, checksum);
    if (software) {
        InternetSum sum;
        add_pseudo_header(sum, route, tcp_length);
        sum.add({tcp, l4 + inline_payload.size()});
        for (const rte_mbuf* seg = payload; seg != nullptr; seg = seg->next) {
            sum.add({rte_pktmbuf_mtod(seg, const uint8_t*), seg->data_len});
        }
        store_checksum(checksum_field, static_cast<uint16_t>(~sum.folded()));
        return hdr;
    }
    if (tso) {
        // Set before the pseudo-header sum: with TCP_SEG DPDK's helpers leave the length out of it,
        // since every segment the port cuts has its own.
        hdr->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
        hdr->tso_segsz = fields.tso_segsz;
    }
    if (v4) {
        hdr->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
        store_checksum(checksum_field, rte_ipv4_phdr_cksum(reinterpret_cast<const rte_ipv4_hdr*>(ip), hdr->ol_flags));
    } else {
        hdr->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM;
        store_checksum(checksum_field, rte_ipv6_phdr_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip), hdr->ol_flags));
    }
    return hdr;
}

}  // namespace nvmeddp::tcp
