// ConnectionEngine: a PDU header lost in a gap. A gap that reaches past the end of the current PDU
// takes the next header with it, and with it the framing: the engine searches the bytes after the
// gap for a plausible header and asks the host to confirm it (connection_engine.cpp), and until then
// places nothing. But it knows exactly where the lost header starts (the end of the PDU before it),
// and the retransmission that fills the gap brings it. So it keeps that place (lost_at_), takes the
// header's bytes from the retransmission (and, when the gap ended inside the header, its last bytes
// from the first ones after the gap, kept when they came: after_gap_), checks it as the receiver
// would, and follows the chain of PDUs from it:
//   - a PDU whose body lies in the gap, or partly, is kept track of as a PDU with holes
//     (gap_pdus.hpp): its data is placed from the retransmission and its digest checked (but for
//     bytes seen in the gap before the header came: below);
//   - the PDU the stream is in now (it ends past rcv_nxt_) is taken up where the stream is: the
//     engine is in sync again, places the rest of its data, and the part of it in the gap;
//   - a header that begins exactly where the stream is, too;
//   - a header between the gap's end and rcv_nxt_ confirms a resync candidate at that place, if
//     there is one; otherwise the engine waits for the host's resync as before.
// Its bytes were seen after the gap while the engine had no framing: a PDU with some of them is
// placed (the rest, copied by the host) but its digest is the host's to check.
//
// Only a header whose bytes come in order from lost_at_ on is taken. Retransmitted bytes of the gap
// past the header's next byte that come before it are kept track of as seen (gap_seen_: one range):
// never placed or digested by the device, they are the host's to copy, and neither the PDUs they
// fall in nor the one the lost header begins get a device verdict. A second range that does not
// touch the first, or a header to be taken from among seen bytes, ends the wait (every byte the
// engine takes must be one it has not seen).
#include <algorithm>
#include <cstring>

#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/crc32c_combine.hpp"
#include "pmd/engine/connection_engine.hpp"

