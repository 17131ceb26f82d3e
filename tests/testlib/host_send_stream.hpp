// A host's send stream for the transmit digest offload's tests: commands with and without in-capsule
// data and H2CData PDUs, as the controller must receive them (every data digest right) and as a host
// that leaves its digests to the device hands them to TCP (every DDGST field zero).
#pragma once

#include <cstdint>
#include <vector>

#include "nvmetcp/header_check.hpp"
#include "nvmetcp/pdu_encoder.hpp"

namespace nvmeddp::testlib {

struct HostSendStream {
    std::vector<uint8_t> wire;  // as the controller must get it
    std::vector<uint8_t> sent;  // as the host hands it over: DDGST fields zero
    std::vector<uint32_t> digest_offsets;  // of each DDGST field
};

struct HostSendOptions {
    int pdus = 24;
    uint32_t max_capsule_data = 4096;  // in-capsule data of 1..this many bytes (a third of commands have none)
    uint32_t max_h2c_data = 20000;     // H2CData of 1..this many bytes
    uint32_t seed = 1;
};

// PDU i is a command without data, a command with in-capsule data or an H2CData, drawn from the seed.
HostSendStream make_host_send_stream(const nvmetcp::SendParams& params, const HostSendOptions& options);

// What a controller checks those PDUs against: the host's send parameters, on the receiving side.
nvmetcp::ReceiveParams controller_params(const nvmetcp::SendParams& params);

}  // namespace nvmeddp::testlib
