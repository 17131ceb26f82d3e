// What net_nvmeddp's rte_flow accepts, read from an application's attr / pattern / actions into a
// NicRuleTable rule (nic_rule_table.hpp), or refused with an rte_flow_error that names the item or
// action at fault and why.
//
// The one rule shape it supports (what the offload's steering installs, pmd/dpdk/rte_flow_steering.hpp):
//   attr     ingress, group 0 (priority is ignored: rules never overlap, each is an exact 5-tuple)
//   pattern  ETH (matching any frame: no spec, or a mask of zeros)
//            / IPV4 or IPV6 (source and destination addresses exact, nothing else matched)
//            / TCP (source and destination ports exact, nothing else matched) / END
//   actions  QUEUE (an rx queue of the port) and/or MARK, each at most once, then END
// VOID items and actions may appear anywhere. A null mask is the item's default mask (rte_flow.h),
// which for IPV4, IPV6 and TCP is exactly the addresses or ports; ranges (`last`) are refused.
//
// Safety: the pattern and the action list are each read item by item only up to their END, never
// beyond, whatever their length (an application's short pattern is a valid request to refuse).
#pragma once

#include <rte_flow.h>

#include <cstdint>

#include "pmd/packet/flow_key.hpp"
#include "pmd/net_nvmeddp/nic_rule_table.hpp"

namespace nvmeddp::pmd {

// 0 with key and action filled, or a negative errno (ENOTSUP for what this NIC cannot do, EINVAL
// for what no NIC could) with `error` set (error may be null).
int parse_nic_rule(const rte_flow_attr* attr, const rte_flow_item* pattern, const rte_flow_action* actions,
                   uint16_t rx_queues, FlowKey& key, NicRuleAction& action, rte_flow_error* error) noexcept;

}  // namespace nvmeddp::pmd
