// Statistics: per-connection counters with one writer each, readable from any thread.
//
// The host's lcore counts what the host does (setup, teardown, resync answers); the engine's lcore
// counts what the device does (packets, placement, digests, resync requests). Each counter has one
// writer, so an increment is a relaxed load and store (plain moves on x86, no locked instruction),
// and a statistics reader on a third thread sees a recent value without a data race. Device
// totals are sums taken when asked, never a shared counter that two lcores would bounce between
// their caches.
#pragma once

#include <atomic>
#include <cstdint>

#include "nvmeddp/ddp.h"

namespace nvmeddp::ddp {

class Counter {
public:
    // Always inlined: on the engine's per-packet path the compiler had made it a call (link-time
    // inlining out of budget), a call for each of a packet's four or five counts.
    [[gnu::always_inline]] void add(uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> v_{0};
};

// Written by the host's lcore (through the library).
struct HostCounters {
    Counter setup, setup_fail, teardown;
    Counter resync, resync_confirmations, resync_refusals, resync_stale;
    Counter bad_transitions;   // setup of a busy id, teardown twice or of nothing, ...
    Counter forced_teardowns;  // torn down by connection removal
};

// Written by the offload engine's lcore (through the driver).
struct EngineCounters {
    Counter packets, bytes;      // packets with TCP payload, and their bytes, of the connection seen by the device
    Counter drop;                // packets it could not follow or place (out of order, bad header, ...)
    Counter placed_bytes;        // payload bytes written into registered buffers
    Counter placed_packets;      // packets with bytes placed (what Linux counts as rx-nvme-tcp-packets)
    Counter digest_offloaded;    // data digests verified, equal
    Counter digest_failed;       // data digests verified, different (the host is told per packet)
    Counter digest_fallback;     // PDUs with a data digest it did not verify: the host computes it
    Counter resync_requests;     // raised after losing the PDU framing
    // C2HData PDUs not placed (all of them, or the rest from some packet on), by reason.
    Counter place_no_registration, place_out_of_range, place_torn_down;
    Counter place_rewrite, place_behind_host;  // contract v2's write rules (registration_table.hpp)
    Counter bad_checksum;                      // packets with a bad TCP checksum, not followed
    Counter late_placed_bytes;  // of placed_bytes: bytes that filled a hole (retransmitted, overtaken)
    Counter digest_combined;    // of digest_offloaded: verified across holes
    Counter gap_untracked;      // PDUs with a hole past the engine's bounded tracking (gap_pdus.hpp)
    Counter framing_regained;   // framing lost in a gap, found again from the header a retransmission brought
    // The send direction (cap::kTxDataDigest)
    Counter tx_ddgst_written;    // data digests of sent PDUs written
    Counter tx_ddgst_rewritten;  // retransmitted data digests written again
    Counter tx_stream_lost;      // 1 once the device lost the send stream (tx_digest_stream.hpp)
    Counter tx_ddgst_unknown;    // sent-again segments older than every digest kept (0 unless the host broke its window)
    Counter copies_matched;      // later copies of digested packets marked CRC (digested_copies.hpp)
    Counter copies_claimed;      // ... and claimed as placed, their bytes equal to the buffer's (in placed_packets too)
};

// A plain snapshot, the C API's struct (Linux's names first, then ours).
using Stats = ::nvmeddp_stats;

void add_host_counters(Stats& out, const HostCounters& c) noexcept;
void add_engine_counters(Stats& out, const EngineCounters& c) noexcept;
void add_stats(Stats& out, const Stats& in) noexcept;

}  // namespace nvmeddp::ddp
