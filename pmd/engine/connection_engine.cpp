#include "pmd/engine/connection_engine.hpp"

#include <algorithm>
#include <cstring>

#include "nvmetcp/header_search.hpp"
#include "nvmetcp/wire_int.hpp"

namespace nvmeddp::pmd {

using nvmetcp::CommonHeader;
using nvmetcp::PduType;

namespace {

nvmetcp::ReceiveParams receive_params(const ddp::ConnectionConfig& c) noexcept {
    nvmetcp::ReceiveParams p;
    p.role = nvmetcp::Role::Host;
    p.header_digest = c.header_digest;
    p.data_digest = c.data_digest;
    p.pda = c.rx_pda;
    return p;
}

}  // namespace

ConnectionEngine::ConnectionEngine(ddp::DriverConnection& connection, uint32_t conn_id,
                                   const std::atomic<ddp::Caps>& caps, GapPduPool& gap_pool) noexcept
    : conn_(connection),
      counters_(connection.counters),
      conn_id_(conn_id),
      caps_(caps),
      params_(receive_params(connection.config)),
      rcv_nxt_(connection.config.rcv_seq),
      pdu_start_(connection.config.rcv_seq),
      gaps_(gap_pool) {}

// --- per segment ------------------------------------------------------------------------------------

void ConnectionEngine::on_bad_checksum(PacketMeta& meta) noexcept {
    start_meta(meta, conn_id_);
    meta.flags = NVMEDDP_PKT_CSUM_BAD;
    counters_.packets.add();
    counters_.bad_checksum.add();
}

void ConnectionEngine::on_segment(TcpSeq seq, std::span<const PayloadChunk> payload, PacketMeta& meta) noexcept {
    // cross_straight() is a call: asked only in a C2HData's data (place_straight() and
    // complete_straight() are inlined under LTO and check their own conditions first).
    if (payload.size() == 1 && (place_straight(seq, payload[0], meta) ||
                                (state_ == PduState::Data && cross_straight(seq, payload[0], meta)) ||
                                complete_straight(seq, payload[0], meta))) {
        return;
    }
    start_meta(meta, conn_id_);
    uint32_t len = 0;
    for (const PayloadChunk& c : payload) len += c.len;
    ddp::EngineCounters& counters = counters_;
    counters.packets.add();
    counters.bytes.add(len);
    if (len == 0) return;  // a pure ACK (or FIN): nothing of the stream

    const TcpSeq end = seq + len;
    // What waits for bytes below rcv_nxt_ (holes, a lost header) is dropped long before its
    // sequence numbers come round again: a copy of new bytes 4 GiB later must not fill it. Checked
    // on every packet, since a packet moves rcv_nxt_ less than 2 GiB.
    if (!gaps_.empty()) gaps_.forget_older_than(rcv_nxt_);
    if (lost_header_ && lost_until_.bytes_to(rcv_nxt_) > GapPdus::kHorizon) lost_header_ = false;
    // With no hole open the host holds nothing out of order: a later copy is old to it.
    if (!copies_.empty()) {
        if (gaps_.empty() && !lost_header_) {
            copies_.clear();
        } else {
            copies_.forget_older_than(rcv_nxt_);
        }
    }
    ++packet_serial_;
    claims_.reset(&meta);
    reset_packet_framing(meta, seq < rcv_nxt_ ? rcv_nxt_ : seq);
    uint32_t skip = 0;
    bool all_new = true;  // every byte of the packet is one the engine had not seen
    if (seq < rcv_nxt_) {
        // Bytes seen before (a retransmission, a duplicate), or ones that fill a hole of a PDU the
        // engine keeps track of (lost, or overtaken by later packets): those are taken now.
        skip = std::min(len, seq.bytes_to(rcv_nxt_));
        if (lost_header_) note_arrived_below(seq, seq + skip);
        // A hole filler that is all data of one PDU is remembered like a packet after a gap (below).
        const bool gap_data = end <= rcv_nxt_ && !gaps_.empty() && inside_digested_gap_data(seq, end);
        const uint32_t filled = gaps_.empty() && !lost_header_ ? 0 : fill_holes(seq, payload, skip);
        all_new = filled == skip;
        if (end <= rcv_nxt_) {
            if (filled == 0) counters.drop.add();
            if (all_new) {
                meta.flags |= NVMEDDP_PKT_CRC;
            } else if (filled == 0 && copies_.holds(seq, len)) {
                take_later_copy(seq, len, payload);  // connection_engine_copies.cpp
            }
            finish_meta();
            if (all_new && gap_data) remember_copy(seq, len, payload);
            meta_ = nullptr;
            return;
        }
    } else if (seq > rcv_nxt_) {
        // A gap: bytes went missing (lost, or overtaken by this segment). Inside a PDU whose header
        // is known the framing survives (bridge_gap); otherwise it is lost, but the PDU it began in
        // is still tracked to its end.
        counters.drop.add();
        if (mode_ == Mode::InSync) {
            if (!bridge_gap(seq)) {
                end_pdu_in_gap();
                remember_lost_header(seq, payload);
                lose_framing();
            }
        } else {
            // Out of sync already. A header lost in an earlier gap is still awaited, but the bytes
            // after that gap are no longer one run: the PDU it begins cannot be verified. A speculated
            // PDU keeps its framing across a gap inside it, as a known one does.
            lost_header_digesting_ = false;
            if (lost_header_) note_unseen(rcv_nxt_, seq);
            if (!bridge_gap(seq)) lose_framing();
        }
        rcv_nxt_ = seq;
    }

    if (mode_ == Mode::Speculating) {
        ++packets_since_request_;
        check_resync_answer();
    }
    if (mode_ != Mode::InSync) meta.flags |= NVMEDDP_PKT_OUT_OF_SYNC;

    // A packet that is all data of the PDU being digested, with a hole below it: the host may keep it
    // out of order and replace it with a later copy, so it is remembered (after it was followed).
    const bool remember = skip == 0 && mode_ == Mode::InSync && c2h_data_ && state_ == PduState::Data && crc_on_ &&
                          end <= data_end_ && (!gaps_.empty() || lost_header_);
    // Out of sync after a gap that took a header, the bytes are digested all the same: the PDU the
    // lost header begins may be verified once a retransmission brings it (lost_header_crc_).
    const bool digesting = lost_header_ && lost_header_digesting_;
    for (const PayloadChunk& c : payload) {
        const uint32_t from = std::min(skip, c.len);
        skip -= from;
        if (from == c.len) continue;
        if (digesting) lost_header_crc_ = nvmetcp::crc32c_extend(lost_header_crc_, c.data + from, c.len - from);
        consume(c.data + from, c.len - from);
    }
    // Every byte of the packet new to the engine, and followed in sync or digested: the packet's
    // copy is the one its digests were computed over (the bit a host ANDs over a PDU's packets).
    if (all_new && ((meta.flags & NVMEDDP_PKT_OUT_OF_SYNC) == 0 || digesting)) meta.flags |= NVMEDDP_PKT_CRC;
    finish_meta();
    if (remember && (meta.flags & NVMEDDP_PKT_CRC) != 0) remember_copy(seq, len, payload);
    meta_ = nullptr;
}

void ConnectionEngine::finish_meta() noexcept {
    claims_.finish();
    PacketMeta& m = *meta_;
    if (m.place_len > 0) {
        m.flags |= NVMEDDP_PKT_PLACED;
        counters_.placed_packets.add();
    }
    if (verdict_given_) {
        if (verdict_ok_) m.flags |= NVMEDDP_PKT_DIGEST_OK;
    } else if (ahead_given_ && ahead_ok_ && (m.flags & NVMEDDP_PKT_CRC) != 0) {
        // Only a packet whose bytes all count can vouch for a PDU ahead (its own are part of it).
        m.flags |= NVMEDDP_PKT_DIGEST_OK | NVMEDDP_PKT_DIGEST_AHEAD;
        m.digest_pdu_seq = ahead_pdu_.raw();
    }
}

void ConnectionEngine::consume(const uint8_t* p, uint32_t n) noexcept {
    while (n > 0) {
        uint32_t used = 0;
        if (mode_ == Mode::Searching) {
            used = on_search(p, n);
        } else {
            switch (state_) {
                case PduState::Header: used = on_header(p, n); break;
                case PduState::Padding: used = on_padding(n); break;
                case PduState::Data: used = on_data(p, n); break;
                case PduState::DataDigest: used = on_data_digest(p, n); break;
                case PduState::Body: used = on_body(n); break;
            }
        }
        p += used;
        n -= used;
    }
}

uint32_t ConnectionEngine::left_until(TcpSeq end, uint32_t n) const noexcept {
    return std::min(n, rcv_nxt_.bytes_to(end));
}

// A gap inside the current PDU, ending at or before its end, loses nothing of the framing: the
// header said how long the PDU is, so the next header is where it was. Data after the gap is placed
// at its offset as usual. The missing bytes of a C2HData are a hole of a PDU the engine keeps track
// of (track_hole): when they arrive later they are placed too, and the digest is checked once the
// PDU is whole. A gap that reaches into the next header (or starts in one) loses the framing. While
// speculating the same holds for the speculated framing (nothing is placed or tracked then).
bool ConnectionEngine::bridge_gap(TcpSeq to) noexcept {
    if (mode_ == Mode::Searching || state_ == PduState::Header || to > pdu_end_) return false;
    if (placing_ && !conn_.registrations.still_valid(claim_)) stop_placement(counters_.place_torn_down);
    if (c2h_data_) {
        track_hole(to);
    } else {
        crc_on_ = false;
    }
    if (placing_) {
        // The data bytes inside the gap: the cursor moves over them, unwritten.
        const TcpSeq from = std::max(rcv_nxt_, data_begin_);
        const TcpSeq until = std::min(to, data_end_);
        if (from < until) cursor_.skip(from.bytes_to(until));
    }
    rcv_nxt_ = to;
    if (!c2h_data_) {
        state_ = PduState::Body;
        if (rcv_nxt_ == pdu_end_) end_pdu();
        return true;
    }
    // Inside the digest: its first bytes are in the hole; digest_ keeps each byte at its place.
    if (rcv_nxt_ >= data_end_ && rcv_nxt_ < pdu_end_) digest_have_ = data_end_.bytes_to(rcv_nxt_);
    enter_data_pdu_part();
    return true;
}

// A gap from inside the current PDU to beyond its end: the framing is lost after it, but the PDU
// itself is known to its end, its missing part a hole like any other.
void ConnectionEngine::end_pdu_in_gap() noexcept {
    if (mode_ == Mode::InSync && state_ != PduState::Header && c2h_data_) bridge_gap(pdu_end_);
}

// The part of the current C2HData that rcv_nxt_ is in: padding, data, or what follows the data.
void ConnectionEngine::enter_data_pdu_part() noexcept {
    if (rcv_nxt_ < data_begin_) {
        state_ = PduState::Padding;
    } else if (rcv_nxt_ < data_end_) {
        state_ = PduState::Data;
    } else {
        after_data();
    }
}

// After the data: its digest, the rest of the body (none for a valid C2HData), or the next PDU.
void ConnectionEngine::after_data() noexcept {
    if (layout_.has_data_digest && rcv_nxt_ < data_end_ + nvmetcp::kDigestLen) {
        state_ = PduState::DataDigest;
    } else if (rcv_nxt_ < pdu_end_) {
        state_ = PduState::Body;
    } else {
        end_pdu();
    }
}

// --- InSync / Speculating: the PDU state machine ----------------------------------------------------

uint32_t ConnectionEngine::fill_header(const uint8_t* p, uint32_t n, uint32_t want) noexcept {
    if (hdr_have_ >= want) return 0;
    const uint32_t take = std::min(want - hdr_have_, n);
    // The sizes of a whole common header and of the rest of a 24-byte header (with or without its
    // digest) as constants, so that the usual case is a couple of moves, not a call to memcpy.
    switch (take) {
        case 8: std::memcpy(hdr_ + hdr_have_, p, 8); break;
        case 16: std::memcpy(hdr_ + hdr_have_, p, 16); break;
        case 20: std::memcpy(hdr_ + hdr_have_, p, 20); break;
        default: std::memcpy(hdr_ + hdr_have_, p, take); break;
    }
    hdr_have_ += take;
    rcv_nxt_ += take;
    return take;
}

inline uint32_t ConnectionEngine::on_header(const uint8_t* p, uint32_t n) noexcept {
    if (hdr_have_ == 0) {
        // The usual headers, whole in this chunk: checked where they lie, taken in one go.
        if (nvmetcp::quick_stream_header(p, n, params_, layout_)) {
            take_quick_header(p);
            return layout_.header_len;
        }
        pdu_start_ = rcv_nxt_;
    }
    uint32_t used = 0;
    if (!layout_ready_) {
        used += fill_header(p, n, sizeof(CommonHeader));
        if (hdr_have_ < sizeof(CommonHeader)) return used;
        CommonHeader ch;
        std::memcpy(&ch, hdr_, sizeof ch);
        if (nvmetcp::check_stream_header(ch, params_, layout_)) {
            reject_header();
            return used;
        }
        layout_ready_ = true;
    }
    used += fill_header(p + used, n - used, layout_.header_len);
    if (hdr_have_ < layout_.header_len) return used;
    if (!start_pdu()) reject_header();
    return used;
}

// The bytes taken for a header are no header after all. A real header may start at any of them
// but the first: they are searched again, exactly as the search would have seen them in the stream,
// and when nothing is found the last few are carried, since a header may start among them.
void ConnectionEngine::reject_header() noexcept {
    const uint32_t have = hdr_have_;
    const TcpSeq start = pdu_start_;
    lose_framing();
    if (have <= 1) return;
    const nvmetcp::HeaderCandidate c = nvmetcp::find_pdu_header({hdr_ + 1, have - 1}, params_);
    if (c.strength != nvmetcp::CandidateStrength::None) {
        const uint32_t at = 1 + static_cast<uint32_t>(c.offset);
        found_candidate(start + at);
        std::memmove(hdr_, hdr_ + at, have - at);
        hdr_have_ = have - at;
        pdu_start_ = start + at;
        return;
    }
    const uint32_t keep = std::min(kCarry, have - 1);
    std::memcpy(carry_, hdr_ + have - keep, keep);
    carry_len_ = keep;
}

bool ConnectionEngine::start_pdu() noexcept {
    if (nvmetcp::check_header_digest(hdr_, layout_) || nvmetcp::check_full_header(hdr_, layout_, params_)) return false;
    open_checked_pdu();
    return true;
}

// The header in hdr_ (checked, layout_ valid) starts the PDU at pdu_start_: where it ends, what it
// completes, where its data goes; then the part of it rcv_nxt_ is in.
void ConnectionEngine::open_pdu() noexcept {
    const CommonHeader& ch = *reinterpret_cast<const CommonHeader*>(hdr_);
    pdu_end_ = pdu_start_ + ch.plen.get();
    placing_ = false;
    crc_on_ = false;
    digest_have_ = 0;
    c2h_data_ = ch.pdu_type() == PduType::C2HData;
    // A completion in the stream (CapsuleResp, or the data of a C2HData with SUCCESS) ends the
    // command for the host: nothing after it is data the host takes for that command, so the engine
    // writes no more into its registration once the PDU is through (finish_command()). Also while
    // speculating: a completion the engine passed unconfirmed must not let it place later data of
    // that command once confirmed, while the host (waiting on a hole) has yet to reach it.
    completes_ = {};
    {
        if (ch.pdu_type() == PduType::CapsuleResp) {
            completes_ = conn_.registrations.claim(reinterpret_cast<const nvmetcp::CapsuleRespPdu*>(hdr_)->cqe.cid.get());
        } else if (c2h_data_ && (ch.flags & nvmetcp::pdu_flags::kSuccess) != 0) {
            completes_ = conn_.registrations.claim(reinterpret_cast<const nvmetcp::C2HDataPdu*>(hdr_)->cccid.get());
        }
    }
    if (!c2h_data_) {
        data_begin_ = data_end_ = pdu_start_ + layout_.header_len;
        state_ = PduState::Body;
        if (rcv_nxt_ == pdu_end_) end_pdu();
        return;
    }

    const auto& h = *reinterpret_cast<const nvmetcp::C2HDataPdu*>(hdr_);
    data_begin_ = pdu_start_ + layout_.data_offset;
    data_end_ = data_begin_ + layout_.data_len;
    // For the packet's claim (placement_claim.hpp): which C2HData of the packet this is, and whether
    // the engine framed this packet's bytes from the end of the C2HData before it to here.
    run_pdu_ = RunPdu{};
    run_pdu_.ordinal = ++c2h_opened_;
    run_pdu_.framed_here = prev_c2h_known_ && prev_c2h_end_ >= packet_front_ && pdu_start_ >= packet_front_;
    run_pdu_.data_begin = data_begin_;
    run_pdu_.data_end = data_end_;
    prev_c2h_known_ = true;
    prev_c2h_end_ = pdu_end_;
    if (mode_ == Mode::InSync) {
        const ddp::Caps caps = caps_.load(std::memory_order_relaxed);
        if (caps & ddp::cap::kPlacement) begin_placement(h.cccid.get(), h.datao.get(), layout_.data_len);
        crc_on_ = layout_.has_data_digest && (caps & ddp::cap::kDataDigest) != 0;
        crc_state_ = nvmetcp::Crc32c::kSeed;
    }
    enter_data_pdu_part();
}

// Placement of a C2HData starts only where it cannot do harm: a live registration, the data inside
// it, no byte the engine wrote before (a byte is written at most once per registration, so a byte the
// host took from a claim cannot change under it), and nothing the host declared final.
// skip: the data bytes already gone by (placement begins after them, checked for that part only).
void ConnectionEngine::begin_placement(uint16_t cccid, uint32_t datao, uint32_t datal, uint32_t skip) noexcept {
    claim_ = placement_for(pdu_start_, cccid, datao + skip, datal - skip);
    if (!claim_) return;
    if (!cursor_.seek(claim_.registration->segments(), datao + skip)) {
        counters_.place_out_of_range.add();
        claim_ = {};
        return;
    }
    placing_ = true;
    cccid_ = cccid;
    datao_ = datao;
}

// The registration the data of the C2HData at pdu_start may be placed in, under the rules above (and
// only if the PDU comes before the one that completed the command, if the stream has had that, and
// after the command was set up); empty when none (the reason counted).
ddp::RegistrationTable::Claim ConnectionEngine::placement_for(TcpSeq pdu_start, uint16_t cccid, uint32_t datao,
                                                              uint32_t datal) noexcept {
    ddp::EngineCounters& counters = counters_;
    const ddp::RegistrationTable::Claim claim = conn_.registrations.claim(cccid);
    if (!claim) {
        counters.place_no_registration.add();
        return {};
    }
    const ddp::Registration& r = *claim.registration;
    ddp::Counter* refused = nullptr;
    if (!r.may_carry_pdu_at(pdu_start.raw())) {
        // A copy of an earlier command's PDU (its frames went to the host without the engine, or
        // a spurious retransmission) after the host completed that command and set its command id
        // up again: not this PDU's registration. Its bytes would land where the new command's data
        // goes, and a device beside the host (not on its thread) could write them after the host
        // copied that data and before it said filled().
        refused = &counters.place_no_registration;
    } else if (uint64_t{datao} + datal > r.total_len()) {
        refused = &counters.place_out_of_range;
    } else if (datao < r.device_written() || r.completed_by(pdu_start.raw())) {
        refused = &counters.place_rewrite;
    } else if (datao < r.host_filled()) {
        refused = &counters.place_behind_host;
    } else if (datal == 0) {
        return {};  // nothing to place
    }
    if (refused != nullptr) {
        refused->add();
        return {};
    }
    return claim;
}

// The framing, speculated, is confirmed (the host's resync answer, or a lost header's chain leading
// to the candidate) inside a C2HData the engine opened while speculating, and so neither placed nor
// digested. Its data from here on is placed as any PDU's, the placement checks applied to that part
// (the host may have taken the bytes before it already). Its digest stays the host's to check.
void ConnectionEngine::place_rest_of_pdu() noexcept {
    if (!c2h_data_ || placing_ || (state_ != PduState::Padding && state_ != PduState::Data)) return;
    if ((caps_.load(std::memory_order_relaxed) & ddp::cap::kPlacement) == 0) return;
    const auto& h = *reinterpret_cast<const nvmetcp::C2HDataPdu*>(hdr_);
    begin_placement(h.cccid.get(), h.datao.get(), layout_.data_len, data_begin_ < rcv_nxt_ ? data_begin_.bytes_to(rcv_nxt_) : 0);
}

void ConnectionEngine::stop_placement(ddp::Counter& why) noexcept {
    placing_ = false;
    claim_ = {};
    why.add();
}

uint32_t ConnectionEngine::on_padding(uint32_t n) noexcept {
    const uint32_t take = left_until(data_begin_, n);
    rcv_nxt_ += take;
    if (rcv_nxt_ == data_begin_) {
        if (rcv_nxt_ < data_end_) {
            state_ = PduState::Data;
        } else {
            after_data();
        }
    }
    return take;
}

uint32_t ConnectionEngine::on_data(const uint8_t* p, uint32_t n) noexcept {
    const uint32_t take = left_until(data_end_, n);
    const uint64_t offset = uint64_t{datao_} + data_begin_.bytes_to(rcv_nxt_);
    if (take_data(p, take, offset)) claims_.placed(rcv_nxt_, take, offset, cccid_, ddp::RegistrationTable::tag_of(claim_), run_pdu_);
    rcv_nxt_ += take;
    if (rcv_nxt_ == data_end_) after_data();
    return take;
}

uint32_t ConnectionEngine::on_data_digest(const uint8_t* p, uint32_t n) noexcept {
    const uint32_t take = std::min(n, nvmetcp::kDigestLen - digest_have_);
    std::memcpy(digest_ + digest_have_, p, take);
    digest_have_ += take;
    rcv_nxt_ += take;
    if (digest_have_ < nvmetcp::kDigestLen) return take;

    if (gap_slot_ != GapPdus::kNone) {
        settle_gapped_pdu(true);  // the digest of a PDU with holes: checked once they are filled
    } else {
        verify_data_digest();
    }
    crc_on_ = false;
    if (rcv_nxt_ < pdu_end_) {
        state_ = PduState::Body;
    } else {
        end_pdu();
    }
    return take;
}

// The verdict names the first PDU whose digest ends in this packet; it is OK only when every digest
// ending here was verified and matched (the others lie wholly inside the packet, so a host that took
// the packet's bytes has framed them exactly as the engine did).
void ConnectionEngine::give_verdict(TcpSeq pdu, bool computed, bool ok) noexcept {
    if (!verdict_given_) {
        verdict_given_ = true;
        meta_->digest_pdu_seq = pdu.raw();
        verdict_ok_ = ok;
    } else {
        verdict_ok_ = verdict_ok_ && ok;
    }
    if (computed && !ok) meta_->flags |= NVMEDDP_PKT_DIGEST_BAD;
}

uint32_t ConnectionEngine::on_body(uint32_t n) noexcept {
    const uint32_t take = left_until(pdu_end_, n);
    rcv_nxt_ += take;
    if (rcv_nxt_ == pdu_end_) end_pdu();
    return take;
}

void ConnectionEngine::finish_command() noexcept {
    if (completes_ && conn_.registrations.still_valid(completes_)) completes_.registration->set_completed_at(pdu_start_.raw());
    completes_ = {};
}

void ConnectionEngine::end_pdu() noexcept {
    if (gap_slot_ != GapPdus::kNone) {
        // The PDU with holes reached its end (one without a data digest, or whose digest is in a
        // hole), or was cut short (no longer tracked).
        if (rcv_nxt_ == pdu_end_) settle_gapped_pdu(false);
        else untrack_current();
    }
    finish_command();
    state_ = PduState::Header;
    layout_ready_ = false;
    c2h_data_ = false;
    hdr_have_ = 0;
    placing_ = false;
    crc_on_ = false;
    claim_ = {};
}

// --- Searching and the resync handshake -------------------------------------------------------------

void ConnectionEngine::lose_framing() noexcept {
    completes_ = {};  // a PDU cut short completes nothing
    prev_c2h_known_ = false;  // which C2HData comes before the next is not known
    end_pdu();
    mode_ = Mode::Searching;
    carry_len_ = 0;
    if (meta_ != nullptr) meta_->flags |= NVMEDDP_PKT_OUT_OF_SYNC;
}

// Posts a resync request for a header starting at seq and follows the framing from there.
void ConnectionEngine::found_candidate(TcpSeq seq) noexcept {
    request_ = conn_.resync.post(seq.raw());
    counters_.resync_requests.add();
    packets_since_request_ = 0;
    mode_ = Mode::Speculating;
}

void ConnectionEngine::check_resync_answer() noexcept {
    const auto answer = conn_.resync.take_answer();
    if (!answer || !(answer->request == request_)) return;
    if (answer->confirmed) {
        lost_header_ = false;
        // The host's parser found a header exactly where the framing was guessed: the framing
        // followed since is right. The current PDU, if one is under way, has the rest of its data
        // placed; its digest stays the host's to check.
        mode_ = Mode::InSync;
        place_rest_of_pdu();
    } else {
        lose_framing();
    }
}

// Scans for a plausible header: first one that starts in the carried-over tail of the stream (the
// last bytes before p, too few to judge then), then one inside [p, p + n). On a find, the state
// machine takes over from the candidate's first byte; otherwise the tail of p is carried.
uint32_t ConnectionEngine::on_search(const uint8_t* p, uint32_t n) noexcept {
    if (carry_len_ > 0) {
        uint8_t scratch[kCarry + nvmetcp::kHlenData + nvmetcp::kDigestLen];
        const uint32_t tail = std::min<uint32_t>(n, sizeof scratch - carry_len_);
        std::memcpy(scratch, carry_, carry_len_);
        std::memcpy(scratch + carry_len_, p, tail);
        const nvmetcp::HeaderCandidate c = nvmetcp::find_pdu_header({scratch, carry_len_ + tail}, params_);
        if (c.strength != nvmetcp::CandidateStrength::None && c.offset < carry_len_) {
            const uint32_t in_carry = carry_len_ - static_cast<uint32_t>(c.offset);
            found_candidate(rcv_nxt_ - in_carry);
            end_pdu();
            // The candidate's first bytes were in the previous packet: they begin the header.
            std::memcpy(hdr_, carry_ + c.offset, in_carry);
            hdr_have_ = in_carry;
            pdu_start_ = rcv_nxt_ - in_carry;
            carry_len_ = 0;
            return 0;
        }
    }
    const nvmetcp::HeaderCandidate c = nvmetcp::find_pdu_header({p, n}, params_);
    if (c.strength != nvmetcp::CandidateStrength::None) {
        const auto at = static_cast<uint32_t>(c.offset);
        rcv_nxt_ += at;
        found_candidate(rcv_nxt_);
        end_pdu();
        carry_len_ = 0;
        return at;
    }
    // Keep the last kCarry bytes of the stream (this chunk's, topped up from the older carry).
    if (n >= kCarry) {
        std::memcpy(carry_, p + n - kCarry, kCarry);
        carry_len_ = kCarry;
    } else {
        const uint32_t keep = std::min(carry_len_, kCarry - n);
        std::memmove(carry_, carry_ + carry_len_ - keep, keep);
        std::memcpy(carry_ + keep, p, n);
        carry_len_ = keep + n;
    }
    rcv_nxt_ += n;
    return n;
}

}  // namespace nvmeddp::pmd
