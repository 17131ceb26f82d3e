#include "tcp/connection_stats.hpp"

#include <cstdarg>
#include <cstdio>

namespace nvmeddp::tcp {

namespace {

// printf into the line, space-separated; the attribute lets the compiler check every format.
[[gnu::format(printf, 2, 3)]] void put(std::string& out, const char* fmt, ...) {
    char piece[160];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(piece, sizeof piece, fmt, args);
    va_end(args);
    if (!out.empty()) out += ' ';
    out += piece;
}

}  // namespace

std::string format_ss(const ConnectionSnapshot& n, const ConnectionStats& s) {
    std::string out;
    put(out, "%s", n.state);
    if (n.ts) put(out, "ts");
    if (n.sack) put(out, "sack");
    put(out, "wscale:%u,%u", n.snd_wscale, n.rcv_wscale);
    // ss prints milliseconds: rto as an integer, rtt as srtt/rttvar with fractions.
    put(out, "rto:%u", n.rto_us / 1000);
    put(out, "rtt:%.3f/%.3f", n.srtt_us / 1000.0, n.rttvar_us / 1000.0);
    put(out, "mss:%u advmss:%u rcvmss:%u", n.mss, n.advmss, n.rcvmss);
    const unsigned mss = n.mss ? n.mss : 1;
    put(out, "cwnd:%u", n.cwnd_bytes / mss);
    if (n.ssthresh_bytes != UINT32_MAX) put(out, "ssthresh:%u", n.ssthresh_bytes / mss);
    put(out, "bytes_sent:%llu", static_cast<unsigned long long>(s.bytes_sent));
    put(out, "bytes_retrans:%llu", static_cast<unsigned long long>(s.bytes_retrans));
    put(out, "bytes_acked:%llu", static_cast<unsigned long long>(s.bytes_acked));
    put(out, "bytes_received:%llu", static_cast<unsigned long long>(s.bytes_received));
    put(out, "segs_out:%llu segs_in:%llu", static_cast<unsigned long long>(s.segs_out),
        static_cast<unsigned long long>(s.segs_in));
    put(out, "data_segs_out:%llu data_segs_in:%llu", static_cast<unsigned long long>(s.data_segs_out),
        static_cast<unsigned long long>(s.data_segs_in));
    put(out, "unacked:%u", n.unacked_segs);
    put(out, "retrans:%u/%llu", n.retrans_cur, static_cast<unsigned long long>(s.total_retrans));
    put(out, "rcv_ooopack:%llu", static_cast<unsigned long long>(s.rcv_ooopack));
    put(out, "dsack_dups:%llu", static_cast<unsigned long long>(s.dsack_dups));
    put(out, "snd_wnd:%u rcv_wnd:%u", n.snd_wnd, n.rcv_wnd);
    if (n.min_rtt_us) put(out, "minrtt:%.3f", n.min_rtt_us / 1000.0);
    // Ours, after Linux's: what ss has no name for.
    put(out, "| fast_retrans:%llu timeouts:%llu dupacks_in:%llu out_of_window:%llu paws:%llu opt_errors:%llu",
        static_cast<unsigned long long>(s.fast_retransmits), static_cast<unsigned long long>(s.timeouts),
        static_cast<unsigned long long>(s.dup_acks_in), static_cast<unsigned long long>(s.out_of_window),
        static_cast<unsigned long long>(s.paws_rejected), static_cast<unsigned long long>(s.option_errors));
    put(out, "ooo_dropped:%llu challenge_acks:%llu probes:%llu loss_probes:%llu lost_retrans:%llu undone:%llu sack_left_out:%llu tx_no_mbuf:%llu tso_frames:%llu predicted:%llu",
        static_cast<unsigned long long>(s.ooo_dropped), static_cast<unsigned long long>(s.challenge_acks),
        static_cast<unsigned long long>(s.window_probes), static_cast<unsigned long long>(s.loss_probes),
        static_cast<unsigned long long>(s.lost_retransmits), static_cast<unsigned long long>(s.recoveries_undone),
        static_cast<unsigned long long>(s.sack_blocks_left_out), static_cast<unsigned long long>(s.tx_no_mbuf),
        static_cast<unsigned long long>(s.tso_frames_out), static_cast<unsigned long long>(s.predicted));
    return out;
}

}  // namespace nvmeddp::tcp
