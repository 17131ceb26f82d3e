// Test helpers: generated NVMe/TCP byte streams with their ground truth, and a parse driver that
// feeds a stream to a StreamParser cut at chosen points and records what came out, normalised so
// that two parses of the same stream compare equal however the stream was cut.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "nvmetcp/pdu_encoder.hpp"
#include "nvmetcp/stream_parser.hpp"

namespace nvmeddp::testlib {

using nvmetcp::DigestStatus;
using nvmetcp::ParseError;
using nvmetcp::PduType;
using nvmetcp::Role;

struct StreamOptions {
    Role receiver = Role::Host;  // whose direction of PDUs to generate
    bool header_digest = false;
    bool data_digest = false;
    uint32_t pda = 0;
    bool start_with_ic = true;
    size_t pdu_count = 64;
    uint32_t max_data_len = 8192;
    uint64_t seed = 1;
};

struct ExpectedPdu {
    PduType type;
    uint64_t offset;             // stream offset of the first byte
    uint32_t plen;
    std::vector<uint8_t> data;   // data section (empty for PDUs without data)
    bool has_data_digest;
};

struct GeneratedStream {
    std::vector<uint8_t> bytes;
    std::vector<ExpectedPdu> pdus;
};

GeneratedStream generate_stream(const StreamOptions& options);

// Appends one PDU to a stream; returns its offset.
uint64_t append_pdu(std::vector<uint8_t>& stream, std::span<const uint8_t> header, std::span<const uint8_t> data,
                    const nvmetcp::SendParams& params);

template <typename Pdu>
uint64_t append_pdu(std::vector<uint8_t>& stream, const Pdu& pdu, std::span<const uint8_t> data,
                    const nvmetcp::SendParams& params) {
    return append_pdu(stream, nvmetcp::header_bytes(pdu), data, params);
}

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n);

// What a parse produced, PDU by PDU.
struct ParsedPdu {
    PduType type;
    uint64_t offset;
    std::vector<uint8_t> header;
    std::vector<uint8_t> data;
    DigestStatus digest;
    bool operator==(const ParsedPdu&) const = default;
};

struct ParseOutcome {
    std::vector<ParsedPdu> pdus;
    bool failed = false;
    ParseError error{};
    uint64_t data_events = 0;
    bool data_offsets_consistent = true;  // every Data event continued where the previous one ended
};

inline bool operator==(const ParseError& a, const ParseError& b) {
    return a.kind == b.kind && a.fes == b.fes && a.fei == b.fei && a.pdu_offset == b.pdu_offset && a.fatal == b.fatal;
}
inline bool operator==(const ParseOutcome& a, const ParseOutcome& b) {
    return a.pdus == b.pdus && a.failed == b.failed && (!a.failed || a.error == b.error);
}

// Feeds `stream` to the parser in pieces ending at each of `cuts` (ascending offsets; the rest after
// the last cut is fed at the end).
ParseOutcome parse_with_cuts(nvmetcp::StreamParser& parser, std::span<const uint8_t> stream,
                             const std::vector<size_t>& cuts);
ParseOutcome parse_whole(nvmetcp::StreamParser& parser, std::span<const uint8_t> stream);

// Random cut points: piece sizes drawn between 1 and max_piece.
std::vector<size_t> random_cuts(std::mt19937_64& rng, size_t length, size_t max_piece);

}  // namespace nvmeddp::testlib
