// What net_nvmeddp's rte_flow accepts, read from an application's attr / pattern / actions into a
// NicRule (nic_rule_action.hpp), or refused with an rte_flow_error that names the attribute, item
// or action at fault (cause = its pointer) and why.
//
// The rule shape it supports (what the offload's steering installs, pmd/dpdk/rte_flow_steering.hpp,
// and what a NIC's exact-match flow table takes):
//   attr     ingress, group 0, any priority (among rules with one 5-tuple, the lowest number wins);
//            egress, transfer and other groups are refused (ATTR_EGRESS, ATTR_TRANSFER, ATTR_GROUP)
//   pattern  ETH (no spec, or a spec whose mask leaves out the MAC addresses)
//            / up to two VLAN (the VID exactly)
//            / IPV4 or IPV6 (source and destination addresses exact)
//            / TCP (source and destination ports exact) / END
//            Fields that the pattern itself implies may be matched too, with the value it implies:
//            ETH type and VLAN inner type (0x0800 / 0x86DD before IPV4 / IPV6), ETH has_vlan and
//            VLAN has_more_vlan, the IP protocol (6). Any other masked field is refused
//            (ITEM_MASK), as are wildcards (an IP or TCP item without a spec: ITEM_SPEC).
//   actions  QUEUE, or RSS over exactly one queue (the same thing), or DROP: at most one of them;
//            MARK (not with DROP); COUNT; each at most once (a second is refused, ACTION naming it)
// A null mask is the item's default mask (rte_flow.h). `last` is refused (ITEM_LAST) unless it is
// no range: zero, or equal to the spec, under the mask. VOID items and actions may appear anywhere.
//
// Safety: the pattern and the action list are each read item by item only up to their END, never
// beyond, whatever their length (an application's short pattern is a valid request to refuse).
#pragma once

#include <rte_flow.h>

#include <cstdint>

#include "pmd/net_nvmeddp/nic_rule_action.hpp"

namespace nvmeddp::pmd {

// 0 with `rule` filled, or a negative errno (ENOTSUP for what this NIC cannot do, EINVAL for what
// no NIC could) with `error` set (error may be null).
int parse_nic_rule(const rte_flow_attr* attr, const rte_flow_item* pattern, const rte_flow_action* actions,
                   uint16_t rx_queues, NicRule& rule, rte_flow_error* error) noexcept;

}  // namespace nvmeddp::pmd
