#include "pmd/net_nvmeddp/nic_flow_ops.hpp"

#include <rte_malloc.h>

#include "pmd/net_nvmeddp/nic_flow_parser.hpp"
#include "pmd/net_nvmeddp/nic_port.hpp"

using nvmeddp::pmd::nic::Port;

// rte_flow is opaque to applications; a PMD defines it. Ours names a rule slot.
struct rte_flow {
    Port* port;
    int slot;
};

namespace nvmeddp::pmd::nic {

namespace {

int flow_validate(rte_eth_dev* dev, const rte_flow_attr* attr, const rte_flow_item items[],
                  const rte_flow_action actions[], rte_flow_error* error) {
    FlowKey key;
    NicRuleAction action;
    return parse_nic_rule(attr, items, actions, dev->data->nb_rx_queues, key, action, error);
}

rte_flow* flow_create(rte_eth_dev* dev, const rte_flow_attr* attr, const rte_flow_item items[],
                      const rte_flow_action actions[], rte_flow_error* error) {
    FlowKey key;
    NicRuleAction action;
    if (parse_nic_rule(attr, items, actions, dev->data->nb_rx_queues, key, action, error) != 0) return nullptr;
    auto* flow = static_cast<rte_flow*>(rte_zmalloc("net_nvmeddp_flow", sizeof(rte_flow), 0));
    if (flow == nullptr) {
        rte_flow_error_set(error, ENOMEM, RTE_FLOW_ERROR_TYPE_HANDLE, nullptr, "out of memory");
        return nullptr;
    }
    flow->port = port_of(dev);
    flow->slot = flow->port->rules.add(key, action);
    if (flow->slot < 0) {
        rte_free(flow);
        rte_flow_error_set(error, ENOSPC, RTE_FLOW_ERROR_TYPE_HANDLE, nullptr, "flow table full");
        return nullptr;
    }
    return flow;
}

int flow_destroy(rte_eth_dev* dev, rte_flow* flow, rte_flow_error* error) {
    if (flow == nullptr || flow->port != port_of(dev) || !flow->port->rules.remove(flow->slot)) {
        return rte_flow_error_set(error, EINVAL, RTE_FLOW_ERROR_TYPE_HANDLE, flow, "no such flow");
    }
    rte_free(flow);
    return 0;
}

int flow_flush(rte_eth_dev* dev, rte_flow_error*) {
    // Handles the application still holds become invalid (as with any PMD's flush).
    port_of(dev)->rules.clear();
    return 0;
}

constexpr rte_flow_ops make_flow_ops() {
    rte_flow_ops ops{};
    ops.validate = flow_validate;
    ops.create = flow_create;
    ops.destroy = flow_destroy;
    ops.flush = flow_flush;
    return ops;
}
constinit const rte_flow_ops g_flow_ops = make_flow_ops();

}  // namespace

int flow_ops_get(rte_eth_dev*, const rte_flow_ops** ops) {
    *ops = &g_flow_ops;
    return 0;
}

}  // namespace nvmeddp::pmd::nic
