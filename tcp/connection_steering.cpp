#include "tcp/connection_steering.hpp"

#include <rte_byteorder.h>

#include <cstring>

namespace nvmeddp::tcp {

ConnectionSteering::ConnectionSteering(uint16_t port, uint16_t rx_queue, uint32_t priority, uint32_t max_connections)
    : port_(port), queue_(rx_queue), priority_(priority), rules_(max_connections, nullptr) {}

ConnectionSteering::~ConnectionSteering() {
    for (uint32_t slot = 0; slot < rules_.size(); ++slot) release(slot);
}

bool ConnectionSteering::steer(uint32_t slot, const Route& route, std::string* why) {
    if (slot >= rules_.size()) {
        if (why != nullptr) *why = "no such connection slot";
        return false;
    }
    release(slot);
    rte_flow_attr attr{};
    attr.ingress = 1;
    attr.priority = priority_;

    // Received segments come from the peer (route.dst) to us (route.src).
    rte_flow_item_vlan vlan{};
    vlan.hdr.vlan_tci = rte_cpu_to_be_16(route.vlan_tci & 0x0FFF);
    rte_flow_item_ipv4 ip4{};
    rte_flow_item_ipv6 ip6{};
    if (route.src_ip.is_v4()) {
        rte_be32_t src = 0, dst = 0;  // the header is packed: no pointers into it
        std::memcpy(&src, route.dst_ip.bytes.data(), 4);
        std::memcpy(&dst, route.src_ip.bytes.data(), 4);
        ip4.hdr.src_addr = src;
        ip4.hdr.dst_addr = dst;
    } else {
        std::memcpy(ip6.hdr.src_addr, route.dst_ip.bytes.data(), 16);
        std::memcpy(ip6.hdr.dst_addr, route.src_ip.bytes.data(), 16);
    }
    rte_flow_item_tcp tcp{};
    tcp.hdr.src_port = rte_cpu_to_be_16(route.dst_port);
    tcp.hdr.dst_port = rte_cpu_to_be_16(route.src_port);

    rte_flow_item pattern[5]{};
    size_t n = 0;
    pattern[n++].type = RTE_FLOW_ITEM_TYPE_ETH;
    if (route.has_vlan) pattern[n++] = {RTE_FLOW_ITEM_TYPE_VLAN, &vlan, nullptr, nullptr};
    if (route.src_ip.is_v4()) {
        pattern[n++] = {RTE_FLOW_ITEM_TYPE_IPV4, &ip4, nullptr, nullptr};
    } else {
        pattern[n++] = {RTE_FLOW_ITEM_TYPE_IPV6, &ip6, nullptr, nullptr};
    }
    pattern[n++] = {RTE_FLOW_ITEM_TYPE_TCP, &tcp, nullptr, nullptr};
    pattern[n].type = RTE_FLOW_ITEM_TYPE_END;

    rte_flow_action_queue to{queue_};
    rte_flow_action actions[2]{};
    actions[0] = {RTE_FLOW_ACTION_TYPE_QUEUE, &to};
    actions[1].type = RTE_FLOW_ACTION_TYPE_END;

    rte_flow_error error{};
    rte_flow* rule = rte_flow_create(port_, &attr, pattern, actions, &error);
    if (rule == nullptr) {
        if (why != nullptr) *why = error.message != nullptr ? error.message : "refused without a reason";
        return false;
    }
    rules_[slot] = rule;
    ++installed_;
    return true;
}

void ConnectionSteering::release(uint32_t slot) {
    if (slot >= rules_.size() || rules_[slot] == nullptr) return;
    rte_flow_error error{};
    rte_flow_destroy(port_, rules_[slot], &error);  // a port already closed has dropped it anyway
    rules_[slot] = nullptr;
    --installed_;
}

}  // namespace nvmeddp::tcp
