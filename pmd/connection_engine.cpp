#include "pmd/connection_engine.hpp"

#include <algorithm>
#include <cstring>

#include "ddp/tcp_seq.hpp"
#include "nvmetcp/header_search.hpp"
#include "nvmetcp/wire_int.hpp"

namespace nvmeddp::pmd {

using nvmetcp::CommonHeader;
using nvmetcp::PduType;

namespace {

void saturating_inc(uint8_t& v) noexcept {
    if (v != UINT8_MAX) ++v;
}

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
                                   const std::atomic<ddp::Caps>& caps) noexcept
    : conn_(connection),
      conn_id_(conn_id),
      caps_(caps),
      params_(receive_params(connection.config)),
      rcv_nxt_(connection.config.rcv_seq),
      pdu_start_seq_(connection.config.rcv_seq) {}

// --- per segment ------------------------------------------------------------------------------------

void ConnectionEngine::on_segment(uint32_t seq, std::span<const PayloadChunk> payload, PacketMeta& meta) noexcept {
    meta = PacketMeta{};
    meta.conn_id = conn_id_;
    uint32_t len = 0;
    for (const PayloadChunk& c : payload) len += c.len;
    ddp::EngineCounters& counters = conn_.counters;
    counters.packets.add();
    counters.bytes.add(len);
    if (len == 0) return;  // a pure ACK (or FIN): nothing of the stream

    const int32_t ahead = ddp::seq_diff(seq, rcv_nxt_);
    if (ahead < 0 && static_cast<uint32_t>(-static_cast<int64_t>(ahead)) >= len) {
        counters.drop.add();  // all of it seen before: a retransmission or a reordered segment
        return;
    }
    uint32_t skip = 0;
    if (ahead > 0) {
        // A gap: bytes went missing (lost, or overtaken by this segment). Inside a PDU whose header
        // is known the framing survives (bridge_gap); otherwise it is lost.
        counters.drop.add();
        if (!bridge_gap(static_cast<uint32_t>(ahead))) lose_framing();
    } else {
        skip = static_cast<uint32_t>(-ahead);  // overlaps what was seen: only the rest is new
    }

    meta_ = &meta;
    packet_seq_ = seq;
    range_ = PlacedRange::None;
    if (mode_ == Mode::Speculating) {
        ++packets_since_request_;
        check_resync_answer();
    }
    if (mode_ != Mode::InSync) meta.flags |= NVMEDDP_PKT_OUT_OF_SYNC;

    payload_off_ = 0;
    for (const PayloadChunk& c : payload) {
        uint32_t from = 0;
        if (skip > 0) {
            from = std::min(skip, c.len);
            skip -= from;
        }
        payload_off_ += from;
        if (from < c.len) consume(c.data + from, c.len - from);
    }
    rcv_nxt_ = seq + len;
    finish_meta();
    meta_ = nullptr;
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
                case PduState::Trailer: used = on_trailer(n); break;
            }
        }
        if (mode_ != Mode::Searching && state_ != PduState::Header) pdu_left_ -= used;
        p += used;
        n -= used;
        payload_off_ += used;
    }
}

// A gap inside the current PDU, ending at or before its end, loses nothing of the framing: the
// header said how long the PDU is, so the next header is where it was. The missing bytes arrive
// later as a retransmission and pass unplaced (the host copies them); data after the gap is placed
// at its offset as usual. Only the data digest cannot be verified: the device never saw all the data.
// A gap that reaches into the next header (or starts in one) loses the framing.
bool ConnectionEngine::bridge_gap(uint32_t gap) noexcept {
    if (mode_ != Mode::InSync || state_ == PduState::Header || gap > pdu_left_) return false;
    crc_on_ = false;
    while (gap > 0 && state_ != PduState::Header) {
        uint32_t used = 0;
        switch (state_) {
            case PduState::Padding: used = on_padding(gap); break;
            case PduState::Trailer: used = on_trailer(gap); break;
            case PduState::Data: used = skip_data(gap); break;
            case PduState::DataDigest: used = skip_data_digest(gap); break;
            case PduState::Header: break;
        }
        pdu_left_ -= used;
        gap -= used;
    }
    return true;
}

// After the data: the digest, or the next PDU.
void ConnectionEngine::consumed_data(uint32_t n) noexcept {
    data_left_ -= n;
    if (data_left_ != 0) return;
    if (layout_.has_data_digest) {
        state_ = PduState::DataDigest;
    } else {
        end_pdu();
    }
}

uint32_t ConnectionEngine::skip_data(uint32_t n) noexcept {
    const uint32_t take = std::min(n, data_left_);
    if (placing_) cursor_.skip(take);
    consumed_data(take);
    return take;
}

