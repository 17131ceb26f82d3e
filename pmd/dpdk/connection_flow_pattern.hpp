// The rte_flow pattern that matches exactly the segments one TCP connection receives:
//   ETH / [VLAN outer] / [VLAN] / IPV4 or IPV6 (src = remote, dst = local) / TCP (src = remote port,
//   dst = local port) / END
// with explicit masks (the VIDs, both addresses, both ports). Shared by every rule that steers one
// connection: the offload's (rte_flow_steering.hpp) and our TCP endpoints' (tcp/connection_steering.hpp).
#pragma once

#include <rte_flow.h>

#include "ddp/connection_config.hpp"

namespace nvmeddp::pmd {

class ConnectionFlowPattern {
public:
    explicit ConnectionFlowPattern(const ddp::ConnectionTuple& tuple);
    // The items point into this object: it stays where it is while they are used.
    ConnectionFlowPattern(const ConnectionFlowPattern&) = delete;
    ConnectionFlowPattern& operator=(const ConnectionFlowPattern&) = delete;

    const rte_flow_item* items() const noexcept { return pattern_; }

private:
    rte_flow_item_vlan vlans_[2]{}, vlan_mask_{};
    rte_flow_item_ipv4 ip4_{}, ip4_mask_{};
    rte_flow_item_ipv6 ip6_{}, ip6_mask_{};
    rte_flow_item_tcp tcp_{}, tcp_mask_{};
    rte_flow_item pattern_[6]{};
};

}  // namespace nvmeddp::pmd
