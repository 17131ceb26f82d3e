// The offload engine's view of one connection's receive stream: what a NIC with NVMe/TCP receive
// offload does per packet of an offloaded connection.
//
// It follows the TCP byte stream (next expected sequence number, serial arithmetic) and, inside it,
// the PDU framing of the controller-to-host direction: headers (split across packets or many per
// packet), padding, data, digests. For a C2HData whose command id is registered it copies the data
// into the registered buffers at datao and computes the data digest over the same bytes, and it
// states per packet what it did, in TCP sequence space (contract v3, include/nvmeddp/ddp_mbuf.h).
//
// Modes:
//   InSync       framing known: places and verifies
//   Searching    framing lost (a gap reaching into a PDU header, or a header the receiver would
//                reject; a gap inside a PDU keeps the framing and costs only that PDU's digest): scans
//                the stream for a plausible PDU header, then posts a resync request for it
//   Speculating  follows the framing from the candidate without placing, until the host confirms
//                (InSync: the rest of the current PDU is placed, and every PDU after it) or refuses
//                (Searching again)
// Bytes that arrive before the expected sequence number (retransmissions, reordered segments)
// pass through untouched and unplaced (the host copies them, and its parser stays the authority),
// except those that fill a hole of a C2HData PDU whose header the engine accepted (gap_pdus.hpp):
// they are placed as the rest of the PDU was, and once the PDU has no hole left its data digest is
// checked over every run, joined (the verdict goes on the packet that completed it). A later copy of
// a packet the host may hold out of order, with the same CRC32C, is marked CRC as the first was
// (digested_copies.hpp): the host's digest is the same whichever it keeps.
//
// Where the current PDU is lives in sequence numbers: each part (header, padding, data, digest,
// the body of other PDUs) ends at a sequence number fixed when the header is accepted, and what is
// left of a part is always that end minus where the stream is. Nothing is counted down in two places.
//
// Safety: placement writes only inside a registration that is live at that moment (checked per
// packet), only within [datao, datao + datal) after checking it against the registration's length,
// never a byte of it the engine wrote before, never below what the host declared final, and only
// while InSync. The caller gives it only segments whose TCP checksum is good (queue_engine.hpp).
// Every length comes from a header that passed the receiver's own checks (nvmetcp/header_check.hpp)
// and its header digest when digests are on.
//
// One instance is touched only by the lcore that polls the connection's rx queue.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <span>

#include "ddp/device_caps.hpp"
#include "ddp/driver.hpp"
#include "ddp/registration_table.hpp"
#include "ddp/tcp_seq.hpp"
#include "nvmeddp/ddp_mbuf.h"
#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/header_check.hpp"
#include "nvmetcp/pdu.hpp"
#include "nvmetcp/wire_int.hpp"
#include "pmd/engine/digested_copies.hpp"
#include "pmd/engine/gap_pdus.hpp"
#include "pmd/engine/placement_claim.hpp"
#include "pmd/engine/sgl_cursor.hpp"
#include "pmd/packet/byte_chunk.hpp"

namespace nvmeddp::pmd {

// Part of a packet's TCP payload (a segment of an mbuf chain): the packet layer's ByteChunk, so the
// same chunks feed the checksum check (l4_checksum.hpp) and the engine.
using PayloadChunk = ByteChunk;

using PacketMeta = ::nvmeddp_pkt_meta;
using ddp::TcpSeq;

class ConnectionEngine {
public:
    enum class Mode : uint8_t { InSync, Searching, Speculating };

    // How long a resync request may stay unanswered (in packets) before the engine asks again at
    // the next header it finds: a host that missed a request is not left without offload forever.
    static constexpr uint32_t kReRequestAfterPackets = 256;