uint32_t ConnectionEngine::skip_data_digest(uint32_t n) noexcept {
    const uint32_t take = std::min(n, nvmetcp::kDigestLen - digest_have_);
    digest_have_ += take;
    if (digest_have_ == nvmetcp::kDigestLen) {
        conn_.counters.digest_fallback.add();  // it ended in the missing bytes: no packet to mark
        end_pdu();
    }
    return take;
}

void ConnectionEngine::finish_meta() noexcept {
    PacketMeta& m = *meta_;
    if (range_ != PlacedRange::None && m.placed_begin < m.placed_end) m.flags |= NVMEDDP_PKT_PLACED;
    if (m.digests_bad > 0) m.flags |= NVMEDDP_PKT_DIGEST_BAD;
    if (m.digests_ok > 0 && m.digests_bad == 0 && m.digests_unverified == 0) m.flags |= NVMEDDP_PKT_DIGEST_OK;
}

// The placed range of a packet: one run of payload offsets in which every C2HData data byte was
// placed. It opens at the first placed byte and grows with later placed bytes; a data byte that is
// not placed closes it (bytes placed after that are not claimed: the host copies them again, which
// is harmless). Headers, padding and digests between placed runs do not close it: they are no data.
void ConnectionEngine::mark_placed(uint32_t offset, uint32_t n) noexcept {
    // Payload offsets fit in 16 bits (an IP packet is at most 64 KiB); the cast cannot lose bits.
    if (range_ == PlacedRange::None) {
        meta_->placed_begin = static_cast<uint16_t>(offset);
        meta_->placed_end = static_cast<uint16_t>(offset + n);
        range_ = PlacedRange::Open;
    } else if (range_ == PlacedRange::Open) {
        meta_->placed_end = static_cast<uint16_t>(offset + n);
    }
}

void ConnectionEngine::mark_unplaced() noexcept {
    if (range_ == PlacedRange::Open) range_ = PlacedRange::Closed;
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
    return take;
}

