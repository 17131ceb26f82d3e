// Everything a host over DPDK has below its controllers, brought up in one call: the EAL, a packed
// mbuf pool, the port (found by name, configured with one queue pair), an optional seeded fault shim
// on its receive path, the software offload device on the port, and our TCP endpoint on it.
//
// Whoever calls poll() runs every lane (queue pair): the port's receive path (and with it the offload
// device's engine), the TCP timers and every connection the factories from transports_to() opened.
// On several lcores, each lane is polled by one lcore at a time with poll_lane() (IoPollers decides
// which: nvmetcp/host/io_pollers.hpp); the lanes share what they learn of addresses through a
// neighbour board. nvmeddp-host and the C API (include/nvmeddp/host.h) both build on it.
//
// The EAL is initialised once per process (pmd::init_eal: later calls with other arguments are
// no-ops); the stack never cleans it up, because the EAL cannot be initialised again afterwards.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ddp/device.hpp"
#include "nvmetcp/host/dpdk/tcp_transport.hpp"
#include "pmd/dpdk/offload_port.hpp"
#include "pmd/fault/fault_shim.hpp"
#include "tcp/endpoint.hpp"

namespace nvmeddp::nvmetcp::host {

struct HostStackConfig {
    std::string port;                   // DPDK port by name, e.g. net_af_packet0 (a --vdev in eal_args makes it)
    std::string local_ip;               // this host's IPv4 or IPv6 address on the port
    std::string mac;                    // this host's MAC; empty: the port's own
    std::vector<std::string> eal_args;  // appended after pmd::EalOptions' defaults (they win)
    std::string program = "nvmeddp-host";  // the EAL's argv[0]
    // Said when no port has that name: how the caller's user creates one (a program with its own
    // command line knows where the EAL arguments go).
    std::string no_port_hint = "create it with --vdev among the EAL arguments";
    std::string lcores = "0";
    bool offload = true;                // attach the software offload device to the port
    std::string faults_rx;              // fault shim on rx (pmd::parse_fault_rates syntax); empty: none
    std::string faults_tx;              // ... and on tx (what the host sends: commands, H2CData, ACKs)
    uint64_t seed = 1;                  // of the fault shim
    // How long stop_polling() lets closed connections exchange their FINs before it resets them: a
    // target sees an orderly close, and no connection is left for it to time out.
    uint32_t close_linger_ms = 1000;
    // The offload device takes no read smaller than this (DeviceLimits::io_threshold; the host
    // copies those): 0, every read; mlx5 uses 32 KiB.
    uint32_t ddp_io_threshold = 0;
    // Queue pairs of the port, one endpoint (lane) on each: I/O queue q's connection goes on lane
    // (q - 1) mod lanes, steered to its rx queue by an rte_flow rule (a port without rte_flow, such as
    // af_packet itself, cannot: stack net_nvmeddp on it). All lanes are polled by the one lcore that
    // calls poll(), for now.
    uint16_t lanes = 1;
    // Let the port merge in-order segments where it offers LRO (net_nvmeddp does, in software):
    // fewer frames for the TCP and the parser; the offload's engine claims each merged frame as one.
    bool lro = false;
    std::function<void(const std::string&)> log;  // the offload device's messages; empty: stderr
};

class HostStack {
public:
    // null and *error saying which step failed and why.
    static std::unique_ptr<HostStack> create(const HostStackConfig& config, std::string* error);
    // Releases the endpoint, the offload device and the shim, stops and closes the port and frees the
    // pool. Every transport factory from transports_to() must be gone by then.
    ~HostStack();
    HostStack(const HostStack&) = delete;
    HostStack& operator=(const HostStack&) = delete;

    tcp::Endpoint& endpoint(uint16_t lane = 0) noexcept { return *lanes_[lane]; }
    uint16_t lanes() const noexcept { return static_cast<uint16_t>(lanes_.size()); }
    // Connections still exchanging segments, over every lane; abort_all() on every lane; every
    // lane's info(), one after the other.
    uint32_t active_connections() const noexcept;
    void abort_all();
    std::string endpoints_info() const;
    ddp::Device* device() noexcept { return offload() != nullptr ? &offload()->device() : nullptr; }  // null without offload
    // The offload in use: attached by this stack, or the port's own (a PMD that runs it, as
    // net_nvmeddp does with ddp=on). Null without offload.
    pmd::OffloadPort* offload() noexcept { return offload_ ? offload_.get() : port_offload_; }
    bool uses_port_offload() const noexcept { return port_offload_ != nullptr; }
    pmd::FaultShim* shim() noexcept { return shim_.get(); }
    uint16_t port_id() const noexcept { return port_; }
    const std::string& port_name() const noexcept { return config_.port; }

    // One round: every lane's poll_lane(). True when frames arrived or were sent.
    bool poll();
    // One round of one lane: its endpoint's poll (its rx queue's burst, the device's engine on it,
    // TCP), and on lane 0 the shim's held tx frames. True when frames arrived or the port was handed
    // frames to send (the commands submitted since the last round go out in this one: work too).
    bool poll_lane(uint16_t lane);

    // Transports for the queues of one controller at remote:port, over this stack's endpoint. The
    // factory must be destroyed before the stack.
    std::unique_ptr<TcpTransportFactory> transports_to(const tcp::IpAddress& remote, uint16_t port);
    // The same with every connection on one lane (0 .. lanes()-1), whose lcore then runs the whole
    // controller.
    std::unique_ptr<TcpTransportFactory> transports_to(const tcp::IpAddress& remote, uint16_t port, uint16_t lane);

    // "port <name>: rx N frames (B bytes), missed M, errors E; tx N frames, errors E": the port's own
    // counters (frames it lost before anyone polled them show only here). Empty when the port has none.
    std::string port_counters() const;
    // The port's received frames and bytes so far (false when it counts none).
    bool port_rx(uint64_t* frames, uint64_t* bytes) const;

    // No lcore calls poll() any more. First the connections the factories closed finish their close
    // (FIN both ways) while this polls, for at most config.close_linger_ms; those still open then get
    // a RST. Then the device completes connection removals itself, and does so for those pending now
    // (its statistics are then final). poll() must not be called afterwards. Returns the number of
    // connections that had to be reset.
    uint32_t stop_polling();

private:
    HostStack() = default;
    std::string bring_up();

    HostStackConfig config_;
    uint16_t port_ = 0;
    bool port_configured_ = false;
    rte_mempool* pool_ = nullptr;
    std::unique_ptr<pmd::FaultShim> shim_;
    std::unique_ptr<pmd::OffloadPort> offload_;
    // The port's own. The port replaces it when it restarts with another rx queue count and removes
    // it when it closes: the stack does neither while it lives (it closes the port last).
    pmd::OffloadPort* port_offload_ = nullptr;
    std::vector<std::unique_ptr<tcp::Endpoint>> lanes_;
    std::vector<tcp::Endpoint*> lane_ptrs_;  // the same, as the factories take them
    std::unique_ptr<tcp::NeighbourBoard> neighbours_;  // shared by the lanes (several lanes)
};

}  // namespace nvmeddp::nvmetcp::host
