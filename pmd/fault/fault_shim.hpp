// A seeded fault shim for any DPDK port: loss, reordering, duplication, delay and corruption made in
// the port's own rx and tx path, for tests, the demo and benchmarks (this machine's kernel has no tc
// netem). It sits in rte_eth_add_first_rx_callback / rte_eth_add_tx_callback callbacks on every queue, so
// whoever calls rte_eth_rx_burst / rte_eth_tx_burst sees the faults, whatever the PMD.
//
// Per frame, from the queue's own seeded generator (fault_random.hpp): drop; else corrupt or lie
// (TCP segments with payload only, tcp_payload_fault.hpp); then reorder (held until 1..reorder_depth
// later frames passed it) or delay (held for delay_us); a frame not held may be duplicated, the
// copy right after it. A reordered frame that too few frames follow comes out after delay_us at the
// latest, so the last frames of a burst of traffic are late, not lost. Held frames live in a fixed
// array per queue and direction (held_frames.hpp); when it is full the oldest is released to make room.
//
// rx: the callback may remove frames and add released ones and duplicates up to the caller's
// nb_pkts. DPDK 22.11 calls rx callbacks on every rte_eth_rx_burst, also when the PMD returned no
// frame (rte_ethdev.h: the callbacks run on nb_rx whatever it is), so held rx frames come out on
// time as long as the queue is polled. The shim's rx callback goes first in line, its tx callback last
// (callbacks run in the order of the list): attach the shim after the OffloadPort, and the faults then
// happen "on the wire" both ways, before the offload sees a received frame and after it wrote the
// digests of a sent one.
//
// tx: the burst's array is the caller's and may only shrink, so released frames and duplicates go
// only into slots freed by frames held or dropped in the same burst (a duplicate with no free slot is
// skipped and not counted); what stays held waits for the next burst or flush_tx(). When the shim
// returns fewer frames than it was given, rte_eth_tx_burst returns at most that many: the slots of
// the caller's array after them are set to null (the frames there were taken over by the shim), so
// a caller that frees pkts[sent..n) with rte_pktmbuf_free / rte_pktmbuf_free_bulk does no harm, but
// a caller that retries them must skip nulls.
//
// Threading: one lcore per queue (rx queue q and tx queue q may be on different lcores); no locks,
// no allocation after attach. The counters may be read from any thread.
#pragma once

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pmd/fault/fault_rates.hpp"

namespace nvmeddp::pmd {

struct FaultCounters {
    uint64_t frames = 0, dropped = 0, reordered = 0, duplicated = 0, delayed = 0, corrupted = 0, lied = 0, held_now = 0;
};

struct FaultShimOptions {
    FaultRates rx;
    FaultRates tx;
    uint64_t seed = 1;
    rte_mempool* pool = nullptr;  // for duplicates; required when duplicate > 0
};

class FaultShim {
public:
    // Attaches to every rx queue in [0, rx_queues) and tx queue in [0, tx_queues) of `port` with
    // rte_eth_add_first_rx_callback / rte_eth_add_tx_callback (the port must be configured; attach it
    // after the offload, see above). null and *error saying why on failure.
    static std::unique_ptr<FaultShim> attach(uint16_t port, uint16_t rx_queues, uint16_t tx_queues,
                                             const FaultShimOptions& options, std::string* error);
    // Removes its callbacks and frees held frames (the caller has stopped polling the port's queues).
    ~FaultShim();

    FaultShim(const FaultShim&) = delete;
    FaultShim& operator=(const FaultShim&) = delete;

    FaultCounters rx_counters() const;  // summed over queues
    FaultCounters tx_counters() const;

    // Releases held tx frames whose time has come even when the application sends nothing (call it
    // in the poll loop, on the queue's lcore). The frames go out with rte_eth_tx_burst, which the
    // shim's own callback lets pass untouched; those the PMD does not take stay held, due at once.
    // Returns frames sent.
    uint16_t flush_tx(uint16_t queue);

    // One line per direction with the counters, for --stats output.
    std::string summary() const;

private:
    struct QueueState;  // per queue and direction (fault_shim.cpp)

    FaultShim() = default;
    static uint16_t on_rx(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, uint16_t max, void* state);
    static uint16_t on_tx(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, void* state);

    uint16_t port_ = 0;
    FaultRates rx_rates_;
    FaultRates tx_rates_;
    std::vector<std::unique_ptr<QueueState>> rx_;
    std::vector<std::unique_ptr<QueueState>> tx_;
    std::vector<const rte_eth_rxtx_callback*> rx_callbacks_;
    std::vector<const rte_eth_rxtx_callback*> tx_callbacks_;
};

}  // namespace nvmeddp::pmd
