// Three usual packets taken without the state machine, each exactly as the state machine would take
// it (the same checks, counters, state, claim and flags); any other packet, and one whose checks
// fail, goes to the state machine untouched, which counts why.
// - The usual packet of a read: the next bytes of the stream, in sync, all of them data of the
//   C2HData being placed, nothing below the stream's front awaited (no hole, no lost header, no copy
//   remembered). Placed in one pass and claimed whole, without the walk through the packet's chunks,
//   the per-state dispatch and the claim's run list; a failed placement check stops the placement.
// - The packet where C2HData PDUs end and begin (small reads: about one packet in three of a 4 KiB
//   read at MSS 1448; at MSS 8948 nearly every packet, holding the end of one, whole ones and the
//   start of another): the end of the data, its digest, then whole PDUs (CapsuleResps, C2HData with
//   their data and digest) and the next header with the first of its data, any of them missing.
//   The same conditions as above for the first PDU's bytes, and every header passing the quick
//   check before anything is written; the headers are taken, the PDUs opened and closed and their
//   data placed by the state machine's own steps, and the claim chosen as its run list would
//   choose it (InOrderClaim), without the walk through the packet, the dispatch and the list.
// - A packet that is one whole CapsuleResp (a target that sends each PDU by itself, as with
//   TCP_NODELAY, completes every write and every read without the SUCCESS flag so): the command it
//   completes is marked, nothing is placed, and the state machine's header copy, PDU opening and
//   closing and the packet's per-claim bookkeeping are skipped.
#include "pmd/engine/connection_engine.hpp"

#include <cstring>

#include "nvmetcp/pdu.hpp"
#include "nvmetcp/wire_int.hpp"