    // conn_id: what the metadata carries (index and generation, NVMEDDP_CONN_INDEX_BITS); gap_pool:
    // its rx queue's PDUs with holes (the queue engine's, which outlives it).
    ConnectionEngine(ddp::DriverConnection& connection, uint32_t conn_id, const std::atomic<ddp::Caps>& caps,
                     GapPduPool& gap_pool) noexcept;

    // The connection has left its rx queue (the queue's lcore, applying the removal): the PDUs it
    // borrowed go back to the pool. Nothing of it runs after.
    void leave_queue() noexcept {
        gaps_.close_all();
        gap_slot_ = GapPdus::kNone;
    }

    // One received segment with a good TCP checksum: the sequence number of its first payload byte
    // and its payload, in chunks. Fills meta (conn_id always, the rest per ddp_mbuf.h).
    void on_segment(TcpSeq seq, std::span<const PayloadChunk> payload, PacketMeta& meta) noexcept;
    // A segment whose TCP checksum is bad: the host's TCP drops it, so the engine does not follow it.
    void on_bad_checksum(PacketMeta& meta) noexcept;

    Mode mode() const noexcept { return mode_; }
    TcpSeq rcv_nxt() const noexcept { return rcv_nxt_; }
    uint32_t conn_id() const noexcept { return conn_id_; }

private:
    enum class PduState : uint8_t { Header, Padding, Data, DataDigest, Body };

    // meta = PacketMeta{} with conn_id set. Field by field: the compiler made the aggregate's 28 bytes
    // a `rep stos`, whose start-up cost about 3 ns a packet on Zen 5 (perf); these merge into a few
    // plain stores.
    static void start_meta(PacketMeta& m, uint32_t conn_id) noexcept {
        m.conn_id = conn_id;
        m.place_seq = 0;
        m.place_buf_off = 0;
        m.place_len = 0;
        m.place_cccid = 0;
        m.place_tag = 0;
        m.place2_tag = 0;
        m.place2_len = 0;
        m.flags = 0;
        m.reserved = 0;
        m.digest_pdu_seq = 0;
    }

    // The usual packet of a read, taken without the state machine (connection_engine_straight.cpp):
    // false, with nothing done, when the packet is not one; the state machine then takes it.
    bool place_straight(TcpSeq seq, const PayloadChunk& payload, PacketMeta& meta) noexcept;
    // The packet that ends the data of the C2HData being placed and holds what follows it (its
    // digest, whole CapsuleResps and C2HData, and the start of one more C2HData), taken the same way.
    bool cross_straight(TcpSeq seq, const PayloadChunk& payload, PacketMeta& meta) noexcept;
    static constexpr uint32_t kCrossPdus = 16;  // PDUs beginning in such a packet, at most
    void end_data_straight(const uint8_t*& q) noexcept;
    const uint8_t* take_c2h_data_straight(const uint8_t* q, const nvmetcp::PduLayout& layout, uint32_t data_len, uint32_t n,
                                          InOrderClaim& claim) noexcept;
    void take_capsule_resp(const uint8_t* p, const nvmetcp::PduLayout& layout) noexcept;
    // A packet that is one whole CapsuleResp, taken the same way.
    bool complete_straight(TcpSeq seq, const PayloadChunk& payload, PacketMeta& meta) noexcept;
    // A packet of len bytes that a straight path takes: its metadata started and it counted, as
    // on_segment() does for a packet with payload.
    [[gnu::always_inline]] void begin_straight_packet(PacketMeta& meta, uint32_t len) noexcept {
        start_meta(meta, conn_id_);
        counters_.packets.add();
        counters_.bytes.add(len);
        ++packet_serial_;
    }
    // What the state machine's steps know of the packet being taken, whose first new byte is at
    // front: the metadata they write, no PDU opened or verdict given in it yet. meta_ is cleared
    // when the packet is done.
    [[gnu::always_inline]] void reset_packet_framing(PacketMeta& meta, TcpSeq front) noexcept {
        meta_ = &meta;
        packet_front_ = front;
        c2h_opened_ = 0;
        run_pdu_.ordinal = 0;  // the PDU open when the packet came, if any
        run_pdu_.framed_here = false;
        verdict_given_ = false;
        ahead_given_ = false;
    }
    // What the straight paths need below the stream's front: nothing awaited (no PDU with holes, no
    // lost header, no copy remembered).
    bool nothing_awaited() const noexcept {
        return gap_slot_ == GapPdus::kNone && gaps_.empty() && !lost_header_ && copies_.empty();
    }

