// nvmeddp-tcp: our user-space TCP endpoint on a DPDK port, moving a verifiable byte pattern to and
// from a peer (the Linux kernel's TCP in the tests), with the fault shim on the port if asked.
// See --help. Exit status 0 only when every byte arrived exactly once and in order, as many as
// expected, and the connection closed in order.
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "pmd/dpdk/eal.hpp"
#include "pmd/dpdk/mbuf_pool.hpp"
#include "pmd/dpdk/offload_port.hpp"
#include "pmd/fault/fault_shim.hpp"
#include "tcp/endpoint.hpp"
#include "testlib/pattern_transfer.hpp"

namespace {

using namespace nvmeddp;

using testlib::PatternTransfer;

struct Options {
    std::string port = "net_af_packet0";
    std::string local_ip = "192.0.2.2";
    std::string mac;                  // empty: the port's
    std::string peer;                 // ADDR:PORT to connect to
    uint16_t listen_port = 0;         // or wait for the peer on this port
    uint64_t send = 0, expect = 0;
    uint64_t rr_count = 0, rr_req = 0, rr_resp = 0;
    std::string faults_rx, faults_tx;
    uint64_t seed = 1;
    unsigned timeout_s = 120;
    bool stats = false;
    bool tso = true;
    bool lro = false;
    std::vector<std::string> eal;
};

const char* kUsage =
    "usage: nvmeddp-tcp [options] [-- EAL arguments]\n"
    "  Our TCP endpoint on a DPDK port: connects to (or accepts) one peer and sends / checks a byte\n"
    "  pattern the peer checks / sends (tests/tcp/kernel_peer.cpp is the kernel's side).\n"
    "  --port NAME         ethdev to use (default net_af_packet0; create it with --vdev after --)\n"
    "  --local-ip ADDR     our IPv4 or IPv6 address on that link (default 192.0.2.2)\n"
    "  --mac MAC           our MAC address instead of the port's (net_tap gives its port the MAC of\n"
    "                      the kernel's side of the tap; we need one of our own there)\n"
    "  --connect ADDR:PORT open the connection to the peer (IPv6: [ADDR]:PORT), or\n"
    "  --listen PORT       wait for the peer to connect\n"
    "  --send BYTES        bytes to send (bulk)            --expect BYTES  bytes to receive (bulk)\n"
    "  --rr COUNT:REQ:RESP request/response rounds instead (the connecting side sends REQ)\n"
    "  --faults-rx SPEC    fault shim on the port's rx path, e.g. drop=0.01,reorder=0.01,dup=0.01,delay=0.01\n"
    "  --faults-tx SPEC    the same on the tx path (keys: drop reorder dup delay delay_us depth corrupt lie)\n"
    "  --seed N            fault shim seed (default 1)\n"
    "  --timeout SECONDS   give up after this long (default 120)\n"
    "  --stats             print the connection's ss -ti line every second\n"
    "  --no-tso            one segment per frame even where the port offers TSO (net_tap does)\n"
    "  --lro               let the port merge in-order segments where it offers LRO (net_nvmeddp does)\n"
    "Example, on a veth pair whose other end the kernel serves:\n"
    "  nvmeddp-tcp --connect 192.0.2.1:5001 --send 256M --expect 256M -- --vdev=net_af_packet0,iface=veth1\n";

bool parse_size(const char* text, uint64_t& out) {
    if (text == nullptr || *text == '\0') return false;
    std::string s(text);
    uint64_t mult = 1;
    switch (s.back()) {
        case 'K': case 'k': mult = 1ull << 10; s.pop_back(); break;
        case 'M': case 'm': mult = 1ull << 20; s.pop_back(); break;
        case 'G': case 'g': mult = 1ull << 30; s.pop_back(); break;
        default: break;
    }
    uint64_t v = 0;
    if (!cli::parse_u64(s.c_str(), 0, (1ull << 40), v)) return false;
    out = v * mult;
    return true;
}

bool port_driver_is(uint16_t port, const char* driver) {
    rte_eth_dev_info info{};
    return rte_eth_dev_info_get(port, &info) == 0 && info.driver_name != nullptr &&
           std::strcmp(info.driver_name, driver) == 0;
}

// The port's own counters next to the endpoint's: frames the endpoint handed over but the port
// lost, or frames the port missed, show up here and nowhere else.
void print_port_stats(uint16_t port) {
    rte_eth_stats s{};
    if (rte_eth_stats_get(port, &s) != 0) return;
    std::printf("port %u: ipackets:%llu opackets:%llu imissed:%llu ierrors:%llu oerrors:%llu rx_nombuf:%llu\n", port,
                static_cast<unsigned long long>(s.ipackets), static_cast<unsigned long long>(s.opackets),
                static_cast<unsigned long long>(s.imissed), static_cast<unsigned long long>(s.ierrors),
                static_cast<unsigned long long>(s.oerrors), static_cast<unsigned long long>(s.rx_nombuf));
}

bool parse_options(int argc, char** argv, Options& o, std::string& err) {
    cli::ArgWalker w(argc, argv);
    while (!w.done()) {
        const std::string a = w.next();
        auto str = [&](std::string& out) {
            const char* v = w.value();
            if (v == nullptr) {
                err = a + " needs a value";
                return false;
            }
            out = v;
            return true;
        };
        uint64_t n = 0;
        if (a == "--") {
            while (!w.done()) o.eal.emplace_back(w.next());
        } else if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (a == "--port") {
            if (!str(o.port)) return false;
        } else if (a == "--local-ip") {
            if (!str(o.local_ip)) return false;
        } else if (a == "--mac") {
            if (!str(o.mac)) return false;
        } else if (a == "--connect") {
            if (!str(o.peer)) return false;
        } else if (a == "--listen") {
            if (!w.number("--listen", 1, 65535, n, err)) return false;
            o.listen_port = static_cast<uint16_t>(n);
        } else if (a == "--send" || a == "--expect") {
            if (!parse_size(w.value(), a == "--send" ? o.send : o.expect)) {
                err = a + " needs a byte count (suffix K, M or G allowed)";
                return false;
            }
        } else if (a == "--rr") {
            std::string v;
            if (!str(v)) return false;
            unsigned long long c, q, r;
            if (std::sscanf(v.c_str(), "%llu:%llu:%llu", &c, &q, &r) != 3 || c == 0 || q == 0 || r == 0) {
                err = "--rr needs COUNT:REQ:RESP, all above 0";
                return false;
            }
            o.rr_count = c;
            o.rr_req = q;
            o.rr_resp = r;
        } else if (a == "--faults-rx") {
            if (!str(o.faults_rx)) return false;
        } else if (a == "--faults-tx") {
            if (!str(o.faults_tx)) return false;
        } else if (a == "--seed") {
            if (!w.number("--seed", 0, UINT64_MAX, o.seed, err)) return false;
        } else if (a == "--timeout") {
            if (!w.number("--timeout", 1, 86400, n, err)) return false;
            o.timeout_s = static_cast<unsigned>(n);
        } else if (a == "--stats") {
            o.stats = true;
        } else if (a == "--no-tso") {
            o.tso = false;
        } else if (a == "--lro") {
            o.lro = true;
        } else {
            err = "unknown option " + a + " (see --help)";
            return false;
        }
    }
    if (o.peer.empty() == (o.listen_port == 0)) {
        err = "give exactly one of --connect ADDR:PORT and --listen PORT";
        return false;
    }
    return true;
}

PatternTransfer* g_accepted = nullptr;

}  // namespace