namespace nvmeddp::pmd {

bool ConnectionEngine::place_straight(TcpSeq seq, const PayloadChunk& payload, PacketMeta& meta) noexcept {
    const uint32_t len = payload.len;
    if (seq != rcv_nxt_ || mode_ != Mode::InSync || state_ != PduState::Data || !placing_) return false;
    if (len == 0 || rcv_nxt_.bytes_to(data_end_) < len) return false;  // not all of it data of this PDU
    if (!nothing_awaited()) return false;
    const uint64_t offset = uint64_t{datao_} + data_begin_.bytes_to(rcv_nxt_);
    // A run the claim cannot name: placed, but not claimed, by the state machine.
    if (!ClaimBuilder::claimable(len, offset)) return false;
    if (placement_refused(offset) != nullptr) return false;

    begin_straight_packet(meta, len);
    place_data(payload.data, len, offset);
    counters_.placed_packets.add();
    // The claim's run 1 (ddp_mbuf.h): claimable() held above.
    PlacedRun{seq, len, static_cast<uint32_t>(offset), cccid_, ddp::RegistrationTable::tag_of(claim_)}.write_as_run1(meta);
    // Every byte new and followed in sync: the packet's copy is the one the digest is computed over.
    meta.flags = NVMEDDP_PKT_PLACED | NVMEDDP_PKT_CRC;
    rcv_nxt_ += len;
    if (rcv_nxt_ == data_end_) after_data();
    return true;
}

// The C2HData whose data ended at rcv_nxt_ (q: its bytes) ends in the packet: its digest, when it
// has one, checked as on_data_digest() checks it (no holes here), then the PDU closed. q moves past.
[[gnu::always_inline]] inline void ConnectionEngine::end_data_straight(const uint8_t*& q) noexcept {
    if (layout_.has_data_digest) {
        std::memcpy(digest_, q, nvmetcp::kDigestLen);
        digest_have_ = nvmetcp::kDigestLen;
        rcv_nxt_ += nvmetcp::kDigestLen;
        q += nvmetcp::kDigestLen;
        verify_data_digest();
    }
    end_pdu();
}

// A C2HData header at q passed the quick check (layout, data_len its data length): taken and its
// PDU opened by the state machine's steps, then n of its data bytes placed (or digested only) as
// on_data() takes them and noted in the claim. Returns where its bytes in the packet end.
[[gnu::always_inline]] inline const uint8_t* ConnectionEngine::take_c2h_data_straight(const uint8_t* q, const nvmetcp::PduLayout& layout,
                                                                                       uint32_t data_len, uint32_t n, InOrderClaim& claim) noexcept {
    layout_ = layout;
    layout_.data_len = data_len;
    take_quick_header(q);
    q += layout_.header_len;
    const uint64_t offset = uint64_t{datao_} + data_begin_.bytes_to(rcv_nxt_);
    const bool placed = n > 0 && take_data(q, n, offset);
    claim.pdu(rcv_nxt_, placed ? n : 0, offset, cccid_, ddp::RegistrationTable::tag_of(claim_), run_pdu_.framed_here);
    rcv_nxt_ += n;
    return q + n;
}

// A CapsuleResp whole at p (its layout from the quick check), at rcv_nxt_, in sync with nothing
// awaited, the PDU before it ended by end_pdu() (state_ Header, no header bytes taken): what
// on_header(), open_pdu() and end_pdu() leave behind for such a PDU, without them. The fields a
// PDU's opening sets are set again here whatever end_pdu() left in them.
[[gnu::always_inline]] inline void ConnectionEngine::take_capsule_resp(const uint8_t* p, const nvmetcp::PduLayout& layout) noexcept {
    copy_whole_header(p, layout.header_len);
    layout_ = layout;
    pdu_start_ = rcv_nxt_;
    rcv_nxt_ += layout.header_len;
    pdu_end_ = data_begin_ = data_end_ = rcv_nxt_;
    digest_have_ = 0;
    layout_ready_ = c2h_data_ = placing_ = crc_on_ = false;
    claim_ = {};
    completes_ = conn_.registrations.claim(reinterpret_cast<const nvmetcp::CapsuleRespPdu*>(p)->cqe.cid.get());
    finish_command();
}

bool ConnectionEngine::cross_straight(TcpSeq seq, const PayloadChunk& payload, PacketMeta& meta) noexcept {
    const uint32_t len = payload.len;
    const uint8_t* const p = payload.data;
    if (seq != rcv_nxt_ || mode_ != Mode::InSync || state_ != PduState::Data || !placing_) return false;
    // The packet's first run: the rest of the data and its digest, all in the packet; the PDU ends
    // with them (a C2HData's plen says so; checked all the same).
    const uint32_t tail = rcv_nxt_.bytes_to(data_end_);
    uint32_t at = tail + (layout_.has_data_digest ? nvmetcp::kDigestLen : 0);  // where the next PDU begins
    if (len < at || at != rcv_nxt_.bytes_to(pdu_end_) || !nothing_awaited()) return false;
    const uint64_t offset = uint64_t{datao_} + data_begin_.bytes_to(rcv_nxt_);
    if (!ClaimBuilder::claimable(tail, offset) || placement_refused(offset) != nullptr) return false;
    // Then the PDUs that begin in the packet, every header passing the quick check before anything
    // is written: whole ones (CapsuleResps, C2HData with their data and digest) and, last, at most
    // one C2HData short of the end of its data. A packet that ends elsewhere (in a header or a
    // digest), or holds more C2HData than the claim builder weighs, is the state machine's. The
    // quick check ties a header's length and a C2HData's data digest to the connection's
    // parameters, so the layouts differ only in data length (0: a CapsuleResp), which is all that
    // is kept of each (no array of whole layouts to clear on every packet).
    nvmetcp::PduLayout resp_layout;
    nvmetcp::PduLayout data_layout;
    uint32_t data_len[kCrossPdus];
    uint32_t count = 0;
    uint32_t c2h = 1;   // the packet's C2HData PDUs, the one open when it came included
    uint32_t head = 0;  // data bytes of the last one, when it ends past the packet
    bool open_last = false;
    for (uint32_t rest = len - at; rest > 0;) {
        if (count == kCrossPdus) return false;
        nvmetcp::PduLayout l;
        if (!nvmetcp::quick_stream_header(p + at, rest, params_, l)) return false;  // a CapsuleResp passes only whole
        data_len[count++] = l.data_len;
        if (l.data_len == 0) {
            resp_layout = l;
            at += l.header_len;
            rest -= l.header_len;
            continue;
        }
        data_layout = l;
        if (++c2h > ClaimBuilder::kMaxRuns) return false;
        const uint32_t plen = l.data_offset + l.data_len + (l.has_data_digest ? nvmetcp::kDigestLen : 0);
        if (plen <= rest) {
            at += plen;
            rest -= plen;
            continue;
        }
        head = rest - l.data_offset;
        if (head >= l.data_len) return false;  // its digest split by the packet's end
        open_last = true;
        break;
    }

    begin_straight_packet(meta, len);
    reset_packet_framing(meta, seq);  // the PDU open when the packet came is ordinal 0 of its claim
    InOrderClaim claim(meta);
    place_data(p, tail, offset);
    claim.pdu(seq, tail, offset, cccid_, ddp::RegistrationTable::tag_of(claim_), false);
    rcv_nxt_ += tail;
    const uint8_t* q = p + tail;  // the packet's bytes at rcv_nxt_
    end_data_straight(q);
    // The PDUs whole in the packet, then the one its end cuts short.
    const uint32_t whole = open_last ? count - 1 : count;
    for (uint32_t i = 0; i < whole; ++i) {
        if (data_len[i] == 0) {
            take_capsule_resp(q, resp_layout);
            q += resp_layout.header_len;
            continue;
        }
        q = take_c2h_data_straight(q, data_layout, data_len[i], data_len[i], claim);
        end_data_straight(q);
    }
    if (open_last) take_c2h_data_straight(q, data_layout, data_len[whole], head, claim);  // in its data now (head < its length)
    // Every byte new and followed in sync.
    meta.flags |= NVMEDDP_PKT_CRC;
    if (claim.claimed()) {
        meta.flags |= NVMEDDP_PKT_PLACED;
        counters_.placed_packets.add();
    }
    if (verdict_given_ && verdict_ok_) meta.flags |= NVMEDDP_PKT_DIGEST_OK;
    meta_ = nullptr;
    return true;
}

bool ConnectionEngine::complete_straight(TcpSeq seq, const PayloadChunk& payload, PacketMeta& meta) noexcept {
    const uint32_t len = payload.len;
    const uint8_t* p = payload.data;
    if (seq != rcv_nxt_ || mode_ != Mode::InSync || state_ != PduState::Header || hdr_have_ != 0) return false;
    if (len < nvmetcp::kHlenCapsuleResp || p[nvmetcp::ch_offset::kType] != static_cast<uint8_t>(nvmetcp::PduType::CapsuleResp)) return false;
    if (!nothing_awaited()) return false;
    // A CapsuleResp passes the quick check only with plen equal to its header's length: the packet
    // is that PDU and nothing else when the header is all of it.
    nvmetcp::PduLayout layout;
    if (!nvmetcp::quick_stream_header(p, len, params_, layout) || layout.header_len != len) return false;

    begin_straight_packet(meta, len);
    take_capsule_resp(p, layout);
    // Every byte new and followed in sync.
    meta.flags = NVMEDDP_PKT_CRC;
    return true;
}

}  // namespace nvmeddp::pmd
