// What one steering rule of net_nvmeddp does to the frames it matches, and the rule itself (an exact
// 5-tuple, a priority, an action): the parser (nic_flow_parser.hpp) produces them, the rule table
// (nic_rule_table.hpp) stores them, the frame steering (frame_steering.hpp) applies them.
#pragma once

#include <cstdint>

#include "pmd/packet/flow_key.hpp"

namespace nvmeddp::pmd {

struct NicRuleAction {
    bool has_queue = false;
    uint16_t queue = 0;
    bool has_mark = false;
    uint32_t mark = 0;
    bool drop = false;   // DROP: the frame is freed (and counted) instead of delivered
    bool count = false;  // COUNT: the rule's hits and bytes are counted, rte_flow_query reads them
};

struct NicRule {
    FlowKey key;
    uint32_t priority = 0;  // rte_flow_attr::priority: among rules with one key, the lowest number wins
    NicRuleAction action;
};

}  // namespace nvmeddp::pmd
