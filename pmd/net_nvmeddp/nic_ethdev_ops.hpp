// net_nvmeddp's ethdev ops (eth_dev_ops): the same table in both modes; each op checks whether the
// port is stacked and, if so, does the lower port's part through its public ethdev API.
#pragma once

#include <ethdev_driver.h>

namespace nvmeddp::pmd::nic {

const eth_dev_ops* nic_dev_ops() noexcept;

// Stops (when started) and frees what the port holds: queues, rings, rules, the lower port.
int nic_dev_close(rte_eth_dev* dev);

}  // namespace nvmeddp::pmd::nic
