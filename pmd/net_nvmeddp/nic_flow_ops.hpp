// net_nvmeddp's rte_flow ops (rte_flow_ops), handed to ethdev by the flow_ops_get op.
#pragma once

#include <ethdev_driver.h>
#include <rte_flow_driver.h>

namespace nvmeddp::pmd::nic {

int flow_ops_get(rte_eth_dev* dev, const rte_flow_ops** ops);

}  // namespace nvmeddp::pmd::nic
