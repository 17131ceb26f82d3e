#include "ddp/counters.hpp"

namespace nvmeddp::ddp {

void add_host_counters(Stats& out, const HostCounters& c) noexcept {
    out.setup += c.setup.get();
    out.setup_fail += c.setup_fail.get();
    out.teardown += c.teardown.get();
    out.resync += c.resync.get();
    out.resync_confirmations += c.resync_confirmations.get();
    out.resync_refusals += c.resync_refusals.get();
    out.resync_stale += c.resync_stale.get();
    out.bad_transitions += c.bad_transitions.get();
    out.forced_teardowns += c.forced_teardowns.get();
}

void add_engine_counters(Stats& out, const EngineCounters& c) noexcept {
    out.packets += c.packets.get();
    out.bytes += c.bytes.get();
    out.drop += c.drop.get();
    out.placed_bytes += c.placed_bytes.get();
    out.placed_packets += c.placed_packets.get();
    out.digest_offloaded += c.digest_offloaded.get();
    out.digest_failed += c.digest_failed.get();
    out.digest_fallback += c.digest_fallback.get();
    out.resync_requests += c.resync_requests.get();
    out.place_no_registration += c.place_no_registration.get();
    out.place_out_of_range += c.place_out_of_range.get();
    out.place_torn_down += c.place_torn_down.get();
    out.place_rewrite += c.place_rewrite.get();
    out.place_behind_host += c.place_behind_host.get();
    out.bad_checksum += c.bad_checksum.get();
    out.late_placed_bytes += c.late_placed_bytes.get();
    out.digest_combined += c.digest_combined.get();
    out.gap_untracked += c.gap_untracked.get();
    out.framing_regained += c.framing_regained.get();
    out.tx_ddgst_written += c.tx_ddgst_written.get();
    out.tx_ddgst_rewritten += c.tx_ddgst_rewritten.get();
    out.tx_stream_lost += c.tx_stream_lost.get();
    out.tx_ddgst_unknown += c.tx_ddgst_unknown.get();
    out.copies_matched += c.copies_matched.get();
    out.copies_claimed += c.copies_claimed.get();
}

void add_stats(Stats& out, const Stats& in) noexcept {
    out.sk_add += in.sk_add;
    out.sk_add_fail += in.sk_add_fail;
    out.sk_del += in.sk_del;
    out.setup += in.setup;
    out.setup_fail += in.setup_fail;
    out.teardown += in.teardown;
    out.drop += in.drop;
    out.resync += in.resync;
    out.packets += in.packets;
    out.bytes += in.bytes;
    out.placed_bytes += in.placed_bytes;
    out.placed_packets += in.placed_packets;
    out.digest_offloaded += in.digest_offloaded;
    out.digest_fallback += in.digest_fallback;
    out.digest_failed += in.digest_failed;
    out.resync_requests += in.resync_requests;
    out.resync_confirmations += in.resync_confirmations;
    out.resync_refusals += in.resync_refusals;
    out.resync_stale += in.resync_stale;
    out.bad_transitions += in.bad_transitions;
    out.forced_teardowns += in.forced_teardowns;
    out.place_no_registration += in.place_no_registration;
    out.place_out_of_range += in.place_out_of_range;
    out.place_torn_down += in.place_torn_down;
    out.place_rewrite += in.place_rewrite;
    out.place_behind_host += in.place_behind_host;
    out.bad_checksum += in.bad_checksum;
    out.late_placed_bytes += in.late_placed_bytes;
    out.digest_combined += in.digest_combined;
    out.gap_untracked += in.gap_untracked;
    out.framing_regained += in.framing_regained;
    out.tx_ddgst_written += in.tx_ddgst_written;
    out.tx_ddgst_rewritten += in.tx_ddgst_rewritten;
    out.tx_stream_lost += in.tx_stream_lost;
    out.tx_ddgst_unknown += in.tx_ddgst_unknown;
    out.copies_matched += in.copies_matched;
    out.copies_claimed += in.copies_claimed;
}

}  // namespace nvmeddp::ddp
