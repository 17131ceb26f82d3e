// nvmeddp-offload: NVMe/TCP receive offload through a DPDK port on generated traffic (see --help).
#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "options.hpp"
#include "pmd/dpdk_eal.hpp"
#include "pmd/dpdk_offload_port.hpp"
#include "traffic.hpp"

namespace {

using namespace nvmeddp;
using namespace nvmeddp::offload_app;

struct RunResult {
    const char* label = "";
    uint64_t reads = 0, reads_correct = 0, data_bytes = 0, frames = 0, frames_lost_in_port = 0;
    testlib::DdpHostModel::Totals host{};
    uint64_t setups_refused = 0;
    ddp::Stats device{};
    pmd::PortEngineCounters engine{};
    double seconds = 0;
    std::string error;
};

void add(testlib::DdpHostModel::Totals& a, const testlib::DdpHostModel::Totals& b) {
    a.delivered += b.delivered;
    a.claimed_placed += b.claimed_placed;
    a.wrong_claims += b.wrong_claims;
    a.copied += b.copied;
    a.digests_trusted += b.digests_trusted;
    a.digests_recomputed += b.digests_recomputed;
    a.false_digest_claims += b.false_digest_claims;
    a.digest_failures += b.digest_failures;
    a.resync_confirmed += b.resync_confirmed;
    a.resync_refused += b.resync_refused;
    a.parse_failed = a.parse_failed || b.parse_failed;
}

struct Worker {
    uint16_t port;
    uint16_t tx_port;
    rte_mempool* pool;
    std::vector<std::vector<Connection*>> by_queue;
    std::vector<std::string> errors;
};

int run_worker(void* arg) {
    auto* w = static_cast<Worker*>(arg);
    const int index = rte_lcore_index(static_cast<int>(rte_lcore_id()));
    if (index < 0 || static_cast<size_t>(index) >= w->by_queue.size()) return 0;
    const auto q = static_cast<uint16_t>(index);
    w->errors[q] = pump_queue(w->tx_port, w->port, q, w->pool, w->by_queue[q]);
    return 0;
}

RunResult run(const Options& o, bool offload_on, uint16_t port, uint16_t tx_port, uint16_t queues, rte_mempool* pool) {
    RunResult r;
    r.label = offload_on ? "offload on" : "offload off";
    pmd::OffloadPortOptions po;
    po.port_id = port;
    po.rx_queues = queues;
    po.log = [&](const std::string& line) {
        if (!o.quiet) std::printf("  %s\n", line.c_str());
    };
    auto offload = pmd::OffloadPort::attach(po, r.error);
    if (!offload) return r;
    ddp::Device& dev = offload->device();
    if (!offload_on) dev.set_caps(0);

    std::vector<std::unique_ptr<Connection>> conns;
    Worker w{port, tx_port, pool, std::vector<std::vector<Connection*>>(queues), std::vector<std::string>(queues)};
    for (uint16_t q = 0; q < queues; ++q) {
        for (uint32_t i = 0; i < o.connections; ++i) {
            auto c = make_connection(dev, o, q, q * o.connections + i, r.error);
            if (!c) return r;
            w.by_queue[q].push_back(c.get());
            conns.push_back(std::move(c));
        }
    }
    const auto start = std::chrono::steady_clock::now();
    rte_eal_mp_remote_launch(run_worker, &w, CALL_MAIN);
    rte_eal_mp_wait_lcore();
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const auto& e : w.errors) {
        if (!e.empty()) r.error = e;
    }

    for (auto& c : conns) {
        r.reads += c->stream.reads.size();
        for (const auto& rd : c->stream.reads) r.data_bytes += rd.data.size();
        r.frames += c->frames.frames.size();
        r.frames_lost_in_port += c->frames_lost_in_port;
        if (all_reads_correct(*c)) r.reads_correct += c->stream.reads.size();
        add(r.host, c->host->totals());
        for (const auto& rd : c->stream.reads) r.setups_refused += c->host->read(rd.cid).registered ? 0 : 1;
    }
    r.device = dev.stats();
    r.engine = offload->counters();
    for (auto& c : conns) dev.remove_connection(c->handle);
    offload->stop_polling();
    dev.poll_all();
    return r;
}

double pct(uint64_t part, uint64_t whole) { return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole); }

