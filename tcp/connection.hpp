// One TCP connection (its TCB): the state machine of RFC 9293 with the receive queue, the send
// queue, RTT estimation, congestion control and timers, driven by the endpoint that owns it.
//
// Run to completion on the endpoint's lcore: input() takes one segment of this connection,
// after_burst() hands in-order data up, tells the application what happened and sends what is due
// (ACKs, data, FIN), the timers (retransmission, persist, delayed ACK, FIN-WAIT-2 / TIME-WAIT) fire
// from the endpoint's timer wheel. Nothing here allocates after construction except mbufs from the
// endpoint's pool; no locks.
//
// Receive: in-order data reaches ConnectionHandler::on_data as the very mbufs that arrived (headers
// stripped, a retransmission trimmed at its front), each with its DDP metadata: nothing is merged or
// copied (include/nvmeddp/ddp_mbuf.h, "what a host stack must preserve"). Out-of-order segments wait
// in the receive queue and are announced to the peer in SACK blocks.
//
// Send: bytes are queued by send() (copied into mbufs) or send(mbuf) (zero copy) and go out in
// segments of at most the MSS, as the peer's window and NewReno's congestion window allow, with
// Nagle off. Losses are repaired by fast retransmit / NewReno recovery (RFC 6582) and by the
// retransmission timer (RFC 6298, exponential backoff, go-back-N from the first unacknowledged byte).
#pragma once

#include <rte_mbuf.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>

#include "tcp/congestion.hpp"
#include "tcp/connection_config.hpp"
#include "tcp/connection_stats.hpp"
#include "tcp/frame_builder.hpp"
#include "tcp/options.hpp"
#include "tcp/receive_queue.hpp"
#include "tcp/rtt_estimator.hpp"
#include "tcp/sack_scoreboard.hpp"
#include "tcp/send_queue.hpp"
#include "tcp/seq.hpp"
#include "tcp/tcp_state.hpp"
#include "tcp/timer_wheel.hpp"
#include "tcp/tx_batch.hpp"

namespace nvmeddp::tcp {

class Connection;

// What the application learns of a connection. Called from the endpoint's poll (never from inside
// send() or close()), on the lcore that polls.
class ConnectionHandler {
public:
    virtual ~ConnectionHandler() = default;
    // The three-way handshake completed.
    virtual void on_connected(Connection&) {}
    // In-order data, oldest first. Each segment's mbuf holds exactly its payload; the stack frees the
    // mbufs when this returns, except those whose `m` the handler set to nullptr (it owns them then,
    // and their bytes count against the receive window until it calls Connection::consumed()).
    virtual void on_data(Connection&, std::span<RxSegment> segments) = 0;
    // The peer acknowledged `bytes` more of what we sent: send space is free again.
    virtual void on_acked(Connection&, uint64_t /*bytes*/) {}
    // The peer closed its side (FIN): all its data was delivered, no more will come.
    virtual void on_peer_closed(Connection&) {}
    // The connection is over (TcpError::None: both sides closed in order). Nothing more is called
    // for it; the application must not use it after this returns.
    virtual void on_closed(Connection&, TcpError) {}
};

// A segment of this connection as the endpoint parsed it (checksums already verified).
struct InSegment {
    Seq seq;
    Seq ack;
    uint8_t flags = 0;      // pmd::tcp_flags
    uint16_t window = 0;    // as in the header, not yet scaled
    TcpOptions options;
    bool options_bad = false;  // malformed options: `options` holds what came before the error
    rte_mbuf* payload = nullptr;  // exactly the TCP payload (null when len is 0); ownership passes to input()
    uint32_t len = 0;
    // The port merged several segments into this one (LRO, RTE_MBUF_F_RX_LRO), of merged_segsz bytes
    // at most (the mbuf's tso_segsz; 0 when the port left it unset or it cannot be right). It is
    // counted, and acknowledged, as the segments it was: at least two.
    bool merged = false;
    uint16_t merged_segsz = 0;

