#include "options.hpp"

#include <cstdio>
#include <cstring>

#include "common/cli.hpp"
#include "nvmetcp/host/transport_id.hpp"

namespace nvmeddp::host_app {
namespace {

// "4K", "64k", "1M", "512": a size in bytes.
bool parse_size(const std::string& text, uint64_t& out) {
    if (text.empty()) return false;
    uint64_t scale = 1;
    std::string digits = text;
    const char last = text.back();
    if (last == 'k' || last == 'K') scale = 1024;
    if (last == 'm' || last == 'M') scale = 1024 * 1024;
    if (scale != 1) digits.pop_back();
    uint64_t v = 0;
    if (!cli::parse_u64(digits.c_str(), 1, UINT64_MAX / scale, v)) return false;
    out = v * scale;
    return true;
}

bool parse_sizes(const char* text, std::vector<uint32_t>& out, std::string& message) {
    out.clear();
    std::string list = text ? text : "";
    size_t start = 0;
    while (start <= list.size()) {
        const size_t comma = list.find(',', start);
        const std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        uint64_t v = 0;
        if (!parse_size(item, v) || v < 512 || v > (4u << 20) || v % 512 != 0) {
            message = "--sizes: '" + item + "' is not a size from 512 to 4M in multiples of 512 (e.g. 4K,64K,1M)";
            return false;
        }
        out.push_back(static_cast<uint32_t>(v));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return !out.empty();
}

}  // namespace

void print_usage(const char* argv0) {
    std::printf(
        "usage: %s --traddr ADDR [--subnqn NQN] [options] [-- EAL arguments]\n"
        "\n"
        "The nvmeddp NVMe/TCP host over a DPDK port (our user-space TCP), with the receive offload:\n"
        "connects to an NVMe/TCP target (admin queue, Identify, I/O queues), reads blocks of each\n"
        "size at the queue depth, checks every byte, and prints IOPS, throughput, the host lcore's busy\n"
        "time per GiB and what the offload did, with the offload off and on side by side. The bytes\n"
        "are checked against the pattern nvmeddp-target's namespace holds (nvmetcp/byte_pattern.hpp);\n"
        "against another target use --writes, which writes a region and reads it back.\n"
        "Exits 0 when every I/O succeeded with the right bytes, 1 otherwise, 2 on a usage error.\n"
        "\n"
        "target:\n"
        "  --trid TEXT         SPDK-style transport ID: \"trtype=tcp adrfam=ipv4 traddr=192.0.2.1\n"
        "                      trsvcid=4420 subnqn=nqn...\" (or the three options below)\n"
        "  --traddr ADDR       target address\n"
        "  --trsvcid PORT      target port (default 4420)\n"
        "  --subnqn NQN        subsystem NQN (default: the first NVM subsystem the target's discovery\n"
        "                      controller names, as nvme discover would list it)\n"
        "  --discover          only list what the discovery controller offers\n"
        "  --hostnqn NQN       this host's NQN (default: one made from a fixed host id)\n"
        "  --nsid N            the namespace to use (default: the first the controller lists as active)\n"
        "port:\n"
        "  --port NAME         DPDK port (create it with --vdev after --), e.g. net_af_packet0\n"
        "  --local-ip ADDR     this host's address on that port\n"
        "  --mac MAC           this host's MAC address (default: the port's)\n"
        "  --port-queues N     queue pairs of the port, 1..16 (default 1): I/O queue q's connection\n"
        "                      on pair (q-1) mod N, steered there by rte_flow (stack net_nvmeddp on\n"
        "                      the interface: --vdev=net_nvmeddp0,port=IFACE,queues=N)\n"
        "  --lcores N          lcores that poll, 1..port-queues (default 1): lcore k polls queue pairs\n"
        "                      k, k+N, ... and runs the I/O queues on them, each with its share of the\n"
        "                      I/Os; the main lcore also runs the controller. Each on a CPU of its own\n"
        "  --kernel-tcp        use the kernel's TCP instead (no DPDK, no offload): a baseline\n"
        "  --faults-rx SPEC    fault shim on the port's receive path, e.g. drop=0.01,reorder=0.01\n"
        "  --faults-tx SPEC    the same on what the host sends (commands, H2CData, ACKs)\n"
        "I/O:\n"
        "  --io-queues N       I/O queues, 1..8 (default 1)\n"
        "  --queue-depth N     commands outstanding per queue, 1..128 (default 32)\n"
        "  --sizes LIST        read sizes (default 4K,16K,64K,256K,1M; 512 to 4M, multiples of 512)\n"
        "  --ios N             I/Os per size and run, 1..1000000 (default 256)\n"
        "  --writes            also write each size to a region of the namespace and read it back\n"
        "  --digest KIND       none, header, data or both (default both)\n"
        "  --no-flow-control   disable SQ flow control (the target may then complete reads with SUCCESS)\n"
        "  --hpda N            host PDU data alignment asked in ICReq, 0..31 (default 0)\n"
        "  --offload MODE      on, off or both (default both: off first, then on)\n"
        "recovery (as nvme-cli's options; default: none, a lost controller fails the run):\n"
        "  --reconnect-delay MS  after losing the controller (disconnect, TermReq, timeout), reconnect\n"
        "                      every MS ms: new connections, the bring-up again, the offload re-added\n"
        "  --ctrl-loss-tmo MS  give up MS ms after the loss (default with --reconnect-delay: never)\n"
        "  --fail-io-on-loss   I/O outstanding at the loss fails (host path error) instead of being\n"
        "                      sent again after the reconnect\n"
        "  --seed N            seed of the LBA order (default 1)\n"
        "  --caps-toggle N     switch the device's caps (placement, digest) off and on again every N\n"
        "                      completions while I/O runs: the host falls back and resumes\n"
        "  --ddp-io-threshold BYTES  the device takes no read smaller than this (its io_threshold;\n"
        "                      default 0: every read; mlx5 uses 32K): smaller ones are copied\n"
        "  --lro               let the port merge in-order segments where it offers LRO (net_nvmeddp\n"
        "                      does): fewer frames to receive; the offload claims a merged frame as one\n"
        "  --ddp-caps WHICH    the device's caps in the offload-on run: none, placement, digest or all\n"
        "                      (default all; none: the offload attached, sk_add and sk_del, nothing\n"
        "                      placed, as nvme/056 checks)\n"
        "  --tx-digest WHO     who computes the data digests of the PDUs the host sends in the offload-on\n"
        "                      run: device (default: the device writes them where it offers that, and\n"
        "                      the host sends the fields zero) or host\n"
        "  --log-commands FILE one line per completed I/O command: qid cid opcode slba nlb bytes status\n"
        "                      (opcode 1 write, 2 read; status the NVMe status field, 0x0000 success;\n"
        "                      for checking a capture against)\n"
        "  --expect-nvme056    fail unless the offload-on reads meet blktests nvme/056's bar: from\n"
        "                      32 KiB to 1 MiB, placed packets >= 95%% of the port's rx packets and\n"
        "                      placed bytes >= 90%% of its rx bytes, drops and resyncs < 5%%; below\n"
        "                      --ddp-io-threshold, 0%% placed\n"
        "  --timeout S         give up after S seconds per run, 1..3600 (default 120)\n"
        "  --quiet             only the table and the verdict\n"
        "  --expect-digest-errors  the target corrupts data digests on purpose: reads that fail\n"
        "                      their digest are right to fail (at least one must), nothing else may\n"
        "  -h, --help          this text\n"
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
        auto text = [&](std::string& out) {
            const char* val = w.value();
            if (val == nullptr || *val == '\0') {
                message = std::string(arg) + " needs a value";
                return false;
            }
            out = val;
            return true;
        };
        if (!std::strcmp(arg, "--trid")) {
            std::string t;
            if (!text(t)) return ParseOutcome::Error;
            nvmetcp::host::TransportId id;
            std::string err;
            if (!nvmetcp::host::parse_transport_id(t, id, &err)) {
                message = "--trid: " + err;
                return ParseOutcome::Error;
            }
            o.traddr = id.traddr;
            o.trsvcid = id.trsvcid;
            if (!id.subnqn.empty()) o.subnqn = id.subnqn;
            if (!id.hostnqn.empty()) o.hostnqn = id.hostnqn;
        } else if (!std::strcmp(arg, "--traddr")) {
            if (!text(o.traddr)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--trsvcid")) {
            if (!text(o.trsvcid)) return ParseOutcome::Error;
            if (!cli::parse_u64(o.trsvcid.c_str(), 1, 65535, v)) {
                message = "--trsvcid needs a port number in [1, 65535], got '" + o.trsvcid + "'";
                return ParseOutcome::Error;
            }
        } else if (!std::strcmp(arg, "--subnqn")) {
            if (!text(o.subnqn)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--hostnqn")) {
            if (!text(o.hostnqn)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--nsid")) {
            if (!w.number(arg, 1, 0xFFFFFFFEull, v, message)) return ParseOutcome::Error;
            o.nsid = static_cast<uint32_t>(v);
        } else if (!std::strcmp(arg, "--port")) {
            if (!text(o.port)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--local-ip")) {
            if (!text(o.local_ip)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--mac")) {
            if (!text(o.mac)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--port-queues")) {
            if (!w.number(arg, 1, 16, v, message)) return ParseOutcome::Error;
            o.port_queues = static_cast<uint16_t>(v);
        } else if (!std::strcmp(arg, "--lcores")) {
            if (!w.number(arg, 1, 16, v, message)) return ParseOutcome::Error;
            o.lcores = static_cast<uint16_t>(v);
        } else if (!std::strcmp(arg, "--kernel-tcp")) {
            o.kernel_tcp = true;
        } else if (!std::strcmp(arg, "--faults-rx")) {
            if (!text(o.faults_rx)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--faults-tx")) {
            if (!text(o.faults_tx)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--io-queues")) {
            if (!w.number(arg, 1, 8, v, message)) return ParseOutcome::Error;
            o.io_queues = static_cast<uint16_t>(v);
        } else if (!std::strcmp(arg, "--queue-depth")) {
            if (!w.number(arg, 1, 128, v, message)) return ParseOutcome::Error;
            o.queue_depth = static_cast<uint16_t>(v);
        } else if (!std::strcmp(arg, "--sizes")) {
            if (!parse_sizes(w.value(), o.sizes, message)) return ParseOutcome::Error;
        } else if (!std::strcmp(arg, "--ios")) {
            if (!w.number(arg, 1, 1000000, v, message)) return ParseOutcome::Error;
            o.ios = static_cast<uint32_t>(v);
        } else if (!std::strcmp(arg, "--writes")) {
            o.writes = true;
        } else if (!std::strcmp(arg, "--digest")) {
            std::string d;
            if (!text(d)) return ParseOutcome::Error;
            if (d == "none") o.header_digest = o.data_digest = false;
            else if (d == "header") o.header_digest = true, o.data_digest = false;
            else if (d == "data") o.header_digest = false, o.data_digest = true;
            else if (d == "both") o.header_digest = o.data_digest = true;
            else {
                message = "--digest needs none, header, data or both, got '" + d + "'";
                return ParseOutcome::Error;
            }
        } else if (!std::strcmp(arg, "--no-flow-control")) {
            o.disable_flow_control = true;
        } else if (!std::strcmp(arg, "--hpda")) {
            if (!w.number(arg, 0, 31, v, message)) return ParseOutcome::Error;
            o.hpda = static_cast<uint8_t>(v);
        } else if (!std::strcmp(arg, "--offload")) {
            std::string m;
            if (!text(m)) return ParseOutcome::Error;
            if (m == "on") o.offload = OffloadMode::On;
            else if (m == "off") o.offload = OffloadMode::Off;
            else if (m == "both") o.offload = OffloadMode::Both;
            else {
                message = "--offload needs on, off or both, got '" + m + "'";
                return ParseOutcome::Error;
            }
        } else if (!std::strcmp(arg, "--seed")) {
            if (!w.number(arg, 0, UINT64_MAX, v, message)) return ParseOutcome::Error;
            o.seed = v;
        } else if (!std::strcmp(arg, "--timeout")) {
            if (!w.number(arg, 1, 3600, v, message)) return ParseOutcome::Error;
            o.timeout_s = static_cast<uint32_t>(v);
        } else if (!std::strcmp(arg, "--quiet")) {
            o.quiet = true;
        } else if (!std::strcmp(arg, "--discover")) {
            o.discover = true;
        } else if (!std::strcmp(arg, "--reconnect-delay")) {
            if (!w.number(arg, 1, 3600000, v, message)) return ParseOutcome::Error;
            o.reconnect_delay_ms = static_cast<uint32_t>(v);
        } else if (!std::strcmp(arg, "--ctrl-loss-tmo")) {
            if (!w.number(arg, 1, 86400000, v, message)) return ParseOutcome::Error;
            o.ctrl_loss_tmo_ms = static_cast<uint32_t>(v);
        } else if (!std::strcmp(arg, "--fail-io-on-loss")) {
            o.requeue_io = false;
        } else if (!std::strcmp(arg, "--caps-toggle")) {
            if (!w.number(arg, 1, 1000000, v, message)) return ParseOutcome::Error;
            o.caps_toggle = static_cast<uint32_t>(v);
        } else if (!std::strcmp(arg, "--ddp-io-threshold")) {
            uint64_t bytes = 0;
            const char* size = w.value();
            if (size == nullptr || !parse_size(size, bytes) || bytes > (4u << 20)) {
                message = std::string("--ddp-io-threshold needs a size up to 4M (K/M suffixes allowed)");
                return ParseOutcome::Error;
            }
            o.ddp_io_threshold = static_cast<uint32_t>(bytes);
        } else if (!std::strcmp(arg, "--lro")) {
            o.lro = true;
        } else if (!std::strcmp(arg, "--ddp-caps")) {
            const char* caps = w.value();
            const std::string c = caps != nullptr ? caps : "";
            if (c == "none") o.ddp_caps = 0;
            else if (c == "placement") o.ddp_caps = 1;
            else if (c == "digest") o.ddp_caps = 2;
            else if (c == "all") o.ddp_caps = 3;
            else {
                message = "--ddp-caps must be none, placement, digest or all";
                return ParseOutcome::Error;
            }
        } else if (!std::strcmp(arg, "--tx-digest")) {
            const char* who = w.value();
            const std::string c = who != nullptr ? who : "";
            if (c == "device") o.tx_digest_by_device = true;
            else if (c == "host") o.tx_digest_by_device = false;
            else {
                message = "--tx-digest must be device or host";
                return ParseOutcome::Error;
            }
        } else if (!std::strcmp(arg, "--log-commands")) {
            const char* file = w.value();
            if (file == nullptr || *file == '\0') {
                message = "--log-commands needs a file name";
                return ParseOutcome::Error;
            }
            o.log_commands = file;
        } else if (!std::strcmp(arg, "--expect-nvme056")) {
            o.expect_nvme056 = true;
        } else if (!std::strcmp(arg, "--expect-digest-errors")) {
            o.expect_digest_errors = true;
        } else {
            message = std::string("unknown option '") + arg + "' (see --help)";
            return ParseOutcome::Error;
        }
    }
    if (o.traddr.empty()) {
        message = "no target: give --traddr (or --trid)";
        return ParseOutcome::Error;
    }
    if (!o.kernel_tcp && (o.port.empty() || o.local_ip.empty())) {
        message = "the DPDK transport needs --port and --local-ip (or use --kernel-tcp)";
        return ParseOutcome::Error;
    }
    if (o.kernel_tcp && o.offload == OffloadMode::On) {
        message = "--kernel-tcp has no offload: use --offload off (or the DPDK transport)";
        return ParseOutcome::Error;
    }
    if (o.kernel_tcp) o.offload = OffloadMode::Off;
    if (o.lcores > 1) {
        if (o.kernel_tcp) {
            message = "--lcores " + std::to_string(o.lcores) + " needs the DPDK transport (--kernel-tcp polls on one thread)";
            return ParseOutcome::Error;
        }
        if (o.lcores > o.port_queues) {
            message = "--lcores " + std::to_string(o.lcores) + " needs at least as many --port-queues (" +
                      std::to_string(o.port_queues) + " given): each lcore polls queue pairs of its own";
            return ParseOutcome::Error;
        }
        if (o.lcores > o.io_queues) {
            message = "--lcores " + std::to_string(o.lcores) + " needs at least as many --io-queues (" +
                      std::to_string(o.io_queues) + " given): an lcore without an I/O queue has nothing to do";
            return ParseOutcome::Error;
        }
    }
    return ParseOutcome::Run;
}

}  // namespace nvmeddp::host_app
