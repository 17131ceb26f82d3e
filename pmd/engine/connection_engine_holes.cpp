// ConnectionEngine: C2HData PDUs with holes (gap_pdus.hpp). The main state machine is in
// connection_engine.cpp; this file keeps track of what a gap took from a PDU and takes it back when
// a retransmitted or overtaken packet brings it.
//
// The rules that keep a late byte as safe as an in-order one:
//   - a byte is taken only inside a hole, so each byte of a registration is written at most once,
//     and the packet that brought it is the only one whose NVMEDDP_PKT_CRC covers it;
//   - the registration is checked live before every write, and nothing is written below what the
//     host declared final (nvmeddp_filled());
//   - while a PDU has holes its whole data range is reserved in the registration
//     (raise_device_written), so no other PDU of the command can be placed over a hole;
//   - the digest is checked only when every byte of the body was seen, each once: the runs' CRCs,
//     joined in sequence order, are the CRC of the data the host will have.
#include <algorithm>

#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/crc32c_combine.hpp"
#include "pmd/engine/connection_engine.hpp"

namespace nvmeddp::pmd {

// The bytes [rcv_nxt_, to) of the current C2HData went missing. The PDU is kept track of from its
// first gap on; when the table is full its digest falls back to the host and its missing data is
// the host's to copy, as before this table existed.
void ConnectionEngine::track_hole(TcpSeq to) noexcept {
    if (gap_slot_ == GapPdus::kNone) {
        if (!placing_ && !crc_on_) return;  // nothing to place or check: nothing to gain
        gap_slot_ = open_gap_pdu(pdu_start_, layout_, pdu_start_.bytes_to(pdu_end_), crc_on_,
                                 placing_ ? claim_ : ddp::RegistrationTable::Claim{}, cccid_, datao_);
        if (gap_slot_ == GapPdus::kNone) {
            crc_on_ = false;
            return;
        }
        const GapPdus::Pdu& g = gaps_.at(gap_slot_);
        run_begin_ = g.body_begin;
        // The CRC so far started from the seed; the runs' start from 0 (crc32c_combine.hpp).
        if (crc_on_) crc_state_ ^= nvmetcp::crc32c_shift(nvmetcp::Crc32c::kSeed, g.data_bytes(g.body_begin, rcv_nxt_));
    }
    close_run();
    run_begin_ = to;
}

// A slot for a C2HData with holes (kNone when the table is full: counted). The claim, when there is
// one, reserves the PDU's whole data range in the registration: no other PDU of the command may be
// placed over a hole of this one.
int ConnectionEngine::open_gap_pdu(TcpSeq pdu_start, const nvmetcp::PduLayout& layout, uint32_t plen, bool check_digest,
                                   const ddp::RegistrationTable::Claim& claim, uint16_t cccid, uint32_t datao) noexcept {
    gaps_.forget_older_than(rcv_nxt_);
    const int slot = gaps_.open();
    if (slot == GapPdus::kNone) {
        counters_.gap_untracked.add();
        return slot;
    }
    GapPdus::Pdu& g = gaps_.at(slot);
    g.pdu_start = pdu_start;
    g.body_begin = pdu_start + layout.header_len;
    g.data_begin = pdu_start + layout.data_offset;
    g.data_end = g.data_begin + layout.data_len;
    g.pdu_end = pdu_start + plen;
    g.has_digest = layout.has_data_digest;
    g.check_digest = check_digest;
    g.placing = static_cast<bool>(claim);
    g.claim = claim;
    g.cccid = cccid;
    g.datao = datao;
    if (claim) claim.registration->raise_device_written(uint64_t{datao} + layout.data_len);
    return slot;
}

// Adds the bytes the stream brought since run_begin_ to the current PDU's runs (giving up a hole
// when there is no room for another run).
void ConnectionEngine::close_run() noexcept {
    GapPdus::Pdu& g = gaps_.at(gap_slot_);
    if (run_begin_ == rcv_nxt_) return;
    if (!g.room_for(run_begin_, rcv_nxt_)) {
        g.forfeit_smallest_hole();
        crc_on_ = false;
    }
    // The digest bytes of the run, from where the state machine keeps them (by position).
    g.keep_digest_bytes(run_begin_, rcv_nxt_, digest_, g.data_end);
    g.add({run_begin_, rcv_nxt_, g.check_digest ? crc_state_ : 0});
    run_begin_ = rcv_nxt_;
    crc_state_ = 0;
}

void ConnectionEngine::untrack_current() noexcept {
    gaps_.close(gap_slot_);
    gap_slot_ = GapPdus::kNone;
    crc_on_ = false;
    counters_.gap_untracked.add();
}

// The stream reached the end of the current PDU with holes. ends_in_packet: its last byte (the
// digest's) is in this packet, so the packet's verdict names it: verified when no hole is left,
// otherwise "not verified" (the host computes the digest, unless the packet that fills the last hole
// verifies it first).
void ConnectionEngine::settle_gapped_pdu(bool ends_in_packet) noexcept {
    close_run();
    const int slot = gap_slot_;
    gap_slot_ = GapPdus::kNone;
    crc_on_ = false;
    gaps_.at(slot).ended = true;
    judge_gap_pdu(slot, ends_in_packet);
}

// A PDU with holes that has ended, after this packet's bytes: concluded when no hole is left;
// otherwise, when it ends in this packet, named as its first PDU to end, not verified.
void ConnectionEngine::judge_gap_pdu(int slot, bool ends_in_packet) noexcept {
    const GapPdus::Pdu& g = gaps_.at(slot);
    if (g.complete()) {
        conclude_gap_pdu(slot, ends_in_packet);
    } else if (ends_in_packet && g.has_digest) {
        give_verdict(g.pdu_start, false, false);
    }
}

// Every byte of the PDU's body seen, once: its digest is checked and the slot freed. The verdict
// rides on this packet: as the verdict on the PDUs ending in it when this one does, otherwise as a
// verdict on a PDU ahead (NVMEDDP_PKT_DIGEST_AHEAD), which the host applies when that PDU ends.
void ConnectionEngine::conclude_gap_pdu(int slot, bool ends_in_packet) noexcept {
    GapPdus::Pdu& g = gaps_.at(slot);
    ddp::EngineCounters& counters = counters_;
    if (g.has_digest) {
        bool ok = false;
        if (g.check_digest) {
            ok = g.digest_matches();
            if (ok) {
                counters.digest_offloaded.add();
                counters.digest_combined.add();
            } else {
                counters.digest_failed.add();
            }
        } else {
            counters.digest_fallback.add();
        }
        if (ends_in_packet) {
            give_verdict(g.pdu_start, g.check_digest, ok);
        } else if (g.check_digest && !ahead_given_) {
            ahead_given_ = true;
            ahead_ok_ = ok;
            ahead_pdu_ = g.pdu_start;
        }
    }
    gaps_.close(slot);
}

// Whether [begin, end) lies inside the data of one PDU with holes whose digest the device checks.
bool ConnectionEngine::inside_digested_gap_data(TcpSeq begin, TcpSeq end) const noexcept {
    for (int slot = 0; slot < static_cast<int>(GapPdus::kSlots); ++slot) {
        if (!gaps_.in_use(slot)) continue;
        const GapPdus::Pdu& g = gaps_.at(slot);
        if (g.check_digest && g.data_begin <= begin && end <= g.data_end) return true;
    }
    return false;
}

// len bytes from seq, all below rcv_nxt_: takes those inside holes. Returns how many it took.
uint32_t ConnectionEngine::fill_holes(TcpSeq seq, std::span<const PayloadChunk> payload, uint32_t len) noexcept {
    // The current PDU's runs up to rcv_nxt_, so that its holes are exactly what it has not seen.
    if (gap_slot_ != GapPdus::kNone) close_run();
    uint32_t taken = 0;
    TcpSeq at = seq;
    for (const PayloadChunk& c : payload) {
        if (len == 0) break;
        const uint32_t n = std::min(c.len, len);
        taken += fill_chunk(at, c.data, n);
        if (lost_header_) taken += take_lost_header(at, c.data, n);
        at += n;
        len -= n;
    }
    return taken;
}

uint32_t ConnectionEngine::fill_chunk(TcpSeq at, const uint8_t* p, uint32_t n) noexcept {
    const TcpSeq end = at + n;
    uint32_t taken = 0;
    for (int slot = 0; slot < static_cast<int>(GapPdus::kSlots); ++slot) {
        if (!gaps_.in_use(slot)) continue;
        GapPdus::Pdu& g = gaps_.at(slot);
        if (end <= g.body_begin || g.pdu_end <= at) continue;
        for (TcpSeq from = at;;) {
            const GapPdus::Run hole = g.next_hole(from, end);
            if (hole.begin == hole.end) break;
            if (!g.room_for(hole.begin, hole.end)) {
                // More holes than the slot has runs: one of them is given up, and looked at again.
                g.forfeit_smallest_hole();
                if (slot == gap_slot_) crc_on_ = false;
                continue;
            }
            const uint32_t len = hole.begin.bytes_to(hole.end);
            take_hole_bytes(g, hole.begin, p + at.bytes_to(hole.begin), len);
            taken += len;
            from = hole.end;
        }
        if (gaps_.in_use(slot) && g.ended) judge_gap_pdu(slot, g.pdu_end <= end);
    }
    return taken;
}

// n bytes of a hole, from begin: data placed (when the PDU is being placed) and digested, digest
// bytes kept, and the bytes added as a run.
void ConnectionEngine::take_hole_bytes(GapPdus::Pdu& g, TcpSeq begin, const uint8_t* p, uint32_t n) noexcept {
    const TcpSeq end = begin + n;
    uint32_t crc = 0;
    const TcpSeq data_from = std::max(begin, g.data_begin);
    const TcpSeq data_to = std::min(end, g.data_end);
    if (data_from < data_to) {
        const uint8_t* data = p + begin.bytes_to(data_from);
        const uint32_t len = data_from.bytes_to(data_to);
        const uint64_t offset = uint64_t{g.datao} + g.data_begin.bytes_to(data_from);
        ddp::EngineCounters& counters = counters_;
        if (g.placing && !conn_.registrations.still_valid(g.claim)) {
            g.placing = false;  // torn down: not one more byte goes into that buffer
            counters.place_torn_down.add();
        } else if (g.placing && g.claim.registration->completed_by(g.pdu_start.raw())) {
            g.placing = false;  // a completion before this PDU came to light since: not the command's data
            counters.place_rewrite.add();
        } else if (g.placing && offset < g.claim.registration->host_filled()) {
            g.placing = false;
            counters.place_behind_host.add();
        }
        SglCursor cursor;
        if (g.placing && cursor.seek(g.claim.registration->segments(), offset)) {
            if (g.check_digest) {
                cursor.copy_and_crc(data, len, crc);
            } else {
                cursor.copy(data, len);
            }
            counters.placed_bytes.add(len);
            counters.late_placed_bytes.add(len);
            RunPdu fill{};  // not part of the packet's framing: pairs only with the fill of the PDU before or after
            fill.hole_fill = true;
            fill.framed_here = g.header_packet == packet_serial_;
            fill.data_begin = g.data_begin;
            fill.data_end = g.data_end;
            fill.framed_from = g.framed_from;
            fill.pdu_end = g.pdu_end;
            claims_.placed(data_from, len, offset, g.cccid, ddp::RegistrationTable::tag_of(g.claim), fill);
        } else if (g.check_digest) {
            crc = nvmetcp::crc32c_extend(0, data, len);
        }
    }
    g.keep_digest_bytes(begin, end, p, begin);
    g.add({begin, end, crc});
}

}  // namespace nvmeddp::pmd
