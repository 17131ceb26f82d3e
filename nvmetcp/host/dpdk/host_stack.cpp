#include "nvmetcp/host/dpdk/host_stack.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>

#include "pmd/dpdk/eal.hpp"
#include "pmd/dpdk/mbuf_pool.hpp"
#include "pmd/fault/fault_rates.hpp"

namespace nvmeddp::nvmetcp::host {

namespace {

bool port_driver_is(uint16_t port, const char* driver) {
    rte_eth_dev_info info{};
    return rte_eth_dev_info_get(port, &info) == 0 && info.driver_name != nullptr &&
           std::strcmp(info.driver_name, driver) == 0;
}

// Pool names are global to the process: every stack gets its own.
std::string next_pool_name() {
    static std::atomic<unsigned> stacks{0};
    const unsigned n = stacks.fetch_add(1);
    return n == 0 ? "host_pool" : "host_pool" + std::to_string(n);
}

}  // namespace

std::unique_ptr<HostStack> HostStack::create(const HostStackConfig& config, std::string* error) {
    std::unique_ptr<HostStack> stack(new HostStack());
    stack->config_ = config;
    if (std::string e = stack->bring_up(); !e.empty()) {
        if (error != nullptr) *error = e;
        return nullptr;  // the destructor undoes what was done
    }
    return stack;
}

std::string HostStack::bring_up() {
    const HostStackConfig& c = config_;
    // The addresses first: a typo should not cost an EAL bring-up.
    const auto local = tcp::IpAddress::parse(c.local_ip);
    if (!local) return "local IP '" + c.local_ip + "' is not an IPv4 or IPv6 address";
    std::optional<tcp::MacAddress> mac;
    if (!c.mac.empty()) {
        mac = tcp::MacAddress::parse(c.mac);
        if (!mac) return "'" + c.mac + "' is not a MAC address";
    }
    std::string err;
    std::optional<pmd::FaultRates> rx_faults, tx_faults;
    if (!c.faults_rx.empty()) {
        rx_faults = pmd::parse_fault_rates(c.faults_rx, &err);
        if (!rx_faults) return "rx fault rates: " + err;
    }
    if (!c.faults_tx.empty()) {
        tx_faults = pmd::parse_fault_rates(c.faults_tx, &err);
        if (!tx_faults) return "tx fault rates: " + err;
    }

    pmd::EalOptions eo;
    eo.program = c.program;
    eo.lcores = c.lcores;
    eo.extra = c.eal_args;
    if (std::string e = pmd::init_eal(eo); !e.empty()) return e;
    pool_ = pmd::create_mbuf_pool(next_pool_name(), 32767, 256, RTE_MBUF_DEFAULT_BUF_SIZE, 0, &err);
    if (pool_ == nullptr) return "cannot create the mbuf pool: " + err;
    if (rte_eth_dev_get_port_by_name(c.port.c_str(), &port_) != 0)
        return "no port named " + c.port + " (" + c.no_port_hint + ")";
    if (port_driver_is(port_, "net_af_xdp") && !pmd::mbuf_pool_is_packed(pool_))
        return "the mbuf pool is not one packed chunk, which net_af_xdp needs (hugepages with IOVA as PA?)";
    if (c.lanes == 0 || c.lanes > 16) return "lanes must be 1..16";
    if (rte_eth_dev_info info{}; rte_eth_dev_info_get(port_, &info) == 0 &&
                                 (c.lanes > info.max_rx_queues || c.lanes > info.max_tx_queues)) {
        return "port " + c.port + " has " + std::to_string(std::min(info.max_rx_queues, info.max_tx_queues)) +
               " queue pair(s), " + std::to_string(c.lanes) + " asked (stack net_nvmeddp with queues=N on the interface)";
    }
    pmd::PortSetup ps;
    ps.port_id = port_;
    ps.pool = pool_;
    ps.rx_queues = ps.tx_queues = c.lanes;
    ps.lro = c.lro;
    port_configured_ = true;  // from here on the destructor stops and closes the port
    if (std::string e = pmd::configure_port(ps); !e.empty()) return "port " + c.port + ": " + e;
    if (c.offload && (port_offload_ = pmd::OffloadPort::of_port(port_)) != nullptr) {
        // The port runs the offload itself: its limits are the port's (its devargs).
        const ddp::DeviceLimits& l = port_offload_->device().limits();
        if (c.ddp_io_threshold != 0 && c.ddp_io_threshold != l.io_threshold) {
            return "port " + c.port + " runs its own offload, with an io threshold of " + std::to_string(l.io_threshold) +
                   " bytes: set it in the port's devargs (ddp_io_threshold=" + std::to_string(c.ddp_io_threshold) +
                   "), not here";
        }
        if (rx_faults || tx_faults) {
            return "port " + c.port + " runs its own offload, which would see frames before the fault shim does "
                   "(faults belong on the wire, before the NIC): attach the shim to a port without one";
        }
    } else if (c.offload) {
        pmd::OffloadPortOptions po;
        po.port_id = port_;
        // A software device has no hardware table to size: it takes what a host sends (reads up to
        // the 4 MiB a target's MDTS allows, in one C2HData as Linux's nvmet sends them).
        po.limits.max_io_size = 4u << 20;
        po.limits.io_threshold = config_.ddp_io_threshold;
        po.rx_queues = c.lanes;
        if (c.log) po.log = c.log;
        offload_ = pmd::OffloadPort::attach(po, err);
        if (!offload_) return "cannot attach the offload to " + c.port + ": " + err;
    }
    // After the offload: the shim's rx callback goes first in line and its tx callback last, faults
    // on the wire both ways (fault_shim.hpp).
    if (rx_faults || tx_faults) {
        pmd::FaultShimOptions fo;
        if (rx_faults) fo.rx = *rx_faults;
        if (tx_faults) fo.tx = *tx_faults;
        fo.seed = c.seed;
        fo.pool = pool_;
        shim_ = pmd::FaultShim::attach(port_, 1, 1, fo, &err);
        if (!shim_) return "fault shim: " + err;
    }
    tcp::EndpointConfig ec;
    ec.port = port_;
    ec.local_ip = *local;
    ec.pool = pool_;
    if (mac) ec.mac = *mac;
    // The shim's tx faults act on what the port is handed: a TSO frame would be lost or delayed
    // whole, tens of segments at once, not the segment a rate means.
    ec.tso = !tx_faults;
    // Lanes share the address: each takes its own share of the ephemeral ports, so that two never
    // pick the same four-tuple, and steers its connections to its queue.
    const uint32_t first = ec.first_local_port, span = (uint32_t{ec.last_local_port} - first + 1) / c.lanes;
    ec.steer_connections = c.lanes > 1;
    if (c.lanes > 1) {
        // Each lane's lcore learns addresses from what its own queue receives: they share them.
        neighbours_ = std::make_unique<tcp::NeighbourBoard>();
        ec.neighbour_board = neighbours_.get();
    }
    for (uint16_t k = 0; k < c.lanes; ++k) {
        ec.rx_queue = ec.tx_queue = k;
        ec.first_local_port = static_cast<uint16_t>(first + k * span);
        ec.last_local_port = static_cast<uint16_t>(first + (k + 1) * span - 1);
        auto lane = tcp::Endpoint::create(ec, &err);
        if (!lane) return "lane " + std::to_string(k) + ": " + err;
        lane_ptrs_.push_back(lane.get());
        lanes_.push_back(std::move(lane));
    }
    return {};
}

HostStack::~HostStack() {
    lane_ptrs_.clear();
    lanes_.clear();
    neighbours_.reset();
    offload_.reset();
    port_offload_ = nullptr;  // closing the port detaches it
    shim_.reset();
    if (port_configured_) {
        rte_eth_dev_stop(port_);
        rte_eth_dev_close(port_);
    }
    // Every mbuf is back: the endpoint and the shim freed what they held, the port its rings.
    if (pool_ != nullptr) rte_mempool_free(pool_);
}

bool HostStack::poll() {
    bool frames = false;
    for (uint16_t k = 0; k < lanes_.size(); ++k) frames = poll_lane(k) || frames;
    return frames;
}

bool HostStack::poll_lane(uint16_t lane) {
    tcp::Endpoint& endpoint = *lanes_[lane];
    // Any send call is work (the time of one that a full ring refused too), counted as its frames are.
    const uint64_t send_cycles_before = endpoint.stats().tx_burst_cycles;
    const bool frames = endpoint.poll() > 0 || endpoint.stats().tx_burst_cycles != send_cycles_before;
    if (lane == 0 && shim_) shim_->flush_tx(0);  // the shim sits on queue pair 0
    return frames;
}

std::unique_ptr<TcpTransportFactory> HostStack::transports_to(const tcp::IpAddress& remote, uint16_t port) {
    return std::make_unique<TcpTransportFactory>(lane_ptrs_, remote, port);
}

std::unique_ptr<TcpTransportFactory> HostStack::transports_to(const tcp::IpAddress& remote, uint16_t port, uint16_t lane) {
    return std::make_unique<TcpTransportFactory>(std::vector<tcp::Endpoint*>{lane_ptrs_.at(lane)}, remote, port);
}

uint32_t HostStack::active_connections() const noexcept {
    uint32_t n = 0;
    for (const auto& lane : lanes_) n += lane->active_connections();
    return n;
}

void HostStack::abort_all() {
    for (auto& lane : lanes_) lane->abort_all();
}

std::string HostStack::endpoints_info() const {
    std::string s;
    for (size_t k = 0; k < lanes_.size(); ++k) {
        if (lanes_.size() > 1) s += "lane " + std::to_string(k) + ": ";
        s += lanes_[k]->info();
        if (k + 1 < lanes_.size()) s += "\n";
    }
    return s;
}

bool HostStack::port_rx(uint64_t* frames, uint64_t* bytes) const {
    rte_eth_stats ps{};
    if (rte_eth_stats_get(port_, &ps) != 0) return false;
    *frames = ps.ipackets;
    *bytes = ps.ibytes;
    return true;
}

std::string HostStack::port_counters() const {
    rte_eth_stats ps{};
    if (rte_eth_stats_get(port_, &ps) != 0) return {};
    char line[320];
    std::snprintf(line, sizeof line, "port %s: rx %llu frames (%llu bytes), missed %llu, errors %llu; tx %llu frames, errors %llu",
                  config_.port.c_str(), (unsigned long long)ps.ipackets, (unsigned long long)ps.ibytes,
                  (unsigned long long)ps.imissed, (unsigned long long)ps.ierrors, (unsigned long long)ps.opackets,
                  (unsigned long long)ps.oerrors);
    return line;
}

uint32_t HostStack::stop_polling() {
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t deadline = rte_get_tsc_cycles() + hz * config_.close_linger_ms / 1000;
    while (active_connections() > 0 && rte_get_tsc_cycles() < deadline) poll();
    const uint32_t reset = active_connections();
    if (reset > 0) {
        abort_all();
        poll();  // sends the RSTs
    }
    if (pmd::OffloadPort* o = offload()) {
        o->stop_polling();
        o->device().poll_all();
    }
    return reset;
}

}  // namespace nvmeddp::nvmetcp::host
