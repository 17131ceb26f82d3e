// Three usual packets taken without the state machine, each exactly as the state machine would take
// it (the same checks, counters, state, claim and flags); any other packet, and one whose checks
// fail, goes to the state machine untouched, which counts why.
// - The usual packet of a read: the next bytes of the stream, in sync, all of them data of the
//   C2HData being placed, nothing below the stream's front awaited (no hole, no lost header, no copy
//   remembered). Placed in one pass and claimed whole, without the walk through the packet's chunks,
//   the per-state dispatch and the claim's run list; a failed placement check stops the placement.
// - The packet where one C2HData ends and the next begins (small reads: about one packet in three
//   of a 4 KiB read at MSS 1448): the end of the data, its digest, a CapsuleResp, the next header
//   and the first of its data, in that order, any of the last three missing. The same conditions
//   as above for the first PDU's bytes; the headers are taken and the PDUs opened and closed by the
//   state machine's own steps, and the claim is written as its run list would choose it, without
//   the walk, the dispatch and the list.
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

    start_meta(meta, conn_id_);
    counters_.packets.add();
    counters_.bytes.add(len);
    ++packet_serial_;
    place_data(payload.data, len, offset);
    counters_.placed_packets.add();
    claim_run(meta, seq, offset, len);
    // Every byte new and followed in sync: the packet's copy is the one the digest is computed over.
    meta.flags = NVMEDDP_PKT_PLACED | NVMEDDP_PKT_CRC;
    rcv_nxt_ += len;
    if (rcv_nxt_ == data_end_) after_data();
    return true;
}

bool ConnectionEngine::cross_straight(TcpSeq seq, const PayloadChunk& payload, PacketMeta& meta) noexcept {
    const uint32_t len = payload.len;
    const uint8_t* const p = payload.data;
    if (seq != rcv_nxt_ || mode_ != Mode::InSync || state_ != PduState::Data || !placing_) return false;
    // Run 1: the rest of the data and its digest (verified here, so only when it is being computed),
    // all in the packet; the PDU ends with them (a C2HData's plen says so; checked all the same).
    const uint32_t tail = rcv_nxt_.bytes_to(data_end_);
    const uint32_t digest = layout_.has_data_digest ? nvmetcp::kDigestLen : 0;
    uint32_t at = tail + digest;  // where the next PDU begins in the packet
    if (len < at) return false;
    // Then a whole CapsuleResp, then a whole C2HData header and data of that PDU short of its end;
    // either may be missing, nothing else may be there. First by their types and plen fields as they
    // stand (a C2HData that ends in the packet, with small PDUs in large packets, is the state
    // machine's: ruled out before any check), then every header must pass the quick check.
    uint32_t rest = len - at;
    const uint8_t* resp_at = nullptr;
    if (rest >= sizeof(nvmetcp::CommonHeader) && p[at + nvmetcp::ch_offset::kType] == static_cast<uint8_t>(nvmetcp::PduType::CapsuleResp)) {
        const uint32_t plen = nvmetcp::load_le32(p + at + nvmetcp::ch_offset::kPlen);
        if (plen > rest) return false;
        resp_at = p + at;
        at += plen;
        rest -= plen;
    }
    const uint8_t* next_at = nullptr;
    if (rest > 0) {
        if (rest < sizeof(nvmetcp::CommonHeader) || p[at + nvmetcp::ch_offset::kType] != static_cast<uint8_t>(nvmetcp::PduType::C2HData) ||
            rest >= nvmetcp::load_le32(p + at + nvmetcp::ch_offset::kPlen)) {
            return false;
        }
        next_at = p + at;
    }
    if ((digest != 0 && !crc_on_) || data_end_ + digest != pdu_end_ || !nothing_awaited()) return false;
    const uint64_t offset = uint64_t{datao_} + data_begin_.bytes_to(rcv_nxt_);
    if (!ClaimBuilder::claimable(tail, offset) || placement_refused(offset) != nullptr) return false;
    // A CapsuleResp passes only with plen equal to its header's length: the header is the whole PDU.
    nvmetcp::PduLayout resp;
    nvmetcp::PduLayout next;
    if (resp_at != nullptr && !nvmetcp::quick_stream_header(resp_at, static_cast<uint32_t>(p + len - resp_at), params_, resp)) return false;
    uint32_t head = 0;  // data bytes of the next C2HData in the packet
    if (next_at != nullptr) {
        if (!nvmetcp::quick_stream_header(next_at, rest, params_, next) || rest < next.data_offset ||
            rest - next.data_offset >= next.data_len) {
            return false;
        }
        head = rest - next.data_offset;
    }

    start_meta(meta, conn_id_);
    counters_.packets.add();
    counters_.bytes.add(len);
    ++packet_serial_;
    meta_ = &meta;
    packet_front_ = seq;
    c2h_opened_ = 0;  // the PDU open when the packet came is ordinal 0 of its claim
    verdict_given_ = false;
    ahead_given_ = false;
    place_data(p, tail, offset);
    counters_.placed_packets.add();
    claim_run(meta, seq, offset, tail);
    rcv_nxt_ += tail;
    if (digest != 0) {
        std::memcpy(digest_, p + tail, nvmetcp::kDigestLen);
        digest_have_ = nvmetcp::kDigestLen;
        rcv_nxt_ += nvmetcp::kDigestLen;
        verify_data_digest();
    }
    end_pdu();
    if (resp_at != nullptr) {
        layout_ = resp;
        take_quick_header(resp_at);  // opens and ends the PDU
    }
    if (next_at != nullptr) {
        layout_ = next;
        take_quick_header(next_at);  // in its data now (head < its data length)
        const uint64_t offset2 = uint64_t{datao_} + data_begin_.bytes_to(rcv_nxt_);
        if (head > 0 && take_data(next_at + next.data_offset, head, offset2) && ClaimBuilder::claimable(head, offset2)) {
            // Run 2, as the claim builder would choose: the pair when the packet framed it (it
            // always has here, from run 1's PDU's end on), else the longer run alone.
            if (run_pdu_.framed_here) {
                meta.place2_tag = ddp::RegistrationTable::tag_of(claim_);
                meta.place2_len = static_cast<uint16_t>(head);
            } else if (head > tail) {
                claim_run(meta, rcv_nxt_, offset2, head);
            }
        }
        rcv_nxt_ += head;
    }
    // Every byte new and followed in sync.
    meta.flags |= NVMEDDP_PKT_PLACED | NVMEDDP_PKT_CRC;
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

    start_meta(meta, conn_id_);
    counters_.packets.add();
    counters_.bytes.add(len);
    ++packet_serial_;
    // What on_header(), open_pdu() and end_pdu() leave behind for such a PDU. (The PDU before ended,
    // so what end_pdu() clears is clear already; cleared again here so that this does not depend on it.)
    copy_whole_header(p, len);
    layout_ = layout;
    pdu_start_ = seq;
    pdu_end_ = data_begin_ = data_end_ = seq + len;
    digest_have_ = 0;
    layout_ready_ = c2h_data_ = placing_ = crc_on_ = false;
    claim_ = {};
    completes_ = conn_.registrations.claim(reinterpret_cast<const nvmetcp::CapsuleRespPdu*>(p)->cqe.cid.get());
    finish_command();
    // Every byte new and followed in sync.
    meta.flags = NVMEDDP_PKT_CRC;
    rcv_nxt_ += len;
    return true;
}

}  // namespace nvmeddp::pmd
