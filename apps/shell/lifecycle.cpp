#include "lifecycle.hpp"

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdio>

#include "pmd/dpdk/eal.hpp"
#include "pmd/dpdk/mbuf_pool.hpp"
#include "pmd/dpdk/offload_port.hpp"

namespace nvmeddp::shell {

namespace {

bool has_lcore_option(const std::vector<std::string>& eal) {
    for (const std::string& a : eal) {
        if (a == "-l" || a == "-c" || a.rfind("--lcores", 0) == 0 || a.rfind("-l", 0) == 0 || a.rfind("-c", 0) == 0)
            return true;
    }
    return false;
}

std::string bring_up_stack(ShellState& s) {
    const Options& o = s.options;
    uint16_t port_id = 0;
    if (o.local_ip.empty()) {
        if (o.port_given) std::printf("note: --port without --local-ip: no NVMe/TCP host (connect needs --local-ip)\n");
        return {};
    }
    if (rte_eth_dev_get_port_by_name(o.port.c_str(), &port_id) != 0) {
        return "no port named " + o.port + " (create it with --vdev before --, or give --port)";
    }
    nvmetcp::host::HostStackConfig c;
    c.port = o.port;
    c.local_ip = o.local_ip;
    c.mac = o.mac;
    c.program = "nvmeddp-shell";
    c.no_port_hint = "create it with --vdev before --";
    c.offload = true;
    c.log = [](const std::string& line) { std::printf("offload: %s\n", line.c_str()); };
    std::string err;
    s.stack = nvmetcp::host::HostStack::create(c, &err);
    if (!s.stack) return err;
    s.started[s.stack->port_id()] = true;
    const ddp::Device* d = s.stack->device();
    std::printf("host: port %u (%s), local IP %s, offload %s%s\n", s.stack->port_id(), o.port.c_str(),
                o.local_ip.c_str(), d != nullptr ? d->name() : "none",
                s.stack->uses_port_offload() ? " (the port's own)" : " (attached by the host)");
    return {};
}

// The other ports, as testpmd brings them up: one queue pair, started.
void bring_up_other_ports(ShellState& s) {
    uint16_t p = 0;
    RTE_ETH_FOREACH_DEV(p) {
        if (s.is_stack_port(p)) continue;
        std::string err;
        if (s.pool == nullptr) {
            s.pool = pmd::create_mbuf_pool("shell_pool", 8191, 256, RTE_MBUF_DEFAULT_BUF_SIZE, 0, &err);
            if (s.pool == nullptr) {
                std::printf("warning: no mbuf pool for the other ports (%s): they stay unconfigured\n", err.c_str());
                return;
            }
        }
        pmd::PortSetup ps;
        ps.port_id = p;
        ps.pool = s.pool;
        s.shell_owned[p] = true;
        if (err = pmd::configure_port(ps); !err.empty()) {
            std::printf("warning: port %u: %s\n", p, err.c_str());
            continue;
        }
        s.started[p] = true;
    }
}

}  // namespace

std::string start_shell(ShellState& s) {
    pmd::EalOptions eo;
    eo.program = "nvmeddp-shell";
    eo.extra = s.options.eal;
    // One lcore unless told otherwise: the shell polls from the main thread only.
    if (!has_lcore_option(s.options.eal)) eo.lcores = "0";
    if (std::string e = pmd::init_eal(eo); !e.empty()) return e;
    if (std::string e = bring_up_stack(s); !e.empty()) return e;
    bring_up_other_ports(s);
    uint16_t p = 0;
    RTE_ETH_FOREACH_DEV(p) {
        char name[RTE_ETH_NAME_MAX_LEN] = "?";
        rte_eth_dev_get_name_by_port(p, name);
        std::printf("Port %u: %s, %s\n", p, name, s.started[p] ? "started" : "stopped");
    }
    return {};
}

bool end_shell(ShellState& s) {
    bool ok = true;
    if (s.session) {
        std::vector<std::string> report;
        s.session->disconnect(&report);
        for (const auto& line : report) std::printf("disconnect: %s\n", line.c_str());
        s.session.reset();
    }
    for (auto& [port_id, table] : s.flows) {
        for (const FlowRule& r : table.rules) {
            rte_flow_error error{};
            if (rte_flow_destroy(port_id, r.flow, &error) != 0) {
                std::printf("port %u: flow rule #%u not destroyed: %s\n", port_id, r.id,
                            error.message != nullptr ? error.message : "(no stated reason)");
            }
        }
        table.rules.clear();
    }
    if (s.stack) {
        if (!s.started[s.stack->port_id()]) {
            // stop_polling() may poll (connections still closing): the port must run for that.
            if (rte_eth_dev_start(s.stack->port_id()) == 0) s.started[s.stack->port_id()] = true;
        }
        if (const uint32_t reset = s.stack->stop_polling(); reset > 0) {
            std::printf("%u connection(s) did not finish closing and were reset\n", reset);
        }
        if (const ddp::Device* d = s.stack->device()) {
            const ddp::Stats st = d->stats();
            std::printf("device %s: sk_add %llu sk_del %llu setup %llu teardown %llu\n", d->name(),
                        (unsigned long long)st.sk_add, (unsigned long long)st.sk_del, (unsigned long long)st.setup,
                        (unsigned long long)st.teardown);
            if (st.sk_add != st.sk_del || st.setup != st.teardown) {
                std::printf("FAILED: every sk_add needs its sk_del and every setup its teardown\n");
                ok = false;
            }
        }
        s.stack.reset();  // stops and closes its port
    }
    uint16_t p = 0;
    RTE_ETH_FOREACH_DEV(p) {
        if (!s.shell_owned[p]) continue;
        if (s.started[p]) rte_eth_dev_stop(p);
        rte_eth_dev_close(p);
    }
    if (s.pool != nullptr) rte_mempool_free(s.pool);
    s.pool = nullptr;
    if (pmd::eal_initialised()) rte_eal_cleanup();  // not after a failed bring-up: it would complain
    return ok;
}

}  // namespace nvmeddp::shell