    // The state machine, one function per state; each consumes from the front of the bytes given
    // (which start at rcv_nxt_) and returns how many it used.
    void consume(const uint8_t* p, uint32_t n) noexcept;
    uint32_t on_search(const uint8_t* p, uint32_t n) noexcept;
    [[gnu::always_inline]] uint32_t on_header(const uint8_t* p, uint32_t n) noexcept;  // inline in consume(): below
    uint32_t on_padding(uint32_t n) noexcept;
    uint32_t on_data(const uint8_t* p, uint32_t n) noexcept;
    uint32_t on_data_digest(const uint8_t* p, uint32_t n) noexcept;
    uint32_t on_body(uint32_t n) noexcept;
    uint32_t left_until(TcpSeq end, uint32_t n) const noexcept;
    void after_data() noexcept;
    void enter_data_pdu_part() noexcept;
    bool bridge_gap(TcpSeq to) noexcept;
    void end_pdu_in_gap() noexcept;

    // PDUs with holes (connection_engine_holes.cpp)
    void track_hole(TcpSeq to) noexcept;
    void close_run() noexcept;
    void untrack_current() noexcept;
    void settle_gapped_pdu(bool ends_in_packet) noexcept;
    void judge_gap_pdu(int slot, bool ends_in_packet) noexcept;
    void conclude_gap_pdu(int slot, bool ends_in_packet) noexcept;
    uint32_t fill_holes(TcpSeq seq, std::span<const PayloadChunk> payload, uint32_t len) noexcept;
    uint32_t fill_chunk(TcpSeq at, const uint8_t* p, uint32_t n) noexcept;
    void take_hole_bytes(GapPdus::Pdu& g, TcpSeq begin, const uint8_t* p, uint32_t n) noexcept;
    void give_verdict(TcpSeq pdu, bool computed, bool ok) noexcept;
    // The whole digest of a PDU without holes, in digest_: compared when it was computed, counted,
    // and the packet's verdict given. The state machine's digest step and cross_straight's.
    [[gnu::always_inline]] void verify_data_digest() noexcept {
        const bool ok = crc_on_ && ~crc_state_ == nvmetcp::load_le32(digest_);
        if (crc_on_) {
            (ok ? counters_.digest_offloaded : counters_.digest_failed).add();
        } else {
            counters_.digest_fallback.add();
        }
        give_verdict(pdu_start_, crc_on_, ok);
    }
    bool inside_digested_gap_data(TcpSeq begin, TcpSeq end) const noexcept;
    int open_gap_pdu(TcpSeq pdu_start, const nvmetcp::PduLayout& layout, uint32_t plen, bool check_digest,
                     const ddp::RegistrationTable::Claim& claim, uint16_t cccid, uint32_t datao) noexcept;

    // Later copies of packets the host may hold out of order (connection_engine_copies.cpp)
    void remember_copy(TcpSeq seq, uint32_t len, std::span<const PayloadChunk> payload) noexcept;
    void take_later_copy(TcpSeq seq, uint32_t len, std::span<const PayloadChunk> payload) noexcept;
    bool buffer_holds(const DigestedCopies::Placement& placed, std::span<const PayloadChunk> payload) noexcept;

