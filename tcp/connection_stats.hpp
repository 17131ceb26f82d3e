// What one connection counted, in the names Linux's `ss -ti` prints where it has one, so a user
// can put our line beside the kernel peer's and compare.
#pragma once

#include <cstdint>
#include <string>

namespace nvmeddp::tcp {

struct ConnectionStats {
    // ss -ti
    uint64_t bytes_sent = 0;       // payload bytes sent, retransmissions included
    uint64_t bytes_retrans = 0;    // payload bytes sent again
    uint64_t bytes_acked = 0;      // payload bytes the peer acknowledged
    uint64_t bytes_received = 0;   // payload bytes delivered in order
    uint64_t segs_out = 0;
    uint64_t segs_in = 0;
    uint64_t data_segs_out = 0;
    uint64_t data_segs_in = 0;
    uint64_t total_retrans = 0;    // segments retransmitted ("retrans:cur/total")
    uint64_t rcv_ooopack = 0;      // segments that arrived out of order
    uint64_t dsack_dups = 0;       // segments wholly received before (we would D-SACK them)
    // ours
    uint64_t fast_retransmits = 0;
    uint64_t timeouts = 0;         // retransmission timer expiries
    uint64_t dup_acks_in = 0;
    uint64_t out_of_window = 0;    // segments outside the receive window (answered with an ACK)
    uint64_t paws_rejected = 0;    // segments with an old timestamp (RFC 7323 5)
    uint64_t option_errors = 0;    // malformed TCP options (the rest of the options ignored)
    uint64_t ooo_dropped = 0;      // segments dropped for lack of room in the out-of-order queue (parked ones included)
    uint64_t challenge_acks = 0;   // RFC 5961 answers to in-window RST/SYN
    uint64_t window_probes = 0;    // zero-window probes sent
    uint64_t lost_retransmits = 0;  // retransmissions found lost in recovery and sent again
    uint64_t recoveries_undone = 0; // recoveries every retransmission of which the peer had (D-SACK)
    uint64_t loss_probes = 0;      // tail loss probes sent (RFC 8985 TLP; Linux's TCPLossProbes)
    uint64_t acks_delayed = 0;     // ACKs that waited for the delayed-ACK timer
    uint64_t sack_blocks_left_out = 0;  // SACK blocks a data segment had no room for (sized before they existed)
    uint64_t tx_no_mbuf = 0;       // segments not sent for lack of an mbuf (sent later)
    uint64_t tso_frames_out = 0;   // frames the port cut into segments (TSO); segs_out counts the segments
    uint64_t predicted = 0;        // segments taken by header prediction (Linux's TCPHPHits)
};

// Values of the moment that `ss -ti` also prints.
struct ConnectionSnapshot {
    const char* state = "";
    uint32_t rto_us = 0, srtt_us = 0, rttvar_us = 0, min_rtt_us = 0;
    uint32_t mss = 0, advmss = 0, rcvmss = 0;
    uint32_t cwnd_bytes = 0, ssthresh_bytes = 0;
    uint32_t snd_wnd = 0, rcv_wnd = 0;
    uint8_t snd_wscale = 0, rcv_wscale = 0;
    bool ts = false, sack = false;
    uint32_t unacked_segs = 0;
    uint32_t retrans_cur = 0;      // retransmissions of the segment at snd_una so far (backoff)
};

// One line in the manner of `ss -ti`: "ts sack wscale:7,7 rto:204 rtt:0.31/0.12 mss:1448 ...".
std::string format_ss(const ConnectionSnapshot& now, const ConnectionStats& stats);

}  // namespace nvmeddp::tcp
