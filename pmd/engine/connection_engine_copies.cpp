// ConnectionEngine: later copies of packets the host may hold out of order (digested_copies.hpp).
//
// While a hole is open below them, the host's TCP holds the packets after it and may replace one
// with a later copy of the same range (a duplicate, a retransmission cut the same way). That copy has
// no new byte: the engine neither digests nor places it. But the bytes are known to the device:
//   - their CRC32C: a copy with the first one's CRC32C is marked CRC (the PDU's digest over either
//     is one value);
//   - where they are: the first copy was placed. A copy whose bytes equal, byte for byte, what the
//     buffer holds at that claim's offsets is claimed the same way, so the host that kept it does
//     not copy it again. Compared, not assumed: a copy with other bytes (a lying one, or the right
//     one after the device placed a lying first copy) is not claimed, and the host copies what it
//     kept. Nothing writes those buffer bytes until the host takes them: the device writes a buffer
//     byte once per registration (placement_for refuses offsets below device_written(), and hole
//     fills take only bytes never seen), and the host writes one only when it takes its sequence
//     number, from one copy (the claim counts only if it takes the byte from this packet, and then
//     it wrote none of them).
//
// The comparison reads the user's buffer while the host's lcore may be writing other parts of it,
// or (for a copy of these bytes it took already, so that this claim is never applied) these very
// bytes: a race on plain bytes, harmless by the argument above, and the one place the engine reads
// what it placed.
#include <algorithm>

#include "nvmetcp/crc32c.hpp"
#include "pmd/engine/connection_engine.hpp"

namespace nvmeddp::pmd {

namespace {

// CRC32C from state 0 of a packet's whole payload.
uint32_t payload_crc(std::span<const PayloadChunk> payload) noexcept {
    uint32_t crc = 0;
    for (const PayloadChunk& c : payload) crc = nvmetcp::crc32c_extend(crc, c.data, c.len);
    return crc;
}

}  // namespace

// The packet, all data of one PDU the device digested with a hole below it, is done (meta_
// finished): it is remembered with its CRC32C and its placement claim, if it has one.
void ConnectionEngine::remember_copy(TcpSeq seq, uint32_t len, std::span<const PayloadChunk> payload) noexcept {
    DigestedCopies::Placement placed{};
    const PacketMeta& m = *meta_;
    if ((m.flags & NVMEDDP_PKT_PLACED) != 0 && m.place2_len == 0) {
        const uint32_t from = seq.bytes_to(TcpSeq(m.place_seq));
        if (from < len && from <= UINT16_MAX) {
            placed = {static_cast<uint16_t>(from), m.place_len, m.place_buf_off, m.place_cccid, m.place_tag};
        }
    }
    copies_.remember(seq, len, payload_crc(payload), placed);
}

// A copy with no new byte of a range the device remembered: marked CRC when its CRC32C is the first
// copy's; claimed where the first copy was placed when its bytes are there.
void ConnectionEngine::take_later_copy(TcpSeq seq, uint32_t len, std::span<const PayloadChunk> payload) noexcept {
    ddp::EngineCounters& counters = counters_;
    if (copies_.matches(seq, len, payload_crc(payload))) {
        meta_->flags |= NVMEDDP_PKT_CRC;
        counters.copies_matched.add();
    }
    const DigestedCopies::Placement* placed = copies_.placement(seq, len);
    if (placed != nullptr && buffer_holds(*placed, payload)) {
        RunPdu none{};  // pairs with nothing: a later copy's claim is its first copy's run 1 alone
        claims_.placed(seq + placed->from, placed->len, placed->buf_off, placed->cccid, placed->tag, none);
        counters.copies_claimed.add();
    }
}

// Whether the buffer of the registration the placement named (the same one: live, same tag) holds
// this payload's bytes of the placement at its offsets, above what the host has made final.
bool ConnectionEngine::buffer_holds(const DigestedCopies::Placement& placed, std::span<const PayloadChunk> payload) noexcept {
    if ((caps_.load(std::memory_order_relaxed) & ddp::cap::kPlacement) == 0) return false;
    const ddp::RegistrationTable::Claim reg = conn_.registrations.live(placed.cccid);
    if (!reg || ddp::RegistrationTable::tag_of(reg) != placed.tag) return false;
    // The bytes the device wrote in this registration (an equal tag could also be a registration
    // 65536 generations later) and the host has not made final.
    if (uint64_t{placed.buf_off} + placed.len > reg.registration->device_written()) return false;
    if (placed.buf_off < reg.registration->host_filled()) return false;
    SglCursor buffer;
    if (!buffer.seek(reg.registration->segments(), placed.buf_off)) return false;
    uint32_t skip = placed.from;
    uint32_t left = placed.len;
    for (const PayloadChunk& c : payload) {
        if (left == 0) break;
        const uint32_t from = std::min(skip, c.len);
        skip -= from;
        const uint32_t n = std::min(left, c.len - from);
        if (n == 0) continue;
        if (!buffer.equals(c.data + from, n)) return false;
        left -= n;
    }
    return left == 0;
}

}  // namespace nvmeddp::pmd