    // A header lost in a gap (connection_engine_lost_header.cpp)
    void remember_lost_header(TcpSeq gap_end, std::span<const PayloadChunk> after) noexcept;
    uint32_t take_lost_header(TcpSeq at, const uint8_t* p, uint32_t n) noexcept;
    bool follow_lost_header(bool header_here, TcpSeq& framed_from) noexcept;
    bool note_gap_seen(TcpSeq begin, TcpSeq end) noexcept;
    bool gap_seen_overlaps(TcpSeq begin, TcpSeq end) const noexcept {
        return gap_seen_ && begin < gap_seen_end_ && gap_seen_begin_ < end;
    }
    void adopt_lost_pdu(GapPdus::Pdu& g, bool header_here, TcpSeq framed_from) noexcept;
    void note_unseen(TcpSeq begin, TcpSeq end) noexcept;
    void note_arrived_below(TcpSeq begin, TcpSeq end) noexcept {
        if (unseen_ == Unseen::One && begin < unseen_end_ && unseen_begin_ < end) unseen_ = Unseen::Forgotten;
    }
    bool add_seen_after_gap(GapPdus::Pdu& g, TcpSeq begin, TcpSeq end, uint32_t crc) noexcept;
    void regain_framing_in_lost_pdu(bool header_here, TcpSeq framed_from) noexcept;
    void regain_framing_at_header(TcpSeq at) noexcept;

    // n data bytes of the current C2HData at p, the first at buffer offset `offset`: placed (and
    // digested in the same pass) while placement goes on and its checks pass, else digested only
    // (when the digest is on). True when placed. Inline: the state machine's and the straight
    // paths' data step, on every placed byte.
    [[gnu::always_inline]] bool take_data(const uint8_t* p, uint32_t n, uint64_t offset) noexcept {
        if (placing_) {
            if (ddp::Counter* why = placement_refused(offset)) stop_placement(*why);
        }
        if (!placing_) {
            if (crc_on_) crc_state_ = nvmetcp::crc32c_extend(crc_state_, p, n);
            return false;
        }
        place_data(p, n, offset);
        return true;
    }
    // The same once placement_refused(offset) said they may go into the buffer: one pass over them,
    // placed and digested together.
    [[gnu::always_inline]] void place_data(const uint8_t* p, uint32_t n, uint64_t offset) noexcept {
        if (crc_on_) {
            cursor_.copy_and_crc(p, n, crc_state_);
        } else {
            cursor_.copy(p, n);
        }
        claim_.registration->raise_device_written(offset + n);
        counters_.placed_bytes.add(n);
    }

    uint32_t fill_header(const uint8_t* p, uint32_t n, uint32_t want) noexcept;
    // A header quick_stream_header() passed whole at p (layout_ is its layout), at rcv_nxt_: taken and
    // its PDU opened. Inline: a call here had on_header() made a call too (callgrind, +40
    // instructions a header).
    [[gnu::always_inline]] void take_quick_header(const uint8_t* p) noexcept {
        pdu_start_ = rcv_nxt_;
        copy_whole_header(p, layout_.header_len);
        hdr_have_ = layout_.header_len;
        rcv_nxt_ += layout_.header_len;
        layout_ready_ = true;
        open_checked_pdu();
    }
    // A usual header (C2HData or CapsuleResp, whose fixed parts are the same size) whole at p,
    // header_len bytes with its digest if any, into hdr_. Constant sizes: a few moves, not a call
    // (and never a byte past the header).
    [[gnu::always_inline]] void copy_whole_header(const uint8_t* p, uint32_t header_len) noexcept {
        static_assert(nvmetcp::kHlenCapsuleResp == nvmetcp::kHlenData);
        std::memcpy(hdr_, p, nvmetcp::kHlenData);
        if (header_len > nvmetcp::kHlenData) std::memcpy(hdr_ + nvmetcp::kHlenData, p + nvmetcp::kHlenData, nvmetcp::kDigestLen);
    }
    bool start_pdu() noexcept;  // false: the header is not one the receiver would accept
    // The header in hdr_ passed every check. Inline: a call here is one more level on every
    // header's path (callgrind).
    [[gnu::always_inline]] void open_checked_pdu() noexcept {
        if (mode_ == Mode::Speculating && packets_since_request_ > kReRequestAfterPackets) found_candidate(pdu_start_);
        open_pdu();
    }
    void open_pdu() noexcept;
    ddp::RegistrationTable::Claim placement_for(TcpSeq pdu_start, uint16_t cccid, uint32_t datao, uint32_t datal) noexcept;
    void begin_placement(uint16_t cccid, uint32_t datao, uint32_t datal, uint32_t skip = 0) noexcept;
    void place_rest_of_pdu() noexcept;
    void stop_placement(ddp::Counter& why) noexcept;
    // Why data at buffer offset `offset` of the PDU being placed must not go into its buffer, as
    // the counter that counts it: torn down while its data was arriving, or bytes the host already
    // declared final. Null when they may.
    ddp::Counter* placement_refused(uint64_t offset) noexcept {
        if (!conn_.registrations.still_valid(claim_)) return &counters_.place_torn_down;
        if (offset < claim_.registration->host_filled()) return &counters_.place_behind_host;
        return nullptr;
    }
    void end_pdu() noexcept;
    void finish_command() noexcept;
    void lose_framing() noexcept;
    void reject_header() noexcept;
    void found_candidate(TcpSeq seq) noexcept;
    void check_resync_answer() noexcept;
    void finish_meta() noexcept;

