#include "pmd/dpdk_rte_flow_steering.hpp"

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

    rte_flow_item pattern[4]{};
    pattern[0].type = RTE_FLOW_ITEM_TYPE_ETH;
    if (t.family == ddp::IpFamily::Ipv6) {
        std::memcpy(ip6.hdr.src_addr, t.remote_addr.data(), 16);
        std::memcpy(ip6.hdr.dst_addr, t.local_addr.data(), 16);
        std::memset(ip6_mask.hdr.src_addr, 0xFF, 16);
        std::memset(ip6_mask.hdr.dst_addr, 0xFF, 16);
        pattern[1].type = RTE_FLOW_ITEM_TYPE_IPV6;
        pattern[1].spec = &ip6;
        pattern[1].mask = &ip6_mask;
    } else {
        std::memcpy(&ip4.hdr.src_addr, t.remote_addr.data(), 4);
        std::memcpy(&ip4.hdr.dst_addr, t.local_addr.data(), 4);
        ip4_mask.hdr.src_addr = 0xFFFFFFFF;
        ip4_mask.hdr.dst_addr = 0xFFFFFFFF;
        pattern[1].type = RTE_FLOW_ITEM_TYPE_IPV4;
        pattern[1].spec = &ip4;
        pattern[1].mask = &ip4_mask;
    }
    pattern[2].type = RTE_FLOW_ITEM_TYPE_TCP;
    pattern[2].spec = &tcp;
    pattern[2].mask = &tcp_mask;
    pattern[3].type = RTE_FLOW_ITEM_TYPE_END;

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
