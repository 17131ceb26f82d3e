// Two usual packets taken without the state machine, each exactly as the state machine would take
// it (the same checks, counters, state, claim and flags); any other packet, and one whose checks
// fail, goes to the state machine untouched, which counts why.
// - The usual packet of a read: the next bytes of the stream, in sync, all of them data of the
//   C2HData being placed, nothing below the stream's front awaited (no hole, no lost header, no copy
//   remembered). Placed in one pass and claimed whole, without the walk through the packet's chunks,
//   the per-state dispatch and the claim's run list; a failed placement check stops the placement.
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
    const ddp::Registration& r = *claim_.registration;

    start_meta(meta, conn_id_);
    counters_.packets.add();
    counters_.bytes.add(len);
    ++packet_serial_;
    if (crc_on_) {
        cursor_.copy_and_crc(payload.data, len, crc_state_);
    } else {
        cursor_.copy(payload.data, len);
    }
    r.raise_device_written(offset + len);
    counters_.placed_bytes.add(len);
    counters_.placed_packets.add();
    meta.place_seq = seq.raw();
    meta.place_buf_off = static_cast<uint32_t>(offset);
    meta.place_len = static_cast<uint16_t>(len);
    meta.place_cccid = cccid_;
    meta.place_tag = ddp::RegistrationTable::tag_of(claim_);
    // Every byte new and followed in sync: the packet's copy is the one the digest is computed over.
    meta.flags = NVMEDDP_PKT_PLACED | NVMEDDP_PKT_CRC;
    rcv_nxt_ += len;
    if (rcv_nxt_ == data_end_) after_data();
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
    std::memcpy(hdr_, p, nvmetcp::kHlenCapsuleResp);  // constant sizes, as in on_header(): moves, not a call
    if (len > nvmetcp::kHlenCapsuleResp) std::memcpy(hdr_ + nvmetcp::kHlenCapsuleResp, p + nvmetcp::kHlenCapsuleResp, nvmetcp::kDigestLen);
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
