// Test helper: an NVMe/TCP host that uses the offload exactly as contract v3 says
// (include/nvmeddp/ddp_mbuf.h) and trusts nothing else. Frames go through its TCP receiver
// (tcp_receiver_model.hpp: checksums, reassembly, trimming, replacing, coalescing), and it takes the
// in-order pieces that delivers, each with the metadata of the packet it came from, and:
//   - parses them with the protocol core's StreamParser, the authority on framing, and refuses data
//     for an unknown command or out of order within its transfer (a fatal error: every read not yet
//     completed fails);
//   - answers resync requests at every PDU header (ddp::Device::on_pdu_header);
//   - skips copying a C2HData data byte only when the piece's placement claim names exactly the
//     command, registration tag and buffer offset its own parser gives that byte; copies every other
//     byte; and tells the device after each piece how far the buffer is final (Device::filled);
//   - trusts a data digest only when every piece that carried bytes of the PDU has NVMEDDP_PKT_CRC,
//     and the piece with the digest's last byte says DIGEST_OK for the PDU at the sequence number
//     where its parser found the header, or a piece inside the PDU said DIGEST_OK | DIGEST_AHEAD
//     for it (and the piece where it ended does not say DIGEST_BAD); otherwise it uses the
//     parser's software digest;
//   - tears each read down when its completion arrives (CapsuleResp, or SUCCESS on the last data),
//     and then issues the next read planned on that command id, if any (plan_read()), setting it up
//     there, as a host that hands a command id out again once its command completed.
// Without a device (offload off) it copies and computes everything: the same host, for the
// differential check (the bytes and the status of every read must be equal with the offload on).
// For diagnostics it also checks every claim it acted on against the bytes it received (an oracle:
// wrong_claims, false_digest_claims), but the tests' invariant is the buffer contents.
// Registered buffers are split into segments, each with guard bytes on both sides.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ddp/device.hpp"
#include "ddp/tcp_seq.hpp"
#include "nvmeddp/ddp_mbuf.h"
#include "nvmetcp/stream_parser.hpp"
#include "testlib/tcp_receiver_model.hpp"

namespace nvmeddp::testlib {

class DdpHostModel : private nvmetcp::TransferValidator {
public:
    struct Options {
        bool header_digest = false;
        bool data_digest = false;
        uint32_t pda = 0;
        uint32_t first_seq = 0;          // TCP sequence number of stream offset 0
        uint32_t segments_per_buffer = 1;
        size_t guard = 64;               // guard bytes before and after every segment
        bool answer_resync = true;       // false: a host that never tells the device of its headers
                                         // (no resync answers, no setup dated by the stream)
        bool ipv6 = false;               // the flow's IP version (its receiver checks that)
        TcpReceiverModel::Options receiver{};
    };

    struct Totals {
        uint64_t delivered = 0;           // stream bytes given to the parser
        uint64_t claimed_placed = 0;      // data bytes taken from a claim (not copied)
        uint64_t wrong_claims = 0;        // ... of which the buffer held another byte than received
        uint64_t copied = 0;              // data bytes the host copied itself
        uint64_t claims_refused = 0;      // claimed bytes the host's framing disagreed with (copied)
        uint64_t digests_trusted = 0;
        uint64_t digests_recomputed = 0;
        // Why the host computed a digest: the device found it wrong (DIGEST_BAD where the PDU ended),
        // a piece the host took was not marked CRC (a copy the device did not digest), or no verdict.
        uint64_t recomputed_found_bad = 0;
        uint64_t recomputed_uncovered = 0;
        uint64_t false_digest_claims = 0; // trusted, but the data as received does not match the DDGST
        uint64_t digest_failures = 0;     // reads whose data digest did not match
        uint64_t resync_confirmed = 0;
        uint64_t resync_refused = 0;
        uint64_t teardowns_sync = 0;
        uint64_t teardowns_async = 0;
        uint64_t reads_reissued = 0;      // reads issued on a command id after its earlier read completed
        uint64_t reissued_setup_refused = 0;  // ... of which the device refused the setup (host copies)
        std::string first_false_digest_claim;  // which PDU, for the report
        std::string first_wrong_claim;         // which byte, for the report
        bool parse_failed = false;
        nvmetcp::ParseError parse_error{};
    };

