// Segment arrival (RFC 9293 3.10.7), with RFC 5961's defences against blind RST/SYN, RFC 7323's
// PAWS and timestamp rules, and RFC 5681 / 6582 ACK processing.
#include <algorithm>

#include "pmd/packet/net_headers.hpp"
#include "tcp/connection.hpp"
#include "tcp/mbuf_trim.hpp"

namespace nvmeddp::tcp {

namespace flags = pmd::tcp_flags;

namespace {

void drop_payload(InSegment& s) {
    if (s.payload != nullptr) rte_pktmbuf_free(s.payload);
    s.payload = nullptr;
    s.len = 0;
}

// Sequence space the segment occupies: its data plus one each for SYN and FIN.
uint32_t seg_space(const InSegment& s) {
    return s.len + ((s.flags & flags::kSyn) ? 1 : 0) + ((s.flags & flags::kFin) ? 1 : 0);
}

}  // namespace

void Connection::take_peer_options(const TcpOptions& o, bool syn_ack) {
    (void)syn_ack;
    peer_mss_ = o.has_mss && o.mss > 0 ? o.mss : 536;
    // Window scaling is on only when both SYNs carry the option (RFC 7323 2.2).
    if (config_.window_scaling && o.has_wscale) {
        snd_wscale_ = o.wscale;
        rcv_wscale_ = config_.wscale();
    } else {
        snd_wscale_ = 0;
        rcv_wscale_ = 0;
    }
    ts_ok_ = config_.timestamps && o.has_timestamps;
    if (ts_ok_) ts_recent_ = o.ts_val;
    sack_ok_ = config_.sack && o.sack_permitted;
}

bool Connection::invalid_ack_allowed() noexcept {
    // RFC 5961 7 (and Linux's tcp_invalid_ratelimit): answers to segments we do not accept (out of
    // window, challenge ACKs, ACKs of unsent data) are limited to one per 500 ms per connection, so
    // two ends that disagree cannot keep each other answering at line rate.
    if (invalid_ack_sent_ && ctx_.now_us - last_invalid_ack_us_ < 500'000) return false;
    invalid_ack_sent_ = true;
    last_invalid_ack_us_ = ctx_.now_us;
    return true;
}

bool Connection::acceptable(const InSegment& s) const noexcept {
    // RFC 9293 3.10.7.4 with Linux's leniency at the left edge: a segment counts when it reaches the
    // point we last acknowledged (rcv_wup, our last ACK) and starts inside the window. The strict
    // rule drops a retransmission that is partly old together with the ACK it carries, and two
    // senders that both retransmit would then ignore each other's ACKs; the old bytes of such a
    // segment are trimmed by the receive queue instead.
    const Seq nxt = rq_.rcv_nxt() + (fin_received_ ? 1u : 0u);
    const uint32_t wnd = rcv_adv_ > nxt ? nxt.bytes_to(rcv_adv_) : 0;
    const Seq end = s.seq + seg_space(s);
    if (end < last_ack_sent_) return false;
    if (wnd == 0) return s.seq == nxt && seg_space(s) == 0;
    return s.seq <= nxt + wnd;
}

void Connection::input(InSegment& s) {
    stats_.segs_in += s.segments();
    if (s.len > 0) stats_.data_segs_in += s.segments();
    if (s.options_bad) ++stats_.option_errors;
    dirty();
    if (input_predicted(s)) return;

    switch (state_) {
        case TcpState::Closed:
        case TcpState::Listen:
            drop_payload(s);
            return;
        case TcpState::SynSent:
            input_syn_sent(s);
            return;
        default:
            break;
    }

    // PAWS (RFC 7323 5.3): a segment whose timestamp is older than the last one in order is an old
    // duplicate (from before a wrap of the sequence space); answer with an ACK, do not use it.
    if (ts_ok_ && s.options.has_timestamps && !(s.flags & flags::kRst) &&
        ddp::seq_lt(s.options.ts_val, ts_recent_)) {
        ++stats_.paws_rejected;
        drop_payload(s);
        ack_now_ = true;
        return;
    }

    if (!acceptable(s)) {
        ++stats_.out_of_window;
        if (s.len > 0 && s.seq + s.len <= rq_.rcv_nxt()) {
            ++stats_.dsack_dups;
            dsack_pending_ = true;
            dsack_ = SackBlock{s.seq, s.seq + s.len};
        }
        drop_payload(s);
        if (s.flags & flags::kRst) return;
        // In SYN-RECEIVED the peer has not seen our SYN-ACK yet (its SYN came again): send that.
        if (state_ == TcpState::SynReceived) {
            send_syn();
        } else if (s.len > 0 || invalid_ack_allowed()) {
            // Old data (a retransmission after our ACK was lost) is answered every time, the
            // peer needs that ACK to move on; anything else at the limited rate.
            ack_now_ = true;
        }
        return;
    }

    if (s.flags & flags::kRst) {
        drop_payload(s);
        // RFC 5961 3.2: only an RST at exactly rcv_nxt resets; one elsewhere in the window may be
        // blind, so it gets a challenge ACK, which a real peer answers with an exact RST.
        const Seq nxt = rq_.rcv_nxt() + (fin_received_ ? 1u : 0u);
        if (s.seq != nxt) {
            if (invalid_ack_allowed()) {
                ++stats_.challenge_acks;
                ack_now_ = true;
            }
            return;
        }
        finish(state_ == TcpState::SynReceived ? TcpError::Refused : TcpError::Reset);
        return;
    }

    if (s.flags & flags::kSyn) {
        drop_payload(s);
        // The peer's SYN again while we wait for the ACK of our SYN-ACK: that was lost, send it again.
        if (state_ == TcpState::SynReceived && s.seq == irs_) {
            send_syn();
            return;
        }
        // RFC 5961 4.2: a SYN on a synchronized connection gets a challenge ACK whatever its seq.
        if (invalid_ack_allowed()) {
            ++stats_.challenge_acks;
            ack_now_ = true;
        }
        return;
    }

    if (!(s.flags & flags::kAck)) {
        drop_payload(s);
        return;
    }

    // Still on a FIN-WAIT-2 connection that receives: its timeout counts from the last segment.
    if (state_ == TcpState::FinWait2) ctx_.timers->arm(life_timer_, ctx_.now_us + config_.fin_wait2_us);

    if (!process_ack(s)) return;

    switch (state_) {
        case TcpState::Established:
        case TcpState::FinWait1:
        case TcpState::FinWait2:
            process_data(s);
            break;
        case TcpState::TimeWait:
            // A retransmitted FIN: our last ACK was lost. ACK again and restart the 2 MSL wait.
            if (s.flags & flags::kFin) {
                ack_now_ = true;
                ctx_.timers->arm(life_timer_, ctx_.now_us + config_.time_wait_us);
            }
            drop_payload(s);
            break;
        default:
            // CLOSE-WAIT, CLOSING, LAST-ACK: the peer's FIN came already; nothing after it counts.
            // A segment with sequence space here is a retransmission (its FIN, when our ACK of it
            // was lost): ACK it again, or the peer retries until it gives up.
            if (seg_space(s) > 0) ack_now_ = true;
            drop_payload(s);
            break;
    }
}

void Connection::input_syn_sent(InSegment& s) {
    const bool has_ack = s.flags & flags::kAck;
    if (has_ack && (s.ack <= iss_ || s.ack > snd_max_)) {
        // Acknowledges something we never sent: a stale connection at the peer.
        if (!(s.flags & flags::kRst)) send_rst(s.ack, Seq(0), false);
        drop_payload(s);
        return;
    }
    if (s.flags & flags::kRst) {
        drop_payload(s);
        if (has_ack) finish(TcpError::Refused);
        return;
    }
    if (!(s.flags & flags::kSyn)) {
        drop_payload(s);
        return;
    }
    irs_ = s.seq;
    rq_.reset(s.seq + 1);
    last_ack_sent_ = s.seq + 1;
    take_peer_options(s.options, has_ack);
    cc_.reset(effective_mss());
    if (!has_ack) {
        // Simultaneous open (RFC 9293 3.5, figure 8): both sent SYNs; answer with SYN-ACK.
        state_ = TcpState::SynReceived;
        rcv_adv_ = rq_.rcv_nxt();
        send_syn();
        drop_payload(s);
        return;
    }
    if (rtt_timing_ && retrans_cur_ == 0) rtt_.sample(static_cast<uint32_t>(ctx_.now_us - rtt_start_us_));
    rtt_timing_ = false;
    snd_una_ = s.ack;
    if (snd_nxt_ < snd_una_) snd_nxt_ = snd_una_;
    // The window field of a SYN is never scaled (RFC 7323 2.2).
    snd_wnd_ = s.window;
    max_snd_wnd_ = snd_wnd_;
    snd_wl1_ = s.seq;
    snd_wl2_ = s.ack;
    retrans_cur_ = 0;
    rtt_.reset_backoff();
    ctx_.timers->cancel(rto_timer_);
    state_ = TcpState::Established;
    notify_connected_ = true;
    rcv_adv_ = rq_.rcv_nxt();
    window_to_advertise(false);  // the window our SYN offered, so data on the SYN-ACK fits it
    ack_now_ = true;
    // Data on a SYN-ACK is legal (not with our SYN carrying none, but a peer may): take it.
    if (s.len > 0) {
        s.seq = s.seq + 1;
        process_data(s);
    }
    drop_payload(s);
}

bool Connection::process_ack(InSegment& s) {
    if (state_ == TcpState::SynReceived) {
        if (s.ack <= snd_una_ || s.ack > snd_max_) {
            send_rst(s.ack, Seq(0), false);
            drop_payload(s);
            return false;
        }
        state_ = fin_pending_ ? TcpState::FinWait1 : TcpState::Established;
        notify_connected_ = true;
        snd_wl1_ = s.seq;
        snd_wl2_ = s.ack;
        snd_wnd_ = uint32_t{s.window} << snd_wscale_;
        max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    }

    if (s.ack > snd_max_) {
        // RFC 9293: an ACK for something not yet sent is answered with an ACK and dropped.
        if (invalid_ack_allowed()) ack_now_ = true;
        drop_payload(s);
        return false;
    }
    // RFC 5961 5: an ACK further back than any window the peer could have seen is blind (an
    // injection attempt, or a very stale segment): challenge ACK, and its data is not taken.
    if (s.ack < snd_una_ - std::max(max_snd_wnd_, effective_mss())) {
        if (invalid_ack_allowed()) {
            ++stats_.challenge_acks;
            ack_now_ = true;
        }
        drop_payload(s);
        return false;
    }
    // RFC 7323 4.3: remember the peer's timestamp of the segment that covers our last ACK, once
    // the segment is known to be good (a bogus one must not poison PAWS for the real ones).
    if (ts_ok_ && s.options.has_timestamps && s.seq <= last_ack_sent_) ts_recent_ = s.options.ts_val;

    const uint32_t scaled_window = uint32_t{s.window} << snd_wscale_;
    const Seq old_una = snd_una_;
    if (s.ack > snd_una_) {
        const uint32_t flight_before = snd_max_ - snd_una_;
        const uint32_t acked = snd_una_.bytes_to(s.ack);  // data, and a FIN when it is acknowledged
        const Seq data_ack = std::min(s.ack, sq_.end());
        uint32_t data_acked = 0;
        if (data_ack > sq_.una()) data_acked = sq_.acknowledge(data_ack);
        if (fin_sent_ && s.ack == sq_.end() + 1) fin_acked_ = true;
        stats_.bytes_acked += data_acked;
        notify_acked_ += data_acked;
        snd_una_ = s.ack;
        if (snd_nxt_ < snd_una_) snd_nxt_ = snd_una_;
        if (rtt_timing_ && s.ack >= rtt_seq_) {
            rtt_.sample(static_cast<uint32_t>(ctx_.now_us - rtt_start_us_));
            rtt_timing_ = false;
        }
        rtt_.reset_backoff();
        retrans_cur_ = 0;
        tlp_sent_ = false;
        if (sack_ok_) {
            cc_.on_sack_new_ack(acked, snd_una_);
        } else if (cc_.on_new_ack(acked, snd_una_, flight_before)) {
            retransmit_head();
        }
        if (snd_una_ == snd_max_) {
            ctx_.timers->cancel(rto_timer_);
        } else {
            arm_rto();  // RFC 6298 5.3: restart for the remaining data
        }
    } else if (!sack_ok_ && s.ack == snd_una_ && s.len == 0 && !(s.flags & (flags::kSyn | flags::kFin)) &&
               snd_max_ != snd_una_ && scaled_window == snd_wnd_) {
        // RFC 5681's duplicate ACK: nothing new acknowledged, no data, window unchanged, data outstanding.
        ++stats_.dup_acks_in;
        if (cc_.on_dup_ack(snd_una_, snd_max_, snd_max_ - snd_una_)) {
            ++stats_.fast_retransmits;
            retransmit_head();
        }
    }

    if (sack_ok_) {
        // RFC 5681's duplicate ACK, for a peer that agreed to SACK but sends no blocks.
        const bool classic_dup = s.ack == old_una && s.len == 0 && !(s.flags & (flags::kSyn | flags::kFin)) &&
                                 snd_max_ != snd_una_ && scaled_window == snd_wnd_ && s.options.sack_count == 0;
        sack_on_ack(s, snd_una_ > old_una, classic_dup);
    }

    if (snd_wnd_ == 0 && s.ack >= snd_una_) zero_window_answered_ = true;
    // Window update (RFC 9293 3.10.7.4): only from a segment not older than the last one used,
    // whose ACK is not below snd_una.
    if (s.ack >= snd_una_) take_send_window(s, scaled_window);

    if (fin_acked_) {
        switch (state_) {
            case TcpState::FinWait1:
                state_ = TcpState::FinWait2;
                ctx_.timers->arm(life_timer_, ctx_.now_us + config_.fin_wait2_us);
                break;
            case TcpState::Closing:
                enter_time_wait();
                break;
            case TcpState::LastAck:
                drop_payload(s);
                finish(TcpError::None);
                return false;
            default:
                break;
        }
    }
    return true;
}

void Connection::sack_on_ack(const InSegment& s, bool advanced, bool classic_dup) {
    const uint32_t mss = effective_mss();
    const SackScoreboard::Update u = sb_.on_ack(snd_una_, s.options.sack, s.options.sack_count, snd_max_);
    if (high_rxt_ < snd_una_) high_rxt_ = snd_una_;
    // RFC 6675's DupAck: an ACK that SACKs bytes not SACKed before; or, from a peer that sends no
    // SACK blocks after all, a duplicate ACK as RFC 5681 defines it (the scoreboard then stays
    // empty and recovery retransmits from snd_una, as NewReno would).
    const bool dup_ack = u.newly_sacked > 0 || classic_dup;
    if (dup_ack) ++stats_.dup_acks_in;
    if (advanced) sack_dupacks_ = 0;
    // A D-SACK for bytes we retransmitted in the last recovery: that copy was not needed. When all
    // of them come back so, the recovery was reordering, not loss, and its window cut is undone.
    if (u.dsack && undo_possible_ && s.options.sack_count > 0) {
        const SackBlock& d = s.options.sack[0];
        if (d.left >= undo_low_ && d.right <= undo_high_ && undo_retrans_ > 0 && --undo_retrans_ == 0) {
            cc_.undo_recovery();
            undo_possible_ = false;
            ++stats_.recoveries_undone;
        }
    }
    if (cc_.in_recovery()) {
        // A lost retransmission (RFC 6675 leaves it to the RTO; RACK, RFC 8985, finds it by time):
        // when bytes we sent after retransmitting the segment at snd_una have been SACKed, and a
        // reordering window (a quarter of the minimum RTT) has passed, that retransmission did not
        // arrive either. It goes out again now instead of after a timeout of 200 ms or more.
        const uint64_t reordering_window = rtt_.min_rtt_us() / 4;
        if (rxt_head_valid_ && snd_una_ < rxt_head_end_ && sb_.highest_sacked() > rxt_head_snd_max_ &&
            ctx_.now_us - rxt_head_sent_us_ > reordering_window) {
            ++stats_.lost_retransmits;
            Seq seq;
            uint32_t len = 0;
            if (sb_.next_unsacked(snd_una_, mss, &seq, &len)) retransmit(seq, len);
        }
        return;  // output() goes on with the recovery
    }
    if (dup_ack) ++sack_dupacks_;
    const bool loss = sack_dupacks_ >= SackScoreboard::kDupThresh || (dup_ack && sb_.is_lost(snd_una_, mss));
    if (!loss || snd_una_ == snd_max_ || !cc_.sack_recovery_allowed(snd_una_)) return;
    // RFC 6675 5 (4): recovery starts with the first unacknowledged segment, lost or not.
    cc_.enter_sack_recovery(snd_una_.bytes_to(snd_max_), snd_max_);
    ++stats_.fast_retransmits;
    rxt_head_valid_ = false;
    undo_possible_ = true;
    undo_retrans_ = 0;
    undo_low_ = snd_max_;
    undo_high_ = snd_una_;
    rtt_timing_ = false;
    high_rxt_ = snd_una_;
    Seq seq;
    uint32_t len = 0;
    if (sb_.next_unsacked(snd_una_, mss, &seq, &len)) {
        if (const uint32_t sent = retransmit(seq, len); sent > 0) high_rxt_ = seq + sent;
    }
    arm_rto();
}

void Connection::process_data(InSegment& s) {
    if (s.flags & flags::kFin) {
        peer_fin_seen_ = true;
        peer_fin_seq_ = s.seq + s.len;
    }
    if (s.len > 0) {
        // Cut at the right edge of the window we offered; a FIN beyond it is not taken either.
        const Seq end = s.seq + s.len;
        if (end > rcv_adv_) {
            const uint32_t over = rcv_adv_.bytes_to(end) > s.len ? s.len : rcv_adv_.bytes_to(end);
            if (over >= s.len) {
                drop_payload(s);
                ack_now_ = true;
                return;
            }
            trim_back(s.payload, over);
            s.len -= over;
            if (peer_fin_seen_ && peer_fin_seq_ == end) peer_fin_seen_ = false;
        }
        note_rcvmss(s);
        const bool had_ooo = rq_.ooo_segments() > 0;
        const Seq nxt_before = rq_.rcv_nxt();
        // Bytes below rcv_nxt are a duplicate: the first such run is reported back (D-SACK).
        if (s.seq < nxt_before) {
            dsack_pending_ = true;
            dsack_ = SackBlock{s.seq, std::min(s.seq + s.len, nxt_before)};
        }
        const RxInsert r = rq_.insert(RxSegment{s.payload, s.seq, s.len});
        s.payload = nullptr;
        if (r.no_room) {
            // Dropped, not a duplicate: no D-SACK (it would tell the sender we hold these bytes).
            // The ACK at once says where we are.
            ++stats_.ooo_dropped;
            ack_now_ = true;
        } else if (r.in_order_bytes == 0 && r.parked_bytes == 0 && r.ooo_bytes > 0) {
            // Out of order: a duplicate ACK with SACK blocks at once, so the sender repairs quickly.
            ++stats_.rcv_ooopack;
            ack_now_ = true;
        } else if (r.in_order_bytes == 0 && r.parked_bytes == 0) {
            ++stats_.dsack_dups;
            if (!dsack_pending_) {  // a copy of something queued out of order
                dsack_pending_ = true;
                dsack_ = SackBlock{s.seq, s.seq + s.len};
            }
            ack_now_ = true;
        } else {
            owe_ack_for_in_order(s, had_ooo);
        }
    }
    process_fin_if_in_order();
}

void Connection::process_fin() {
    fin_received_ = true;
    ack_now_ = true;
    notify_peer_closed_ = true;
    switch (state_) {
        case TcpState::Established:
            state_ = TcpState::CloseWait;
            break;
        case TcpState::FinWait1:
            if (fin_acked_) {
                enter_time_wait();
            } else {
                state_ = TcpState::Closing;
            }
            break;
        case TcpState::FinWait2:
            enter_time_wait();
            break;
        default:
            break;
    }
}

}  // namespace nvmeddp::tcp
