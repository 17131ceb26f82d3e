#include "options.hpp"

#include <cstdio>
#include <cstring>

#include "common/cli.hpp"

namespace nvmeddp::offload_app {

void print_usage(const char* argv0) {
    std::printf(
        "usage: %s [options] [-- EAL arguments]\n"
        "\n"
        "NVMe/TCP receive offload through a DPDK port, on generated traffic. Controller-to-host read\n"
        "traffic (C2HData + CapsuleResp, data digests) for several connections per rx queue is sent\n"
        "through the port, one lcore per rx queue receives it with the offload engine in the rx path,\n"
        "and a host consumes it as a real one would: its TCP drops frames with bad checksums, trims\n"
        "retransmissions and queues what comes early; its NVMe/TCP parser registers each read's\n"
        "buffers, answers resync requests, skips copying only what a placement claim names exactly as\n"
        "its own parser does, and trusts only digests the device verified over the same bytes.\n"
        "Run with the offload on and off, it prints what the host had to do in each case and the\n"
        "device's statistics. Exits 0 when every read ends the same with the offload as without it\n"
        "(status, and the bytes of every read that succeeded) and every read the faults did not lie\n"
        "to is right; 1 otherwise.\n"
        "\n"
        "The EAL starts with this machine's defaults (--no-huge --no-pci -m 512 --no-shconf); EAL\n"
        "arguments after -- are added (e.g. -- --vdev=net_af_packet0,iface=veth0 with --port).\n"
        "\n"
        "options:\n"
        "  --queues N        rx queues and lcores, 1..4 (default: the lcores available, at most 4)\n"
        "  --connections N   connections per queue, 1..64 (default 4)\n"
        "  --reads N         reads per connection, 1..100000 (default 48)\n"
        "  --min-len N       smallest read in bytes, 1..16777216 (default 4096)\n"
        "  --max-len N       largest read in bytes (default 262144)\n"
        "  --max-pdu N       split reads into C2HData PDUs of at most N bytes (default 0: one PDU)\n"
        "  --mss N           TCP payload per frame, 1..9000 (default 1448)\n"
        "  --no-digest       no data digests;  --header-digest: header digests too\n"
        "  --loss P          probability a frame is lost and retransmitted later (default 0.002)\n"
        "  --reorder P       probability a frame arrives late (default 0.002)\n"
        "  --duplicate P     probability a frame arrives twice (default 0.002)\n"
        "  --wire-corrupt P  probability a frame is damaged on the wire (its checksum is then wrong:\n"
        "                    the host's TCP drops it) and sent again later (default 0.002)\n"
        "  --lying P         probability a frame's copy carries an altered byte with a valid checksum\n"
        "                    (a lying peer: only the data digest can tell; default 0.0005)\n"
        "  --seed N          traffic seed (default 1)\n"
        "  --offload MODE    on, off or both (default both)\n"
        "  --nic KIND        the loopback NIC the demo creates: nvmeddp (default: our vdev, with\n"
        "                    rte_flow steering and MARK) or ring (net_ring: no rte_flow, so the\n"
        "                    software classifier steers)\n"
        "  --port NAME       use this ethdev port instead (what it sends it must receive back)\n"
        "  --tx-port NAME    send on this port, receive (with the offload) on --port: e.g. the two\n"
        "                    af_packet ends of a veth pair\n"
        "  --quiet           only the summary lines\n"
        "  -h, --help        this text\n"
        "Environment: NVMEDDP_CRC32C_PATH=PATH sets the copy + CRC32C path (avx512, avx512-mixed, avx2,\n"
        "  avx2-mixed, pclmul, pclmul-mixed, crc32q, two-pass) instead of the start-up calibration.\n",
        argv0);
}

ParseOutcome parse_options(int argc, char** argv, Options& o, std::string& message) {
    cli::ArgWalker w(argc, argv);
    while (!w.done()) {
        const char* arg = w.next();
        uint64_t v = 0;
        if (!std::strcmp(arg, "--")) {
            while (!w.done()) o.eal.emplace_back(w.next());
            break;
        }
        if (!std::strcmp(arg, "-h") || !std::strcmp(arg, "--help")) return ParseOutcome::Help;
        if (!std::strcmp(arg, "--quiet")) {
            o.quiet = true;
        } else if (!std::strcmp(arg, "--no-digest")) {
            o.data_digest = false;
        } else if (!std::strcmp(arg, "--header-digest")) {
            o.header_digest = true;
        } else if (!std::strcmp(arg, "--queues")) {
            if (!w.number(arg, 1, 4, v, message)) return ParseOutcome::Error;
            o.queues = static_cast<uint16_t>(v);
        } else if (!std::strcmp(arg, "--connections")) {
            if (!w.number(arg, 1, 64, v, message)) return ParseOutcome::Error;
            o.connections = static_cast<uint32_t>(v);
        } else if (!std::strcmp(arg, "--reads")) {
            if (!w.number(arg, 1, 100000, v, message)) return ParseOutcome::Error;
            o.reads = static_cast<uint32_t>(v);
        } else if (!std::strcmp(arg, "--min-len")) {
            if (!w.number(arg, 1, 16u << 20, v, message)) return ParseOutcome::Error;
            o.min_len = static_cast<uint32_t>(v);
        } else if (!std::strcmp(arg, "--max-len")) {
            if (!w.number(arg, 1, 16u << 20, v, message)) return ParseOutcome::Error;
            o.max_len = static_cast<uint32_t>(v);
        } else if (!std::strcmp(arg, "--max-pdu")) {
            if (!w.number(arg, 0, 16u << 20, v, message)) return ParseOutcome::Error;
            o.max_pdu_data = static_cast<uint32_t>(v);
        } else if (!std::strcmp(arg, "--mss")) {
            if (!w.number(arg, 1, 9000, v, message)) return ParseOutcome::Error;
            o.mss = static_cast<uint32_t>(v);
        } else if (!std::strcmp(arg, "--seed")) {
            if (!w.number(arg, 0, UINT64_MAX, v, message)) return ParseOutcome::Error;
            o.seed = v;
        } else if (!std::strcmp(arg, "--loss")) {
            if (!w.real(arg, 0, 0.5, o.loss, message)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--reorder")) {
            if (!w.real(arg, 0, 0.5, o.reorder, message)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--duplicate")) {
            if (!w.real(arg, 0, 0.5, o.duplicate, message)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--wire-corrupt")) {
            if (!w.real(arg, 0, 0.5, o.wire_corrupt, message)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--lying")) {
            if (!w.real(arg, 0, 0.5, o.lying, message)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--offload")) {
            const char* m = w.value();
            if (m != nullptr && !std::strcmp(m, "on")) {
                o.mode = OffloadMode::On;
            } else if (m != nullptr && !std::strcmp(m, "off")) {
                o.mode = OffloadMode::Off;
            } else if (m != nullptr && !std::strcmp(m, "both")) {
                o.mode = OffloadMode::Both;
            } else {
                message = std::string("--offload needs on, off or both, got '") + (m ? m : "") + "'";
                return ParseOutcome::Error;
            }
        } else if (!std::strcmp(arg, "--nic")) {
            const char* k = w.value();
            if (k != nullptr && !std::strcmp(k, "ring")) {
                o.ring_nic = true;
            } else if (k != nullptr && !std::strcmp(k, "nvmeddp")) {
                o.ring_nic = false;
            } else {
                message = std::string("--nic needs nvmeddp or ring, got '") + (k ? k : "") + "'";
                return ParseOutcome::Error;
            }
        } else if (!std::strcmp(arg, "--port") || !std::strcmp(arg, "--tx-port")) {
            const char* p = w.value();
            if (p == nullptr || *p == '\0') {
                message = std::string(arg) + " needs a port name";
                return ParseOutcome::Error;
            }
            (!std::strcmp(arg, "--port") ? o.port : o.tx_port) = p;
        } else {
            message = std::string("unknown option '") + arg + "' (see --help)";
            return ParseOutcome::Error;
        }
    }
    if (!o.tx_port.empty() && o.port.empty()) {
        message = "--tx-port needs --port (the port that receives)";
        return ParseOutcome::Error;
    }
    if (o.min_len > o.max_len) {
        message = "--min-len " + std::to_string(o.min_len) + " is above --max-len " + std::to_string(o.max_len);
        return ParseOutcome::Error;
    }
    return ParseOutcome::Run;
}

}  // namespace nvmeddp::offload_app
