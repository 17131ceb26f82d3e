// Where a frame arriving at a net_nvmeddp port goes, and what the port says about it: the part of
// the port that acts as the receiving NIC, the same in loopback and stacked mode. It parses the frame,
// sets the rx checksum verdicts the port does in software, looks the frame up in the rule table, and
// sets the MARK (RTE_MBUF_F_RX_FDIR | RTE_MBUF_F_RX_FDIR_ID, hash.fdir.hi) when a rule has one.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "pmd/net_nvmeddp/nic_port.hpp"

namespace nvmeddp::pmd::nic {

struct SteerVerdict {
    uint16_t queue = 0;  // the rx queue to deliver to
    bool drop = false;   // a DROP rule matched: free it
};

// `fallback` is the queue a frame goes to without a rule sending it elsewhere; `rx_queues` is how many
// the port has. The frame's checksum and FDIR flags are replaced by the port's own verdicts.
SteerVerdict steer_received_frame(const Port& port, rte_mbuf* m, uint16_t fallback, uint16_t rx_queues) noexcept;

}  // namespace nvmeddp::pmd::nic
