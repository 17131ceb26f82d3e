// What a connection sends: data segments within the peer's window and the congestion window
// (Nagle off, sender-side silly-window avoidance on), retransmissions, ACKs with timestamps and SACK
// blocks, SYN / SYN-ACK, FIN and RST.
#include <algorithm>
#include <array>

#include "pmd/packet/net_headers.hpp"
#include "tcp/connection.hpp"

namespace nvmeddp::tcp {

namespace flags = pmd::tcp_flags;

namespace {

// Payloads up to this size are copied into the header mbuf: cheaper than an indirect mbuf per
// slice, and it keeps short frames in one segment for ports without multi-segment tx.
constexpr uint32_t kCopyBelow = 256;
// The largest payload copied for a port that sends single-segment frames only (a jumbo frame's).
constexpr uint32_t kMaxLinearPayload = 9216;
// The most segments a TSO frame is cut into: a peer with a small MSS would otherwise ask for
// hundreds, past what ports take per frame (net_nvmeddp cuts at most 128).
constexpr uint32_t kMaxTsoSegments = 64;

}  // namespace

uint32_t Connection::effective_mss() const noexcept {
    // The smaller of what the peer takes and what we send on our link, less the timestamp option
    // every segment carries (RFC 7323: the MSS does not count options).
    uint32_t mss = std::min<uint32_t>(peer_mss_, config_.mss);
    if (ts_ok_) mss -= 12;
    return std::max<uint32_t>(mss, 64);
}

TcpOptions Connection::segment_options(uint8_t tcp_flags) const noexcept {
    TcpOptions o;
    o.has_timestamps = ts_ok_;
    if (sack_ok_ && dsack_pending_ && (tcp_flags & flags::kAck)) {
        o.sack[0] = dsack_;  // D-SACK first (RFC 2883 4), then the regular blocks
        o.sack_count = 1;
    }
    if (sack_ok_ && rq_.ooo_segments() > 0) {
        o.sack_count = static_cast<uint8_t>(
            o.sack_count + rq_.sack_blocks(o.sack + o.sack_count, kMaxSackBlocks - o.sack_count));
    }
    if (o.has_timestamps) {
        o.ts_val = ts_now();
        o.ts_ecr = (tcp_flags & flags::kAck) ? ts_recent_ : 0;
    }
    return o;
}

uint32_t Connection::segment_mss() const noexcept {
    const uint32_t mss = effective_mss();
    if (!sack_ok_ || (!dsack_pending_ && rq_.ooo_segments() == 0)) return mss;
    const uint32_t sack_bytes = static_cast<uint32_t>(options_size(segment_options(flags::kAck))) - (ts_ok_ ? 12u : 0u);
    return mss > sack_bytes + 64 ? mss - sack_bytes : 64;
}

uint32_t Connection::ts_now() const noexcept {
    // A 1 ms timestamp clock (RFC 7323 5.4: between 1 ms and 1 s per tick), offset per connection.
    return static_cast<uint32_t>(ctx_.now_us / 1000) + ts_offset_;
}

uint16_t Connection::window_to_advertise(bool syn) noexcept {
    const Seq nxt = rq_.rcv_nxt() + (fin_received_ ? 1u : 0u);
    // The space beyond rcv_nxt is rcv_buf less what waits for delivery and what the application
    // kept from on_data and has not consumed() yet. The right edge never moves left (RFC 9293
    // 3.8.6.2.2): the window closes only as rcv_nxt advances into it.
    const uint64_t waiting = rq_.ready_bytes() + held_bytes_;
    uint32_t space = waiting >= config_.rcv_buf ? 0 : static_cast<uint32_t>(config_.rcv_buf - waiting);
    if (rcv_adv_ > nxt + space) space = nxt.bytes_to(rcv_adv_);
    if (syn) {
        const uint32_t field = std::min<uint32_t>(space, 0xFFFF);
        rcv_adv_ = nxt + field;
        return static_cast<uint16_t>(field);
    }
    // Rounded up: rounding down would move the right edge we hold left by up to 2^wscale - 1 bytes.
    const uint32_t field = std::min<uint32_t>((space + (1u << rcv_wscale_) - 1) >> rcv_wscale_, 0xFFFF);
    const Seq edge = nxt + (field << rcv_wscale_);
    if (edge > rcv_adv_) rcv_adv_ = edge;
    return static_cast<uint16_t>(field);
}

bool Connection::send_segment(Seq seq, uint32_t len, uint8_t tcp_flags) {
    rte_mbuf* hdr = rte_pktmbuf_alloc(ctx_.pool);
    if (hdr == nullptr) {
        ++stats_.tx_no_mbuf;
        retry_soon();
        return false;
    }
    const bool syn = tcp_flags & flags::kSyn;
    uint32_t tso_segsz = 0;  // non-zero: a TSO frame the port cuts into segments of this size
    TcpOptions o;
    if (syn) {
        o.has_mss = true;
        o.mss = config_.mss;
        if (config_.window_scaling && (state_ == TcpState::SynSent || snd_wscale_ != 0 || rcv_wscale_ != 0)) {
            o.has_wscale = true;
            o.wscale = config_.wscale();
        }
        o.sack_permitted = state_ == TcpState::SynSent ? config_.sack : sack_ok_;
        o.has_timestamps = state_ == TcpState::SynSent ? config_.timestamps : ts_ok_;
    } else {
        o = segment_options(tcp_flags);
        if (sack_ok_ && dsack_pending_ && (tcp_flags & flags::kAck)) dsack_pending_ = false;
        // Data and options together within the MSS (RFC 6691), or the frame exceeds the MTU and is
        // lost on the link. More than that is a TSO frame (output() sends those only where the
        // port cuts them), each of whose segments carries these options.
        const uint32_t limit = std::min<uint32_t>(peer_mss_, config_.mss);
        const uint32_t with_options = static_cast<uint32_t>(options_size(o));
        if (ctx_.tso_max_payload != 0 && len > 0 && len + with_options > limit) {
            tso_segsz = limit > with_options + 64 ? limit - with_options : 64;
            if (ctx_.tso_max_wire_segment != 0) {
                const auto headers = static_cast<uint32_t>(header_size(route_, &o));
                if (ctx_.tso_max_wire_segment > headers + 64) tso_segsz = std::min(tso_segsz, ctx_.tso_max_wire_segment - headers);
            }
        }
        // Without TSO callers size data by segment_mss(), so this only catches a segment sized
        // before SACK blocks appeared: it keeps its bytes and carries fewer blocks.
        while (tso_segsz == 0 && len > 0 && o.sack_count > 0 && len + options_size(o) > limit) {
            --o.sack_count;
            ++stats_.sack_blocks_left_out;
        }
    }
    if (syn && o.has_timestamps) {
        o.ts_val = ts_now();
        o.ts_ecr = (tcp_flags & flags::kAck) ? ts_recent_ : 0;
    }

    SegmentFields f;
    f.seq = seq;
    f.ack = rq_.rcv_nxt() + (fin_received_ ? 1u : 0u);
    f.flags = tcp_flags;
    f.window = window_to_advertise(syn);
    f.options = &o;
    f.tso_segsz = static_cast<uint16_t>(tso_segsz);

    rte_mbuf* frame = nullptr;
    if (len == 0) {
        frame = ctx_.builder->build_copy(hdr, route_, f, {});
    } else if (len <= kCopyBelow || (ctx_.linear_tx && len <= kMaxLinearPayload)) {
        std::array<uint8_t, kMaxLinearPayload> bytes;
        // Only bytes the application gave ever go out: a range not queued fails the send.
        if (sq_.copy_out(seq, len, bytes.data())) frame = ctx_.builder->build_copy(hdr, route_, f, {bytes.data(), len});
    } else {
        rte_mbuf* payload = sq_.slice(seq, len, ctx_.pool);
        if (payload == nullptr) {
            rte_pktmbuf_free(hdr);
            ++stats_.tx_no_mbuf;
            retry_soon();
            return false;
        }
        frame = ctx_.builder->build(hdr, route_, f, payload);
        if (frame == nullptr) rte_pktmbuf_free(payload);
    }
    if (frame == nullptr) {
        rte_pktmbuf_free(hdr);
        ++stats_.tx_no_mbuf;
        retry_soon();
        return false;
    }
    // A port that takes nothing and a full batch: the segment goes later, as without an mbuf (the
    // caller does not advance past it).
    if (!ctx_.tx->push(frame)) {
        ++stats_.tx_no_mbuf;
        retry_soon();
        return false;
    }
    // Counted as the segments on the wire, as Linux counts a GSO frame's.
    const uint32_t segments = tso_segsz != 0 ? (len + tso_segsz - 1) / tso_segsz : 1;
    stats_.segs_out += segments;
    if (len > 0) {
        stats_.data_segs_out += segments;
        stats_.bytes_sent += len;
    }
    if (tso_segsz != 0) ++stats_.tso_frames_out;
    if (tcp_flags & flags::kAck) {
        last_ack_sent_ = f.ack;
        ack_now_ = false;
        ack_pending_ = false;
        segs_unacked_ = 0;
        ctx_.timers->cancel(delack_timer_);
    }
    return true;
}

// A pure ACK carries the highest sequence number sent (not snd_nxt, which a timeout rewinds): the
// peer takes it as in its window whatever we are retransmitting.
void Connection::send_ack_now() { send_segment(snd_max_, 0, flags::kAck); }

void Connection::send_rst(Seq seq, Seq ack, bool with_ack) {
    // RST segments carry no options we need; the builder still adds none when given none.
    rte_mbuf* hdr = rte_pktmbuf_alloc(ctx_.pool);
    if (hdr == nullptr) {
        ++stats_.tx_no_mbuf;
        return;
    }
    SegmentFields f;
    f.seq = seq;
    f.ack = ack;
    f.flags = static_cast<uint8_t>(flags::kRst | (with_ack ? flags::kAck : 0));
    rte_mbuf* frame = ctx_.builder->build_copy(hdr, route_, f, {});
    if (frame == nullptr) {
        rte_pktmbuf_free(hdr);
        return;
    }
    ++stats_.segs_out;
    ctx_.tx->push(frame);
}

void Connection::send_syn() {
    const uint8_t f = state_ == TcpState::SynSent ? flags::kSyn : static_cast<uint8_t>(flags::kSyn | flags::kAck);
    if (send_segment(iss_, 0, f)) {
        if (retrans_cur_ == 0 && !rtt_timing_) {
            rtt_timing_ = true;
            rtt_seq_ = iss_ + 1;
            rtt_start_us_ = ctx_.now_us;
        }
    }
    if (snd_max_ < iss_ + 1) snd_max_ = iss_ + 1;
    if (snd_nxt_ < iss_ + 1) snd_nxt_ = iss_ + 1;
    arm_rto();
}

void Connection::retransmit_head() {
    // The first unacknowledged segment again, without moving snd_nxt (fast retransmit, a partial
    // ACK in recovery). Karn: no RTT sample may come from a retransmitted range.
    rtt_timing_ = false;
    const Seq data_end = sq_.end();
    const uint32_t mss = effective_mss();
    if (snd_una_ < data_end) {
        retransmit(snd_una_, std::min(mss, snd_una_.bytes_to(data_end)));  // with the FIN when it is last
    } else if (fin_sent_ && !fin_acked_) {
        if (send_segment(snd_una_, 0, flags::kAck | flags::kFin)) ++stats_.total_retrans;
    }
    arm_rto();
}

uint32_t Connection::retransmit(Seq seq, uint32_t len) {
    // Never past the data: the FIN's sequence number is not data, whatever a SACK block claimed.
    const Seq data_end = sq_.end();
    if (seq < snd_una_ || seq >= data_end) return 0;
    // Nor more than a segment holds now: a range first sent without SACK blocks may have to
    // carry some this time (the rest goes out as its own segment).
    len = std::min({len, seq.bytes_to(data_end), segment_mss()});
    const bool fin = fin_sent_ && seq + len == data_end;
    rtt_timing_ = false;  // Karn: no RTT sample once anything is sent twice
    if (!send_segment(seq, len, static_cast<uint8_t>(flags::kAck | (fin ? flags::kFin : 0)))) return 0;
    ++stats_.total_retrans;
    stats_.bytes_retrans += len;
    if (undo_possible_) {
        ++undo_retrans_;
        if (seq < undo_low_) undo_low_ = seq;
        if (seq + len > undo_high_) undo_high_ = seq + len;
    }
    if (seq == snd_una_) {
        rxt_head_valid_ = true;
        rxt_head_end_ = seq + len;
        rxt_head_snd_max_ = snd_max_;
        rxt_head_sent_us_ = ctx_.now_us;
    }
    return len;
}

uint32_t Connection::unsent() const noexcept {
    const Seq data_end = sq_.end();
    return snd_nxt_ < data_end ? snd_nxt_.bytes_to(data_end) : 0;
}

uint32_t Connection::peer_window_room() const noexcept {
    const Seq right_edge = snd_una_ + snd_wnd_;
    return right_edge > snd_nxt_ ? snd_nxt_.bytes_to(right_edge) : 0;
}

bool Connection::send_at_nxt(uint32_t len) {
    // Below snd_max only after a timeout rewound snd_nxt (go-back-N): then it is a retransmission.
    const bool retransmission = snd_nxt_ < snd_max_;
    const bool fin = fin_pending_ && snd_nxt_ + len == sq_.end();
    const uint8_t f = static_cast<uint8_t>(flags::kAck | flags::kPsh | (fin ? flags::kFin : 0));
    if (!send_segment(snd_nxt_, len, f)) return false;
    if (retransmission) {
        ++stats_.total_retrans;
        stats_.bytes_retrans += std::min<uint32_t>(len, snd_nxt_.bytes_to(snd_max_));
        rtt_timing_ = false;
    } else if (!rtt_timing_) {
        rtt_timing_ = true;
        rtt_seq_ = snd_nxt_ + len;
        rtt_start_us_ = ctx_.now_us;
    }
    snd_nxt_ = snd_nxt_ + len;
    if (fin) {
        fin_sent_ = true;
        snd_nxt_ = snd_nxt_ + 1;
    }
    if (snd_max_ < snd_nxt_) snd_max_ = snd_nxt_;
    if (!TimerWheel::armed(rto_timer_)) arm_rto();
    return true;
}

void Connection::output_sack_recovery() {
    // RFC 6675 5 step (C): while the window has room for a segment beyond what the scoreboard
    // estimates in flight (pipe), send by NextSeg()'s rules in order: (1) a lost segment, (2) new
    // data, (3) an unSACKed one below the highest SACKed byte. Rule (4), the rescue retransmission,
    // is left to the retransmission timer.
    const uint32_t mss = effective_mss();
    uint32_t pipe = sb_.pipe(snd_max_, high_rxt_, mss);
    while (cc_.cwnd() >= pipe + mss) {
        Seq seq;
        uint32_t len = 0;
        if (sb_.next_lost(high_rxt_, mss, &seq, &len)) {
            const uint32_t sent = retransmit(seq, len);
            if (sent == 0) break;
            high_rxt_ = seq + sent;
            pipe += sent;
            continue;
        }
        const uint32_t available = unsent();
        const uint32_t seg = segment_mss();
        const uint32_t fresh = std::min({seg, available, peer_window_room()});
        if (fresh > 0 && (fresh == seg || fresh == available)) {
            if (!send_at_nxt(fresh)) break;
            pipe += fresh;
            continue;
        }
        if (sb_.next_unsacked(high_rxt_, mss, &seq, &len)) {
            const uint32_t sent = retransmit(seq, len);
            if (sent == 0) break;
            high_rxt_ = seq + sent;
            pipe += sent;
            continue;
        }
        break;
    }
}

void Connection::output() {
    const bool may_send_data = state_ == TcpState::Established || state_ == TcpState::CloseWait ||
                               ((state_ == TcpState::FinWait1 || state_ == TcpState::Closing ||
                                 state_ == TcpState::LastAck) &&
                                !fin_acked_);
    if (!may_send_data) return;
    if (sack_ok_ && cc_.in_recovery()) {
        output_sack_recovery();
        return;
    }
    const Seq data_end = sq_.end();
    bool sent_new = false;
    for (;;) {
        const uint32_t mss = segment_mss();  // SACK blocks take room from the data
        const uint32_t available = unsent();
        const bool retransmission = snd_nxt_ < snd_max_;
        // New data goes out in TSO frames of whole segments where the port cuts them; what a
        // timeout sends again goes segment by segment, as recovery does.
        const uint32_t frame_cap = ctx_.tso_max_payload > mss && !retransmission
                                       ? std::min(ctx_.tso_max_payload / mss, kMaxTsoSegments) * mss
                                       : mss;
        // What the peer's window allows beyond snd_nxt, and what the congestion window allows
        // (plus RFC 3042's limited transmit on the first duplicate ACKs).
        const uint32_t rwnd_room = peer_window_room();
        // With SACK the duplicate ACKs are counted here (sack_dupacks_), not by NewReno.
        const uint32_t allowance =
            sack_ok_ ? std::min<uint32_t>(sack_dupacks_, 2) * mss : cc_.limited_transmit_allowance();
        const uint32_t cwnd = cc_.cwnd() + allowance;
        const uint32_t cwnd_room = cwnd > flight() ? cwnd - flight() : 0;
        const uint32_t room = std::min(rwnd_room, cwnd_room);
        uint32_t len = std::min({frame_cap, available, room});
        // A TSO frame ends on a segment boundary unless it empties the queue: its last segment
        // would otherwise be a short one that silly window avoidance below holds back.
        if (len > mss && len < available) len = len / mss * mss;
        if (len == 0) {
            // FIN alone, once every byte went out (or again after a timeout rewound snd_nxt).
            if (fin_pending_ && snd_nxt_ == data_end && (!fin_sent_ || retransmission) && cwnd_room > 0) {
                if (!send_segment(snd_nxt_, 0, flags::kAck | flags::kFin)) break;
                if (retransmission) ++stats_.total_retrans;
                fin_sent_ = true;
                snd_nxt_ = data_end + 1;
                if (snd_max_ < snd_nxt_) snd_max_ = snd_nxt_;
                arm_rto();
            }
            break;
        }
        // Sender-side silly window avoidance (RFC 9293 3.8.6.2.1): a short segment only when it
        // empties the queue or the window is at least half the largest the peer offered.
        if (len < mss && len < available && len < max_snd_wnd_ / 2 && !sws_override_) break;
        sws_override_ = false;
        if (!send_at_nxt(len)) break;
        sent_new = !retransmission;
    }
    // RFC 8985 7.2: the probe timeout counts from the last new segment sent.
    if (sent_new && !tlp_armed_ && loss_probe_allowed()) arm_rto();
    // Data waits with nothing in flight, so no ACK will come by itself: the window is shut (only a
    // probe tells us when it opens, RFC 9293 3.8.6.1, since the ACK that opens it may be lost) or
    // too small to be worth a segment (the SWS override timer of 3.8.6.2.1 sends what fits).
    if (snd_nxt_ < data_end && snd_una_ == snd_max_ && !TimerWheel::armed(persist_timer_)) {
        ctx_.timers->arm(persist_timer_, ctx_.now_us + rtt_.rto_us());
    }
}

}  // namespace nvmeddp::tcp