    // Takes the port's word that it merged m (RTE_MBUF_F_RX_LRO), once len is set; true when it did.
    // Some PMDs flag LRO without writing tso_segsz, which then holds whatever the mbuf last carried:
    // a size that cannot be a merged segment's is not taken.
    bool take_lro(const rte_mbuf* m) noexcept {
        if ((m->ol_flags & RTE_MBUF_F_RX_LRO) == 0) return false;
        merged = true;
        if (m->tso_segsz >= 64 && m->tso_segsz < len) merged_segsz = m->tso_segsz;
        return true;
    }

    uint32_t segments() const noexcept {
        if (!merged || len == 0) return 1;
        return merged_segsz != 0 ? std::max<uint32_t>(2, (len + merged_segsz - 1) / merged_segsz) : 2;
    }
};

// What the connections of one endpoint share: where mbufs come from, how frames are built and
// sent, the timer wheel, the time of this poll, and how a connection tells the endpoint it needs
// after_burst() or has closed for good.
struct ConnectionContext {
    rte_mempool* pool = nullptr;
    FrameBuilder* builder = nullptr;
    TimerWheel* timers = nullptr;
    TxBatch* tx = nullptr;
    uint64_t now_us = 0;
    // The port sends only single-segment frames (no RTE_ETH_TX_OFFLOAD_MULTI_SEGS, e.g. net_af_xdp):
    // payload is copied into the header mbuf instead of chained as indirect mbufs.
    bool linear_tx = false;
    // The port cuts frames into segments itself (TSO, with tx checksum offload): new data goes out
    // in frames of up to this many payload bytes, each cut at the segment size. 0: no TSO.
    uint32_t tso_max_payload = 0;
    // Non-zero: the port refuses a TSO frame whose segments, Ethernet header included, exceed this
    // many bytes (net_tap in DPDK 22.11 compares them with the MTU), so segments are cut that small.
    uint32_t tso_max_wire_segment = 0;
    // Out-of-order queues shared by the endpoint's connections (null: each connection its own).
    OutOfOrderReserve* ooo_reserve = nullptr;
    void* owner = nullptr;
    void (*mark_dirty)(void* owner, Connection&) = nullptr;
    void (*released)(void* owner, Connection&) = nullptr;  // reached CLOSED: the slot may be reused
};

class Connection {
public:
    // Preallocates the queues: the only allocation a connection makes.
    Connection(const ConnectionConfig& config, ConnectionContext& context);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Opening. `route` is this side's view (src = us). The connection must be CLOSED.
    void open_active(const Route& route, Seq iss, ConnectionHandler* handler);
    // A SYN arrived for a listening port: SYN-RECEIVED, SYN-ACK sent. Takes the SYN's payload.
    void open_passive(const Route& route, Seq iss, InSegment& syn, ConnectionHandler* handler);

    // The endpoint took this slot for connect() and opens it once the peer's MAC is known; until
    // then close() or abort() only mark the open cancelled.
    void await_route() noexcept {
        awaiting_route_ = true;
        route_cancelled_ = false;
    }
    bool route_cancelled() const noexcept { return route_cancelled_; }
    // Nothing pending for after_burst(): no work queued, no notification due.
    bool quiet() const noexcept { return !dirty_; }
    // on_closed was delivered (or is not due): the application has heard the end.
    bool closed_notified() const noexcept { return closed_notified_; }

    // One segment of this connection (endpoint: checksums verified, headers stripped).
    void input(InSegment& segment);
    // After a burst (or a timer): deliver data, notify the handler, send ACKs, data and FIN.
    void after_burst();