    ddp::DriverConnection& conn_;
    // conn_.counters, referred to directly: through conn_ every packet would load conn_'s line first,
    // one more cache miss in a row when the queue's connections outgrow the caches (bench_scaling,
    // eight alternating rounds: at 4096 connections 369 -> 289 ns a packet, median; at 1024 230 ->
    // 210; one or 64 connections unchanged).
    ddp::EngineCounters& counters_;
    const uint32_t conn_id_;
    const std::atomic<ddp::Caps>& caps_;
    nvmetcp::ReceiveParams params_;

    // TCP: the next byte of the stream (also where the state machine is while it consumes).
    TcpSeq rcv_nxt_;
    Mode mode_ = Mode::InSync;

    // PDU framing: where the current PDU and each of its parts end
    PduState state_ = PduState::Header;
    bool layout_ready_ = false;  // the common header passed and layout_ is valid
    bool c2h_data_ = false;      // the current PDU is a C2HData
    uint32_t hdr_have_ = 0;
    nvmetcp::PduLayout layout_{};
    TcpSeq pdu_start_;   // first header byte
    TcpSeq data_begin_;  // first data byte (after header, digest, padding)
    TcpSeq data_end_;    // one past the data; the data digest follows when there is one
    TcpSeq pdu_end_;     // one past the PDU: the next header
    uint32_t digest_have_ = 0;
    alignas(8) uint8_t hdr_[nvmetcp::kMaxHeaderLen + nvmetcp::kDigestLen]{};
    uint8_t digest_[nvmetcp::kDigestLen]{};

    // Placement and digest of the current C2HData
    bool placing_ = false;
    bool crc_on_ = false;  // the digest is being computed over every data byte, in order
    ddp::RegistrationTable::Claim claim_{};
    ddp::RegistrationTable::Claim completes_{};  // the command the current PDU completes, if any
    uint16_t cccid_ = 0;
    uint32_t datao_ = 0;
    SglCursor cursor_{};
    uint32_t crc_state_ = nvmetcp::Crc32c::kSeed;  // raw CRC32C of the data so far

    // PDUs with holes. While the current PDU is one of them (gap_slot_), the bytes since run_begin_
    // are its open run, and crc_state_ is that run's CRC from state 0 (not from the seed).
    GapPdus gaps_;
    int gap_slot_ = GapPdus::kNone;
    TcpSeq run_begin_;
    // Packets the host may hold out of order, digested as data of one PDU: a later copy with the same
    // CRC32C is marked CRC too, one with the bytes the buffer holds is claimed (digested_copies.hpp).
    DigestedCopies copies_{};

