// Command line of nvmeddp-host.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nvmeddp::host_app {

enum class OffloadMode { Both, On, Off };

struct Options {
    std::string traddr, trsvcid = "4420", subnqn, hostnqn;
    uint32_t nsid = 0;              // 0: the first active namespace
    std::string port;               // DPDK port by name (created with --vdev after --)
    std::string local_ip;           // this host's address on the port
    std::string mac;                // this host's MAC (default: the port's)
    bool kernel_tcp = false;        // the kernel's TCP instead of DPDK: a baseline without offload
    uint16_t port_queues = 1;       // queue pairs of the port, one endpoint (lane) each
    uint16_t lcores = 1;            // lcores polling them (lane k on lcore k mod lcores)
    uint16_t io_queues = 1;
    uint16_t queue_depth = 32;
    std::vector<uint32_t> sizes{4096, 16384, 65536, 262144, 1048576};
    uint32_t ios = 256;             // per size and run
    bool writes = false;            // also write a region and read it back
    bool header_digest = true;
    bool data_digest = true;
    bool disable_flow_control = false;
    uint8_t hpda = 0;
    OffloadMode offload = OffloadMode::Both;
    std::string faults_rx;          // fault shim on the port's rx (pmd::parse_fault_rates syntax)
    std::string faults_tx;          // ... and on its tx
    uint64_t seed = 1;
    uint32_t timeout_s = 120;
    std::vector<std::string> eal;
    bool quiet = false;
    bool discover = false;          // list what the discovery controller offers, then stop
    // A target that corrupts data digests on purpose (nvmeddp-target --fault-bad-ddgst-every): reads
    // that fail their digest are expected (and at least one must), every other I/O must succeed.
    bool expect_digest_errors = false;
    uint32_t caps_toggle = 0;          // switch the device's caps off / on every N completions (0: never)
    uint32_t ddp_io_threshold = 0;     // the device takes no read below this many bytes (its limits)
    bool lro = false;                  // ask the port for LRO (where it offers it)
    uint32_t ddp_caps = 3;             // the device's receive caps enabled for the offload-on run (NVMEDDP_CAP_*)
    bool tx_digest_by_device = true;   // the device writes the data digests the host sends (where it can)
    bool expect_nvme056 = false;       // fail unless the offload-on rows meet blktests nvme/056's bar
    std::string log_commands;          // file for one line per completed I/O command (empty: none)
    uint32_t reconnect_delay_ms = 0;  // recovery after the controller is lost (nvme-cli's reconnect_delay)
    uint32_t ctrl_loss_tmo_ms = 0;    // ... and when to give up (ctrl_loss_tmo); both 0: no recovery
    bool requeue_io = true;           // I/O waits for the reconnect (else fails at the loss)
};

enum class ParseOutcome { Run, Help, Error };

ParseOutcome parse_options(int argc, char** argv, Options& options, std::string& message);
void print_usage(const char* argv0);

}  // namespace nvmeddp::host_app
