// nvmeddp-target: the built-in NVMe/TCP target (nvmetcp/target/) as a program, for demos,
// benchmarks and tests of NVMe/TCP hosts. See --help. Prints one line once it listens (scripts wait
// for it) and its counters when it stops (SIGINT, SIGTERM or --duration).
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/cli.hpp"
#include "nvmetcp/target/target.hpp"

namespace {

using namespace nvmeddp;
using nvmetcp::target::TargetConfig;

const char* kUsage =
    "usage: nvmeddp-target [options]\n"
    "  An NVMe/TCP target (controller) with one RAM namespace (nsid 1, or --nsid) holding the namespace byte\n"
    "  pattern, on kernel sockets. Serves until SIGINT/SIGTERM or --duration, then prints its counters.\n"
    "  --listen ADDR               IPv4 or IPv6 address to listen on (default 127.0.0.1)\n"
    "  --port N                    TCP port (default 4420; 0: any free port, printed)\n"
    "  --subnqn NQN                subsystem NQN (default nqn.2026-12.io.nvmeddp:target)\n"
    "  --ns-size BYTES             namespace size, suffix K/M/G allowed (default 64M)\n"
    "  --block-size 512|4096       logical block size (default 512)\n"
    "  --nsid N                    the namespace's id, 1..4294967294 (default 1)\n"
    "  --io-queues N               I/O queues per controller at most (default 8)\n"
    "  --queue-depth N             entries per queue at most, CAP.MQES + 1 (default 128)\n"
    "  --cpda N                    H2CData alignment asked of the host, 0..31 (default 0)\n"
    "  --maxh2cdata BYTES          largest H2CData PDU (default 128K)\n"
    "  --in-capsule BYTES          in-capsule data on I/O queues (default 8192)\n"
    "  --c2h-split BYTES           data bytes per C2HData PDU at most (default 0: one per command)\n"
    "  --r2t-split BYTES           bytes per R2T at most (default 0: one R2T per write)\n"
    "  --no-success                never elide the response with the C2HData SUCCESS flag\n"
    "  --no-header-digest          refuse header digests\n"
    "  --no-data-digest            refuse data digests\n"
    "  --fault-term-after BYTES    per connection: C2HTermReq after this many C2HData bytes, then close\n"
    "  --fault-disconnect-after BYTES  per connection: close inside a C2HData PDU after this many bytes\n"
    "  --fault-bad-ddgst-every N   every Nth C2HData PDU carries a wrong data digest\n"
    "  --duration SECONDS          stop after this long (default 0: until SIGINT/SIGTERM)\n"
    "  --verbose                   log each connection's open, queue and close (with the reason)\n";

volatile std::sig_atomic_t g_signal = 0;
void on_signal(int) { g_signal = 1; }

bool parse_size(const char* text, uint64_t max, uint64_t& out) {
    if (text == nullptr || *text == '\0') return false;
    std::string s(text);
    uint64_t unit = 1;
    switch (s.back()) {
        case 'K': case 'k': unit = 1ull << 10; s.pop_back(); break;
        case 'M': case 'm': unit = 1ull << 20; s.pop_back(); break;
        case 'G': case 'g': unit = 1ull << 30; s.pop_back(); break;
        default: break;
    }
    uint64_t v = 0;
    if (!cli::parse_u64(s.c_str(), 0, max / unit, v)) return false;
    out = v * unit;
    return v * unit <= max;
}

bool parse_options(int argc, char** argv, TargetConfig& c, uint64_t& duration_s, std::string& err) {
    cli::ArgWalker w(argc, argv);
    while (!w.done()) {
        const std::string a = w.next();
        uint64_t n = 0;
        auto text = [&](std::string& out) {
            const char* v = w.value();
            if (v == nullptr) err = a + " needs a value";
            else out = v;
            return v != nullptr;
        };
        auto size = [&](uint64_t max, uint64_t& out) {
            if (parse_size(w.value(), max, out)) return true;
            err = a + " needs a byte count up to " + std::to_string(max) + " (suffix K, M or G allowed)";
            return false;
        };
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (a == "--listen") {
            if (!text(c.listen_address)) return false;
        } else if (a == "--subnqn") {
            if (!text(c.subnqn)) return false;
        } else if (a == "--port") {
            if (!w.number("--port", 0, 65535, n, err)) return false;
            c.port = static_cast<uint16_t>(n);
        } else if (a == "--ns-size") {
            if (!size(64ull << 30, c.namespace_bytes)) return false;
        } else if (a == "--nsid") {
            if (!w.number("--nsid", 1, 0xFFFFFFFEull, n, err)) return false;
            c.nsid = static_cast<uint32_t>(n);
        } else if (a == "--block-size") {
            if (!w.number("--block-size", 512, 4096, n, err)) return false;
            c.block_size = static_cast<uint32_t>(n);
        } else if (a == "--io-queues") {
            if (!w.number("--io-queues", 1, 65535, n, err)) return false;
            c.max_io_queues = static_cast<uint16_t>(n);
        } else if (a == "--queue-depth") {
            if (!w.number("--queue-depth", 2, 65535, n, err)) return false;
            c.max_queue_depth = static_cast<uint16_t>(n);
        } else if (a == "--cpda") {
            if (!w.number("--cpda", 0, 31, n, err)) return false;
            c.cpda = static_cast<uint8_t>(n);
        } else if (a == "--maxh2cdata" || a == "--in-capsule" || a == "--c2h-split" || a == "--r2t-split") {
            if (!size(UINT32_MAX, n)) return false;
            const auto v = static_cast<uint32_t>(n);
            (a == "--maxh2cdata" ? c.maxh2cdata : a == "--in-capsule" ? c.in_capsule_data
                                                 : a == "--c2h-split" ? c.c2h_split : c.r2t_split) = v;
        } else if (a == "--no-success") {
            c.send_success = false;
        } else if (a == "--no-header-digest") {
            c.allow_header_digest = false;
        } else if (a == "--no-data-digest") {
            c.allow_data_digest = false;
        } else if (a == "--fault-term-after") {
            if (!size(UINT64_MAX, c.faults.term_after_data_bytes)) return false;
        } else if (a == "--fault-disconnect-after") {
            if (!size(UINT64_MAX, c.faults.disconnect_after_data_bytes)) return false;
        } else if (a == "--fault-bad-ddgst-every") {
            if (!w.number("--fault-bad-ddgst-every", 0, UINT32_MAX, n, err)) return false;
            c.faults.corrupt_data_digest_every = static_cast<uint32_t>(n);
        } else if (a == "--duration") {
            if (!w.number("--duration", 0, 86400 * 365, duration_s, err)) return false;
        } else if (a == "--verbose") {
            c.verbose = true;
        } else {
            err = "unknown option " + a + " (see --help)";
            return false;
        }
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    TargetConfig config;
    uint64_t duration_s = 0;
    std::string err;
    if (!parse_options(argc, argv, config, duration_s, err)) {
        std::fprintf(stderr, "nvmeddp-target: %s\n", err.c_str());
        return 2;
    }
    auto target = nvmetcp::target::Target::create(config, &err);
    if (!target) {
        std::fprintf(stderr, "nvmeddp-target: %s\n", err.c_str());
        return 1;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    const bool v6 = config.listen_address.find(':') != std::string::npos;
    std::printf("nvmeddp-target: listening on %s%s%s:%u subnqn %s, namespace %u: %llu blocks of %u bytes\n",
                v6 ? "[" : "", config.listen_address.c_str(), v6 ? "]" : "", target->port(), config.subnqn.c_str(), config.nsid,
                static_cast<unsigned long long>(config.namespace_bytes / config.block_size), config.block_size);
    std::fflush(stdout);

    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::seconds(duration_s);
    while (g_signal == 0 && (duration_s == 0 || Clock::now() < deadline)) target->poll(50);

    const auto s = target->stats();
    auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    std::printf("nvmeddp-target: stopped. connections %llu, controllers %llu, commands %llu (admin %llu), "
                "reads %llu (%llu bytes), writes %llu (%llu bytes), flushes %llu\n",
                u(s.connections), u(s.controllers), u(s.commands), u(s.admin_commands), u(s.reads),
                u(s.bytes_read), u(s.writes), u(s.bytes_written), u(s.flushes));
    std::printf("nvmeddp-target: PDUs: C2HData %llu, R2T %llu, H2CData %llu; C2HTermReq sent %llu, "
                "H2CTermReq received %llu, data digest errors %llu, faults injected %llu\n",
                u(s.c2h_pdus), u(s.r2ts), u(s.h2c_pdus), u(s.errors_sent), u(s.errors_received),
                u(s.digest_errors), u(s.faults_injected));
    return 0;
}