    // A header the stream lost in a gap that took the framing: where it starts (lost_at_), the bytes
    // of it known so far, and where the gap ended. When a retransmission brings it, the framing is
    // known again without the host (connection_engine_lost_header.cpp).
    bool lost_header_ = false;
    bool lost_layout_ready_ = false;
    TcpSeq lost_at_;
    TcpSeq lost_until_;
    uint32_t lost_have_ = 0;
    bool lost_header_digesting_ = false;  // every byte since lost_until_ is in lost_header_crc_ ...
    uint32_t lost_header_crc_ = 0;        // ... its CRC32C from 0
    nvmetcp::PduLayout lost_layout_{};
    alignas(8) uint8_t lost_hdr_[nvmetcp::kMaxHeaderLen + nvmetcp::kDigestLen]{};
    // The first bytes after that gap, kept when it came: a header that began in the gap may end after
    // it (the gap's last packet cut inside it), and those bytes of it are not sent again. Room for
    // the longest header a host receives after ICResp (24 bytes, and its digest).
    static constexpr uint32_t kAfterGap = nvmetcp::kHlenData + nvmetcp::kDigestLen;
    uint8_t after_gap_[kAfterGap]{};
    uint32_t after_gap_len_ = 0;
    // Bytes of the gap past the lost header's next byte that came before the header did (a
    // retransmission overtaking another): seen, not taken. One range, grown when the next touches
    // it. They are never a hole the engine fills (the host keeps its own copy of them), no digest
    // over them is the device's, and a header among them ends the wait for the lost one.
    bool gap_seen_ = false;
    TcpSeq gap_seen_begin_;
    TcpSeq gap_seen_end_;
    // A second gap, after the one that took the header, while it is awaited out of sync: bytes the
    // engine never saw, so the host has no copy of them either. They stay holes of the PDU they fall
    // in (placed when retransmitted) instead of counting among the bytes seen after the first gap.
    // One range: a third gap, or a packet that brings a byte of it before the header is taken,
    // forgets it (its bytes then count as seen, never placed).
    enum class Unseen : uint8_t { None, One, Forgotten } unseen_ = Unseen::None;
    TcpSeq unseen_begin_;
    TcpSeq unseen_end_;

    // Resync
    static constexpr uint32_t kCarry = sizeof(nvmetcp::CommonHeader) - 1;
    uint8_t carry_[kCarry]{};  // the stream's last bytes while searching (a header may start there)
    uint32_t carry_len_ = 0;
    ddp::ResyncRequest request_{};
    uint32_t packets_since_request_ = 0;

    // The packet being processed
    PacketMeta* meta_ = nullptr;
    uint64_t packet_serial_ = 0;   // counts the packets with payload (GapPdus::Pdu::header_packet; never wraps)
    ClaimBuilder claims_{};
    TcpSeq packet_front_;          // the packet's first byte past what the engine had seen
    uint32_t c2h_opened_ = 0;      // C2HData headers completed in this packet
    RunPdu run_pdu_{};             // the current C2HData, for the claim
    // A C2HData header was parsed and the framing was not lost since (lose_framing clears it), so
    // prev_c2h_end_ is where that PDU ends: the claim's second run may begin only there.
    bool prev_c2h_known_ = false;
    TcpSeq prev_c2h_end_;
    bool verdict_given_ = false;  // a data digest ended in this packet (digest_pdu_seq names the first)
    bool verdict_ok_ = false;     // ... and every one that did was verified and matched
    bool ahead_given_ = false;    // a PDU that ends after this packet was completed by it ...
    bool ahead_ok_ = false;       // ... and its digest matched
    TcpSeq ahead_pdu_;            // ... its header
};

}  // namespace nvmeddp::pmd
