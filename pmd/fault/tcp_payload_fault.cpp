#include "pmd/fault/tcp_payload_fault.hpp"

#include <rte_mbuf.h>

#include <cstring>
#include <span>

#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/l4_checksum.hpp"
#include "pmd/packet/net_headers.hpp"

namespace nvmeddp::pmd {

namespace {

constexpr size_t kTcpChecksumOffset = offsetof(TcpHeader, checksum);

std::span<uint8_t> segment_bytes(rte_mbuf* seg) noexcept {
    return {rte_pktmbuf_mtod(seg, uint8_t*), seg->data_len};
}

// The frame parsed as a TCP segment (headers in the first mbuf segment), or an error.
FrameParse parse(rte_mbuf* m) noexcept {
    const std::span<uint8_t> first = segment_bytes(m);
    return parse_frame(first, m->pkt_len);
}

// Writes the TCP checksum of the segment into its header: pseudo-header, then the TCP header (its
// checksum field zero) and payload wherever the chain holds them.
void write_tcp_checksum(rte_mbuf* m, const TcpSegment& seg) noexcept {
    uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
    uint8_t* field = frame + seg.l4_offset + kTcpChecksumOffset;
    std::memset(field, 0, 2);

    const uint32_t tcp_len = seg.payload_offset + seg.payload_len - seg.l4_offset;
    uint8_t pseudo[40] = {};  // RFC 9293 3.1 (IPv4), RFC 8200 8.1 (IPv6), in network byte order
    size_t pseudo_len = 0;
    const uint8_t* ip = frame + seg.l3_offset;
    if (seg.flow.family == IpFamily::Ipv6) {
        std::memcpy(pseudo, ip + offsetof(Ipv6Header, src), 2 * kIpv6AddrLen);
        pseudo[34] = static_cast<uint8_t>(tcp_len >> 8);
        pseudo[35] = static_cast<uint8_t>(tcp_len);
        pseudo[39] = ip_proto::kTcp;
        pseudo_len = 40;
    } else {
        std::memcpy(pseudo, ip + offsetof(Ipv4Header, src), 2 * kIpv4AddrLen);
        pseudo[9] = ip_proto::kTcp;
        pseudo[10] = static_cast<uint8_t>(tcp_len >> 8);
        pseudo[11] = static_cast<uint8_t>(tcp_len);
        pseudo_len = 12;
    }
    InternetSum sum;
    sum.add({pseudo, pseudo_len});

    // The segment's bytes, from the TCP header to the end of the payload (not the Ethernet padding).
    uint32_t skip = seg.l4_offset;
    uint32_t left = tcp_len;
    for (rte_mbuf* s = m; s != nullptr && left > 0; s = s->next) {
        std::span<const uint8_t> bytes = segment_bytes(s);
        if (skip >= bytes.size()) {
            skip -= static_cast<uint32_t>(bytes.size());
            continue;
        }
        bytes = bytes.subspan(skip);
        skip = 0;
        if (bytes.size() > left) bytes = bytes.first(left);
        sum.add(bytes);
        left -= static_cast<uint32_t>(bytes.size());
    }
    // The folded sum is in the CPU's byte order like the words it summed, so its complement is
    // stored as it is (RFC 1071 2(B)).
    const uint16_t checksum = static_cast<uint16_t>(~sum.folded());
    std::memcpy(field, &checksum, sizeof checksum);
}

// The byte at `offset` of the frame, in whichever segment of the chain holds it.
uint8_t* byte_at(rte_mbuf* m, uint32_t offset) noexcept {
    for (rte_mbuf* s = m; s != nullptr; s = s->next) {
        if (offset < s->data_len) return rte_pktmbuf_mtod_offset(s, uint8_t*, offset);
        offset -= s->data_len;
    }
    return nullptr;
}

}  // namespace

bool rewrite_tcp_checksum(rte_mbuf* m) noexcept {
    const FrameParse p = parse(m);
    if (!p.ok()) return false;
    write_tcp_checksum(m, p.segment);
    return true;
}

bool alter_tcp_payload_byte(rte_mbuf* m, PayloadFault fault, FaultDirection direction, uint64_t draw) noexcept {
    const FrameParse p = parse(m);
    if (!p.ok() || p.segment.payload_len == 0) return false;
    const bool tx = direction == FaultDirection::Tx;
    if (tx && (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0) return false;
    const bool nic_sums = tx && (m->ol_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM;

    const uint32_t offset = p.segment.payload_offset + static_cast<uint32_t>(draw) % p.segment.payload_len;
    const auto mask = static_cast<uint8_t>(1 + (draw >> 32) % 255);  // never 0: the byte must change
    uint8_t* byte = byte_at(m, offset);
    if (byte == nullptr) return false;  // a chain shorter than pkt_len says; not ours to judge

    if (fault == PayloadFault::Corrupt && nic_sums) {
        // Sum the clean bytes here and keep the NIC from summing the damaged ones.
        write_tcp_checksum(m, p.segment);
        m->ol_flags &= ~RTE_MBUF_F_TX_L4_MASK;
    }
    *byte ^= mask;

    if (fault == PayloadFault::Lie) {
        if (!nic_sums) write_tcp_checksum(m, p.segment);
    } else if (!tx) {
        const uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
        if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD || l4 == RTE_MBUF_F_RX_L4_CKSUM_NONE) {
            m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_RX_L4_CKSUM_MASK) | RTE_MBUF_F_RX_L4_CKSUM_BAD;
        }
    }
    return true;
}

}  // namespace nvmeddp::pmd