    enum class ReadStatus : uint8_t { Pending, Ok, DigestError, Failed, Aborted };

    struct Read {
        uint32_t length = 0;
        bool registered = false;
        bool aborted = false;  // torn down early: the buffer is no longer the device's to write
        uint32_t registered_len = 0;
        uint16_t tag = 0;
        uint32_t next_offset = 0;  // the next datao the host accepts (data in order)
        bool completed = false;
        bool digest_failed = false;
        bool failed = false;       // the connection failed before the read completed
        std::vector<std::vector<uint8_t>> storage;   // per segment: guard, bytes, guard
        std::vector<ddp::BufferSegment> segments;
        std::vector<uint8_t> shadow;                 // bytes of an unregistered (or too short) read
        // The storage as the device let go of it (a teardown that completed at once): nothing may
        // write there any more (empty: not torn down, or not yet let go).
        std::vector<std::vector<uint8_t>> at_teardown;
    };

    // device null: a host without the offload.
    DdpHostModel(ddp::Device* device, ddp::ConnectionHandle connection, const Options& options);

    // A read of `length` bytes with a registered buffer (of registered_len bytes when given: a buffer
    // shorter than the read, for out-of-range tests). Returns what setup said. Here and in
    // expect_read(), a read issued on cid before becomes an earlier generation (read(cid, g)).
    ddp::Status register_read(uint16_t cid, uint32_t length, std::optional<uint32_t> registered_len = {});
    // A read the host handles without offload.
    void expect_read(uint16_t cid, uint32_t length);
    // The host's next read on `cid`: issued now when cid has no read yet, else as soon as the read
    // issued last on it completes (a host hands a command id out again once its command completed;
    // the stream's PDUs for it must come after that completion, as a controller's do). Issued with
    // register_read() when `offload` (a device that refuses, e.g. its teardown of the earlier read
    // still in progress, leaves the read to the host's copy), else with expect_read().
    void plan_read(uint16_t cid, uint32_t length, bool offload, std::optional<uint32_t> registered_len = {});
    // The host gives up on a registered read before its data has all arrived (timeout, abort): tears
    // it down and from then on keeps what arrives for it in the shadow, never in the buffer. Returns
    // what teardown said.
    ddp::Status abort_read(uint16_t cid);

    // A frame of the connection as it arrived (after the offload engine, which attached meta).
    void on_frame(std::span<const uint8_t> frame, const FrameLayout& layout, const ::nvmeddp_pkt_meta* meta) {
        receiver_.on_frame(frame, layout, meta);
    }
    // In-order bytes from the host's TCP.
    void on_piece(const ReceivedPiece& piece);
    const TcpReceiverModel& receiver() const noexcept { return receiver_; }

    // The bytes the host holds for a read (its registered buffer or shadow), and whether every guard
    // byte of its segments is intact.
    // These name the read issued last on cid; guards_intact() checks every read issued on it.
    std::vector<uint8_t> contents(uint16_t cid) const { return contents_of(reads_.at(cid)); }
    bool guards_intact(uint16_t cid) const;
    ReadStatus status(uint16_t cid) const { return status_of(reads_.at(cid)); }
    const Read& read(uint16_t cid) const { return reads_.at(cid); }
    const std::map<uint16_t, Read>& reads() const noexcept { return reads_; }
    // The reads issued on cid so far, in order: generation 0 is its first, reads_issued(cid) - 1 the
    // one read(cid) names.
    size_t reads_issued(uint16_t cid) const;
    const Read& read(uint16_t cid, size_t generation) const;
    std::vector<uint8_t> contents(uint16_t cid, size_t generation) const { return contents_of(read(cid, generation)); }
    ReadStatus status(uint16_t cid, size_t generation) const { return status_of(read(cid, generation)); }
    const Totals& totals() const noexcept { return totals_; }
    uint64_t delivered() const noexcept { return totals_.delivered; }

