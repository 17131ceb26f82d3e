// What a host tells the device about a connection it offloads ("sk_add").
#pragma once

#include <array>
#include <cstdint>

#include "ddp/device_caps.hpp"
#include "ddp/status.hpp"

namespace nvmeddp::ddp {

enum class IpFamily : uint8_t { None = 0, Ipv4 = 4, Ipv6 = 6 };

// The connection as the host sees it: local = the host, remote = the NVMe/TCP controller. The
// device receives the controller's segments, so it matches src = remote, dst = local.
struct ConnectionTuple {
    IpFamily family = IpFamily::None;
    std::array<uint8_t, 16> local_addr{};   // IPv4: the first 4 bytes, the rest ignored
    std::array<uint8_t, 16> remote_addr{};
    uint16_t local_port = 0;                // host byte order
    uint16_t remote_port = 0;
    // VLAN IDs of the connection's frames (0..4095; 0: no tag, as a priority-only tag): the tag
    // nearest the IP header (802.1Q C-tag), and the outer one of a double-tagged frame (802.1ad S-tag).
    uint16_t vlan = 0;
    uint16_t outer_vlan = 0;
};

struct ConnectionConfig {
    ConnectionTuple tuple;
    uint16_t queue_depth = 128;  // commands outstanding at once: sizes the registration table
    uint16_t rx_queue = 0;       // device receive queue the connection is steered to
    // Data alignment of C2H PDUs (the host's HPDA from ICReq, 0's based dwords): C2HData data starts
    // at the next multiple of (rx_pda + 1) * 4 after the header and header digest.
    uint8_t rx_pda = 0;
    bool header_digest = false;
    bool data_digest = false;
    // TCP sequence number of the first byte of the next controller-to-host PDU: where the device
    // starts following the stream. Offload normally starts right after the ICResp.
    uint32_t rcv_seq = 0;
    // The send direction (cap::kTxDataDigest): the device writes the data digest of every PDU the
    // host sends from snd_seq, the first byte of the next host-to-controller PDU, on; tx_pda is the
    // controller's CPDA (H2C data alignment). Needs data_digest.
    bool tx_data_digest = false;
    uint8_t tx_pda = 0;
    uint32_t snd_seq = 0;
};

// Ok, or the first thing wrong with the config for a device with these limits.
Status validate(const ConnectionConfig& config, const DeviceLimits& limits) noexcept;

}  // namespace nvmeddp::ddp