int main(int argc, char** argv) {
    Options o;
    std::string err;
    if (!parse_options(argc, argv, o, err)) {
        std::fprintf(stderr, "nvmeddp-tcp: %s\n", err.c_str());
        return 2;
    }
    const auto local = tcp::IpAddress::parse(o.local_ip);
    if (!local) {
        std::fprintf(stderr, "nvmeddp-tcp: --local-ip %s is not an IPv4 or IPv6 address\n", o.local_ip.c_str());
        return 2;
    }
    std::optional<tcp::IpAddress> peer_ip;
    uint16_t peer_port = 0;
    if (!o.peer.empty()) {
        const size_t colon = o.peer.rfind(':');
        uint64_t p = 0;
        if (colon != std::string::npos) {
            std::string host = o.peer.substr(0, colon);
            if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
            peer_ip = tcp::IpAddress::parse(host);
        }
        if (!peer_ip || !cli::parse_u64(o.peer.c_str() + colon + 1, 1, 65535, p)) {
            std::fprintf(stderr, "nvmeddp-tcp: --connect needs ADDR:PORT (IPv6 as [ADDR]:PORT), got %s\n",
                         o.peer.c_str());
            return 2;
        }
        peer_port = static_cast<uint16_t>(p);
    }
    std::string fault_err;
    const auto rx_rates = pmd::parse_fault_rates(o.faults_rx, &fault_err);
    const auto tx_rates = rx_rates ? pmd::parse_fault_rates(o.faults_tx, &fault_err) : std::nullopt;
    if (!rx_rates || !tx_rates) {
        std::fprintf(stderr, "nvmeddp-tcp: fault shim: %s\n", fault_err.c_str());
        return 2;
    }

    pmd::EalOptions eo;
    eo.program = "nvmeddp-tcp";
    eo.lcores = "0";
    eo.extra = o.eal;
    if (std::string e = pmd::init_eal(eo); !e.empty()) {
        std::fprintf(stderr, "nvmeddp-tcp: %s\n", e.c_str());
        return 1;
    }
    // Packed, for net_af_xdp (see pmd/dpdk/mbuf_pool.hpp).
    rte_mempool* pool = pmd::create_mbuf_pool("tcp_pool", 32767, 256, RTE_MBUF_DEFAULT_BUF_SIZE, 0, &err);
    uint16_t port = 0;
    if (pool == nullptr) {
        std::fprintf(stderr, "nvmeddp-tcp: cannot create the mbuf pool: %s\n", err.c_str());
        return 1;
    }
    if (rte_eth_dev_get_port_by_name(o.port.c_str(), &port) != 0) {
        std::fprintf(stderr, "nvmeddp-tcp: no port named %s (create it with --vdev after --)\n", o.port.c_str());
        return 1;
    }
    if (port_driver_is(port, "net_af_xdp") && !pmd::mbuf_pool_is_packed(pool)) {
        // DPDK 22.11's net_af_xdp would map only part of it and silently lose frames past that part.
        std::fprintf(stderr, "nvmeddp-tcp: the mbuf pool is not one packed chunk, which net_af_xdp needs "
                             "(hugepages with IOVA as PA?)\n");
        return 1;
    }
    pmd::PortSetup ps;
    ps.port_id = port;
    ps.pool = pool;
    ps.lro = o.lro;
    if (std::string e = pmd::configure_port(ps); !e.empty()) {
        std::fprintf(stderr, "nvmeddp-tcp: port %s: %s\n", o.port.c_str(), e.c_str());
        return 1;
    }
    std::unique_ptr<pmd::FaultShim> shim;
    if (rx_rates->any() || tx_rates->any()) {
        pmd::FaultShimOptions fo;
        fo.rx = *rx_rates;
        fo.tx = *tx_rates;
        fo.seed = o.seed;
        fo.pool = pool;
        shim = pmd::FaultShim::attach(port, 1, 1, fo, &err);
        if (!shim) {
            std::fprintf(stderr, "nvmeddp-tcp: fault shim: %s\n", err.c_str());
            return 1;
        }
        std::printf("nvmeddp-tcp: fault shim rx {%s} tx {%s} seed %llu\n", pmd::to_string(*rx_rates).c_str(),
                    pmd::to_string(*tx_rates).c_str(), static_cast<unsigned long long>(o.seed));
    }

    tcp::EndpointConfig ec;
    ec.port = port;
    ec.local_ip = *local;
    if (!o.mac.empty()) {
        const auto mac = tcp::MacAddress::parse(o.mac);
        if (!mac) {
            std::fprintf(stderr, "nvmeddp-tcp: --mac %s is not a MAC address (02:00:00:00:00:02)\n", o.mac.c_str());
            return 2;
        }
        ec.mac = *mac;
    }
    ec.pool = pool;
    // The shim's tx faults act on what the port is handed: with TSO a whole frame of segments.
    ec.tso = o.tso && !tx_rates->any();
    if (o.tso && tx_rates->any()) std::printf("nvmeddp-tcp: TSO off: the tx fault shim acts on single segments\n");
    auto endpoint = tcp::Endpoint::create(ec, &err);
    if (!endpoint) {
        std::fprintf(stderr, "nvmeddp-tcp: %s\n", err.c_str());
        return 1;
    }
    PatternTransfer::Plan plan;
    if (o.rr_count > 0) {
        plan = PatternTransfer::request_response(o.rr_count, o.rr_req, o.rr_resp, !o.peer.empty());
    } else {
        plan = PatternTransfer::bulk(o.send, o.expect);
    }
    PatternTransfer transfer(plan);
    if (!o.peer.empty()) {
        if (endpoint->connect(*peer_ip, peer_port, &transfer, &err) == nullptr) {
            std::fprintf(stderr, "nvmeddp-tcp: connect: %s\n", err.c_str());
            return 1;
        }
    } else {
        g_accepted = &transfer;
        auto accept = [](void*, tcp::Connection&) -> tcp::ConnectionHandler* {
            tcp::ConnectionHandler* h = g_accepted;
            g_accepted = nullptr;  // one connection only
            return h;
        };
        if (!endpoint->listen(o.listen_port, accept, nullptr, &err)) {
            std::fprintf(stderr, "nvmeddp-tcp: listen: %s\n", err.c_str());
            return 1;
        }
    }

    const auto start = std::chrono::steady_clock::now();
    auto last_stats = start;
    bool timed_out = false;
    while (!transfer.closed()) {
        endpoint->poll();
        if (shim) shim->flush_tx(0);
        const auto now = std::chrono::steady_clock::now();
        if (o.stats && now - last_stats >= std::chrono::seconds(1)) {
            last_stats = now;
            std::printf("%s\n", endpoint->info().c_str());
        }
        if (now - start >= std::chrono::seconds(o.timeout_s)) {
            timed_out = true;
            break;
        }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s\n", endpoint->info().c_str());
    print_port_stats(port);
    if (transfer.closed()) std::printf("connection at its end: %s\n", transfer.final_info().c_str());
    if (shim) std::printf("%s\n", shim->summary().c_str());
    bool ok = !transfer.failed();
    if (timed_out) {
        std::printf("nvmeddp-tcp: FAILED: not done after %u s (received %llu of %llu, sent %llu of %llu)\n",
                    o.timeout_s, static_cast<unsigned long long>(transfer.received()),
                    static_cast<unsigned long long>(plan.total_in), static_cast<unsigned long long>(transfer.sent()),
                    static_cast<unsigned long long>(plan.total_out));
        ok = false;
    } else if (transfer.error() != tcp::TcpError::None) {
        std::printf("nvmeddp-tcp: FAILED: %s\n", tcp::describe(transfer.error()));
        ok = false;
    } else if (transfer.received() != plan.total_in || transfer.sent() != plan.total_out) {
        std::printf("nvmeddp-tcp: FAILED: closed after receiving %llu of %llu bytes and sending %llu of %llu\n",
                    static_cast<unsigned long long>(transfer.received()), static_cast<unsigned long long>(plan.total_in),
                    static_cast<unsigned long long>(transfer.sent()),
                    static_cast<unsigned long long>(plan.total_out));
        ok = false;
    }
    if (ok) {
        std::printf("nvmeddp-tcp: OK: received %llu bytes exact and in order, sent %llu, closed in order "
                    "(%.2f s, %.1f MB/s in, %.1f MB/s out)\n",
                    static_cast<unsigned long long>(transfer.received()), static_cast<unsigned long long>(transfer.sent()),
                    secs, transfer.received() / secs / 1e6, transfer.sent() / secs / 1e6);
    }
    endpoint.reset();
    shim.reset();
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);  // frees the PMD's resources (net_af_xdp's socket and UMEM)
    rte_eal_cleanup();
    return ok ? 0 : 1;
}
