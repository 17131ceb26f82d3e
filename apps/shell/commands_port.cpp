// show port info|stats|xstats <port_id>; port start|stop <port_id>.
#include <cmdline_parse_num.h>
#include <cmdline_parse_string.h>
#include <rte_ethdev.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <vector>

#include "command_set.hpp"
#include "ddp_text.hpp"
#include "pmd/dpdk/offload_port.hpp"
#include "shell_state.hpp"

namespace nvmeddp::shell {

namespace {

struct ShowPortResult {
    cmdline_fixed_string_t show, port, what;
    uint16_t port_id;
};
cmdline_parse_token_string_t show_port_show = TOKEN_STRING_INITIALIZER(ShowPortResult, show, "show");
cmdline_parse_token_string_t show_port_port = TOKEN_STRING_INITIALIZER(ShowPortResult, port, "port");
cmdline_parse_token_string_t show_port_what = TOKEN_STRING_INITIALIZER(ShowPortResult, what, "info#stats#xstats");
cmdline_parse_token_num_t show_port_id = TOKEN_NUM_INITIALIZER(ShowPortResult, port_id, RTE_UINT16);

struct PortCtlResult {
    cmdline_fixed_string_t port, what;
    uint16_t port_id;
};
cmdline_parse_token_string_t port_ctl_port = TOKEN_STRING_INITIALIZER(PortCtlResult, port, "port");
cmdline_parse_token_string_t port_ctl_what = TOKEN_STRING_INITIALIZER(PortCtlResult, what, "start#stop");
cmdline_parse_token_num_t port_ctl_id = TOKEN_NUM_INITIALIZER(PortCtlResult, port_id, RTE_UINT16);

void show_info(uint16_t p) {
    ShellState& s = state();
    rte_eth_dev_info info{};
    if (int ret = rte_eth_dev_info_get(p, &info); ret != 0) {
        std::printf("Port %u: no device info: %s\n", p, std::strerror(-ret));
        return;
    }
    char name[RTE_ETH_NAME_MAX_LEN] = "?";
    rte_eth_dev_get_name_by_port(p, name);
    rte_ether_addr mac{};
    rte_eth_macaddr_get(p, &mac);
    char mac_text[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(mac_text, sizeof mac_text, &mac);
    rte_eth_link link{};
    rte_eth_link_get_nowait(p, &link);
    uint16_t mtu = 0;
    rte_eth_dev_get_mtu(p, &mtu);
    std::printf("Port %u: %s\n", p, name);
    std::printf("  Driver name: %s\n", info.driver_name);
    std::printf("  MAC address: %s\n", mac_text);
    std::printf("  Link: %s, %u Mbps, %s duplex\n", link.link_status ? "up" : "down", link.link_speed,
                link.link_duplex ? "full" : "half");
    std::printf("  MTU: %u\n", mtu);
    std::printf("  State: %s\n", s.started[p] ? "started" : "stopped");
    std::printf("  Rx queues: %u configured, %u at most; Tx queues: %u configured, %u at most\n", info.nb_rx_queues,
                info.max_rx_queues, info.nb_tx_queues, info.max_tx_queues);
    if (pmd::OffloadPort* o = pmd::OffloadPort::of_port(p)) {
        const ddp::Device& d = o->device();
        std::printf("  DDP offload: %s, caps %s (supported %s), io threshold %u bytes, max I/O %u bytes\n", d.name(),
                    caps_text(d.enabled_caps()).c_str(), caps_text(d.supported_caps()).c_str(), d.limits().io_threshold,
                    d.limits().max_io_size);
    } else {
        std::printf("  DDP offload: none\n");
    }
    if (s.is_stack_port(p)) {
        std::printf("  NVMe/TCP host: local IP %s, %s\n", s.options.local_ip.c_str(),
                    s.session ? "connected" : "not connected");
    }
}

void show_stats(uint16_t p) {
    rte_eth_stats st{};
    if (int ret = rte_eth_stats_get(p, &st); ret != 0) {
        std::printf("Port %u: no statistics: %s\n", p, std::strerror(-ret));
        return;
    }
    std::printf("Port %u statistics:\n", p);
    std::printf("  RX-packets: %" PRIu64 "  RX-bytes: %" PRIu64 "  RX-missed: %" PRIu64 "  RX-errors: %" PRIu64
                "  RX-nombuf: %" PRIu64 "\n",
                st.ipackets, st.ibytes, st.imissed, st.ierrors, st.rx_nombuf);
    std::printf("  TX-packets: %" PRIu64 "  TX-bytes: %" PRIu64 "  TX-errors: %" PRIu64 "\n", st.opackets, st.obytes,
                st.oerrors);
}

void show_xstats(uint16_t p) {
    const int n = rte_eth_xstats_get_names(p, nullptr, 0);
    if (n < 0) {
        std::printf("Port %u: no extended statistics: %s\n", p, std::strerror(-n));
        return;
    }
    std::vector<rte_eth_xstat_name> names(n);
    std::vector<rte_eth_xstat> values(n);
    if (rte_eth_xstats_get_names(p, names.data(), n) != n || rte_eth_xstats_get(p, values.data(), n) != n) {
        std::printf("Port %u: the extended statistics changed while being read; try again\n", p);
        return;
    }
    std::printf("Port %u extended statistics:\n", p);
    for (int i = 0; i < n; ++i) std::printf("  %s: %" PRIu64 "\n", names[values[i].id].name, values[i].value);
}

void on_show_port(void* parsed, struct cmdline*, void*) {
    const auto* r = static_cast<ShowPortResult*>(parsed);
    if (!check_port(r->port_id)) return;
    if (!std::strcmp(r->what, "info")) show_info(r->port_id);
    else if (!std::strcmp(r->what, "stats")) show_stats(r->port_id);
    else show_xstats(r->port_id);
}

void on_port_ctl(void* parsed, struct cmdline*, void*) {
    const auto* r = static_cast<PortCtlResult*>(parsed);
    const uint16_t p = r->port_id;
    if (!check_port(p)) return;
    ShellState& s = state();
    if (!std::strcmp(r->what, "stop")) {
        if (s.is_stack_port(p) && s.session) {
            std::printf("Port %u carries the connected controller's queues: disconnect first\n", p);
            return;
        }
        if (!s.started[p]) {
            std::printf("Port %u is stopped already\n", p);
            return;
        }
        if (int ret = rte_eth_dev_stop(p); ret != 0) {
            std::printf("Port %u: cannot stop: %s\n", p, std::strerror(-ret));
            return;
        }
        s.started[p] = false;
        std::printf("Port %u stopped\n", p);
        return;
    }
    if (s.started[p]) {
        std::printf("Port %u is started already\n", p);
        return;
    }
    if (int ret = rte_eth_dev_start(p); ret != 0) {
        std::printf("Port %u: cannot start: %s\n", p, std::strerror(-ret));
        return;
    }
    s.started[p] = true;
    std::printf("Port %u started\n", p);
}

}  // namespace

void add_port_commands(CommandSet& set) {
    set.add(on_show_port, "show port info|stats|xstats <port_id>: the port's device info, counters or extended counters",
            {&show_port_show, &show_port_port, &show_port_what, &show_port_id});
    set.add(on_port_ctl,
            "port start|stop <port_id>: start or stop a port (the host's port cannot stop while connected)",
            {&port_ctl_port, &port_ctl_what, &port_ctl_id});
}

}  // namespace nvmeddp::shell
