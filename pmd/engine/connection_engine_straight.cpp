// The usual packet of a read, without the state machine: the next bytes of the stream, in sync, all
// of them data of the C2HData being placed, nothing below the stream's front awaited (no hole, no
// lost header, no copy remembered). Such a packet is placed in one pass and claimed whole, exactly
// as on_data() and the claim builder would have done it (the same checks, counters, claim and
// flags), without the walk through the packet's chunks, the per-state dispatch and the claim's run
// list. Any other packet, and one whose placement checks fail, goes to the state machine untouched:
// it counts why, and stops the placement.
#include "pmd/engine/connection_engine.hpp"

namespace nvmeddp::pmd {

bool ConnectionEngine::place_straight(TcpSeq seq, const PayloadChunk& payload, PacketMeta& meta) noexcept {
    const uint32_t len = payload.len;
    if (seq != rcv_nxt_ || mode_ != Mode::InSync || state_ != PduState::Data || !placing_) return false;
    if (len == 0 || rcv_nxt_.bytes_to(data_end_) < len) return false;  // not all of it data of this PDU
    if (gap_slot_ != GapPdus::kNone || !gaps_.empty() || lost_header_ || !copies_.empty()) return false;
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

}  // namespace nvmeddp::pmd
