// What an offload device can do: its capabilities (switchable at run time) and its limits.
#pragma once

#include <cstdint>

namespace nvmeddp::ddp {

// Capability bits; the same values as NVMEDDP_CAP_* in include/nvmeddp/ddp.h.
using Caps = uint32_t;
namespace cap {
inline constexpr Caps kPlacement = 0x1;   // C2HData payload written into registered buffers
inline constexpr Caps kDataDigest = 0x2;  // DDGST verified by the device
// DDGST of sent PDUs written by the device: asked per connection at sk_add (ConnectionConfig::
// tx_data_digest) and kept for its life.
inline constexpr Caps kTxDataDigest = 0x4;
inline constexpr Caps kAll = kPlacement | kDataDigest | kTxDataDigest;
}  // namespace cap

struct DeviceLimits {
    uint32_t max_connections = 4096;
    uint32_t max_sgl_entries = 128;
    uint32_t max_io_size = 512u << 10;
    // Setup is refused below this size: for small reads the copy costs less than the registration
    // (mlx5 uses 32 KiB; a software engine breaks even far lower).
    uint32_t io_threshold = 0;
    uint32_t max_queue_depth = 1024;
    // 1: any. Otherwise every segment but the first starts on a multiple of it and every segment
    // but the last ends on one (the shape a page-based hardware translation table accepts).
    uint32_t segment_alignment = 1;
    uint16_t rx_queues = 1;
    // true: any 16-bit command id (e.g. Linux's genctr << 12 | tag). Registrations are indexed by
    // the command id's low bits, so two outstanding ids may not share them (CommandIdBusy).
    // false: command ids must be below the connection's queue depth.
    bool full_cid_range = true;
    // Sent PDUs with a data digest the device remembers per connection (kTxDataDigest), to write a
    // retransmitted digest again: the host keeps at most this many unacknowledged.
    uint32_t tx_digests_in_flight = 256;
};

}  // namespace nvmeddp::ddp