    // Application side. send() copies and returns the bytes taken (fewer when snd_buf is full or
    // mbufs ran out; on_acked says when to try again); send(mbuf) takes a chain whose data is
    // stream bytes, zero copy (false: not taken, still the caller's). Both only in ESTABLISHED and
    // CLOSE-WAIT. close(): FIN after the queued data. abort(): RST now, on_closed(Aborted).
    // With crc_state, send() extends that raw CRC32C over the bytes it takes, in the copy's pass.
    size_t send(std::span<const uint8_t> bytes, uint32_t* crc_state = nullptr);
    bool send(rte_mbuf* chain);
    // The application is done with `bytes` of the data it kept from on_data (took the mbufs of):
    // that much receive window opens again (the peer hears of it when it is worth a segment).
    void consumed(uint64_t bytes);
    // Received bytes the application holds (kept, not yet consumed()).
    uint64_t held_bytes() const noexcept { return held_bytes_; }
    // Before the connection opened (connect() still resolving the peer's MAC) both only cancel the
    // open: the endpoint frees the slot without calling the handler.
    void close();
    void abort();

    TcpState state() const noexcept { return state_; }
    TcpError error() const noexcept { return error_; }
    const Route& route() const noexcept { return route_; }
    const ConnectionStats& stats() const noexcept { return stats_; }
    ConnectionSnapshot snapshot() const noexcept;
    std::string info() const;  // one line in the manner of `ss -ti`
    // Bytes queued for sending and not yet acknowledged, and room left for more.
    uint64_t send_queued() const noexcept { return sq_.size(); }
    // The sequence number the next byte queued for sending will have.
    Seq send_queue_end() const noexcept { return sq_.end(); }
    uint64_t send_space() const noexcept;
    bool idle_for_reuse() const noexcept { return state_ == TcpState::Closed; }
    ConnectionHandler* handler() const noexcept { return handler_; }
    void set_handler(ConnectionHandler* handler) noexcept { handler_ = handler; }

    // The endpoint's table links connections through this index (UINT32_MAX: end of the chain).
    uint32_t table_next = UINT32_MAX;
    uint32_t slot = 0;

private:
    void begin(const Route& route, Seq iss, ConnectionHandler* handler);  // what both opens share

    // input() by state
    bool input_predicted(InSegment& s);  // true: taken by the fast path (connection_fast_path.cpp)
    void input_syn_sent(InSegment& s);
    bool acceptable(const InSegment& s) const noexcept;
    bool invalid_ack_allowed() noexcept;
    bool process_ack(InSegment& s);  // false: the segment is finished with (dropped or answered)
    void process_data(InSegment& s);
    // The peer's FIN, once every byte before it is in: inline, as every in-order segment asks and
    // the answer is nearly always no; process_fin() does the rest.
    void process_fin_if_in_order() {
        if (peer_fin_seen_ && !fin_received_ && rq_.rcv_nxt() == peer_fin_seq_) process_fin();
    }
    void process_fin();
    // Parts both input paths share.
    void take_send_window(const InSegment& s, uint32_t scaled_window);  // if s is not older than the last used
    void note_rcvmss(const InSegment& s) noexcept;
    void owe_ack_for_in_order(const InSegment& s, bool filled_hole) noexcept;
    void sack_on_ack(const InSegment& s, bool advanced, bool classic_dup);
    void take_peer_options(const TcpOptions& o, bool syn_ack);

