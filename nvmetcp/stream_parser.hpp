// Incremental NVMe/TCP PDU stream parser.
//
// Takes the receive byte stream in pieces cut anywhere (one byte, a TCP segment, an mbuf, many PDUs)
// and turns it into events, one per step():
//
//   Header    a complete, validated header (header digest checked); header() shows it
//   Data      a run of PDU data inside the caller's bytes (zero-copy: a pointer into `in`)
//   PduEnd    the PDU is complete; carries the data digest verdict
//   Error     a fatal protocol error with FES/FEI; the parser stays in error from then on
//   NeedMore  all input consumed and nothing pending: feed more bytes
//
// Every PDU yields Header, zero or more Data, then PduEnd. The caller loops until NeedMore or Error:
//
//   for (;;) {
//       auto [consumed, ev] = parser.step(in);
//       in = in.subspan(consumed);
//       if (ev.kind == EventKind::NeedMore || ev.kind == EventKind::Error) break;
//       ...
//   }
//
// It reads only the bytes it is given, validates every length field before using it (see
// header_check.hpp), never allocates, and holds at most one PDU header (plus digest) of state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/header_check.hpp"
#include "nvmetcp/parse_error.hpp"
#include "nvmetcp/pdu.hpp"

namespace nvmeddp::nvmetcp {

// The receiver's knowledge of its outstanding commands, asked for every C2HData/H2CData/R2T header so
// that data for an unknown command, or outside or out of order within its transfer, is refused before
// any of it is delivered. Optional: without one only the structure of the stream is checked.
class TransferValidator {
public:
    enum class Verdict : uint8_t { Ok, UnknownCommand, OffsetOutOfRange, LengthOutOfRange };
    // offset/length are datao/datal (data PDUs) or r2to/r2tl (R2T); tag is TTAG (H2CData, R2T) or 0.
    virtual Verdict check_transfer(PduType type, uint16_t cccid, uint16_t tag, uint32_t offset, uint32_t length) = 0;
    virtual ~TransferValidator() = default;
};

enum class EventKind : uint8_t { NeedMore, Header, Data, PduEnd, Error };

enum class DigestStatus : uint8_t {
    None,        // the PDU has no data digest
    Verified,    // computed in software and equal
    Offloaded,   // the caller said the device verified it (skip_data_digest()); not recomputed
    Mismatch,    // computed in software and different: fail the command
};

struct ParseEvent {
    EventKind kind = EventKind::NeedMore;
    // Header, PduEnd: stream offset of the PDU's first byte. Data: stream offset of data[0].
    uint64_t stream_offset = 0;
    // Data: the bytes, inside the span passed to step(), and their offset within the PDU data section
    // (for C2HData the buffer offset is datao + data_offset).
    const uint8_t* data = nullptr;
    uint32_t data_len = 0;
    uint32_t data_offset = 0;
    // PduEnd: the verdict, and the DDGST as received, so that a host whose data the device placed but
    // did not verify can recompute the digest over its own buffer and compare.
    DigestStatus digest = DigestStatus::None;
    uint32_t received_digest = 0;
    // Error (fatal), or PduEnd with DigestStatus::Mismatch (not fatal)
    ParseError error{};
};

struct ParseStep {
    size_t consumed = 0;
    ParseEvent event{};
};

// A view of the current PDU header (valid from its Header event until the next step() after PduEnd).
class HeaderView {
public:
    const CommonHeader& common() const noexcept { return *reinterpret_cast<const CommonHeader*>(bytes_); }
    PduType type() const noexcept { return static_cast<PduType>(bytes_[0]); }
    uint8_t flags() const noexcept { return bytes_[1]; }
    std::span<const uint8_t> bytes() const noexcept { return {bytes_, len_}; }
    // The header as its wire struct; T must be the struct of type().
    template <typename T>
    const T& as() const noexcept {
        static_assert(alignof(T) == 1 && sizeof(T) <= kMaxHeaderLen);
        return *reinterpret_cast<const T*>(bytes_);
    }

private:
    friend class StreamParser;
    const uint8_t* bytes_ = nullptr;
    uint32_t len_ = 0;
};

struct ParserStats {
    uint64_t pdus = 0;
    uint64_t bytes = 0;
    uint64_t data_bytes = 0;
    uint64_t digests_verified = 0;   // data digests computed in software
    uint64_t digests_offloaded = 0;  // data digests the caller said were verified by the device
    uint64_t digest_mismatches = 0;
};

class StreamParser {
public:
    // expect_ic: the first PDU must be ICResp (host) or ICReq (controller), as on a new connection.
    explicit StreamParser(const ReceiveParams& params, bool expect_ic = true,
                          TransferValidator* validator = nullptr) noexcept;

