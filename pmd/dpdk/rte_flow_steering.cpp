#include "pmd/dpdk/rte_flow_steering.hpp"

#include <rte_byteorder.h>

#include <cstring>

namespace nvmeddp::pmd {

RteFlowSteering::RteFlowSteering(uint16_t port_id, uint32_t max_connections)
    : port_(port_id), rules_(max_connections, nullptr) {}

RteFlowSteering::~RteFlowSteering() {
    for (uint32_t id = 0; id < rules_.size(); ++id) remove(id);
}

bool RteFlowSteering::install(const ddp::ConnectionConfig& config, uint32_t conn_id, std::string& why) {
    if (conn_id >= rules_.size()) {
        why = "connection id beyond the steering table";
        return false;
    }
    const ddp::ConnectionTuple& t = config.tuple;
    rte_flow_attr attr{};
    attr.ingress = 1;

    rte_flow_item_ipv4 ip4{}, ip4_mask{};
    rte_flow_item_ipv6 ip6{}, ip6_mask{};
    rte_flow_item_tcp tcp{}, tcp_mask{};
    tcp.hdr.src_port = rte_cpu_to_be_16(t.remote_port);
    tcp.hdr.dst_port = rte_cpu_to_be_16(t.local_port);
    tcp_mask.hdr.src_port = 0xFFFF;
    tcp_mask.hdr.dst_port = 0xFFFF;

    // ETH / [VLAN outer] / [VLAN] / IP / TCP / END: the connection's frames carry its VLAN tags.
    rte_flow_item pattern[6]{};
    size_t n = 0;
    pattern[n++].type = RTE_FLOW_ITEM_TYPE_ETH;
    rte_flow_item_vlan vlans[2]{}, vlan_mask{};
    vlan_mask.hdr.vlan_tci = rte_cpu_to_be_16(0x0FFF);
    const uint16_t vids[2] = {t.outer_vlan, t.vlan};
    for (size_t i = 0; i < 2; ++i) {
        if (vids[i] == 0) continue;
        vlans[i].hdr.vlan_tci = rte_cpu_to_be_16(vids[i]);
        pattern[n].type = RTE_FLOW_ITEM_TYPE_VLAN;
        pattern[n].spec = &vlans[i];
        pattern[n++].mask = &vlan_mask;
    }
    rte_flow_item& ip_item = pattern[n++];
    if (t.family == ddp::IpFamily::Ipv6) {
        std::memcpy(ip6.hdr.src_addr, t.remote_addr.data(), 16);
        std::memcpy(ip6.hdr.dst_addr, t.local_addr.data(), 16);
        std::memset(ip6_mask.hdr.src_addr, 0xFF, 16);
        std::memset(ip6_mask.hdr.dst_addr, 0xFF, 16);
        ip_item.type = RTE_FLOW_ITEM_TYPE_IPV6;
        ip_item.spec = &ip6;
        ip_item.mask = &ip6_mask;
    } else {
        std::memcpy(&ip4.hdr.src_addr, t.remote_addr.data(), 4);
        std::memcpy(&ip4.hdr.dst_addr, t.local_addr.data(), 4);
        ip4_mask.hdr.src_addr = 0xFFFFFFFF;
        ip4_mask.hdr.dst_addr = 0xFFFFFFFF;
        ip_item.type = RTE_FLOW_ITEM_TYPE_IPV4;
        ip_item.spec = &ip4;
        ip_item.mask = &ip4_mask;
    }
    pattern[n].type = RTE_FLOW_ITEM_TYPE_TCP;
    pattern[n].spec = &tcp;
    pattern[n++].mask = &tcp_mask;
    pattern[n].type = RTE_FLOW_ITEM_TYPE_END;

    rte_flow_action_queue queue{};
    queue.index = config.rx_queue;
    rte_flow_action_mark mark{};
    mark.id = conn_id;
    rte_flow_action actions[3]{};
    actions[0].type = RTE_FLOW_ACTION_TYPE_QUEUE;
    actions[0].conf = &queue;
    actions[1].type = RTE_FLOW_ACTION_TYPE_MARK;
    actions[1].conf = &mark;
    actions[2].type = RTE_FLOW_ACTION_TYPE_END;

    rte_flow_error error{};
    if (rte_flow_validate(port_, &attr, pattern, actions, &error) != 0) {
        why = std::string("port rejected the rte_flow rule: ") + (error.message != nullptr ? error.message : "no reason given");
        return false;
    }
    rte_flow* rule = rte_flow_create(port_, &attr, pattern, actions, &error);
    if (rule == nullptr) {
        why = std::string("rte_flow_create failed: ") + (error.message != nullptr ? error.message : "no reason given");
        return false;
    }
    rules_[conn_id] = rule;
    return true;
}

void RteFlowSteering::remove(uint32_t conn_id) {
    if (conn_id >= rules_.size() || rules_[conn_id] == nullptr) return;
    rte_flow_error error{};
    rte_flow_destroy(port_, rules_[conn_id], &error);
    rules_[conn_id] = nullptr;
}

}  // namespace nvmeddp::pmd