    // output
    void output();
    bool send_segment(Seq seq, uint32_t len, uint8_t flags);
    void send_ack_now();
    void send_rst(Seq seq, Seq ack, bool with_ack);
    void send_syn();
    void retransmit_head();
    uint32_t retransmit(Seq seq, uint32_t len);  // bytes sent again (at most segment_mss()); 0: none
    void output_sack_recovery();
    bool send_at_nxt(uint32_t len);  // `len` bytes from snd_nxt on (new, or again after a timeout)
    uint32_t unsent() const noexcept;            // queued bytes from snd_nxt on
    uint32_t peer_window_room() const noexcept;  // what the peer's window takes beyond snd_nxt
    uint16_t window_to_advertise(bool syn) noexcept;
    uint32_t effective_mss() const noexcept;
    // Options of a segment other than a SYN: timestamps, a pending D-SACK, the out-of-order
    // queue's SACK blocks (what send_segment() sends, minus consuming the D-SACK).
    TcpOptions segment_options(uint8_t tcp_flags) const noexcept;
    // Payload bytes the next data segment can carry: effective_mss() less its SACK blocks. The MSS
    // bounds data and options together (RFC 6691); a full segment with SACK blocks would exceed
    // the MTU, and a link drops it (Linux's tcp_current_mss() does the same).
    uint32_t segment_mss() const noexcept;
    uint32_t flight() const noexcept { return snd_nxt_ - snd_una_; }
    uint32_t ts_now() const noexcept;

    // timers
    static void on_rto(Timer& t);
    static void on_persist(Timer& t);
    static void on_delack(Timer& t);
    static void on_life(Timer& t);
    void rto_expired();
    void send_loss_probe();
    void retry_soon();
    bool loss_probe_allowed() const noexcept;
    void arm_rto();
    void enter_time_wait();
    void finish(TcpError error);  // to CLOSED: notify once, release the slot
    void dirty() noexcept;
    void reset_state();

    ConnectionConfig config_;
    ConnectionContext& ctx_;
    ConnectionHandler* handler_ = nullptr;
    Route route_{};
    TcpState state_ = TcpState::Closed;
    TcpError error_ = TcpError::None;

    ReceiveQueue rq_;
    SendQueue sq_;
    RttEstimator rtt_;
    NewRenoCongestion cc_;
    // SACK-based recovery (RFC 6675) when both sides agreed to SACK: what the peer holds beyond
    // snd_una, the highest byte retransmitted in this recovery (HighRxt), and the ACKs with new
    // SACK information since the last cumulative one (DupAcks).
    SackScoreboard sb_;
    Seq high_rxt_;
    uint32_t sack_dupacks_ = 0;
    // The last retransmission of the segment at snd_una, to see it lost too (below).
    bool rxt_head_valid_ = false;
    Seq rxt_head_end_;
    Seq rxt_head_snd_max_;
    uint64_t rxt_head_sent_us_ = 0;
    // Undoing a spurious recovery: the retransmissions of the last one not yet reported back as
    // duplicates (D-SACK), and the span they covered.
    uint32_t undo_retrans_ = 0;
    Seq undo_low_;
    Seq undo_high_;
    bool undo_possible_ = false;
    bool tlp_armed_ = false;  // the retransmission timer is set for a tail loss probe, not the RTO
    bool tlp_sent_ = false;   // a probe went out and no ACK has advanced snd_una since
    Timer rto_timer_{};
    Timer persist_timer_{};
    Timer delack_timer_{};
    Timer life_timer_{};  // FIN-WAIT-2 and TIME-WAIT

    // Send sequence space (RFC 9293 3.3.1). snd_max_ is the highest sequence number sent so far;
    // snd_nxt_ goes back to snd_una_ after a retransmission timeout (go-back-N).
    Seq iss_;
    Seq snd_una_;
    Seq snd_nxt_;
    Seq snd_max_;
    Seq snd_wl1_;
    Seq snd_wl2_;
    uint32_t snd_wnd_ = 0;       // scaled
    uint32_t max_snd_wnd_ = 0;   // largest window the peer offered (sender-side SWS avoidance)
    bool fin_pending_ = false;   // close() asked for a FIN after the queued data
    bool fin_sent_ = false;
    bool fin_acked_ = false;

