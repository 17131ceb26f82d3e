#include "tcp/connection_steering.hpp"

#include "pmd/dpdk/connection_flow_pattern.hpp"

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
    const pmd::ConnectionFlowPattern pattern(connection_tuple(route));

    rte_flow_action_queue to{queue_};
    rte_flow_action actions[2]{};
    actions[0] = {RTE_FLOW_ACTION_TYPE_QUEUE, &to};
    actions[1].type = RTE_FLOW_ACTION_TYPE_END;

    rte_flow_error error{};
    rte_flow* rule = rte_flow_create(port_, &attr, pattern.items(), actions, &error);
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
