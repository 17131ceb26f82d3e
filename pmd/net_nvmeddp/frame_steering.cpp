#include "pmd/net_nvmeddp/frame_steering.hpp"

#include <span>

#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/l4_checksum.hpp"

namespace nvmeddp::pmd::nic {

namespace {

// GOOD or BAD per check done in software; UNKNOWN (no flag) for checks the port does not do. The
// payload may continue in later segments of the chain.
uint64_t rx_checksum_flags(const Port& port, const rte_mbuf* m, const TcpSegment& seg) noexcept {
    uint64_t flags = 0;
    const std::span<const uint8_t> first(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len);
    if (port.verify_ip_cksum && seg.flow.family == IpFamily::Ipv4) {
        flags |= ipv4_header_checksum_ok(first, seg) ? RTE_MBUF_F_RX_IP_CKSUM_GOOD : RTE_MBUF_F_RX_IP_CKSUM_BAD;
    }
    if (port.verify_tcp_cksum) {
        TcpChecksum sum(first, seg);
        for (const rte_mbuf* s = m->next; s != nullptr; s = s->next) sum.add({rte_pktmbuf_mtod(s, const uint8_t*), s->data_len});
        flags |= sum.ok() ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : RTE_MBUF_F_RX_L4_CKSUM_BAD;
    }
    return flags;
}

}  // namespace

SteerVerdict steer_received_frame(const Port& port, rte_mbuf* m, uint16_t fallback, uint16_t rx_queues) noexcept {
    SteerVerdict verdict{fallback, false};
    uint64_t clear = RTE_MBUF_F_RX_FDIR | RTE_MBUF_F_RX_FDIR_ID;
    if (port.verify_ip_cksum) clear |= RTE_MBUF_F_RX_IP_CKSUM_MASK;
    if (port.verify_tcp_cksum) clear |= RTE_MBUF_F_RX_L4_CKSUM_MASK;
    m->ol_flags &= ~clear;
    m->port = port.port_id;
    const auto parsed = parse_frame({rte_pktmbuf_mtod(m, const uint8_t*), m->data_len}, m->pkt_len);
    if (!parsed.ok()) return verdict;
    m->ol_flags |= rx_checksum_flags(port, m, parsed.segment);
    NicRuleAction action;
    if (!port.rules.match(parsed.segment.flow, m->pkt_len, action)) return verdict;  // counts it (COUNT)
    if (action.drop) {
        verdict.drop = true;
        return verdict;
    }
    if (action.has_queue && action.queue < rx_queues) verdict.queue = action.queue;
    if (action.has_mark && port.deliver_mark) {
        m->ol_flags |= RTE_MBUF_F_RX_FDIR | RTE_MBUF_F_RX_FDIR_ID;
        m->hash.fdir.hi = action.mark;
    }
    return verdict;
}

}  // namespace nvmeddp::pmd::nic
