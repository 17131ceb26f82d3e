// The packets of one connection that the host's TCP may still hold out of order and may replace with
// a later copy: packets that came while a hole below them was open (gap_pdus.hpp, a lost header)
// and whose whole payload was data of one C2HData PDU whose digest the device computed. For each it
// keeps where the payload lay and its CRC32C.
//
// Why: a receiver may keep a later copy of queued bytes instead of the first (Linux replaces a
// queued segment that a new one covers). The device digested the first copy; the later one carried
// no new byte, so it was not marked NVMEDDP_PKT_CRC, and a host that kept it had to compute the whole
// PDU's digest itself. A later copy of exactly the same sequence range whose CRC32C equals the first
// one's changes nothing the digest can see: CRC32C is linear, so the PDU's digest over data with
// either copy in that range is the same value, and the device's verdict holds for the bytes the host
// kept (copies that differ in a way CRC32C misses are the errors the data digest misses too). Such a
// copy is marked CRC as well. Only exact ranges match: a copy cut differently is not marked, and a
// receiver keeps a copy of one range whole or not at all.
//
// The same holds for placement: the device placed the first copy, and a host that kept a later one
// copied it again although the bytes were in its buffer. So each entry also keeps where the first
// copy was placed (its claim), and a later copy whose bytes equal what the buffer holds there is
// claimed the same way (ConnectionEngine::take_later_copy: compared byte for byte, never by CRC,
// since a claim must be true of every byte).
//
// Bounded: kEntries packets, the oldest forgotten first; emptied when no hole is open (the host then
// holds nothing out of order of what the device saw, so a later copy is old to it and trimmed).
// Nothing allocates. One instance is touched only by the lcore that polls the connection's rx queue.
#pragma once

#include <array>
#include <cstdint>

#include "ddp/tcp_seq.hpp"

namespace nvmeddp::pmd {

// Where a remembered packet's bytes were placed: its claim (run 1; a packet of one PDU's data has
// no run 2). len 0: not placed.
struct CopiedPlacement {
    uint16_t from = 0;     // the first placed byte, from the packet's first
    uint16_t len = 0;      // bytes placed from there on
    uint32_t buf_off = 0;  // ... at this offset of the registration
    uint16_t cccid = 0;    // ... of this command id
    uint16_t tag = 0;      // ... whose registration had this tag (nvmeddp_reg_tag)
};

class DigestedCopies {
public:
    static constexpr uint32_t kEntries = 16;
    // Entries this far behind the stream are dropped (a copy that old is trimmed by any receiver),
    // long before their sequence numbers come round again.
    static constexpr uint32_t kHorizon = 1u << 30;

    using Placement = CopiedPlacement;

    bool empty() const noexcept { return count_ == 0; }
    void clear() noexcept { count_ = 0; }

    // The payload [seq, seq + len) was digested as data of one PDU; crc: its CRC32C from state 0
    // (crc32c_extend(0, ...)); placed: where it was placed, if it was. A range already held is replaced.
    void remember(ddp::TcpSeq seq, uint32_t len, uint32_t crc, const Placement& placed = {}) noexcept;
    // A copy of [seq, seq + len) whose payload's CRC32C from 0 is crc: true when the range was
    // digested and its first copy had the same CRC32C.
    bool matches(ddp::TcpSeq seq, uint32_t len, uint32_t crc) const noexcept;
    // Whether [seq, seq + len) is held at all (so that a copy's CRC is computed only when it can match).
    bool holds(ddp::TcpSeq seq, uint32_t len) const noexcept { return find(seq, len) != nullptr; }
    // Where the first copy of [seq, seq + len) was placed; nullptr when the range is not held or was
    // not placed.
    const Placement* placement(ddp::TcpSeq seq, uint32_t len) const noexcept {
        const Entry* e = find(seq, len);
        return e != nullptr && e->placed.len > 0 ? &e->placed : nullptr;
    }
    // Drops entries more than kHorizon behind `now`. Called on every packet while not empty.
    void forget_older_than(ddp::TcpSeq now) noexcept;

private:
    struct Entry {
        ddp::TcpSeq seq;
        uint32_t len = 0;
        uint32_t crc = 0;
        Placement placed;
    };
    const Entry* find(ddp::TcpSeq seq, uint32_t len) const noexcept;

    std::array<Entry, kEntries> entries_{};  // entries_[0, count_): oldest first
    uint32_t count_ = 0;
};

}  // namespace nvmeddp::pmd