void print_run(const RunResult& r, bool quiet) {
    const auto& h = r.host;
    const uint64_t data = h.claimed_placed + h.copied;
    std::printf("%s: %llu reads, %.1f MiB of data in %llu frames (%.2f s wall, verifying host included)\n", r.label,
                static_cast<unsigned long long>(r.reads), static_cast<double>(r.data_bytes) / (1 << 20),
                static_cast<unsigned long long>(r.frames), r.seconds);
    std::printf("  host copied       %12llu bytes (%5.1f%% of the data)\n", static_cast<unsigned long long>(h.copied), pct(h.copied, data));
    std::printf("  device placed     %12llu bytes (%5.1f%%), each checked by the host: %llu wrong\n",
                static_cast<unsigned long long>(h.claimed_placed), pct(h.claimed_placed, data),
                static_cast<unsigned long long>(h.wrong_claims));
    const uint64_t digests = h.digests_trusted + h.digests_recomputed;
    std::printf("  host computed     %12llu data digests (%5.1f%%), device verified %llu (%llu false claims)\n",
                static_cast<unsigned long long>(h.digests_recomputed), pct(h.digests_recomputed, digests),
                static_cast<unsigned long long>(h.digests_trusted), static_cast<unsigned long long>(h.false_digest_claims));
    if (!quiet) {
        const ddp::Stats& s = r.device;
        std::printf("  device stats: sk_add %llu setup %llu setup_fail %llu teardown %llu packets %llu bytes %llu drop %llu\n",
                    (unsigned long long)s.sk_add, (unsigned long long)s.setup, (unsigned long long)s.setup_fail,
                    (unsigned long long)s.teardown, (unsigned long long)s.packets, (unsigned long long)s.bytes,
                    (unsigned long long)s.drop);
        std::printf("                placed_bytes %llu digest_offloaded %llu digest_fallback %llu digest_failed %llu\n",
                    (unsigned long long)s.placed_bytes, (unsigned long long)s.digest_offloaded,
                    (unsigned long long)s.digest_fallback, (unsigned long long)s.digest_failed);
        std::printf("                resync: requests %llu confirmed %llu refused %llu stale %llu\n",
                    (unsigned long long)s.resync_requests, (unsigned long long)s.resync_confirmations,
                    (unsigned long long)s.resync_refusals, (unsigned long long)s.resync_stale);
        std::printf("  engine: frames %llu with metadata %llu by classifier %llu by mark %llu not offloaded %llu\n",
                    (unsigned long long)r.engine.frames, (unsigned long long)r.engine.with_metadata,
                    (unsigned long long)r.engine.by_classifier, (unsigned long long)r.engine.by_mark,
                    (unsigned long long)r.engine.not_offloaded);
    }
    std::printf("  reads correct     %llu of %llu%s\n", static_cast<unsigned long long>(r.reads_correct),
                static_cast<unsigned long long>(r.reads), r.frames_lost_in_port ? " (the port lost frames)" : "");
}

