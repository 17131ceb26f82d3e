// The offload engine a net_nvmeddp port runs on its own rx queues (ddp=on), as a NIC with the
// offload has it in hardware: at start the port attaches an OffloadPort to itself (the engine runs in
// an rx callback on each queue, connections are steered by the port's own rte_flow), and registers its
// ddp::Device as "nvmeddp-sw:<port name>". A host finds it there (OffloadPort::of_port) instead of
// attaching one. Its statistics are the port's xstats, under the names Linux's ULP DDP gives them.
#pragma once

#include <ethdev_driver.h>

#include <cstdint>

#include "pmd/net_nvmeddp/nic_port.hpp"

namespace nvmeddp::pmd::nic {

// At dev_start: attaches the engine for the port's rx queues, or keeps the one attached before when
// the queues are the same. A different queue count replaces it, unless connections are offloaded
// (then the start is refused). 0 or a negative errno, logged.
int start_offload(Port& port, uint16_t rx_queues);

// At dev_close: lets go of every connection and detaches the engine.
void stop_offload(Port& port);

// The offload's xstats: how many there are (0 without the offload; at most kMaxOffloadXstats),
// their names, their values.
constexpr unsigned kMaxOffloadXstats = 64;
unsigned offload_xstat_count(const Port& port);
void offload_xstat_names(const Port& port, rte_eth_xstat_name* names);
void offload_xstat_values(const Port& port, uint64_t* values);

}  // namespace nvmeddp::pmd::nic
