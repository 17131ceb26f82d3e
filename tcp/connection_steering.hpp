// Steers each of an endpoint's connections to the endpoint's own rx queue with an rte_flow rule,
// so that several endpoints on one port (one per rx queue and lcore) each receive exactly their own
// connections' segments: ingress, priority P, the connection's pattern
// (pmd/dpdk/connection_flow_pattern.hpp) -> QUEUE(rx queue)
// installed before the SYN goes out and removed when the connection's slot is free again. P defaults
// to 1: the offload's own rule for a connection it places (priority 0, QUEUE + MARK to the same
// queue) wins while it exists, and this one takes over again when the offload lets go.
//
// Control path only (connection open and release, not per segment). rte_flow serialises calls on a
// port (ethdev's flow mutex unless the PMD says its flow ops are thread-safe), so endpoints on other
// lcores may steer at the same time. Segments of other connections, ARP and neighbour discovery are
// not steered: they arrive wherever the port puts them.
#pragma once

#include <rte_flow.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tcp/frame_builder.hpp"

namespace nvmeddp::tcp {

class ConnectionSteering {
public:
    ConnectionSteering(uint16_t port, uint16_t rx_queue, uint32_t priority, uint32_t max_connections);
    ~ConnectionSteering();  // removes every rule still installed
    ConnectionSteering(const ConnectionSteering&) = delete;
    ConnectionSteering& operator=(const ConnectionSteering&) = delete;

    // The rule for the connection in slot `slot` with this route (src = local). False with *why
    // (the port's rte_flow_error message) when the port refuses it.
    bool steer(uint32_t slot, const Route& route, std::string* why);
    // The slot's rule, if it has one, goes.
    void release(uint32_t slot);
    uint32_t installed() const noexcept { return installed_; }

private:
    uint16_t port_;
    uint16_t queue_;
    uint32_t priority_;
    std::vector<rte_flow*> rules_;  // by slot
    uint32_t installed_ = 0;
};

}  // namespace nvmeddp::tcp