    ParseStep step(std::span<const uint8_t> in) noexcept;

    // Connection parameters after the IC exchange (digests, PDA, limits). Only between PDUs.
    void set_params(const ReceiveParams& params) noexcept { params_ = params; }
    const ReceiveParams& params() const noexcept { return params_; }
    void set_validator(TransferValidator* validator) noexcept { validator_ = validator; }

    // After the Header event of a data PDU whose every byte the device verified: do not recompute
    // the data digest (PduEnd reports Offloaded). Once set for a PDU it cannot be taken back.
    void skip_data_digest() noexcept { digest_skipped_ = true; }

    // Inside a PDU's data: how many of its data bytes are still to come, and how many came (0 and
    // 0 elsewhere).
    uint32_t data_left() const noexcept {
        return state_ == State::Data ? layout_.data_offset + layout_.data_len - have_ : 0;
    }
    uint32_t data_taken() const noexcept { return state_ == State::Data ? have_ - layout_.data_offset : 0; }
    // Every byte of the PDU is in (its data ended, no digest follows): the next step() reports its end.
    bool pdu_complete() const noexcept { return state_ == State::EndOfPdu; }
    // The next in.size() stream bytes, at most data_left(), as step() takes them (digest, offsets,
    // statistics) but without the Data event: for a caller that knows they are data and where they
    // go. The bytes that end the data leave the parser as step() does (digest next, or the PDU's end).
    void take_data(std::span<const uint8_t> in) noexcept;
    // take_data() reads the bytes it is given: a data digest is computed over them. When it does
    // not, take_data_unread() takes n data bytes (at most data_left()) without them.
    bool reads_data() const noexcept { return layout_.has_data_digest && !digest_skipped_; }
    void take_data_unread(uint32_t n) noexcept;

    const HeaderView& header() const noexcept { return view_; }
    // The bytes of the current PDU's header received so far, its header digest included: after an
    // Error, as much of the offending header as arrived (a TermReq carries them as error data).
    std::span<const uint8_t> received_header() const noexcept {
        const bool in_header = state_ == State::CommonHeader || state_ == State::Header || state_ == State::Failed;
        const uint32_t n = in_header ? have_ : layout_.header_len;
        return {header_, n < sizeof header_ ? n : static_cast<uint32_t>(sizeof header_)};
    }
    bool at_pdu_boundary() const noexcept { return state_ == State::CommonHeader && have_ == 0; }
    uint64_t stream_offset() const noexcept { return stream_offset_; }
    const ParseError& error() const noexcept { return error_; }
    const ParserStats& stats() const noexcept { return stats_; }

private:
    enum class State : uint8_t { CommonHeader, Header, Padding, Data, DataDigest, EndOfPdu, Failed };

    ParseStep on_common_header(std::span<const uint8_t> in) noexcept;
    ParseStep on_header(std::span<const uint8_t> in) noexcept;
    ParseStep on_padding(std::span<const uint8_t> in) noexcept;
    ParseStep on_data(std::span<const uint8_t> in) noexcept;
    void data_taken_in(uint32_t n) noexcept;  // n of the data bytes are in: counts, and the state after them
    ParseStep on_data_digest(std::span<const uint8_t> in) noexcept;
    ParseStep on_end_of_pdu() noexcept;

    size_t gather(std::span<const uint8_t> in, uint32_t want) noexcept;
    ParseStep fail(ParseError error, size_t consumed) noexcept;
    ParseError check_sequence(PduType type) const noexcept;
    ParseError check_with_validator() const noexcept;
    void enter_body() noexcept;

    ReceiveParams params_;
    TransferValidator* validator_;
    State state_ = State::CommonHeader;
    bool expect_ic_;
    bool terminated_ = false;  // a TermReq was received: nothing may follow
    bool digest_skipped_ = false;

    PduLayout layout_{};
    uint64_t pdu_start_ = 0;
    uint64_t stream_offset_ = 0;
    uint32_t have_ = 0;        // bytes of the current PDU consumed so far
    Crc32c data_crc_{};
    DigestStatus digest_status_ = DigestStatus::None;
    uint32_t received_digest_ = 0;
    ParseError error_{};
    ParseError digest_error_{};
    ParserStats stats_{};
    HeaderView view_{};
    alignas(8) uint8_t header_[kMaxHeaderLen + kDigestLen]{};
    uint8_t digest_[kDigestLen]{};
};

}  // namespace nvmeddp::nvmetcp
