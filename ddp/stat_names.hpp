// The printable names of the device statistics (ddp::Stats), one table for every place that shows
// them: the vdev's xstats, the shell, reports. Linux's ULP DDP counters come first under the names
// ethtool -S gives them on a NIC with the offload (Linux's rx_nvme_tcp_packets and _bytes count what
// used the offload: our placed_packets and placed_bytes), then ours.
#pragma once

#include <cstdint>
#include <span>

#include "ddp/counters.hpp"

namespace nvmeddp::ddp {

struct StatName {
    const char* name;  // Linux's: "rx_nvme_tcp_sk_add" ...; ours: "seen_packets" ...
    uint64_t Stats::*field;
    bool linux_name;
};

inline constexpr StatName kStatNames[] = {
    {"rx_nvme_tcp_sk_add", &Stats::sk_add, true},
    {"rx_nvme_tcp_sk_add_fail", &Stats::sk_add_fail, true},
    {"rx_nvme_tcp_sk_del", &Stats::sk_del, true},
    {"rx_nvme_tcp_setup", &Stats::setup, true},
    {"rx_nvme_tcp_setup_fail", &Stats::setup_fail, true},
    {"rx_nvme_tcp_teardown", &Stats::teardown, true},
    {"rx_nvme_tcp_drop", &Stats::drop, true},
    {"rx_nvme_tcp_resync", &Stats::resync, true},
    {"rx_nvme_tcp_packets", &Stats::placed_packets, true},
    {"rx_nvme_tcp_bytes", &Stats::placed_bytes, true},
    {"seen_packets", &Stats::packets, false},
    {"seen_bytes", &Stats::bytes, false},
    {"digest_offloaded", &Stats::digest_offloaded, false},
    {"digest_fallback", &Stats::digest_fallback, false},
    {"digest_failed", &Stats::digest_failed, false},
    {"resync_requests", &Stats::resync_requests, false},
    {"resync_confirmations", &Stats::resync_confirmations, false},
    {"resync_refusals", &Stats::resync_refusals, false},
    {"resync_stale", &Stats::resync_stale, false},
    {"bad_transitions", &Stats::bad_transitions, false},
    {"forced_teardowns", &Stats::forced_teardowns, false},
    {"place_no_registration", &Stats::place_no_registration, false},
    {"place_out_of_range", &Stats::place_out_of_range, false},
    {"place_torn_down", &Stats::place_torn_down, false},
    {"place_rewrite", &Stats::place_rewrite, false},
    {"place_behind_host", &Stats::place_behind_host, false},
    {"bad_checksum", &Stats::bad_checksum, false},
    {"late_placed_bytes", &Stats::late_placed_bytes, false},
    {"digest_combined", &Stats::digest_combined, false},
    {"gap_untracked", &Stats::gap_untracked, false},
    {"framing_regained", &Stats::framing_regained, false},
    {"tx_ddgst_written", &Stats::tx_ddgst_written, false},
    {"tx_ddgst_rewritten", &Stats::tx_ddgst_rewritten, false},
    {"tx_stream_lost", &Stats::tx_stream_lost, false},
    {"tx_ddgst_unknown", &Stats::tx_ddgst_unknown, false},
    {"copies_matched", &Stats::copies_matched, false},
    {"copies_claimed", &Stats::copies_claimed, false},
};

// Every field of Stats is named once.
static_assert(sizeof kStatNames / sizeof kStatNames[0] == sizeof(Stats) / sizeof(uint64_t));

}  // namespace nvmeddp::ddp
