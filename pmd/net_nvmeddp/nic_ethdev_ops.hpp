// net_nvmeddp's ethdev ops (eth_dev_ops): the same table in both modes; each op checks whether the
// port is stacked and, if so, does the lower port's part through its public ethdev API.
#pragma once

#include <ethdev_driver.h>

namespace nvmeddp::pmd::nic {

const eth_dev_ops* nic_dev_ops() noexcept;

// Stops (when started) and frees what the port holds: queues, rings, rules, the lower port. The
// vdev of a lower port made here from an interface is removed too, unless the bus is removing
// devices itself (EAL cleanup walks its list and removes that one next: removing it here would
// free the entry its walk holds).
int nic_dev_close(rte_eth_dev* dev);
int nic_dev_close_for_bus_remove(rte_eth_dev* dev);

// The lower port's release by anyone else (a hotplug remove, EAL cleanup reaching it first) is
// noted, so closing this port later leaves it alone.
int on_lower_destroyed(uint16_t port_id, rte_eth_event_type event, void* port, void* unused);

}  // namespace nvmeddp::pmd::nic