    static constexpr uint8_t kGuardByte = 0xCC;
    static constexpr uint8_t kFreshByte = 0xEE;  // a registered buffer before anything was written

private:
    struct PieceBits {
        uint64_t begin, end;  // stream offsets
        bool crc;
    };

    Verdict check_transfer(nvmetcp::PduType type, uint16_t cccid, uint16_t tag, uint32_t offset, uint32_t length) override;
    void on_header(const nvmetcp::ParseEvent& ev);
    void on_data(const nvmetcp::ParseEvent& ev, const ReceivedPiece& piece);
    void on_pdu_end(const nvmetcp::ParseEvent& ev, const ReceivedPiece& piece);
    bool claimed(const ReceivedPiece& piece, const Read& r, ddp::TcpSeq seq, uint64_t buffer_offset) const;
    uint8_t* buffer_byte(Read& r, uint64_t offset);
    const uint8_t* buffer_byte(const Read& r, uint64_t offset) const;
    struct PlannedRead {
        uint32_t length;
        bool offload;
        std::optional<uint32_t> registered_len;
    };

    Read& new_read(uint16_t cid);
    void complete(uint16_t cid);
    void issue(uint16_t cid, const PlannedRead& p);
    void issue_next(uint16_t cid);
    void fail_connection();
    std::vector<uint8_t> contents_of(const Read& r) const;
    bool guards_of(const Read& r) const;
    static ReadStatus status_of(const Read& r);

    ddp::Device* device_;
    ddp::ConnectionHandle connection_;
    Options options_;
    uint32_t conn_id_ = UINT32_MAX;  // what the metadata of this connection's packets carries
    nvmetcp::StreamParser parser_;
    TcpReceiverModel receiver_;
    std::map<uint16_t, Read> reads_;                          // the read issued last on each cid
    std::map<uint16_t, std::vector<Read>> earlier_reads_;     // ... and those issued on it before
    std::map<uint16_t, std::deque<PlannedRead>> planned_;     // reads waiting for their cid
    std::deque<PieceBits> pieces_;  // pieces since the current PDU began (NVMEDDP_PKT_CRC of each)
    uint64_t piece_count_ = 0;
    uint64_t verdict_piece_ = 0;    // the piece in which a data digest PDU last ended
    bool verdict_matched_ = false;  // ... and whether the first one there was the PDU the device named
    bool ahead_ = false;            // a piece said DIGEST_OK | DIGEST_AHEAD ...
    uint32_t ahead_seq_ = 0;        // ... for the PDU whose header is here
    uint64_t ahead_at_ = 0;         // ... and began at this stream offset
    Totals totals_;
    std::vector<uint64_t> cuts_;    // on_data's runs (kept: no allocation per piece)

    // The PDU being parsed
    nvmetcp::PduType type_{};
    uint64_t pdu_offset_ = 0;
    uint16_t cid_ = 0;
    uint32_t datao_ = 0;
    uint32_t datal_ = 0;
    uint8_t flags_ = 0;

    // The last two C2HData PDUs parsed (the current one, if a C2HData, and the one before): a claim's
    // second run is the current one's data when the one before ends its data where run 1 ends.
    struct C2HFrame {
        bool seen = false;
        ddp::TcpSeq data_first;  // its first data byte
        ddp::TcpSeq data_past;   // one past its last
        uint64_t past_end = 0;   // stream offset one past the PDU (its DDGST included)
    };
    C2HFrame c2h_now_{};
    C2HFrame c2h_previous_{};
};

}  // namespace nvmeddp::testlib
