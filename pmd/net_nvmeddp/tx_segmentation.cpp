#include "pmd/net_nvmeddp/tx_segmentation.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>

#include "pmd/packet/be_int.hpp"
#include "pmd/packet/l4_checksum.hpp"
#include "pmd/packet/net_headers.hpp"

namespace nvmeddp::pmd::nic {

namespace {

// Requests this code does not do (tunnels, UDP, VLAN insertion, ...): asking for one is asking for
// an offload that was not enabled, since the port never offers them.
constexpr uint64_t kOtherRequests = RTE_MBUF_F_TX_UDP_SEG | RTE_MBUF_F_TX_OUTER_IP_CKSUM |
                                    RTE_MBUF_F_TX_OUTER_UDP_CKSUM | RTE_MBUF_F_TX_TUNNEL_MASK | RTE_MBUF_F_TX_VLAN |
                                    RTE_MBUF_F_TX_QINQ | RTE_MBUF_F_TX_MACSEC | RTE_MBUF_F_TX_SEC_OFFLOAD;
constexpr uint64_t kDoneRequests = RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG;

// A request, checked against the frame it is made of.
struct Request {
    uint16_t l3_at = 0;    // l2_len
    uint16_t l4_at = 0;    // l2_len + l3_len
    uint16_t hdr_len = 0;  // the headers to copy: to the TCP payload, or to the IPv4 header's end without TCP
    bool ipv4 = false;
    bool tcp = false;      // the TCP checksum (always with TSO)
    bool tso = false;
    uint32_t tcp_len = 0;  // without TSO: TCP header + payload, as the IP length says
};

// Null when the request describes the frame, else what is wrong with it.
const char* describe(const rte_mbuf* m, Request& r) noexcept {
    const uint64_t f = m->ol_flags;
    r.tso = (f & RTE_MBUF_F_TX_TCP_SEG) != 0;
    r.tcp = r.tso || (f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM;
    const bool v4 = (f & RTE_MBUF_F_TX_IPV4) != 0;
    if (v4 == ((f & RTE_MBUF_F_TX_IPV6) != 0)) return "neither or both of RTE_MBUF_F_TX_IPV4 and RTE_MBUF_F_TX_IPV6 are set";
    if ((f & RTE_MBUF_F_TX_IP_CKSUM) != 0 && !v4) return "RTE_MBUF_F_TX_IP_CKSUM is set on a frame not marked RTE_MBUF_F_TX_IPV4";
    r.ipv4 = v4;
    if (m->l2_len < sizeof(EthernetHeader)) return "l2_len is shorter than an Ethernet header";
    r.l3_at = m->l2_len;
    r.l4_at = static_cast<uint16_t>(m->l2_len + m->l3_len);
    r.hdr_len = static_cast<uint16_t>(r.l4_at + (r.tcp ? m->l4_len : 0));
    if (r.hdr_len > m->data_len) return "the headers (l2_len + l3_len + l4_len) are not all in the first segment";
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    if (load_be16(p + r.l3_at - 2) != (v4 ? ether_type::kIpv4 : ether_type::kIpv6)) {
        return "the EtherType that ends l2_len is not the IP version the flags say";
    }
    uint32_t ip_len = 0;
    if (v4) {
        Ipv4Header ip;
        if (m->l3_len < sizeof ip) return "l3_len is shorter than an IPv4 header";
        std::memcpy(&ip, p + r.l3_at, sizeof ip);
        if (ip.version() != 4 || ip.ihl() * 4u != m->l3_len) return "l3_len is not the IPv4 header's length";
        if (r.tcp && ip.protocol != ip_proto::kTcp) return "a TCP offload is asked of an IPv4 packet that is not TCP";
        if (r.tso && (ip.frag.get() & (ipv4_frag::kMoreFragments | ipv4_frag::kOffsetMask)) != 0) {
            return "TSO is asked of an IPv4 fragment";
        }
        ip_len = ip.total_length.get();
    } else {
        Ipv6Header ip;
        if (m->l3_len != sizeof ip) return "l3_len is not 40 (IPv6 extension headers are not offloaded here)";
        std::memcpy(&ip, p + r.l3_at, sizeof ip);
        if (ip.version() != 6) return "the IPv6 header's version is not 6";
        if (r.tcp && ip.next_header != ip_proto::kTcp) return "a TCP offload is asked of an IPv6 packet whose next header is not TCP";
        ip_len = sizeof ip + ip.payload_length.get();
    }
    if (!r.tcp) return nullptr;
    TcpHeader tcp;
    if (m->l4_len < sizeof tcp) return "l4_len is shorter than a TCP header";
    std::memcpy(&tcp, p + r.l4_at, sizeof tcp);
    if (tcp.header_words() * 4u != m->l4_len) return "l4_len is not the TCP header's length";
    if (r.tso) {
        if (m->tso_segsz == 0) return "TSO is asked with tso_segsz 0";
        if (static_cast<uint32_t>(m->l3_len) + m->l4_len + m->tso_segsz > 0xFFFFu) return "TSO is asked with segments too long for an IP length";
        return nullptr;
    }
    if (ip_len < static_cast<uint32_t>(m->l3_len) + m->l4_len || r.l3_at + ip_len > m->pkt_len) return "the IP length does not match the frame";
    r.tcp_len = ip_len - m->l3_len;
    return nullptr;
}

void store_checksum(uint8_t* field, const InternetSum& sum) noexcept {
    const auto v = static_cast<uint16_t>(~sum.folded());  // CPU byte order, as summed: stored as is
    std::memcpy(field, &v, sizeof v);
}

void write_ipv4_checksum(uint8_t* ip, uint16_t header_len) noexcept {
    std::memset(ip + offsetof(Ipv4Header, checksum), 0, 2);
    InternetSum sum;
    sum.add({ip, header_len});
    store_checksum(ip + offsetof(Ipv4Header, checksum), sum);
}

// The TCP checksum of the tcp_len bytes from r.l4_at in the chain, starting from the sum the
// application left in the field. A TSO request's sum lacks the pseudo-header's length: added here.
void write_tcp_checksum(rte_mbuf* head, const Request& r, uint32_t tcp_len, bool add_length) noexcept {
    InternetSum sum;
    if (add_length) {
        const uint8_t len[2] = {static_cast<uint8_t>(tcp_len >> 8), static_cast<uint8_t>(tcp_len)};
        sum.add(len);  // at an even position, as in the pseudo-header
    }
    uint32_t skip = r.l4_at, left = tcp_len;
    for (const rte_mbuf* s = head; s != nullptr && left > 0; s = s->next) {
        if (skip >= s->data_len) {
            skip -= s->data_len;
            continue;
        }
        const uint32_t take = std::min<uint32_t>(s->data_len - skip, left);
        sum.add({rte_pktmbuf_mtod_offset(s, const uint8_t*, skip), take});
        left -= take;
        skip = 0;
    }
    store_checksum(rte_pktmbuf_mtod_offset(head, uint8_t*, r.l4_at + offsetof(TcpHeader, checksum)), sum);
}

// A fresh mbuf holding a copy of the first `len` bytes of `m`: null when the pool is empty.
rte_mbuf* copy_of_headers(const rte_mbuf* m, uint16_t len, rte_mempool* pool) noexcept {
    rte_mbuf* h = rte_pktmbuf_alloc(pool);
    if (h == nullptr) return nullptr;
    char* to = rte_pktmbuf_append(h, len);
    if (to == nullptr) {
        rte_pktmbuf_free(h);
        return nullptr;
    }
    std::memcpy(to, rte_pktmbuf_mtod(m, const void*), len);
    return h;
}

// An indirect mbuf on `len` bytes of `seg` from `offset`: null when the pool is empty.
rte_mbuf* piece_of(rte_mbuf* seg, uint32_t offset, uint32_t len, rte_mempool* pool) noexcept {
    rte_mbuf* piece = rte_pktmbuf_alloc(pool);
    if (piece == nullptr) return nullptr;
    rte_pktmbuf_attach(piece, seg);
    piece->data_off = static_cast<uint16_t>(piece->data_off + offset);
    piece->data_len = static_cast<uint16_t>(len);
    piece->pkt_len = len;
    piece->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;  // attach copied the sender's requests
    return piece;
}

void append_segment(rte_mbuf* head, rte_mbuf*& tail, rte_mbuf* piece) noexcept {
    tail->next = piece;
    tail = piece;
    ++head->nb_segs;
    head->pkt_len += piece->data_len;
}

// `m` with its first hdr_len bytes in a fresh mbuf of its own (the rest of the first segment
// attached, not copied): null when the pool is empty (then `m` is untouched).
rte_mbuf* with_own_headers(rte_mbuf* m, uint16_t hdr_len, rte_mempool* pool) noexcept {
    rte_mbuf* h = copy_of_headers(m, hdr_len, pool);
    if (h == nullptr) return nullptr;
    rte_mbuf* tail = h;
    if (m->data_len > hdr_len) {
        rte_mbuf* rest = piece_of(m, hdr_len, m->data_len - hdr_len, pool);
        if (rest == nullptr) {
            rte_pktmbuf_free(h);
            return nullptr;
        }
        append_segment(h, tail, rest);
    }
    tail->next = m->next;
    h->nb_segs = static_cast<uint16_t>(h->nb_segs + m->nb_segs - 1);
    h->pkt_len = m->pkt_len;
    h->port = m->port;
    h->packet_type = m->packet_type;
    m->next = nullptr;
    m->nb_segs = 1;
    m->pkt_len = m->data_len;
    rte_pktmbuf_free(m);  // what `rest` attached stays
    return h;
}

TxOffloadResult complete_checksums(rte_mbuf* m, const Request& r, rte_mempool* pool, TxFrameSink sink, void* ctx) noexcept {
    TxOffloadResult res;
    const bool ip_cksum = (m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) != 0;
    const uint16_t l3_len = m->l3_len;
    // Written in place only where the frame owns its first segment.
    rte_mbuf* head = RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 ? m : with_own_headers(m, r.hdr_len, pool);
    if (head == nullptr) {
        rte_pktmbuf_free(m);
        res.outcome = TxOffloadOutcome::NoMbufs;
        res.why = "no mbuf for a copy of the headers of a frame whose first segment is shared";
        return res;
    }
    if (r.tcp) write_tcp_checksum(head, r, r.tcp_len, false);
    if (ip_cksum) write_ipv4_checksum(rte_pktmbuf_mtod_offset(head, uint8_t*, r.l3_at), l3_len);
    head->ol_flags &= ~kDoneRequests;
    sink(ctx, head);
    res.outcome = TxOffloadOutcome::Done;
    res.frames = 1;
    return res;
}

// The headers of segment `index` (of payload_len bytes at `offset` of the frame's payload).
void edit_segment_headers(uint8_t* frame, const Request& r, uint16_t l3_len, uint16_t l4_len, uint32_t offset,
                          uint32_t payload_len, uint32_t index, bool last) noexcept {
    uint8_t* ip = frame + r.l3_at;
    uint8_t* tcp = frame + r.l4_at;
    const uint32_t tcp_len = l4_len + payload_len;
    if (r.ipv4) {
        auto* h = reinterpret_cast<Ipv4Header*>(ip);  // alignment 1 (be_int.hpp)
        h->total_length.set(static_cast<uint16_t>(l3_len + tcp_len));
        h->id.set(static_cast<uint16_t>(h->id.get() + index));
    } else {
        reinterpret_cast<Ipv6Header*>(ip)->payload_length.set(static_cast<uint16_t>(tcp_len));
    }
    auto* t = reinterpret_cast<TcpHeader*>(tcp);
    t->seq.set(t->seq.get() + offset);
    if (!last) t->flags &= static_cast<uint8_t>(~(tcp_flags::kFin | tcp_flags::kPsh));
    if (index != 0) t->flags &= static_cast<uint8_t>(~tcp_flags::kCwr);
}

TxOffloadResult segment(rte_mbuf* m, const Request& r, rte_mempool* pool, TxFrameSink sink, void* ctx) noexcept {
    TxOffloadResult res;
    res.segmented = true;
    const uint32_t mss = m->tso_segsz;
    const uint32_t total = m->pkt_len - r.hdr_len;
    const uint32_t count = total == 0 ? 1 : (total + mss - 1) / mss;
    // Where the next payload byte is: segment `at_seg`, offset `at`.
    rte_mbuf* at_seg = m;
    uint32_t at = r.hdr_len;
    for (uint32_t k = 0; k < count; ++k) {
        const uint32_t offset = k * mss;
        const uint32_t len = std::min(mss, total - offset);
        rte_mbuf* h = copy_of_headers(m, r.hdr_len, pool);
        if (h == nullptr) {
            res.outcome = TxOffloadOutcome::NoMbufs;
            res.why = "no mbuf for a TSO segment's headers: the rest of the frame is dropped";
            rte_pktmbuf_free(m);
            return res;
        }
        edit_segment_headers(rte_pktmbuf_mtod(h, uint8_t*), r, m->l3_len, m->l4_len, offset, len, k, k + 1 == count);
        rte_mbuf* tail = h;
        for (uint32_t left = len; left > 0;) {
            while (at_seg != nullptr && at == at_seg->data_len) {
                at_seg = at_seg->next;
                at = 0;
            }
            rte_mbuf* piece = nullptr;
            const char* fail = nullptr;
            auto outcome = TxOffloadOutcome::Malformed;
            if (at_seg == nullptr) {
                fail = "the chain is shorter than its pkt_len";
            } else if (h->nb_segs == RTE_MBUF_MAX_NB_SEGS) {
                fail = "a TSO segment would have more mbufs than a chain may";
            } else if (piece = piece_of(at_seg, at, std::min<uint32_t>(at_seg->data_len - at, left), pool); piece == nullptr) {
                fail = "no mbuf for a TSO segment's payload: the rest of the frame is dropped";
                outcome = TxOffloadOutcome::NoMbufs;
            }
            if (fail != nullptr) {
                res.outcome = outcome;
                res.why = fail;
                rte_pktmbuf_free(h);
                rte_pktmbuf_free(m);
                return res;
            }
            append_segment(h, tail, piece);
            at += piece->data_len;
            left -= piece->data_len;
        }
        write_tcp_checksum(h, r, m->l4_len + len, true);
        if (r.ipv4) write_ipv4_checksum(rte_pktmbuf_mtod_offset(h, uint8_t*, r.l3_at), m->l3_len);
        h->port = m->port;
        h->packet_type = m->packet_type;
        sink(ctx, h);
        ++res.frames;
    }
    rte_pktmbuf_free(m);  // its buffers live on in the segments that attached them
    res.outcome = TxOffloadOutcome::Done;
    return res;
}

TxOffloadResult refuse(rte_mbuf* m, TxOffloadOutcome outcome, const char* why, bool segmented) noexcept {
    rte_pktmbuf_free(m);
    TxOffloadResult res;
    res.outcome = outcome;
    res.why = why;
    res.segmented = segmented;
    return res;
}

}  // namespace

TxOffloadResult apply_tx_offloads(rte_mbuf* m, uint64_t enabled, rte_mempool* pool, TxFrameSink sink, void* ctx) noexcept {
    const uint64_t f = m->ol_flags;
    const bool seg = (f & RTE_MBUF_F_TX_TCP_SEG) != 0;
    const uint64_t l4 = f & RTE_MBUF_F_TX_L4_MASK;
    if ((f & (kDoneRequests | kOtherRequests)) == 0) {
        sink(ctx, m);
        TxOffloadResult res;
        res.frames = 1;
        return res;
    }
    const auto not_enabled = TxOffloadOutcome::NotEnabled;
    if ((f & kOtherRequests) != 0 || (l4 != 0 && l4 != RTE_MBUF_F_TX_TCP_CKSUM)) {
        return refuse(m, not_enabled, "a frame asks for a tx offload this port does not offer (UDP, SCTP, tunnel, VLAN insertion, ...)", seg);
    }
    if ((f & RTE_MBUF_F_TX_IP_CKSUM) != 0 && (enabled & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) == 0) {
        return refuse(m, not_enabled, "RTE_MBUF_F_TX_IP_CKSUM without RTE_ETH_TX_OFFLOAD_IPV4_CKSUM enabled", seg);
    }
    // TCP_SEG implies the TCP checksum (DPDK): the TSO offload alone covers both.
    if (l4 == RTE_MBUF_F_TX_TCP_CKSUM && !seg && (enabled & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) == 0) {
        return refuse(m, not_enabled, "RTE_MBUF_F_TX_TCP_CKSUM without RTE_ETH_TX_OFFLOAD_TCP_CKSUM enabled", seg);
    }
    if (seg && (enabled & RTE_ETH_TX_OFFLOAD_TCP_TSO) == 0) {
        return refuse(m, not_enabled, "RTE_MBUF_F_TX_TCP_SEG without RTE_ETH_TX_OFFLOAD_TCP_TSO enabled", seg);
    }
    Request r;
    if (const char* why = describe(m, r); why != nullptr) return refuse(m, TxOffloadOutcome::Malformed, why, seg);
    return seg ? segment(m, r, pool, sink, ctx) : complete_checksums(m, r, pool, sink, ctx);
}

}  // namespace nvmeddp::pmd::nic
