// The state of one net_nvmeddp port (its ethdev dev_private), shared by its data path, its ethdev
// ops and its rte_flow ops.
//
// Each rx queue has a ring of frames steered to it: in loopback mode every frame arrives through it;
// stacked on a lower port, rx queue q also polls the lower port's rx queue q (when the lower port has
// one) and passes a frame that a rule steers elsewhere to that queue's ring. Rings are
// multi-producer (any queue may steer into them) and single-consumer (one lcore polls a queue).
// A lower queue whose own poller stopped coming by is adopted by the others (LowerRx).
#pragma once

#include <ethdev_driver.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "pmd/dpdk/offload_port.hpp"
#include "pmd/net_nvmeddp/nic_rule_table.hpp"
#include "pmd/net_nvmeddp/vdev_args.hpp"

namespace nvmeddp::pmd::nic {

constexpr uint16_t kMaxQueues = 16;
constexpr uint16_t kNoPort = UINT16_MAX;

struct Port;

// Counters are written by the one lcore that uses the queue and read by the control path.
struct RxQueue {
    uint16_t index = 0;
    Port* port = nullptr;
    rte_ring* ring = nullptr;
    uint64_t packets = 0, bytes = 0;
    uint64_t steered_out = 0;    // frames this queue polled from the lower port and passed to another
    uint64_t steer_missed = 0;   // ... that found that queue's ring full and were dropped
    uint64_t dropped_by_rule = 0;
    uint64_t adopted_polls = 0;  // polls of another queue's lower queue, whose own poller was away
    uint64_t lro_frames = 0;           // LRO done here: frames delivered that hold several received ones
    uint64_t lro_segments_merged = 0;  // ... and how many received frames went into them
    uint32_t adopt_next = 0;     // which other lower queue it looks at next
};

struct TxQueue {
    uint16_t index = 0;
    Port* port = nullptr;
    uint64_t packets = 0, bytes = 0;
    uint64_t missed = 0;          // loopback: frames that found the rx ring full
    uint64_t dropped_by_rule = 0;  // loopback: frames a DROP rule took
    // The tx offloads done here in software (tx_segmentation.hpp): those configured for this queue
    // (port and queue offloads), frames cut by TSO and the segments made of them, and frames dropped
    // because their request was not enabled, did not describe the frame, or found the pool empty
    // (oerrors). Stacked, only what the lower port does not do: TSO always, checksums where the lower
    // port was not configured with them; segments the lower port would not take are dropped
    // (tso_segments_dropped), as on a wire.
    uint64_t offloads = 0;
    uint64_t tso_frames = 0, tso_segments = 0;
    uint64_t tso_segments_dropped = 0;
    uint64_t tx_offload_errors = 0;
    bool offload_error_logged = false;  // the first is logged, the rest counted
};

// Stacked mode: one lower rx queue's poll. The lower port spreads frames over its queues its own way
// (af_packet: the kernel's fanout hash, which knows nothing of our rules), so a queue's frames may sit
// in another's lower queue until that one is polled. When a lower queue's own poller has not polled
// it for a while (its lcore stopped, or polls rarely), any queue's poller that comes by polls it
// instead. Whoever polls it holds `busy`, which is only ever tried, never waited on.
struct alignas(64) LowerRx {
    std::atomic<bool> busy{false};
    std::atomic<uint64_t> polled_tsc{0};  // when it was last polled
};

struct Port {
    rte_ether_addr mac{};
    uint16_t port_id = 0;
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    RxQueue* rx[kMaxQueues] = {};
    TxQueue* tx[kMaxQueues] = {};
    NicRuleTable rules;
    MarkMode mark_mode = MarkMode::On;

    // Stacked mode: the lower port, which this port owns (rte_eth_dev_owner_set), so applications
    // iterating ports (RTE_ETH_FOREACH_DEV, testpmd) see only this one.
    uint16_t lower = kNoPort;
    bool lower_made_here = false;  // made from an interface name: removed with this port
    bool lower_destroyed = false;  // released by someone else (RTE_ETH_EVENT_DESTROY): nothing to close
    rte_eth_dev_owner owner{};
    uint16_t lower_rx_queues = 0;  // rx queues the lower port was configured with (<= this port's)
    LowerRx lower_rx[kMaxQueues];

    // The offload's engine on this port's rx queues (nic_offload.hpp): made at the first start when
    // the ddp devarg is on, so that it knows the queues.
    bool ddp_enabled = false;
    ddp::DeviceLimits ddp_limits{};
    std::unique_ptr<OffloadPort> offload;

    // Set on the control path while the port is stopped, read by the data path once started.
    bool deliver_mark = true;      // the last negotiation (if any) kept USER_MARK
    bool verify_ip_cksum = false;  // RTE_ETH_RX_OFFLOAD_IPV4_CKSUM configured and done here, in software
    bool verify_tcp_cksum = false; // RTE_ETH_RX_OFFLOAD_TCP_CKSUM likewise

    // TSO and LRO done here in software: offered (the tso / lro devargs; stacked, only on a lower port
    // that sends mbuf chains) and, for LRO, configured, with the longest frame it may make
    // (rxmode.max_lro_pkt_size, L2 header included).
    bool tso_offered = true;
    bool lro_offered = true;
    bool lro_enabled = false;
    uint32_t max_lro_pkt_size = 0;
    // Stacked: the tx offloads the lower port was configured with (it does those; never TSO, which
    // is cut here so that segments are sized as the sender asked whatever the lower port's rules).
    uint64_t lower_tx_offloads = 0;

    bool stacked() const noexcept { return lower != kNoPort; }
};

inline Port* port_of(rte_eth_dev* dev) { return static_cast<Port*>(dev->data->dev_private); }

}  // namespace nvmeddp::pmd::nic
