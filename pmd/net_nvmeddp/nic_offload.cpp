#include "pmd/net_nvmeddp/nic_offload.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <string>

#include "pmd/net_nvmeddp/nic_log.hpp"

namespace nvmeddp::pmd::nic {

namespace {

// Linux's ULP DDP counters first (ethtool -S of a NIC with the offload; Linux's rx_nvme_tcp_packets
// and _bytes count what used the offload: our placed_packets and placed_bytes), then ours.
struct OffloadXstat {
    const char* name;
    uint64_t ddp::Stats::*field;
};
constexpr OffloadXstat kOffloadXstats[] = {
    {"rx_nvme_tcp_sk_add", &ddp::Stats::sk_add},
    {"rx_nvme_tcp_sk_add_fail", &ddp::Stats::sk_add_fail},
    {"rx_nvme_tcp_sk_del", &ddp::Stats::sk_del},
    {"rx_nvme_tcp_setup", &ddp::Stats::setup},
    {"rx_nvme_tcp_setup_fail", &ddp::Stats::setup_fail},
    {"rx_nvme_tcp_teardown", &ddp::Stats::teardown},
    {"rx_nvme_tcp_drop", &ddp::Stats::drop},
    {"rx_nvme_tcp_resync", &ddp::Stats::resync},
    {"rx_nvme_tcp_packets", &ddp::Stats::placed_packets},
    {"rx_nvme_tcp_bytes", &ddp::Stats::placed_bytes},
    {"rx_nvme_tcp_seen_packets", &ddp::Stats::packets},
    {"rx_nvme_tcp_seen_bytes", &ddp::Stats::bytes},
    {"rx_nvme_tcp_digest_offloaded", &ddp::Stats::digest_offloaded},
    {"rx_nvme_tcp_digest_fallback", &ddp::Stats::digest_fallback},
    {"rx_nvme_tcp_digest_failed", &ddp::Stats::digest_failed},
    {"rx_nvme_tcp_resync_requests", &ddp::Stats::resync_requests},
    {"rx_nvme_tcp_bad_checksum", &ddp::Stats::bad_checksum},
};
constexpr unsigned kOffloadXstatCount = static_cast<unsigned>(std::size(kOffloadXstats));

bool connections_offloaded(const OffloadPort& offload) {
    const ddp::Stats s = offload.device().stats();
    return s.sk_add > s.sk_del;
}

}  // namespace

int start_offload(Port& port, uint16_t rx_queues) {
    if (!port.ddp_enabled) return 0;
    if (port.offload) {
        if (port.offload->device().limits().rx_queues == rx_queues) return 0;
        if (connections_offloaded(*port.offload)) {
            NVMEDDP_PMD_LOG(ERR, "%s: cannot start with %u rx queues: connections are offloaded on the %u it had",
                            port.name, rx_queues, port.offload->device().limits().rx_queues);
            return -EBUSY;
        }
        stop_offload(port);
    }
    OffloadPortOptions o;
    o.port_id = port.port_id;
    o.rx_queues = rx_queues;
    o.limits = port.ddp_limits;
    o.limits.rx_queues = rx_queues;
    const std::string name = port.name;
    o.log = [name](const std::string& line) { NVMEDDP_PMD_LOG(INFO, "%s: %s", name.c_str(), line.c_str()); };
    std::string error;
    port.offload = OffloadPort::attach(o, error);
    if (!port.offload) {
        NVMEDDP_PMD_LOG(ERR, "%s: the offload could not be attached: %s", port.name, error.c_str());
        return -EIO;
    }
    NVMEDDP_PMD_LOG(INFO, "%s: offload on %u rx queues, device %s", port.name, rx_queues, port.offload->name().c_str());
    return 0;
}

void stop_offload(Port& port) {
    if (!port.offload) return;
    // No lcore polls a closing port: removals complete on the control path from here on.
    port.offload->stop_polling();
    // Its rx callbacks must all come off: ethdev never clears them (a later port with this id would
    // run them, on freed engines), and refuses to remove one from a queue beyond the configured count,
    // which a reconfigure since the attach (or a failed one: 0) may have made smaller. Queues beyond it
    // are not polled, so counting them for the removal is safe.
    rte_eth_dev_data* data = rte_eth_devices[port.port_id].data;
    const uint16_t configured = data->nb_rx_queues;
    data->nb_rx_queues = std::max(configured, port.offload->device().limits().rx_queues);
    port.offload.reset();
    data->nb_rx_queues = configured;
}

unsigned offload_xstat_count(const Port& port) { return port.offload ? kOffloadXstatCount : 0; }

void offload_xstat_names(const Port& port, rte_eth_xstat_name* names) {
    for (unsigned i = 0; i < offload_xstat_count(port); ++i) {
        std::snprintf(names[i].name, sizeof names[i].name, "%s", kOffloadXstats[i].name);
    }
}

void offload_xstat_values(const Port& port, uint64_t* values) {
    if (!port.offload) return;
    const ddp::Stats s = port.offload->device().stats();
    for (unsigned i = 0; i < kOffloadXstatCount; ++i) values[i] = s.*kOffloadXstats[i].field;
}

}  // namespace nvmeddp::pmd::nic
