// A connection's life: opening, the application's calls, after-burst delivery and notification,
// its timers, and the end (CLOSED, with the slot handed back to the endpoint).
#include "tcp/connection.hpp"

#include <algorithm>

#include "pmd/packet/net_headers.hpp"

namespace nvmeddp::tcp {

namespace flags = pmd::tcp_flags;

namespace {

RttEstimator::Config rtt_config(const ConnectionConfig& c) {
    RttEstimator::Config r;
    r.initial_rto_us = c.initial_rto_us;
    r.min_rto_us = c.min_rto_us;
    return r;
}

Connection& owner_of(Timer& t) { return *static_cast<Connection*>(t.owner); }

}  // namespace

Connection::Connection(const ConnectionConfig& config, ConnectionContext& context)
    : config_(config),
      ctx_(context),
      rq_(config.ooo_segments, config.ready_segments, context.ooo_reserve),
      rtt_(rtt_config(config)) {
    rto_timer_.on_expire = &Connection::on_rto;
    persist_timer_.on_expire = &Connection::on_persist;
    delack_timer_.on_expire = &Connection::on_delack;
    life_timer_.on_expire = &Connection::on_life;
    for (Timer* t : {&rto_timer_, &persist_timer_, &delack_timer_, &life_timer_}) t->owner = this;
}

Connection::~Connection() {
    for (Timer* t : {&rto_timer_, &persist_timer_, &delack_timer_, &life_timer_}) ctx_.timers->cancel(*t);
}

void Connection::dirty() noexcept {
    if (dirty_) return;
    dirty_ = true;
    if (ctx_.mark_dirty != nullptr) ctx_.mark_dirty(ctx_.owner, *this);
}

void Connection::reset_state() {
    for (Timer* t : {&rto_timer_, &persist_timer_, &delack_timer_, &life_timer_}) ctx_.timers->cancel(*t);
    error_ = TcpError::None;
    rtt_ = RttEstimator(rtt_config(config_));
    snd_wnd_ = max_snd_wnd_ = 0;
    fin_pending_ = fin_sent_ = fin_acked_ = false;
    peer_fin_seen_ = fin_received_ = false;
    segs_unacked_ = 0;
    held_bytes_ = 0;
    dsack_pending_ = false;
    ack_now_ = ack_pending_ = false;
    peer_mss_ = 536;
    snd_wscale_ = rcv_wscale_ = 0;
    ts_ok_ = sack_ok_ = false;
    ts_recent_ = 0;
    rcvmss_ = 0;
    rtt_timing_ = false;
    retrans_cur_ = persist_backoff_ = 0;
    sack_dupacks_ = 0;
    tlp_armed_ = tlp_sent_ = false;
    undo_possible_ = rxt_head_valid_ = false;
    sws_override_ = zero_window_answered_ = invalid_ack_sent_ = false;
    notify_connected_ = notify_peer_closed_ = notify_closed_ = closed_notified_ = false;
    notify_acked_ = 0;
    released_ = false;
    awaiting_route_ = route_cancelled_ = false;
    stats_ = ConnectionStats{};
}

void Connection::begin(const Route& route, Seq iss, ConnectionHandler* handler) {
    reset_state();
    route_ = route;
    handler_ = handler;
    iss_ = snd_una_ = snd_nxt_ = snd_max_ = iss;
    // A timestamp clock offset per connection (RFC 7323 7.1), derived from the random ISN.
    ts_offset_ = iss.raw() * 2654435761u;
    sq_.reset(iss + 1);
    sb_.reset(iss);
    high_rxt_ = iss;
}

void Connection::open_active(const Route& route, Seq iss, ConnectionHandler* handler) {
    begin(route, iss, handler);
    state_ = TcpState::SynSent;
    cc_.reset(effective_mss());
    send_syn();
    dirty();
}

void Connection::open_passive(const Route& route, Seq iss, InSegment& syn, ConnectionHandler* handler) {
    begin(route, iss, handler);
    irs_ = syn.seq;
    rq_.reset(syn.seq + 1);
    last_ack_sent_ = syn.seq + 1;
    rcv_adv_ = rq_.rcv_nxt();
    take_peer_options(syn.options, false);
    snd_wnd_ = syn.window;  // unscaled in a SYN
    max_snd_wnd_ = snd_wnd_;
    snd_wl1_ = syn.seq;
    state_ = TcpState::SynReceived;
    cc_.reset(effective_mss());
    // Data on a SYN is not taken (no TCP Fast Open): the peer sends it again once we are open.
    if (syn.payload != nullptr) rte_pktmbuf_free(syn.payload);
    syn.payload = nullptr;
    send_syn();
    dirty();
}

uint64_t Connection::send_space() const noexcept {
    return sq_.size() >= config_.snd_buf ? 0 : config_.snd_buf - sq_.size();
}

size_t Connection::send(std::span<const uint8_t> bytes, uint32_t* crc_state) {
    if (state_ != TcpState::Established && state_ != TcpState::CloseWait) return 0;
    if (fin_pending_) return 0;
    const size_t n = std::min<uint64_t>(bytes.size(), send_space());
    const size_t taken = sq_.append_copy(bytes.first(n), ctx_.pool, crc_state);
    if (taken > 0) dirty();
    return taken;
}

bool Connection::send(rte_mbuf* chain) {
    if (state_ != TcpState::Established && state_ != TcpState::CloseWait) return false;
    if (fin_pending_ || chain == nullptr || chain->pkt_len > send_space()) return false;
    if (!sq_.append(chain)) return false;
    dirty();
    return true;
}

void Connection::consumed(uint64_t bytes) {
    const uint64_t before = held_bytes_;
    held_bytes_ -= std::min(bytes, held_bytes_);
    // A window update when the opening is worth a segment or half the buffer (RFC 9293 3.8.6.2.2's
    // receiver-side silly window avoidance): smaller openings ride on the next ACK.
    const uint64_t opened = before - held_bytes_;
    if (opened >= 2 * uint64_t{effective_mss()} || opened >= config_.rcv_buf / 2 ||
        (held_bytes_ == 0 && opened > 0)) {
        if (synchronized(state_)) ack_now_ = true;
        dirty();
    }
}

void Connection::close() {
    if (awaiting_route_) {
        route_cancelled_ = true;
        return;
    }
    switch (state_) {
        case TcpState::SynSent:
            finish(TcpError::Aborted);
            return;
        case TcpState::SynReceived:
            // Our SYN is not acknowledged yet: the FIN waits until it is (then FIN-WAIT-1), so a
            // retransmission never mistakes the SYN's sequence number for data.
            fin_pending_ = true;
            break;
        case TcpState::Established:
            state_ = TcpState::FinWait1;
            fin_pending_ = true;
            break;
        case TcpState::CloseWait:
            state_ = TcpState::LastAck;
            fin_pending_ = true;
            break;
        default:
            return;
    }
    dirty();
}

void Connection::abort() {
    if (awaiting_route_) {
        route_cancelled_ = true;
        return;
    }
    if (state_ == TcpState::Closed) return;
    if (synchronized(state_) && state_ != TcpState::TimeWait) {
        send_rst(snd_max_, rq_.rcv_nxt() + (fin_received_ ? 1u : 0u), true);
    }
    finish(TcpError::Aborted);
}

void Connection::finish(TcpError error) {
    if (state_ == TcpState::Closed) return;
    for (Timer* t : {&rto_timer_, &persist_timer_, &delack_timer_, &life_timer_}) ctx_.timers->cancel(*t);
    state_ = TcpState::Closed;
    if (!closed_notified_) {
        error_ = error;
        notify_closed_ = true;
    }
    dirty();
}

void Connection::enter_time_wait() {
    state_ = TcpState::TimeWait;
    for (Timer* t : {&rto_timer_, &persist_timer_}) ctx_.timers->cancel(*t);
    ctx_.timers->arm(life_timer_, ctx_.now_us + config_.time_wait_us);
    // Both sides are done: the application hears of it now, the slot stays taken for 2 MSL.
    notify_closed_ = true;
    dirty();
}

void Connection::after_burst() {
    dirty_ = false;
    if (notify_connected_) {
        notify_connected_ = false;
        if (handler_ != nullptr) handler_->on_connected(*this);
    }
    // deliver() may move out-of-order segments that became in order into the ready list as it
    // finishes (when the list was full): deliver until it is empty, then see whether the FIN now is.
    while (rq_.ready_count() > 0) {
        stats_.bytes_received += rq_.ready_bytes();  // deliver() hands over every ready segment
        rq_.deliver([this](std::span<RxSegment> segments) {
            if (handler_ != nullptr) handler_->on_data(*this, segments);
            for (const RxSegment& s : segments) {
                if (s.m == nullptr) held_bytes_ += s.len;  // kept: the window stays closed by it
            }
        });
        process_fin_if_in_order();
    }
    if (notify_peer_closed_ && state_ == TcpState::Closed) notify_peer_closed_ = false;
    if (notify_acked_ > 0) {
        const uint64_t acked = notify_acked_;
        notify_acked_ = 0;
        if (handler_ != nullptr) handler_->on_acked(*this, acked);
    }
    if (notify_peer_closed_) {
        notify_peer_closed_ = false;
        if (handler_ != nullptr) handler_->on_peer_closed(*this);
    }
    output();
    if (ack_now_ && state_ != TcpState::Closed) {
        send_ack_now();
    } else if (ack_pending_ && !TimerWheel::armed(delack_timer_)) {
        ctx_.timers->arm(delack_timer_, ctx_.now_us + config_.delayed_ack_us);
    }
    if (notify_closed_ && !closed_notified_) {
        notify_closed_ = false;
        closed_notified_ = true;
        ConnectionHandler* h = handler_;
        if (h != nullptr) h->on_closed(*this, error_);
    }
    if (state_ == TcpState::Closed && !released_) {
        released_ = true;
        handler_ = nullptr;
        rq_.reset(Seq(0));
        sq_.reset(Seq(0));
        if (ctx_.released != nullptr) ctx_.released(ctx_.owner, *this);
    }
}

bool Connection::loss_probe_allowed() const noexcept {
    // Tail loss probe (RFC 8985 7): with SACK, a loss at the end of a flight leaves too few
    // segments behind it for duplicate ACKs. After PTO = 2*SRTT without an ACK, one probe goes out
    // and its ACK's SACK blocks start a fast recovery, instead of waiting out the RTO (>= 200 ms).
    // A single segment in flight may be waiting for the peer's delayed ACK (RFC 8985's WCDelAckT,
    // 200 ms), so the probe only comes before the RTO when more than one is out.
    const bool data_state = state_ == TcpState::Established || state_ == TcpState::CloseWait ||
                            state_ == TcpState::FinWait1 || state_ == TcpState::Closing || state_ == TcpState::LastAck;
    return sack_ok_ && data_state && !tlp_sent_ && rtt_.has_sample() && !cc_.in_recovery() && retrans_cur_ == 0 &&
           snd_una_.bytes_to(snd_max_) > effective_mss();
}

void Connection::arm_rto() {
    const uint64_t rto = rtt_.rto_us();
    tlp_armed_ = false;
    if (loss_probe_allowed()) {
        // At least 10 ms, as Linux has it: on a LAN 2*SRTT is microseconds, less than a peer's
        // scheduling jitter, and every probe then would be a spurious retransmission.
        const uint64_t pto = std::max<uint64_t>(2 * uint64_t{rtt_.srtt_us()}, 10'000);
        if (pto < rto) {
            tlp_armed_ = true;
            ctx_.timers->arm(rto_timer_, ctx_.now_us + pto);
            return;
        }
    }
    ctx_.timers->arm(rto_timer_, ctx_.now_us + rto);
}

void Connection::send_loss_probe() {
    tlp_sent_ = true;
    ++stats_.loss_probes;
    const uint32_t mss = segment_mss();
    const Seq data_end = sq_.end();
    // New data if there is some the peer's window takes (RFC 8985 7.3), else the last segment again.
    const uint32_t fresh = std::min({mss, unsent(), peer_window_room()});
    if (fresh > 0 && snd_nxt_ == snd_max_) {
        send_at_nxt(fresh);
    } else {
        const Seq last_end = std::min(snd_max_, data_end);
        const uint32_t outstanding = snd_una_ < last_end ? snd_una_.bytes_to(last_end) : 0;
        const uint32_t len = std::min(mss, outstanding);
        if (len > 0) {
            retransmit(last_end - len, len);
        } else if (fin_sent_ && !fin_acked_) {
            if (send_segment(data_end, 0, flags::kAck | flags::kFin)) ++stats_.total_retrans;
        }
    }
    arm_rto();
}

void Connection::on_rto(Timer& t) {
    Connection& c = owner_of(t);
    if (c.tlp_armed_) {
        c.tlp_armed_ = false;
        c.send_loss_probe();
        c.dirty();
        return;
    }
    c.rto_expired();
    c.dirty();
}

void Connection::rto_expired() {
    switch (state_) {
        case TcpState::SynSent:
        case TcpState::SynReceived:
            ++stats_.timeouts;
            if (retrans_cur_ >= config_.syn_retries) {
                finish(TcpError::TimedOut);
                return;
            }
            ++retrans_cur_;
            ++stats_.total_retrans;
            rtt_.backoff();
            rtt_timing_ = false;
            send_syn();
            return;
        case TcpState::Closed:
        case TcpState::Listen:
        case TcpState::TimeWait:
            return;
        default:
            break;
    }
    if (snd_una_ == snd_max_) return;
    ++stats_.timeouts;
    if (snd_wnd_ == 0) {
        // The peer shrank its window to zero with our data in flight: the retransmission becomes a
        // window probe (the head segment, outside the window), and the RTO backs off; the peer's
        // answers (ACKs with window 0) show it is alive, so they do not count toward giving up.
        if (!zero_window_answered_ && retrans_cur_ >= config_.max_retransmits) {
            finish(TcpError::TimedOut);
            return;
        }
        if (!zero_window_answered_) ++retrans_cur_;
        zero_window_answered_ = false;
        rtt_.backoff();
        ++stats_.window_probes;
        retransmit(snd_una_, std::min(effective_mss(), snd_una_ < sq_.end() ? snd_una_.bytes_to(sq_.end()) : 0u));
        arm_rto();
        return;
    }
    if (retrans_cur_ >= config_.max_retransmits) {
        finish(TcpError::TimedOut);
        return;
    }
    ++retrans_cur_;
    cc_.on_timeout(snd_max_ - snd_una_, snd_max_);
    // The receiver may have dropped what it SACKed (RFC 2018 allows reneging): start afresh.
    sb_.reset(snd_una_);
    high_rxt_ = snd_una_;
    sack_dupacks_ = 0;
    undo_possible_ = false;  // a timeout's window cut stays
    rtt_.backoff();
    rtt_timing_ = false;
    // Go-back-N from the first unacknowledged byte (RFC 6298 5.4), as slow start lets it.
    snd_nxt_ = snd_una_;
    output();
    arm_rto();
}

void Connection::retry_soon() {
    // A send failed for lack of mbufs: come back in a millisecond when no other timer would (with
    // nothing in flight, no ACK brings us back either).
    if (!TimerWheel::armed(persist_timer_) && !TimerWheel::armed(rto_timer_)) {
        ctx_.timers->arm(persist_timer_, ctx_.now_us + 1'000);
    }
}

void Connection::on_persist(Timer& t) {
    Connection& c = owner_of(t);
    c.dirty();  // after_burst runs output() and any ACK still owed
    if (c.snd_nxt_ >= c.sq_.end() || !synchronized(c.state_)) return;
    if (c.snd_wnd_ > 0) {
        c.sws_override_ = true;  // a window too small for a full segment: send what fits now
        return;
    }
    // A probe the peer must answer with its window: an ACK for a byte it already has.
    c.send_segment(c.snd_una_ - 1, 0, flags::kAck);
    ++c.stats_.window_probes;
    if (c.persist_backoff_ < 10) ++c.persist_backoff_;
    const uint64_t wait = std::min<uint64_t>(uint64_t{c.rtt_.rto_us()} << c.persist_backoff_, 120'000'000);
    c.ctx_.timers->arm(c.persist_timer_, c.ctx_.now_us + wait);
}

void Connection::on_delack(Timer& t) {
    Connection& c = owner_of(t);
    if (!c.ack_pending_ || c.state_ == TcpState::Closed) return;
    ++c.stats_.acks_delayed;
    c.send_ack_now();
    c.dirty();
}

void Connection::on_life(Timer& t) {
    Connection& c = owner_of(t);
    if (c.state_ == TcpState::TimeWait) {
        c.finish(TcpError::None);
    } else if (c.state_ == TcpState::FinWait2) {
        // The peer sent nothing for fin_wait2_us and never closed its side: we give up on it, and
        // say so (to the peer with a reset, to the application as a timeout), never as a close.
        c.send_rst(c.snd_max_, c.rq_.rcv_nxt(), true);
        c.finish(TcpError::TimedOut);
    }
}

ConnectionSnapshot Connection::snapshot() const noexcept {
    ConnectionSnapshot n;
    n.state = to_string(state_);
    n.rto_us = rtt_.rto_us();
    n.srtt_us = rtt_.srtt_us();
    n.rttvar_us = rtt_.rttvar_us();
    n.min_rtt_us = rtt_.min_rtt_us();
    n.mss = effective_mss();
    n.advmss = config_.mss;
    n.rcvmss = rcvmss_;
    n.cwnd_bytes = cc_.cwnd();
    n.ssthresh_bytes = cc_.ssthresh();
    n.snd_wnd = snd_wnd_;
    const Seq nxt = rq_.rcv_nxt() + (fin_received_ ? 1u : 0u);
    n.rcv_wnd = rcv_adv_ > nxt ? nxt.bytes_to(rcv_adv_) : 0;
    n.snd_wscale = snd_wscale_;
    n.rcv_wscale = rcv_wscale_;
    n.ts = ts_ok_;
    n.sack = sack_ok_;
    const uint32_t mss = n.mss ? n.mss : 1;
    n.unacked_segs = (snd_max_ - snd_una_ + mss - 1) / mss;
    n.retrans_cur = retrans_cur_;
    return n;
}

std::string Connection::info() const { return format_ss(snapshot(), stats_); }

}  // namespace nvmeddp::tcp
