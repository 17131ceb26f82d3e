// net_nvmeddp's rte_flow ops: validate, create, destroy, flush, query (COUNT), over the port's rule
// table (nic_rule_table.hpp) and the parser of what it accepts (nic_flow_parser.hpp).
//
// A rule's handle (struct rte_flow *) is not a pointer to anything: it is the rule's slot, its
// generation and the port id packed into the pointer's bits, never dereferenced. So there is nothing
// to free, nothing for flush or close to leak, and a stale handle (destroyed, flushed, of a closed
// port, or of another port) is recognised by its generation and refused with EINVAL, never used to
// reach freed memory or a rule that took its slot since.
#include "pmd/net_nvmeddp/nic_flow_ops.hpp"

#include <cerrno>
#include <cstdint>

#include "pmd/net_nvmeddp/nic_flow_parser.hpp"
#include "pmd/net_nvmeddp/nic_port.hpp"

namespace nvmeddp::pmd::nic {

namespace {

static_assert(sizeof(uintptr_t) == 8, "a handle packs 64 bits into a pointer");
static_assert(NicRuleTable::kMaxRules <= (1u << 16), "a handle has 16 bits for the slot");

// generation (32 bits, never 0, so the pointer is never null) | port id (16) | slot (16)
rte_flow* to_flow(uint16_t port_id, NicRuleHandle h) noexcept {
    const uint64_t bits = uint64_t{h.generation} << 32 | uint64_t{port_id} << 16 | h.index;
    return reinterpret_cast<rte_flow*>(static_cast<uintptr_t>(bits));
}

// False when the handle was not made by this port (the table then checks the generation).
bool from_flow(const rte_flow* flow, uint16_t port_id, NicRuleHandle& h) noexcept {
    const auto bits = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(flow));
    if (static_cast<uint16_t>(bits >> 16) != port_id) return false;
    h.index = static_cast<uint32_t>(bits & 0xFFFF);
    h.generation = static_cast<uint32_t>(bits >> 32);
    return h.generation != 0;
}

int no_such_rule(rte_flow_error* error, const rte_flow* flow) {
    return rte_flow_error_set(error, EINVAL, RTE_FLOW_ERROR_TYPE_HANDLE, flow,
                              "no such flow rule (destroyed, flushed, or not of this port)");
}

// The table's verdict on adding a rule, as an rte_flow error.
int table_refusal(int rc, const rte_flow_attr* attr, rte_flow_error* error) {
    switch (rc) {
        case -EEXIST:
            return rte_flow_error_set(error, EEXIST, RTE_FLOW_ERROR_TYPE_ATTR_PRIORITY, attr,
                                      "a rule with this pattern and priority exists");
        case -ENOSPC:
            return rte_flow_error_set(error, ENOSPC, RTE_FLOW_ERROR_TYPE_HANDLE, nullptr, "flow table full");
        default:
            return rte_flow_error_set(error, ENOMEM, RTE_FLOW_ERROR_TYPE_HANDLE, nullptr, "flow table has no memory");
    }
}

int flow_validate(rte_eth_dev* dev, const rte_flow_attr* attr, const rte_flow_item items[],
                  const rte_flow_action actions[], rte_flow_error* error) {
    NicRule rule;
    if (int rc = parse_nic_rule(attr, items, actions, dev->data->nb_rx_queues, rule, error); rc != 0) return rc;
    if (int rc = port_of(dev)->rules.check_add(rule); rc != 0) return table_refusal(rc, attr, error);
    return 0;
}

rte_flow* flow_create(rte_eth_dev* dev, const rte_flow_attr* attr, const rte_flow_item items[],
                      const rte_flow_action actions[], rte_flow_error* error) {
    NicRule rule;
    if (parse_nic_rule(attr, items, actions, dev->data->nb_rx_queues, rule, error) != 0) return nullptr;
    NicRuleHandle handle;
    if (int rc = port_of(dev)->rules.add(rule, handle); rc != 0) {
        table_refusal(rc, attr, error);
        return nullptr;
    }
    return to_flow(dev->data->port_id, handle);
}

int flow_destroy(rte_eth_dev* dev, rte_flow* flow, rte_flow_error* error) {
    NicRuleHandle handle;
    if (!from_flow(flow, dev->data->port_id, handle) || !port_of(dev)->rules.remove(handle)) return no_such_rule(error, flow);
    return 0;
}

int flow_flush(rte_eth_dev* dev, rte_flow_error*) {
    port_of(dev)->rules.clear();  // every handle of the port stops naming a rule
    return 0;
}

int flow_query(rte_eth_dev* dev, rte_flow* flow, const rte_flow_action* action, void* data, rte_flow_error* error) {
    if (action == nullptr || data == nullptr) {
        return rte_flow_error_set(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, action, "query needs an action and its data");
    }
    if (action->type != RTE_FLOW_ACTION_TYPE_COUNT) {
        return rte_flow_error_set(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, action, "only COUNT can be queried");
    }
    NicRuleHandle handle;
    if (!from_flow(flow, dev->data->port_id, handle)) return no_such_rule(error, flow);
    auto* out = static_cast<rte_flow_query_count*>(data);
    NicRuleCounts counts;
    switch (port_of(dev)->rules.query(handle, out->reset != 0, counts)) {
        case 0:
            break;
        case -ENOTSUP:
            return rte_flow_error_set(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, action, "the rule has no COUNT action");
        default:
            return no_such_rule(error, flow);
    }
    out->hits_set = 1;
    out->bytes_set = 1;
    out->hits = counts.hits;
    out->bytes = counts.bytes;
    return 0;
}

constexpr rte_flow_ops make_flow_ops() {
    rte_flow_ops ops{};
    ops.validate = flow_validate;
    ops.create = flow_create;
    ops.destroy = flow_destroy;
    ops.flush = flow_flush;
    ops.query = flow_query;
    return ops;
}
constinit const rte_flow_ops g_flow_ops = make_flow_ops();

}  // namespace

int flow_ops_get(rte_eth_dev*, const rte_flow_ops** ops) {
    *ops = &g_flow_ops;
    return 0;
}

}  // namespace nvmeddp::pmd::nic
