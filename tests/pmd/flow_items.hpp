// rte_flow items and actions built in one expression, for the rte_flow tests of net_nvmeddp.
#pragma once

#include <rte_flow.h>

namespace nvmeddp::dpdk_test {

inline rte_flow_item item(rte_flow_item_type type, const void* spec = nullptr, const void* mask = nullptr,
                          const void* last = nullptr) {
    rte_flow_item i{};
    i.type = type;
    i.spec = spec;
    i.mask = mask;
    i.last = last;
    return i;
}

inline rte_flow_action action(rte_flow_action_type type, const void* conf = nullptr) {
    rte_flow_action a{};
    a.type = type;
    a.conf = conf;
    return a;
}

}  // namespace nvmeddp::dpdk_test
