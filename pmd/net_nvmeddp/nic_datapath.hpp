// net_nvmeddp's burst functions, one pair per mode (ethdev's rx_pkt_burst / tx_pkt_burst).
//
// Loopback: tx_burst is the wire and the receiving NIC in one: each frame is steered
// (frame_steering.hpp) into the ring of its rx queue (tx queue q's frames go to rx queue q unless a
// rule says otherwise); rx_burst reads the ring. A full ring drops the frame (imissed), as a NIC out of
// rx descriptors does.
//
// Stacked: rx_burst on queue q first takes the frames other queues steered to q, then polls the lower
// port's rx queue q (when it has one; a full burst, whatever the caller asked) and steers each frame:
// q's own are returned (those beyond what the caller takes wait in q's ring), others go to their
// queue's ring, a DROP rule frees them. tx_burst hands the burst to the lower port's tx queue q and
// returns what it took, as any PMD does.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace nvmeddp::pmd::nic {

uint16_t loopback_rx_burst(void* queue, rte_mbuf** pkts, uint16_t n);
uint16_t loopback_tx_burst(void* queue, rte_mbuf** pkts, uint16_t n);
uint16_t stacked_rx_burst(void* queue, rte_mbuf** pkts, uint16_t n);
uint16_t stacked_tx_burst(void* queue, rte_mbuf** pkts, uint16_t n);
// rte_eth_tx_prepare of the lower port's tx queue: the tx offloads are the lower port's.
uint16_t stacked_tx_prepare(void* queue, rte_mbuf** pkts, uint16_t n);

}  // namespace nvmeddp::pmd::nic
