// Header prediction (Van Jacobson's, as Linux's tcp_rcv_established does it): on a receiving
// connection almost every segment is the next in-order data of an established connection that
// acknowledges nothing new and leaves the send window as it was. For that segment most of what
// input() checks is known to pass (RFC 5961's defences, the acceptability test, ACK and window
// processing); what is left is done here, with the same effect on the connection's state as
// input() would have. Anything else, or any doubt, goes the full way.
#include "pmd/packet/net_headers.hpp"
#include "tcp/connection.hpp"

namespace nvmeddp::tcp {

namespace flags = pmd::tcp_flags;

bool Connection::input_predicted(InSegment& s) {
    // ACK with or without PSH, nothing else: no SYN, FIN, RST or URG to act on.
    if (!config_.header_prediction || state_ != TcpState::Established || (s.flags & ~flags::kPsh) != flags::kAck || s.len == 0) return false;
    // Exactly the next bytes, nothing queued out of order (no hole filled, no SACK block changes)
    // and room in the ready list (nothing parked).
    if (!rq_.next_fits(s.seq)) return false;
    // Wholly inside the window we offered: nothing to cut (input() would take it too, then trim).
    if (s.seq + s.len > rcv_adv_) return false;
    // Acknowledges nothing new and keeps an open window: no ACK processing beyond the bookkeeping
    // below (an ACK that moves snd_una, a window change and a zero window each have their rules).
    if (s.ack != snd_una_ || snd_wnd_ == 0 || (uint32_t{s.window} << snd_wscale_) != snd_wnd_) return false;
    // PAWS (RFC 7323 5.3): an older timestamp is input()'s to reject.
    const bool timestamps = ts_ok_ && s.options.has_timestamps;
    if (timestamps && ddp::seq_lt(s.options.ts_val, ts_recent_)) return false;
    // SACK blocks from the peer, and a recovery under way (whose lost-retransmission check runs on
    // every ACK): the scoreboard's.
    if (sack_ok_ && (s.options.sack_count != 0 || cc_.in_recovery())) return false;

    // What process_ack() does for such a segment.
    if (timestamps && s.seq <= last_ack_sent_) ts_recent_ = s.options.ts_val;
    if (sack_ok_) sack_on_ack(s, false, false);  // no blocks, nothing new: duplicate ACKs counted before may start a recovery
    take_send_window(s, snd_wnd_);  // the same window, so only snd_wl1/wl2 and the persist timer move

    // What process_data() does: the bytes go to the ready list, in order.
    note_rcvmss(s);
    rq_.append_next(RxSegment{s.payload, s.seq, s.len});
    s.payload = nullptr;
    owe_ack_for_in_order(s, false);
    process_fin_if_in_order();
    ++stats_.predicted;
    return true;
}

}  // namespace nvmeddp::tcp
