#include "pmd/dpdk/connection_flow_pattern.hpp"

#include <rte_byteorder.h>

#include <cstddef>
#include <cstring>

namespace nvmeddp::pmd {

ConnectionFlowPattern::ConnectionFlowPattern(const ddp::ConnectionTuple& t) {
    tcp_.hdr.src_port = rte_cpu_to_be_16(t.remote_port);
    tcp_.hdr.dst_port = rte_cpu_to_be_16(t.local_port);
    tcp_mask_.hdr.src_port = 0xFFFF;
    tcp_mask_.hdr.dst_port = 0xFFFF;

    size_t n = 0;
    pattern_[n++].type = RTE_FLOW_ITEM_TYPE_ETH;
    // The connection's frames carry its VLAN tags, the outer one first.
    vlan_mask_.hdr.vlan_tci = rte_cpu_to_be_16(0x0FFF);
    const uint16_t vids[2] = {t.outer_vlan, t.vlan};
    for (size_t i = 0; i < 2; ++i) {
        if (vids[i] == 0) continue;
        vlans_[i].hdr.vlan_tci = rte_cpu_to_be_16(vids[i]);
        pattern_[n].type = RTE_FLOW_ITEM_TYPE_VLAN;
        pattern_[n].spec = &vlans_[i];
        pattern_[n++].mask = &vlan_mask_;
    }
    rte_flow_item& ip = pattern_[n++];
    if (t.family == ddp::IpFamily::Ipv6) {
        std::memcpy(ip6_.hdr.src_addr, t.remote_addr.data(), 16);
        std::memcpy(ip6_.hdr.dst_addr, t.local_addr.data(), 16);
        std::memset(ip6_mask_.hdr.src_addr, 0xFF, 16);
        std::memset(ip6_mask_.hdr.dst_addr, 0xFF, 16);
        ip.type = RTE_FLOW_ITEM_TYPE_IPV6;
        ip.spec = &ip6_;
        ip.mask = &ip6_mask_;
    } else {
        rte_be32_t src = 0, dst = 0;  // the header is packed: no pointers into it
        std::memcpy(&src, t.remote_addr.data(), 4);
        std::memcpy(&dst, t.local_addr.data(), 4);
        ip4_.hdr.src_addr = src;
        ip4_.hdr.dst_addr = dst;
        ip4_mask_.hdr.src_addr = 0xFFFFFFFF;
        ip4_mask_.hdr.dst_addr = 0xFFFFFFFF;
        ip.type = RTE_FLOW_ITEM_TYPE_IPV4;
        ip.spec = &ip4_;
        ip.mask = &ip4_mask_;
    }
    pattern_[n].type = RTE_FLOW_ITEM_TYPE_TCP;
    pattern_[n].spec = &tcp_;
    pattern_[n++].mask = &tcp_mask_;
    pattern_[n].type = RTE_FLOW_ITEM_TYPE_END;
}

}  // namespace nvmeddp::pmd