uint32_t ConnectionEngine::on_header(const uint8_t* p, uint32_t n) noexcept {
    if (hdr_have_ == 0) pdu_start_seq_ = seq_here();
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

// The bytes taken for a header are no header after all. The search resumes after its first byte:
// the rest of what was gathered is carried, since a real header may start among those bytes.
void ConnectionEngine::reject_header() noexcept {
    const uint32_t have = hdr_have_;
    uint8_t tail[kCarry];
    const uint32_t keep = std::min(kCarry, have > 0 ? have - 1 : 0);
    std::memcpy(tail, hdr_ + have - keep, keep);
    lose_framing();
    std::memcpy(carry_, tail, keep);
    carry_len_ = keep;
}

bool ConnectionEngine::start_pdu() noexcept {
    const CommonHeader& ch = *reinterpret_cast<const CommonHeader*>(hdr_);
    if (nvmetcp::check_header_digest(hdr_, layout_) || nvmetcp::check_full_header(hdr_, layout_, params_)) return false;

    if (mode_ == Mode::Speculating && packets_since_request_ > kReRequestAfterPackets) found_candidate(pdu_start_seq_);

    const uint32_t plen = ch.plen.get();
    pdu_left_ = plen - layout_.header_len;
    placing_ = false;
    crc_on_ = false;
    if (ch.pdu_type() != PduType::C2HData) {
        trailer_left_ = plen - layout_.header_len;
        if (trailer_left_ == 0) {
            end_pdu();
        } else {
            state_ = PduState::Trailer;
        }
        return true;
    }

    const auto& h = *reinterpret_cast<const nvmetcp::C2HDataPdu*>(hdr_);
    if (mode_ == Mode::InSync) {
        const ddp::Caps caps = caps_.load(std::memory_order_relaxed);
        if (caps & ddp::cap::kPlacement) begin_placement(h.cccid.get(), h.datao.get(), layout_.data_len);
        crc_on_ = layout_.has_data_digest && (caps & ddp::cap::kDataDigest) != 0;
        crc_state_ = nvmetcp::Crc32c::kSeed;
    }
    padding_left_ = layout_.data_offset - layout_.header_len;
    data_left_ = layout_.data_len;
    digest_have_ = 0;
    state_ = padding_left_ > 0 ? PduState::Padding : PduState::Data;
    return true;
}

void ConnectionEngine::begin_placement(uint16_t cccid, uint32_t datao, uint32_t datal) noexcept {
    ddp::EngineCounters& counters = conn_.counters;
    claim_ = conn_.registrations.claim(cccid);
    if (!claim_) {
        counters.place_no_registration.add();
        return;
    }
    if (uint64_t{datao} + datal > claim_.registration->total_len() ||
        !cursor_.seek(claim_.registration->segments(), datao)) {
        counters.place_out_of_range.add();
        claim_ = {};
        return;
    }
    placing_ = true;
}

uint32_t ConnectionEngine::on_padding(uint32_t n) noexcept {
    const uint32_t take = std::min(n, padding_left_);
    padding_left_ -= take;
    if (padding_left_ == 0) state_ = PduState::Data;
    return take;
}

uint32_t ConnectionEngine::on_data(const uint8_t* p, uint32_t n) noexcept {
    const uint32_t take = std::min(n, data_left_);
    if (placing_ && !conn_.registrations.still_valid(claim_)) {
        // Torn down while its data was arriving: not one more byte goes into that buffer.
        placing_ = false;
        claim_ = {};
        conn_.counters.place_torn_down.add();
    }
    if (placing_) {
        // One pass over the payload: placed and digested together.
        if (crc_on_) {
            cursor_.copy_and_crc(p, take, crc_state_);
        } else {
            cursor_.copy(p, take);
        }
        conn_.counters.placed_bytes.add(take);
        mark_placed(payload_off_, take);
    } else {
        mark_unplaced();
        if (crc_on_) crc_state_ = nvmetcp::crc32c_extend(crc_state_, p, take);
    }
    consumed_data(take);
    return take;
}

uint32_t ConnectionEngine::on_data_digest(const uint8_t* p, uint32_t n) noexcept {
    const uint32_t take = std::min(n, nvmetcp::kDigestLen - digest_have_);
    std::memcpy(digest_ + digest_have_, p, take);
    digest_have_ += take;
    if (digest_have_ < nvmetcp::kDigestLen) return take;

    ddp::EngineCounters& counters = conn_.counters;
    if (crc_on_) {
        if (~crc_state_ == nvmetcp::load_le32(digest_)) {
            saturating_inc(meta_->digests_ok);
            counters.digest_offloaded.add();
        } else {
            saturating_inc(meta_->digests_bad);
            counters.digest_failed.add();
        }
    } else {
        saturating_inc(meta_->digests_unverified);
        counters.digest_fallback.add();
    }
    end_pdu();
    return take;
}

uint32_t ConnectionEngine::on_trailer(uint32_t n) noexcept {
    const uint32_t take = std::min(n, trailer_left_);
    trailer_left_ -= take;
    if (trailer_left_ == 0) end_pdu();
    return take;
}

void ConnectionEngine::end_pdu() noexcept {
    state_ = PduState::Header;
    layout_ready_ = false;
    hdr_have_ = 0;
    placing_ = false;
    crc_on_ = false;
    claim_ = {};
}

// --- Searching and the resync handshake -------------------------------------------------------------

void ConnectionEngine::lose_framing() noexcept {
    end_pdu();
    mode_ = Mode::Searching;
    carry_len_ = 0;
    if (meta_ != nullptr) {
        meta_->flags |= NVMEDDP_PKT_OUT_OF_SYNC;
        mark_unplaced();
    }
}

// Posts a resync request for a header starting at seq and follows the framing from there.
void ConnectionEngine::found_candidate(uint32_t seq) noexcept {
    request_ = conn_.resync.post(seq);
    conn_.counters.resync_requests.add();
    packets_since_request_ = 0;
    mode_ = Mode::Speculating;
}

void ConnectionEngine::check_resync_answer() noexcept {
    const auto answer = conn_.resync.take_answer();
    if (!answer || !(answer->request == request_)) return;
    if (answer->confirmed) {
        // The host's parser found a header exactly where the framing was guessed: the framing
        // followed since is right. Placement resumes at the next header (the current PDU, if one
        // is under way, stays unplaced and unverified).
        mode_ = Mode::InSync;
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
            found_candidate(seq_here() - in_carry);
            end_pdu();
            // The candidate's first bytes were in the previous packet: they begin the header.
            std::memcpy(hdr_, carry_ + c.offset, in_carry);
            hdr_have_ = in_carry;
            pdu_start_seq_ = seq_here() - in_carry;
            carry_len_ = 0;
            return 0;
        }
    }
    const nvmetcp::HeaderCandidate c = nvmetcp::find_pdu_header({p, n}, params_);
    if (c.strength != nvmetcp::CandidateStrength::None) {
        const auto at = static_cast<uint32_t>(c.offset);
        found_candidate(seq_here() + at);
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
    return n;
}

}  // namespace nvmeddp::pmd
