// The C2HData PDUs of one connection that have holes: PDUs whose header the engine accepted (in sync,
// or taken from the retransmission of a lost one), some of whose body went missing (a lost packet,
// or one overtaken by a later one). For each it keeps what the header said (where the body, data
// and digest lie, the command, the registration the data goes to) and which of the body's bytes it
// has seen, as runs in sequence space, each with the CRC32C of its data bytes.
//
// When a retransmitted or overtaken packet brings bytes of a hole, the engine places them like any
// other data (the registration is checked live) and adds them as a run; adjacent runs are joined,
// their CRCs with them (crc32c_combine.hpp). When a PDU's body is one run, the engine has seen every
// byte of it exactly once, and its data digest is checked against the DDGST it saw.
//
// Bounded: kSlots PDUs per connection, kRunsPerPdu runs each. The PDUs themselves (about 270 bytes
// each) are lent by the rx queue's pool (gap_pdu_pool.hpp) only while they have holes, and a
// connection keeps kSlots pointers: a connection's own table is 80 bytes where eight PDUs of its own
// took 2.1 KiB, for a loss it meets now and then. A PDU with holes when every slot is taken, or the
// pool has none left, is not tracked (its digest falls back to the host, its missing data is copied
// by the host, as without this table); a PDU that needs more runs gives up its smallest hole (those
// bytes are the host's to copy, and the digest the host's to check). Nothing allocates.
//
// One instance is touched only by the lcore that polls the connection's rx queue, as is its pool.
#pragma once

#include <array>
#include <cstdint>

#include "ddp/registration_table.hpp"
#include "ddp/tcp_seq.hpp"
#include "nvmetcp/pdu.hpp"

namespace nvmeddp::pmd {

class GapPduPool;

class GapPdus {
public:
    static constexpr uint32_t kSlots = 8;
    static constexpr uint32_t kRunsPerPdu = 16;
    static constexpr int kNone = -1;

    // Bytes [begin, end) of the body seen; crc: the raw CRC32C from state 0 of those of them that
    // are data (crc32c_extend(0, ...)), when the PDU's digest is being checked.
    struct Run {
        ddp::TcpSeq begin, end;
        uint32_t crc = 0;
    };

    struct Pdu {
        // From the header
        ddp::TcpSeq pdu_start;   // the header's first byte: names the PDU in a digest verdict
        ddp::TcpSeq body_begin;  // after the header (and its digest)
        ddp::TcpSeq data_begin, data_end;
        ddp::TcpSeq pdu_end;     // after the data digest, when there is one
        bool has_digest = false;    // the PDU has a data digest
        bool check_digest = false;  // ... and the device checks it: runs carry their CRC
        // Placement: the registration the data goes to, at datao + (seq - data_begin)
        bool placing = false;
        ddp::RegistrationTable::Claim claim{};
        uint16_t cccid = 0;
        uint32_t datao = 0;
        // A lost header taken from a retransmission: the packet (ConnectionEngine's packet serial)
        // that brought it whole in one chunk, and with it the headers of the non-data PDUs before it
        // from framed_from on (ConnectionEngine::take_lost_header); 0: none did.
        uint64_t header_packet = 0;
        ddp::TcpSeq framed_from;
        // What the engine has seen
        bool ended = false;  // the stream has passed pdu_end (what is not in a run is a hole)
        uint8_t digest[nvmetcp::kDigestLen]{};
        uint8_t run_count = 0;
        std::array<Run, kRunsPerPdu> runs{};  // sorted, disjoint, never adjacent

        uint32_t data_bytes(ddp::TcpSeq begin, ddp::TcpSeq end) const noexcept;
        // Keeps the DDGST bytes among [begin, end), read from `src`, whose first byte is the
        // stream's byte at `src_seq`.
        void keep_digest_bytes(ddp::TcpSeq begin, ddp::TcpSeq end, const uint8_t* src, ddp::TcpSeq src_seq) noexcept;
        bool complete() const noexcept {
            return ended && run_count == 1 && runs[0].begin == body_begin && runs[0].end == pdu_end;
        }
        // The first hole of the body at or after `from`, cut at `until`: empty (begin == end) when none.
        Run next_hole(ddp::TcpSeq from, ddp::TcpSeq until) const noexcept;
        // Whether [begin, end) can be added without exceeding kRunsPerPdu (it touches a run, or there is room).
        bool room_for(ddp::TcpSeq begin, ddp::TcpSeq end) const noexcept;
        // Adds a run of unseen bytes, joining it with its neighbours. False (nothing added): it
        // touches no run and all kRunsPerPdu are taken (room_for() says so beforehand).
        bool add(const Run& run) noexcept;
        // Makes room for a run by giving up the smallest hole between two runs: its bytes count as
        // seen (when they come they are not taken: the host copies them), and the digest can no
        // longer be checked. Needs two runs or more.
        void forfeit_smallest_hole() noexcept;
        // Complete, and the digest the device computed equals the DDGST it saw.
        bool digest_matches() const noexcept;
    };

    // PDUs come from `pool`, which outlives this table.
    explicit GapPdus(GapPduPool& pool) noexcept : pool_(&pool) {}
    GapPdus(const GapPdus&) = delete;
    GapPdus& operator=(const GapPdus&) = delete;

    bool empty() const noexcept { return used_ == 0; }
    // A free slot for a PDU, kNone when all are taken or the pool has none. The slot's Pdu starts
    // empty.
    int open() noexcept;
    void close(int slot) noexcept;  // its PDU goes back to the pool
    // Closes every slot: for the lcore, when the connection leaves its rx queue (the PDUs are the
    // pool's again; nothing of the connection runs after).
    void close_all() noexcept;
    Pdu& at(int slot) noexcept { return *slots_[static_cast<size_t>(slot)]; }
    const Pdu& at(int slot) const noexcept { return *slots_[static_cast<size_t>(slot)]; }
    bool in_use(int slot) const noexcept { return (used_ & (1u << slot)) != 0; }
    // Drops PDUs that ended more than kHorizon bytes of stream before `now`: their holes will not be
    // filled any more (the host has moved on), and sequence comparisons with them would soon wrap.
    // To be called at least once every 2 GiB of stream (the engine does on every packet): a PDU left
    // 4 GiB behind would take new bytes with the same sequence numbers for its holes.
    static constexpr uint32_t kHorizon = 1u << 30;
    void forget_older_than(ddp::TcpSeq now) noexcept;

private:
    GapPduPool* pool_;
    std::array<Pdu*, kSlots> slots_{};  // slot k's PDU while bit k of used_ is set
    uint32_t used_ = 0;  // bit k: slot k holds a PDU
};

}  // namespace nvmeddp::pmd
