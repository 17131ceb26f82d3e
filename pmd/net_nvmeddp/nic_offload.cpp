#include "pmd/net_nvmeddp/nic_offload.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <string>

#include "ddp/stat_names.hpp"
#include "pmd/net_nvmeddp/nic_log.hpp"

namespace nvmeddp::pmd::nic {

namespace {

constexpr unsigned kOffloadXstatCount = static_cast<unsigned>(std::size(ddp::kStatNames));
static_assert(kOffloadXstatCount <= kMaxOffloadXstats);

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
    // Its rx and tx callbacks must all come off: ethdev never clears them (a later port with this id
    // would run them, on freed engines), and refuses to remove one from a queue beyond the configured
    // count, which a reconfigure since the attach (or a failed one: 0) may have made smaller. Queues
    // beyond it are not polled, so counting them for the removal is safe.
    rte_eth_dev_data* data = rte_eth_devices[port.port_id].data;
    const uint16_t rx_configured = data->nb_rx_queues, tx_configured = data->nb_tx_queues;
    const uint16_t engines = port.offload->device().limits().rx_queues;  // one tx callback per engine
    data->nb_rx_queues = std::max(rx_configured, engines);
    data->nb_tx_queues = std::max(tx_configured, engines);
    port.offload.reset();
    data->nb_rx_queues = rx_configured;
    data->nb_tx_queues = tx_configured;
}

unsigned offload_xstat_count(const Port& port) { return port.offload ? kOffloadXstatCount : 0; }

// Linux's names as they are; ours under the same prefix, so a port's xstats say whose they are.
void offload_xstat_names(const Port& port, rte_eth_xstat_name* names) {
    for (unsigned i = 0; i < offload_xstat_count(port); ++i) {
        const ddp::StatName& s = ddp::kStatNames[i];
        std::snprintf(names[i].name, sizeof names[i].name, "%s%s", s.linux_name ? "" : "rx_nvme_tcp_", s.name);
    }
}

void offload_xstat_values(const Port& port, uint64_t* values) {
    if (!port.offload) return;
    const ddp::Stats s = port.offload->device().stats();
    for (unsigned i = 0; i < kOffloadXstatCount; ++i) values[i] = s.*ddp::kStatNames[i].field;
}

}  // namespace nvmeddp::pmd::nic
