#include "pmd/dpdk/rte_flow_steering.hpp"

#include "pmd/dpdk/connection_flow_pattern.hpp"

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
    rte_flow_attr attr{};
    attr.ingress = 1;
    const ConnectionFlowPattern pattern(config.tuple);

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
    if (rte_flow_validate(port_, &attr, pattern.items(), actions, &error) != 0) {
        why = std::string("port rejected the rte_flow rule: ") + (error.message != nullptr ? error.message : "no reason given");
        return false;
    }
    rte_flow* rule = rte_flow_create(port_, &attr, pattern.items(), actions, &error);
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
