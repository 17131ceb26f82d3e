// Command line of nvmeddp-offload.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nvmeddp::offload_app {

enum class OffloadMode { Both, On, Off };

struct Options {
    uint16_t queues = 0;            // 0: one per available lcore, at most 4
    uint32_t connections = 4;       // per queue
    uint32_t reads = 48;            // per connection
    uint32_t min_len = 4096;
    uint32_t max_len = 262144;
    uint32_t max_pdu_data = 0;      // 0: one C2HData per read (Linux nvmet); else split (SPDK)
    uint32_t mss = 1448;
    bool data_digest = true;
    bool header_digest = false;
    double loss = 0.002;
    double reorder = 0.002;
    double duplicate = 0.002;
    double wire_corrupt = 0.002;    // a frame damaged on the wire (bad checksum), sent again later
    double lying = 0.0005;          // a frame's copy altered with a valid checksum (a lying peer)
    uint64_t seed = 1;
    OffloadMode mode = OffloadMode::Both;
    std::string port;               // an existing ethdev port by name (e.g. from --vdev); empty: a loopback NIC
    std::string tx_port;            // send on this port instead (e.g. the other end of a veth pair)
    bool ring_nic = false;          // the loopback NIC is net_ring (no rte_flow), not net_nvmeddp
    std::vector<std::string> eal;   // extra EAL arguments (after --)
    bool quiet = false;
};

enum class ParseOutcome { Run, Help, Error };

ParseOutcome parse_options(int argc, char** argv, Options& options, std::string& message);
void print_usage(const char* argv0);

}  // namespace nvmeddp::offload_app
