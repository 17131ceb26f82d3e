// The software offload device on a DPDK port: the poll-mode path of the offload.
//
// An OffloadPort takes a configured ethdev port (any PMD: net_ring, net_af_packet, net_af_xdp,
// net_pcap, net_tap, a real NIC, our vdev) and makes it a DDP device: it creates the software driver
// with one QueueEngine per rx queue, installs an rx callback on every queue that runs that queue's
// engine on each received burst (so whoever calls rte_eth_rx_burst gets mbufs with the DDP metadata,
// mbuf_meta.hpp), and a tx callback on the tx queue of the same index that writes the data digests
// of connections that asked for it (tx_digest_stream.hpp; where the port has that many tx queues,
// else the device does not offer cap::kTxDataDigest), steers connections with rte_flow where the
// port accepts it, and registers the ddp::Device for discovery under "nvmeddp-sw:<port name>".
//
// Threading: one lcore per rx queue calls rte_eth_rx_burst for that queue (the engine runs inside it),
// and one lcore per tx queue rte_eth_tx_burst (the same one or another); the control plane
// (ddp::Device) may be used from any thread. Call stop_polling() once no lcore polls any more: the
// control path then completes removals itself.
#pragma once

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <memory>
#include <string>
#include <vector>

#include "ddp/device.hpp"
#include "pmd/dpdk/rte_flow_steering.hpp"
#include "pmd/engine/sw_driver.hpp"

namespace nvmeddp::pmd {

struct PortSetup {
    uint16_t port_id = 0;
    uint16_t rx_queues = 1;
    uint16_t tx_queues = 1;
    uint16_t rx_descriptors = 1024;
    uint16_t tx_descriptors = 1024;
    rte_mempool* pool = nullptr;
    // Let the port merge in-order segments of a flow into one frame where it can
    // (RTE_ETH_RX_OFFLOAD_TCP_LRO, frames up to the port's max_lro_pkt_size): fewer frames for a
    // receiver, but the DDP engine then sees and claims each merged frame as one packet. Off by
    // default: a merged frame crossing several PDUs has more to place than one claim names.
    bool lro = false;
};

// Configures and starts a port with the given queues (rte_eth_dev_configure, queue setup, start).
// Before the first configure it negotiates MARK delivery (rte_eth_rx_metadata_negotiate, USER_MARK)
// and remembers the outcome for OffloadPort::attach; it enables the port's rx checksum offload for
// IPv4 headers and TCP where the port has it, and tx checksum offload (IPv4 header, TCP) and
// multi-segment tx and TSO likewise. Returns an empty string on success, else what failed and DPDK's reason.
std::string configure_port(const PortSetup& setup);

// Whether a port delivers rte_flow MARKs with the frames, as configure_port() found out.
enum class MarkDelivery : uint8_t {
    NotNegotiated,  // configure_port() did not configure it first (someone else did): assumed yes
    Unsupported,    // the PMD does not negotiate (-ENOTSUP): DPDK says to assume it works
    Negotiated,     // the PMD agreed to deliver USER_MARK
    Refused,        // the PMD negotiated, without USER_MARK: MARKs are not to be relied on
};
MarkDelivery rx_mark_delivery(uint16_t port_id) noexcept;

// The tx offloads (RTE_ETH_TX_OFFLOAD_*) configure_port() enabled on a port; 0 for a port it did not
// configure (whoever did is asked nothing: a sender then computes its checksums itself).
uint64_t configured_tx_offloads(uint16_t port_id) noexcept;

struct OffloadPortOptions {
    uint16_t port_id = 0;
    uint16_t rx_queues = 1;     // queues of the port to run engines on (0 .. rx_queues-1)
    ddp::DeviceLimits limits{};
    bool use_rte_flow = true;   // try hardware steering first
    std::function<void(const std::string&)> log;  // default: stderr
};

struct PortEngineCounters {
    uint64_t frames = 0, not_tcp = 0, not_offloaded = 0, by_mark = 0, by_classifier = 0, stale_mark = 0;
    uint64_t no_payload = 0;  // TCP frames without payload, passed on unlooked-up (QueueCounters)
    // Frames in more segments than the engine takes: counted by the engine (an offloaded
    // connection's frame) or by the port (QueueEngine::kMaxChunks later segments are gathered at most).
    uint64_t too_many_chunks = 0;
    uint64_t bad_checksum = 0;   // frames the port flagged BAD (IPv4 header or TCP), passed on as such
    uint64_t with_metadata = 0;
    // The send direction: frames of connections whose data digests the device writes, those whose
    // TCP checksum it mended after writing, and frames in more mbufs than it follows.
    uint64_t tx_frames = 0, tx_checksums_patched = 0, tx_too_many_chunks = 0;
};

// The engine's transmit side over a burst about to leave the port (QueueEngine::process_tx on every
// frame, its mbuf chain followed up to kMaxTxChunks mbufs): what OffloadPort's tx callback runs, for
// any other place that sends (a benchmark's wire). Returns how many frames had a longer chain: the
// engine follows them only so far, sees a gap in the stream and loses it, which the host learns.
inline constexpr size_t kMaxTxChunks = 255;  // a 64 KiB TSO frame of 2 KiB mbufs has 33
uint16_t engine_tx_burst(QueueEngine& engine, rte_mbuf** pkts, uint16_t n) noexcept;

class OffloadPort {
public:
    // The port must be configured (queues set up); it may already be started.
    static std::unique_ptr<OffloadPort> attach(const OffloadPortOptions& options, std::string& error);
    // The offload attached to a port (by whoever attached it: a PMD that runs its own, such as
    // net_nvmeddp with ddp=on, or an application), or null. Not owned.
    static OffloadPort* of_port(uint16_t port_id) noexcept;
    ~OffloadPort();

    OffloadPort(const OffloadPort&) = delete;
    OffloadPort& operator=(const OffloadPort&) = delete;

    ddp::Device& device() noexcept { return *device_; }
    const ddp::Device& device() const noexcept { return *device_; }
    SoftwareDriver& driver() noexcept { return *driver_; }
    uint16_t port_id() const noexcept { return port_; }
    const std::string& name() const noexcept { return name_; }
    // Whether the engines take the port's MARKs (rx_mark_delivery() is not Refused); the software
    // classifier finds every offloaded connection's frames either way.
    bool uses_mark() const noexcept { return use_mark_; }
    PortEngineCounters counters() const;

    // No lcore polls the port's queues any more: from now on the control path applies its own
    // commands, so connection removal and teardown complete without a poller.
    void stop_polling();

private:
    struct QueueContext {
        OffloadPort* port;
        QueueEngine* engine;
        bool use_mark;
        ddp::Counter bad_checksum;
        ddp::Counter too_many_chunks;
        ddp::Counter with_metadata;
        ddp::Counter tx_too_many_chunks;
    };
    OffloadPort() = default;
    static uint16_t on_rx_burst(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, uint16_t max, void* ctx);
    static uint16_t on_tx_burst(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, void* ctx);

    uint16_t port_ = 0;
    bool use_mark_ = true;
    std::string name_;
    std::unique_ptr<RteFlowSteering> steering_;
    SoftwareDriver* driver_ = nullptr;
    std::unique_ptr<ddp::Device> device_;
    std::vector<std::unique_ptr<QueueContext>> queues_;
    std::vector<const rte_eth_rxtx_callback*> callbacks_;
    std::vector<const rte_eth_rxtx_callback*> tx_callbacks_;
    bool registered_ = false;
};

}  // namespace nvmeddp::pmd