    // Receive side. The receive queue owns rcv_nxt for data; the peer's FIN adds one after it.
    Seq irs_;
    Seq rcv_adv_;                // right edge of the window we last advertised (never moves left)
    bool peer_fin_seen_ = false; // a FIN arrived (maybe out of order) ending at peer_fin_seq_
    Seq peer_fin_seq_;
    bool fin_received_ = false;  // the FIN is in order: rcv_nxt counts it
    uint32_t segs_unacked_ = 0;  // in-order segments received since our last ACK
    uint64_t held_bytes_ = 0;    // delivered bytes whose mbufs the application kept
    // A duplicate segment to report in the next ACK's first SACK block (D-SACK, RFC 2883), so the
    // peer can tell a spurious retransmission (reordering, a lost ACK) from a loss.
    bool dsack_pending_ = false;
    SackBlock dsack_{};
    bool ack_now_ = false;
    bool ack_pending_ = false;

    // Options in force
    uint16_t peer_mss_ = 536;    // RFC 9293 3.7.1 default when the SYN has no MSS option
    uint8_t snd_wscale_ = 0;     // shift applied to the peer's window field
    uint8_t rcv_wscale_ = 0;     // shift the peer applies to ours
    bool ts_ok_ = false;
    bool sack_ok_ = false;
    uint32_t ts_recent_ = 0;
    Seq last_ack_sent_;
    uint32_t ts_offset_ = 0;
    uint32_t rcvmss_ = 0;

    // RTT timing of one segment at a time (Karn: invalid once anything is retransmitted)
    bool rtt_timing_ = false;
    Seq rtt_seq_;
    uint64_t rtt_start_us_ = 0;
    uint32_t retrans_cur_ = 0;   // consecutive timeouts of the segment at snd_una (and SYN retries)
    uint32_t persist_backoff_ = 0;
    bool sws_override_ = false;
    bool zero_window_answered_ = false;  // an ACK came while the peer's window was zero       // the persist timer fired with a small window: send what fits
    uint64_t last_invalid_ack_us_ = 0; // rate limit for answers to invalid segments (RFC 5961 7)
    bool invalid_ack_sent_ = false;

    // Notifications that wait for after_burst()
    bool notify_connected_ = false;
    uint64_t notify_acked_ = 0;
    bool notify_peer_closed_ = false;
    bool notify_closed_ = false;   // on_closed is due (entering TIME-WAIT or CLOSED)
    bool closed_notified_ = false;
    bool released_ = true;         // the endpoint got its slot back (true until opened)
    bool awaiting_route_ = false;  // taken by connect(), waiting for the peer's MAC: not opened yet
    bool route_cancelled_ = false;  // ... and the application closed it meanwhile
    bool dirty_ = false;

    ConnectionStats stats_{};
};

// The parts both input paths share (connection_input.cpp, connection_fast_path.cpp): inline, as
// the short path takes them for nearly every segment.
inline void Connection::take_send_window(const InSegment& s, uint32_t scaled_window) {
    if (!(snd_wl1_ < s.seq || (snd_wl1_ == s.seq && snd_wl2_ <= s.ack))) return;
    snd_wnd_ = scaled_window;
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    snd_wl1_ = s.seq;
    snd_wl2_ = s.ack;
    if (snd_wnd_ > 0) {
        if (TimerWheel::armed(persist_timer_)) ctx_.timers->cancel(persist_timer_);
        persist_backoff_ = 0;
    }
}

inline void Connection::note_rcvmss(const InSegment& s) noexcept {
    // A merged frame tells the sender's segment size only when the port gave it.
    if (!s.merged) rcvmss_ = std::max(rcvmss_, s.len);
    else if (s.merged_segsz != 0) rcvmss_ = std::max<uint32_t>(rcvmss_, s.merged_segsz);
}

inline void Connection::owe_ack_for_in_order(const InSegment& s, bool filled_hole) noexcept {
    segs_unacked_ += s.segments();
    ack_pending_ = true;
    // Every second segment is acknowledged at once (RFC 9293 3.8.6.3); so is filling a hole.
    if (segs_unacked_ >= 2 || filled_hole) ack_now_ = true;
}

}  // namespace nvmeddp::tcp
