// TCP options as the endpoint reads and writes them: MSS and the end/no-op kinds (RFC 9293 3.2),
// window scale and timestamps (RFC 7323), SACK-permitted and SACK blocks (RFC 2018).
//
// parse_options() reads the option bytes of a received segment, the way a peer's stack must be
// read: unknown kinds are skipped by their length, a malformed option stops the parse but keeps what
// came before it (Linux acts on the options it read before the bad one and counts the error, and so
// do we). write_options() lays options out as common stacks do, so that capture tools and middleboxes
// that look at fixed positions read them as they expect.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "tcp/sack_block.hpp"
#include "tcp/seq.hpp"

namespace nvmeddp::tcp {

// A SACK option carries at most 4 blocks: 2 + 4 * 8 = 34 of the 40 option bytes.
inline constexpr size_t kMaxSackBlocks = 4;

// The largest window shift RFC 7323 2.3 allows; a larger one received is used as 14.
inline constexpr uint8_t kMaxWindowShift = 14;

// The options' space in a TCP header: data offset 15 words minus the fixed 5.
inline constexpr size_t kMaxOptionsSize = 40;

struct TcpOptions {
    bool has_mss = false;
    uint16_t mss = 0;
    bool has_wscale = false;
    uint8_t wscale = 0;  // parse clamps a shift > 14 to 14 (RFC 7323 2.3)
    bool sack_permitted = false;
    bool has_timestamps = false;
    uint32_t ts_val = 0;
    uint32_t ts_ecr = 0;
    uint8_t sack_count = 0;
    SackBlock sack[kMaxSackBlocks]{};
};

namespace option_kind {
inline constexpr uint8_t kEnd = 0;
inline constexpr uint8_t kNop = 1;
inline constexpr uint8_t kMss = 2;
inline constexpr uint8_t kWindowScale = 3;
inline constexpr uint8_t kSackPermitted = 4;
inline constexpr uint8_t kSack = 5;
inline constexpr uint8_t kTimestamps = 8;
}  // namespace option_kind

enum class OptionsError : uint8_t {
    None,
    Truncated,  // a kind's length byte or body runs past the options
    BadLength,  // length < 2, or not the fixed length of a known kind (MSS 4, WS 3, SACK_PERM 2,
                // TS 10, SACK 2 + 8n with n in 1..4)
};

const char* to_string(OptionsError error) noexcept;

struct OptionsParse {
    TcpOptions options;  // what was parsed, up to the error if there was one
    OptionsError error = OptionsError::None;
    uint8_t error_offset = 0;  // offset in `bytes` of the offending option's kind byte
};

// `bytes`: the option bytes between the fixed 20-byte TCP header and the payload (at most 40). EOL
// ends; NOP is skipped; unknown kinds are skipped by their length. A repeated kind overwrites the
// earlier one. When an option is both too long for the bytes left and of the wrong length for its
// kind, the error is Truncated (the length is checked against the bytes first, as Linux does).
OptionsParse parse_options(std::span<const uint8_t> bytes) noexcept;

// Bytes write_options() will write: a multiple of 4, at most 40. SACK blocks that do not fit are left
// out, the last ones first (with timestamps, 3 fit; with MSS, timestamps and window scale, 2).
size_t options_size(const TcpOptions& options) noexcept;

// Writes the options NOP-padded to 4-byte alignment, in the order common stacks use: MSS; SACK_PERM
// with timestamps as [SACK_PERM][TS], or NOP NOP TS, or NOP NOP SACK_PERM; NOP WS; NOP NOP SACK.
// Returns the bytes written (options_size()); 0 and nothing written when `out` is smaller than that.
size_t write_options(const TcpOptions& options, std::span<uint8_t> out) noexcept;

}  // namespace nvmeddp::tcp