namespace nvmeddp::pmd {

using nvmetcp::CommonHeader;
using nvmetcp::PduType;

// The framing is about to be lost in a gap ending at gap_end: the next header starts where the state
// machine is (its first bytes, if any, in hdr_). after: the packet that starts at gap_end.
void ConnectionEngine::remember_lost_header(TcpSeq gap_end, std::span<const PayloadChunk> after) noexcept {
    lost_header_ = state_ == PduState::Header;
    after_gap_len_ = 0;
    gap_seen_ = false;
    unseen_ = Unseen::None;
    if (!lost_header_) return;
    for (const PayloadChunk& c : after) {
        const uint32_t take = std::min(c.len, kAfterGap - after_gap_len_);
        std::memcpy(after_gap_ + after_gap_len_, c.data, take);
        after_gap_len_ += take;
        if (after_gap_len_ == kAfterGap) break;
    }
    lost_have_ = hdr_have_;
    lost_at_ = rcv_nxt_ - hdr_have_;
    lost_until_ = gap_end;
    lost_layout_ready_ = layout_ready_;  // the common header may have been checked already
    lost_layout_ = layout_;
    lost_header_crc_ = 0;
    lost_header_digesting_ = true;
    std::memcpy(lost_hdr_, hdr_, hdr_have_);
}

// Bytes [at, at + n) of a retransmission, below rcv_nxt_: takes the lost header's next bytes if they
// are here (those past the gap's end from after_gap_), and follows the PDUs from it. Returns how many
// of these bytes it took (header bytes, and data of the PDUs it found, placed as holes).
uint32_t ConnectionEngine::take_lost_header(TcpSeq at, const uint8_t* p, uint32_t n) noexcept {
    uint32_t taken = 0;
    const TcpSeq end = at + n;
    // Every byte of the headers taken from framed_from on comes from this chunk (none from an
    // earlier packet or from after_gap_), and none of them but the last is a C2HData's: a claim may
    // then pair the last one's data with the data of the PDU that ends at framed_from.
    bool header_here = lost_have_ == 0;
    TcpSeq framed_from = lost_at_;
    while (lost_header_) {
        const TcpSeq want = lost_at_ + lost_have_;
        // The header's rest past the gap's end is in after_gap_, kept when it came.
        const bool past_gap = want >= lost_until_;
        if (!past_gap && (want < at || want >= end)) {
            // Bytes of the gap beyond the header's next byte, before it: not taken, but seen.
            if (at > want && at < lost_until_ && !note_gap_seen(at, std::min(end, lost_until_))) lost_header_ = false;
            break;
        }
        const uint32_t target = lost_layout_ready_ ? lost_layout_.header_len : sizeof(CommonHeader);
        if (lost_have_ < target && gap_seen_overlaps(want, want + (target - lost_have_))) {
            lost_header_ = false;  // the header's next bytes were seen, not kept
            break;
        }
        if (lost_have_ < target) {
            const uint32_t kept = past_gap ? lost_until_.bytes_to(want) : 0;
            const uint32_t take = past_gap ? (kept < after_gap_len_ ? std::min(target - lost_have_, after_gap_len_ - kept) : 0)
                                           : std::min({target - lost_have_, want.bytes_to(end), want.bytes_to(lost_until_)});
            if (take == 0) {  // the header runs past the bytes kept after the gap: its rest was seen, not kept
                lost_header_ = false;
                break;
            }
            std::memcpy(lost_hdr_ + lost_have_, past_gap ? after_gap_ + kept : p + at.bytes_to(want), take);
            lost_have_ += take;
            if (past_gap) header_here = false;
            if (!past_gap) taken += take;  // bytes of this retransmission
        }
        if (!lost_layout_ready_ && lost_have_ >= sizeof(CommonHeader)) {
            CommonHeader ch;
            std::memcpy(&ch, lost_hdr_, sizeof ch);
            if (nvmetcp::check_stream_header(ch, params_, lost_layout_)) {
                lost_header_ = false;
                break;
            }
            lost_layout_ready_ = true;
            continue;
        }
        if (lost_layout_ready_ && lost_have_ >= lost_layout_.header_len) {
            const bool next_in_gap = follow_lost_header(header_here, framed_from);
            taken += fill_chunk(at, p, n);  // the data in this chunk of the PDU the header began
            if (!next_in_gap) break;
        }
    }
    return taken;
}

// The lost header is complete in lost_hdr_. Checks it, and either takes the PDU up where the stream
// is now (in sync again), or keeps track of it and looks for the next header where it ends. False:
// done (in sync, or given up). header_here: the header came whole in the chunk being taken, and so
// did every header from framed_from on; a C2HData's moves framed_from to its end.
bool ConnectionEngine::follow_lost_header(bool header_here, TcpSeq& framed_from) noexcept {
    if (nvmetcp::check_header_digest(lost_hdr_, lost_layout_) || nvmetcp::check_full_header(lost_hdr_, lost_layout_, params_)) {
        lost_header_ = false;
        return false;
    }
    const CommonHeader& ch = *reinterpret_cast<const CommonHeader*>(lost_hdr_);
    const TcpSeq pdu_end = lost_at_ + ch.plen.get();
    if (pdu_end > rcv_nxt_) {
        regain_framing_in_lost_pdu(header_here, framed_from);
        return false;
    }
    // A PDU that has ended: its data lies in the gap (placed as holes, but for bytes seen there
    // before the header came), or partly after it (seen).
    const ddp::Caps caps = caps_.load(std::memory_order_relaxed);
    ddp::RegistrationTable::Claim completes{};
    if (ch.pdu_type() == PduType::C2HData) {
        const auto& h = *reinterpret_cast<const nvmetcp::C2HDataPdu*>(lost_hdr_);
        const bool all_in_gap = pdu_end <= lost_until_;
        const bool check = all_in_gap && !gap_seen_overlaps(lost_at_, pdu_end) && lost_layout_.has_data_digest &&
                           (caps & ddp::cap::kDataDigest) != 0;
        ddp::RegistrationTable::Claim claim{};
        if ((caps & ddp::cap::kPlacement) != 0) claim = placement_for(lost_at_, h.cccid.get(), h.datao.get(), lost_layout_.data_len);
        // Kept track of only when some of its body lay in the gap: a header completed from the bytes
        // kept after the gap has its whole body after it, seen, and no hole to fill.
        if ((claim || check) && lost_at_ + lost_layout_.header_len < lost_until_) {
            const int slot = open_gap_pdu(lost_at_, lost_layout_, ch.plen.get(), check, claim, h.cccid.get(), h.datao.get());
            if (slot != GapPdus::kNone) {
                GapPdus::Pdu& g = gaps_.at(slot);
                g.ended = true;
                // Seen after the gap, not digested (but for a second gap's bytes, never seen: holes).
                if (!all_in_gap && !add_seen_after_gap(g, lost_until_, pdu_end, 0)) g.placing = false;
                adopt_lost_pdu(g, header_here, framed_from);
            }
        }
        if ((ch.flags & nvmetcp::pdu_flags::kSuccess) != 0) completes = conn_.registrations.claim(h.cccid.get());
        framed_from = pdu_end;  // a C2HData after this one pairs with this one, not with one before
    } else if (ch.pdu_type() == PduType::CapsuleResp) {
        completes = conn_.registrations.claim(reinterpret_cast<const nvmetcp::CapsuleRespPdu*>(lost_hdr_)->cqe.cid.get());
    }
    // As at the end of any PDU that completes a command: nothing after it is placed in its buffer.
    if (completes && conn_.registrations.still_valid(completes)) completes.registration->set_completed_at(lost_at_.raw());

    if (pdu_end < lost_until_) {  // the next header is in the gap too
        lost_at_ = pdu_end;
        lost_have_ = 0;
        lost_layout_ready_ = false;
        return true;
    }
    lost_header_ = false;
    if (pdu_end == rcv_nxt_) {
        regain_framing_at_header(pdu_end);
    } else if (mode_ == Mode::Speculating && request_.seq == pdu_end.raw()) {
        // The resync candidate is the header the chain leads to: the framing followed since it is right.
        mode_ = Mode::InSync;
        place_rest_of_pdu();
        counters_.framing_regained.add();
    }
    return false;
}

// [begin, end) of the gap came before the lost header did. False: it does not touch the range
// already seen, and the engine gives up on the header.
bool ConnectionEngine::note_gap_seen(TcpSeq begin, TcpSeq end) noexcept {
    if (!gap_seen_) {
        gap_seen_ = true;
        gap_seen_begin_ = begin;
        gap_seen_end_ = end;
        // The PDU the lost header begins may have some of these bytes in its data, which the device
        // neither places nor digests: it gets no verdict from the device (regain_framing_in_lost_pdu
        // leaves crc_on_ off without lost_header_digesting_).
        lost_header_digesting_ = false;
        return true;
    }
    if (begin > gap_seen_end_ || end < gap_seen_begin_) return false;
    gap_seen_begin_ = std::min(gap_seen_begin_, begin);
    gap_seen_end_ = std::max(gap_seen_end_, end);
    return true;
}

// g was just opened for the PDU a lost header begins (its runs seen after the gap added). It records
// the packet that brought the header whole (header_here), for the claim's pairing, and the bytes of
// its body seen in the gap are not holes: added as a run without a CRC (g's digest is not the
// device's to check: check_digest is off for it).
void ConnectionEngine::adopt_lost_pdu(GapPdus::Pdu& g, bool header_here, TcpSeq framed_from) noexcept {
    if (header_here) {
        g.header_packet = packet_serial_;
        g.framed_from = framed_from;
    }
    if (!gap_seen_) return;
    const TcpSeq begin = std::max(g.body_begin, gap_seen_begin_);
    const TcpSeq end = std::min(g.pdu_end, gap_seen_end_);
    if (begin >= end) return;
    g.check_digest = false;
    if (!g.room_for(begin, end)) g.forfeit_smallest_hole();
    // g was opened just now (one run at most): the run fits. Were it refused, the seen bytes would
    // stay a hole, and no byte of g may then be placed.
    if (!g.add({begin, end, 0})) g.placing = false;
}

// A gap [begin, end) while out of sync with the lost header awaited (unseen_).
void ConnectionEngine::note_unseen(TcpSeq begin, TcpSeq end) noexcept {
    if (unseen_ == Unseen::None) {
        unseen_ = Unseen::One;
        unseen_begin_ = begin;
        unseen_end_ = end;
    } else {
        unseen_ = Unseen::Forgotten;
    }
}

// Adds [begin, end) of g, seen after the lost header's gap, as a run (crc: its data's CRC32C, or 0
// when it is not digested), but for the bytes of a second gap in it, which stay holes. False when g
// had no room (a seen byte left a hole must never be placed: the caller stops g's placement).
bool ConnectionEngine::add_seen_after_gap(GapPdus::Pdu& g, TcpSeq begin, TcpSeq end, uint32_t crc) noexcept {
    if (unseen_ != Unseen::One || unseen_end_ <= begin || end <= unseen_begin_) return g.add({begin, end, crc});
    // Not digested: the second gap ended the digest over the bytes after the first (lost_header_digesting_).
    g.check_digest = false;
    bool ok = true;
    if (begin < unseen_begin_) ok = g.add({begin, unseen_begin_, 0});
    if (unseen_end_ < end) ok = g.add({unseen_end_, end, 0}) && ok;
    return ok;
}

// The next header starts where the stream is: the state machine starts on it, in sync.
void ConnectionEngine::regain_framing_at_header(TcpSeq at) noexcept {
    completes_ = {};  // what a speculated PDU would complete is not known to be so
    end_pdu();
    mode_ = Mode::InSync;
    carry_len_ = 0;
    pdu_start_ = at;
    counters_.framing_regained.add();
}

// The lost header starts the PDU the stream is in: the engine is in sync again at rcv_nxt_. The
// PDU's data from here on is placed by the state machine; its part in the gap is a hole (placed when
// retransmitted; bytes of it seen in the gap before the header came are not); its part seen after
// the gap, without framing, was not placed (the host copies it) but was digested: when it is all
// data, it is a run like any other, and the PDU's digest is checked once the hole is filled.
void ConnectionEngine::regain_framing_in_lost_pdu(bool header_here, TcpSeq framed_from) noexcept {
    lost_header_ = false;
    completes_ = {};
    end_pdu();
    mode_ = Mode::InSync;
    carry_len_ = 0;
    std::memcpy(hdr_, lost_hdr_, lost_layout_.header_len);
    hdr_have_ = lost_layout_.header_len;
    layout_ = lost_layout_;
    layout_ready_ = true;
    pdu_start_ = lost_at_;
    open_pdu();
    counters_.framing_regained.add();
    if (state_ == PduState::DataDigest) digest_have_ = data_end_.bytes_to(rcv_nxt_);
    // The bytes seen after the gap, digested from lost_until_ on, may begin with the header's rest
    // (and its padding): kept in after_gap_, their share of the CRC comes out (a raw CRC is linear:
    // crc(A B) = shift(crc(A), |B|) ^ crc(B)), leaving the CRC of the data among them (the run
    // itself starts where the gap ended: the padding is seen, not a hole), which is what a run of a
    // PDU with holes carries.
    bool seen_is_data = lost_header_digesting_ && rcv_nxt_ <= data_end_;
    uint32_t seen_crc = lost_header_crc_;
    if (data_begin_ > lost_until_) {
        const uint32_t front = lost_until_.bytes_to(data_begin_);
        if (front <= after_gap_len_ && data_begin_ <= rcv_nxt_) {
            seen_crc ^= nvmetcp::crc32c_shift(nvmetcp::crc32c_extend(0, after_gap_, front), data_begin_.bytes_to(rcv_nxt_));
        } else {
            seen_is_data = false;
        }
    }
    crc_on_ = crc_on_ && seen_is_data;
    if (!c2h_data_ || (!placing_ && !crc_on_)) {
        crc_on_ = false;
        return;
    }
    // The cursor to where the stream is; the data before it kept track of as a PDU with holes.
    if (placing_) cursor_.skip(data_begin_ < rcv_nxt_ ? data_begin_.bytes_to(std::min(rcv_nxt_, data_end_)) : 0);
    gap_slot_ = open_gap_pdu(pdu_start_, layout_, pdu_start_.bytes_to(pdu_end_), crc_on_,
                             placing_ ? claim_ : ddp::RegistrationTable::Claim{}, cccid_, datao_);
    if (gap_slot_ == GapPdus::kNone) {
        crc_on_ = false;
        return;
    }
    // Seen after the gap, not placed: from there, or from the body's start when the gap ended in the header.
    const TcpSeq seen_from = std::max(lost_until_, pdu_start_ + layout_.header_len);
    GapPdus::Pdu& g = gaps_.at(gap_slot_);
    if (seen_from < rcv_nxt_ && !add_seen_after_gap(g, seen_from, rcv_nxt_, crc_on_ ? seen_crc : 0)) g.placing = false;
    adopt_lost_pdu(g, header_here, framed_from);
    run_begin_ = rcv_nxt_;
    crc_state_ = 0;
}

}  // namespace nvmeddp::pmd
