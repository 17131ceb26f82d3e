// Test helper: a host as the offload expects one to behave, reduced to what placement tests need.
//
// It takes the frames of one connection in arrival order, after the engine ran on them (payload,
// stream offset, the engine's per-packet metadata if it processed the frame), and:
//   - reassembles the stream keeping the first copy of every byte (as TCP does);
//   - parses it with the protocol core's StreamParser, the authority on framing;
//   - answers resync requests at every PDU header (ddp::Device::on_pdu_header);
//   - for C2HData data bytes the device claims to have placed, checks they are in the buffer (a
//     claim with a wrong byte is counted, never trusted); copies every other byte itself;
//   - trusts NVMEDDP_PKT_DIGEST_OK and otherwise recomputes the digest over its buffer, and also
//     checks every trusted digest in software so that a false claim is counted;
//   - tears each read down when its completion arrives (CapsuleResp, or SUCCESS on the last data).
// Registered buffers are split into segments, each with guard bytes on both sides.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ddp/device.hpp"
#include "nvmeddp/ddp_mbuf.h"
#include "nvmetcp/stream_parser.hpp"

namespace nvmeddp::testlib {

class DdpHostModel {
public:
    struct Options {
        bool header_digest = false;
        bool data_digest = false;
        uint32_t pda = 0;
        uint32_t first_seq = 0;          // TCP sequence number of stream offset 0
        uint32_t segments_per_buffer = 1;
        size_t guard = 64;               // guard bytes before and after every segment
        bool answer_resync = true;       // false: a host that never answers resync requests
    };

    struct Totals {
        uint64_t delivered = 0;           // stream bytes given to the parser
        uint64_t claimed_placed = 0;      // data bytes the device claimed, and that were right
        uint64_t wrong_claims = 0;        // claimed placed, but the buffer held another byte (or none)
        uint64_t copied = 0;              // data bytes the host copied itself
        uint64_t digests_trusted = 0;     // DIGEST_OK on the packet where the digest ended
        uint64_t digests_recomputed = 0;
        uint64_t false_digest_claims = 0; // DIGEST_OK, but the data as received does not match the DDGST
        uint64_t digest_failures = 0;     // reads whose data digest did not match
        uint64_t resync_confirmed = 0;
        uint64_t resync_refused = 0;
        uint64_t teardowns_sync = 0;
        uint64_t teardowns_async = 0;
        std::string first_false_digest_claim;  // which PDU, for the report
        std::string first_wrong_claim;         // which byte, for the report
        // Where the wrong claims were: (cid, buffer offset), the first 1024.
        std::vector<std::pair<uint16_t, uint64_t>> wrong_claim_places;
        bool parse_failed = false;
        nvmetcp::ParseError parse_error{};
    };

    struct Read {
        uint32_t length = 0;
        bool registered = false;
        bool aborted = false;  // torn down early: the buffer is no longer the device's to write
        uint32_t registered_len = 0;
        bool completed = false;
        bool digest_failed = false;
        std::vector<std::vector<uint8_t>> storage;   // per segment: guard, bytes, guard
        std::vector<ddp::BufferSegment> segments;
        std::vector<uint8_t> shadow;                 // bytes of an unregistered (or too short) read
    };

    DdpHostModel(ddp::Device& device, ddp::ConnectionHandle connection, const Options& options);

    // A read of `length` bytes with a registered buffer (of registered_len bytes when given: a buffer
    // shorter than the read, for out-of-range tests). Returns what setup said.
    ddp::Status register_read(uint16_t cid, uint32_t length, std::optional<uint32_t> registered_len = {});
    // A read the host handles without offload.
    void expect_read(uint16_t cid, uint32_t length);
    // The host gives up on a registered read before its data has all arrived (timeout, abort): tears
    // it down and from then on keeps what arrives for it in the shadow, never in the buffer. Returns
    // what teardown said.
    ddp::Status abort_read(uint16_t cid);

    void on_frame(uint64_t stream_offset, std::span<const uint8_t> payload, const ::nvmeddp_pkt_meta* meta);

    // The bytes the host holds for a read (its registered buffer or shadow), and whether every guard
    // byte of its segments is intact.
    std::vector<uint8_t> contents(uint16_t cid) const;
    bool guards_intact(uint16_t cid) const;
    const Read& read(uint16_t cid) const { return reads_.at(cid); }
    const Totals& totals() const noexcept { return totals_; }
    uint64_t delivered() const noexcept { return totals_.delivered; }

    static constexpr uint8_t kGuardByte = 0xCC;
    static constexpr uint8_t kFreshByte = 0xEE;  // a registered buffer before anything was written

private:
    struct Frame {
        uint64_t stream_offset;
        bool has_meta;
        ::nvmeddp_pkt_meta meta;
    };

    void deliver();
    void on_header(const nvmetcp::ParseEvent& ev);
    void on_data(const nvmetcp::ParseEvent& ev);
    void on_pdu_end(const nvmetcp::ParseEvent& ev);
    bool claimed_placed(uint64_t stream_offset) const;
    uint8_t* buffer_byte(Read& r, uint64_t offset);
    const uint8_t* buffer_byte(const Read& r, uint64_t offset) const;
    void complete(uint16_t cid);

    ddp::Device& device_;
    ddp::ConnectionHandle connection_;
    Options options_;
    nvmetcp::StreamParser parser_;
    std::map<uint16_t, Read> reads_;
    std::vector<Frame> frames_;
    std::vector<uint8_t> stream_;
    std::vector<int32_t> source_;  // per stream byte: index in frames_ of its first copy, -1 if none
    uint64_t delivered_ = 0;
    Totals totals_;

    // The PDU being parsed
    nvmetcp::PduType type_{};
    uint64_t pdu_offset_ = 0;
    uint32_t plen_ = 0;
    uint16_t cid_ = 0;
    uint32_t datao_ = 0;
    uint32_t datal_ = 0;
    uint8_t flags_ = 0;
    nvmetcp::Crc32c wire_crc_{};  // over the PDU's data as received: the truth a DIGEST_OK claims
};

}  // namespace nvmeddp::testlib