// A net_ring port whose rx queue q receives what tx queue q sends.
uint16_t loopback_port(uint16_t queues, std::string& error) {
    std::vector<rte_ring*> rings;
    for (uint16_t q = 0; q < queues; ++q) {
        rings.push_back(rte_ring_create(("nvmeddp_lo" + std::to_string(q)).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ));
        if (rings.back() == nullptr) {
            error = std::string("rte_ring_create: ") + rte_strerror(rte_errno);
            return UINT16_MAX;
        }
    }
    const int port = rte_eth_from_rings("nvmeddp_loopback", rings.data(), queues, rings.data(), queues, 0);
    if (port < 0) {
        error = std::string("rte_eth_from_rings: ") + rte_strerror(rte_errno);
        return UINT16_MAX;
    }
    return static_cast<uint16_t>(port);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    std::string message;
    switch (parse_options(argc, argv, o, message)) {
        case ParseOutcome::Help: print_usage(argv[0]); return 0;
        case ParseOutcome::Error: std::fprintf(stderr, "nvmeddp-offload: %s\n", message.c_str()); return 2;
        case ParseOutcome::Run: break;
    }
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const uint16_t queues = o.queues != 0 ? o.queues : static_cast<uint16_t>(std::min(4u, cores));
    pmd::EalOptions eo;
    eo.program = "nvmeddp-offload";
    eo.lcores = queues == 1 ? "0" : "0-" + std::to_string(queues - 1);
    // More lcores than cores is allowed (they time-share), so --queues works on any machine.
    if (queues > cores) eo.lcores = "(0-" + std::to_string(queues - 1) + ")@0";
    eo.extra = o.eal;
    if (std::string err = pmd::init_eal(eo); !err.empty()) {
        std::fprintf(stderr, "nvmeddp-offload: %s\n", err.c_str());
        return 2;
    }
    rte_mempool* pool = rte_pktmbuf_pool_create("nvmeddp_offload", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    if (pool == nullptr) {
        std::fprintf(stderr, "nvmeddp-offload: rte_pktmbuf_pool_create: %s\n", rte_strerror(rte_errno));
        return 2;
    }
    uint16_t port = UINT16_MAX;
    std::string err;
    if (o.port.empty() && o.ring_nic) {
        port = loopback_port(queues, err);
    } else if (o.port.empty()) {
        if (rte_vdev_init("net_nvmeddp0", "") != 0 || rte_eth_dev_get_port_by_name("net_nvmeddp0", &port) != 0) {
            err = "cannot create the net_nvmeddp0 vdev";
        }
    } else if (rte_eth_dev_get_port_by_name(o.port.c_str(), &port) != 0) {
        err = "no port named " + o.port + " (give it to the EAL after --, e.g. -- --vdev=" + o.port + ")";
    }
    uint16_t tx_port = port;
    if (err.empty() && !o.tx_port.empty() && rte_eth_dev_get_port_by_name(o.tx_port.c_str(), &tx_port) != 0) {
        err = "no port named " + o.tx_port + " (give it to the EAL after --, e.g. -- --vdev=" + o.tx_port + ")";
    }
    std::vector<uint16_t> ports{port};
    if (tx_port != port) ports.push_back(tx_port);
    for (uint16_t p : ports) {
        if (!err.empty()) break;
        pmd::PortSetup ps;
        ps.port_id = p;
        ps.rx_queues = ps.tx_queues = queues;
        ps.pool = pool;
        err = pmd::configure_port(ps);
    }
    if (!err.empty()) {
        std::fprintf(stderr, "nvmeddp-offload: %s\n", err.c_str());
        return 2;
    }
    char name[RTE_ETH_NAME_MAX_LEN] = "";
    rte_eth_dev_get_name_by_port(port, name);
    std::printf("nvmeddp-offload: port %s, %u rx queue(s) on %u lcore(s), %u connection(s) per queue, %u reads each "
                "(%u..%u bytes), MSS %u, data digest %s, faults: loss %.3g reorder %.3g duplicate %.3g, seed %llu\n",
                name, queues, queues, o.connections, o.reads, o.min_len, o.max_len, o.mss, o.data_digest ? "on" : "off",
                o.loss, o.reorder, o.duplicate, static_cast<unsigned long long>(o.seed));

    std::vector<RunResult> results;
    if (o.mode != OffloadMode::On) results.push_back(run(o, false, port, tx_port, queues, pool));
    if (o.mode != OffloadMode::Off) results.push_back(run(o, true, port, tx_port, queues, pool));
    bool ok = true;
    for (const auto& r : results) {
        if (!r.error.empty()) {
            std::fprintf(stderr, "nvmeddp-offload: %s: %s\n", r.label, r.error.c_str());
            ok = false;
            continue;
        }
        print_run(r, o.quiet);
        ok = ok && r.reads == r.reads_correct && r.host.wrong_claims == 0 && r.host.false_digest_claims == 0;
    }
    if (results.size() == 2 && results[0].error.empty() && results[1].error.empty()) {
        const auto& off = results[0].host;
        const auto& on = results[1].host;
        std::printf("offload on vs off: host copied %.1f%% of what it copied without offload; computed %.1f%% of the "
                    "data digests\n",
                    pct(on.copied, off.copied), pct(on.digests_recomputed, off.digests_recomputed));
    }
    std::printf("nvmeddp-offload: %s\n", ok ? "all reads correct" : "FAILED");
    rte_eth_dev_stop(port);
    if (tx_port != port) rte_eth_dev_stop(tx_port);
    rte_eal_cleanup();
    return ok ? 0 : 1;
}
