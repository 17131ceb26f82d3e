#include "options.hpp"

#include <cstdio>
#include <cstring>

#include "common/cli.hpp"
#include "tcp/addresses.hpp"

namespace nvmeddp::shell {

void print_usage(const char* argv0) {
    std::printf(
        "usage: %s [EAL arguments] -- [options]\n"
        "\n"
        "An interactive shell in the style of dpdk-testpmd for the nvmeddp offload: ports, rte_flow\n"
        "rules, the DDP device's caps and statistics, and an NVMe/TCP host (connect, read, write)\n"
        "over a DPDK port. Commands come from --cmdline-file first, then from stdin (a terminal, a\n"
        "pipe or a fifo); `help` lists them, TAB completes them. `quit` (or the end of stdin) closes\n"
        "everything and exits.\n"
        "\n"
        "EAL arguments: as for any DPDK program (defaults: --no-huge --no-pci -m 512 --no-shconf),\n"
        "e.g. --vdev=net_nvmeddp0,port=veth1 (our vdev stacked on an interface, running the offload).\n"
        "\n"
        "options:\n"
        "  --cmdline-file FILE  run the commands in FILE first\n"
        "  --port NAME          the DPDK port the NVMe/TCP host uses (default net_nvmeddp0); the shell\n"
        "                       configures and starts it at startup when --local-ip is given\n"
        "  --local-ip ADDR      this host's IPv4 or IPv6 address on that port (needed by connect)\n"
        "  --mac MAC            this host's MAC address (default: the port's)\n"
        "  --hostnqn NQN        this host's NQN (default: one made from a fixed host id)\n"
        "  --io-timeout S       bound of every wait a command makes, 1..3600 s (default 10)\n"
        "  --prompt TEXT        the prompt (default \"nvmeddp> \")\n"
        "  -h, --help           this text\n"
        "Exit status: 0 after quit, 1 when startup failed (EAL arguments the EAL refuses\n"
        "included: it prints its own usage), 2 on a usage error of the options after --.\n",
        argv0);
}

ParseOutcome parse_options(int argc, char** argv, Options& o, std::string& message) {
    // EAL arguments up to `--`; `--help` there too is ours (the EAL's own is dpdk-testpmd --help's).
    int i = 1;
    for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
        if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) return ParseOutcome::Help;
        o.eal.emplace_back(argv[i]);
    }
    cli::ArgWalker w(argc - i, argv + i);  // argv[i] is `--` (or past the end): the walker skips it
    while (!w.done()) {
        const char* arg = w.next();
        auto text = [&](std::string& out) {
            const char* v = w.value();
            if (v == nullptr || *v == '\0') {
                message = std::string(arg) + " needs a value";
                return false;
            }
            out = v;
            return true;
        };
        uint64_t v = 0;
        if (!std::strcmp(arg, "-h") || !std::strcmp(arg, "--help")) return ParseOutcome::Help;
        if (!std::strcmp(arg, "--cmdline-file")) {
            if (!text(o.cmdline_file)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--port")) {
            if (!text(o.port)) return ParseOutcome::Error;
            o.port_given = true;
        } else if (!std::strcmp(arg, "--local-ip")) {
            if (!text(o.local_ip)) return ParseOutcome::Error;
            if (!tcp::IpAddress::parse(o.local_ip)) {
                message = "--local-ip: '" + o.local_ip + "' is not an IPv4 or IPv6 address";
                return ParseOutcome::Error;
            }
        } else if (!std::strcmp(arg, "--mac")) {
            if (!text(o.mac)) return ParseOutcome::Error;
            if (!tcp::MacAddress::parse(o.mac)) {
                message = "--mac: '" + o.mac + "' is not a MAC address";
                return ParseOutcome::Error;
            }
        } else if (!std::strcmp(arg, "--hostnqn")) {
            if (!text(o.hostnqn)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--io-timeout")) {
            if (!w.number(arg, 1, 3600, v, message)) return ParseOutcome::Error;
            o.io_timeout_s = static_cast<unsigned>(v);
        } else if (!std::strcmp(arg, "--prompt")) {
            if (!text(o.prompt)) return ParseOutcome::Error;
        } else {
            message = std::string("unknown option '") + arg + "' (see --help; EAL arguments go before --)";
            return ParseOutcome::Error;
        }
    }
    return ParseOutcome::Run;
}

}  // namespace nvmeddp::shell
