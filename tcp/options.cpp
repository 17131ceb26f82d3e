#include "tcp/options.hpp"

#include <algorithm>

#include "pmd/packet/be_int.hpp"

namespace nvmeddp::tcp {

namespace {

using pmd::load_be16;
using pmd::load_be32;

// Fixed lengths (kind and length bytes included).
inline constexpr uint8_t kMssLen = 4;
inline constexpr uint8_t kWindowScaleLen = 3;
inline constexpr uint8_t kSackPermittedLen = 2;
inline constexpr uint8_t kTimestampsLen = 10;
inline constexpr uint8_t kSackHeaderLen = 2;
inline constexpr uint8_t kSackBlockLen = 8;

bool sack_length_ok(uint8_t len) noexcept {
    if (len < kSackHeaderLen + kSackBlockLen || (len - kSackHeaderLen) % kSackBlockLen != 0) return false;
    return static_cast<size_t>((len - kSackHeaderLen) / kSackBlockLen) <= kMaxSackBlocks;
}

// Whether a known kind has its fixed length; unknown kinds take any length >= 2.
bool length_ok(uint8_t kind, uint8_t len) noexcept {
    switch (kind) {
        case option_kind::kMss: return len == kMssLen;
        case option_kind::kWindowScale: return len == kWindowScaleLen;
        case option_kind::kSackPermitted: return len == kSackPermittedLen;
        case option_kind::kTimestamps: return len == kTimestampsLen;
        case option_kind::kSack: return sack_length_ok(len);
        default: return true;
    }
}

// `body` is the option after its kind and length bytes; its length is right for `kind`.
void read_option(uint8_t kind, const uint8_t* body, uint8_t body_len, TcpOptions& o) noexcept {
    switch (kind) {
        case option_kind::kMss:
            o.has_mss = true;
            o.mss = load_be16(body);
            break;
        case option_kind::kWindowScale:
            o.has_wscale = true;
            o.wscale = std::min(body[0], kMaxWindowShift);
            break;
        case option_kind::kSackPermitted:
            o.sack_permitted = true;
            break;
        case option_kind::kTimestamps:
            o.has_timestamps = true;
            o.ts_val = load_be32(body);
            o.ts_ecr = load_be32(body + 4);
            break;
        case option_kind::kSack:
            o.sack_count = static_cast<uint8_t>(body_len / kSackBlockLen);
            for (uint8_t i = 0; i < o.sack_count; ++i) {
                o.sack[i].left = Seq(load_be32(body + i * kSackBlockLen));
                o.sack[i].right = Seq(load_be32(body + i * kSackBlockLen + 4));
            }
            break;
        default:
            break;  // a kind we do not use: its length was enough to skip it
    }
}

// SACK blocks written: as many as asked for that fit in what the other options leave.
size_t sack_blocks_to_write(const TcpOptions& o, size_t other_bytes) noexcept {
    const size_t asked = std::min<size_t>(o.sack_count, kMaxSackBlocks);
    if (asked == 0 || other_bytes + 4 + kSackBlockLen > kMaxOptionsSize) return 0;
    const size_t room = (kMaxOptionsSize - other_bytes - 4) / kSackBlockLen;  // 4: NOP NOP kind length
    return std::min(asked, room);
}

// Bytes of every option but the SACK blocks, each in its padded 4-byte-aligned form.
size_t fixed_options_size(const TcpOptions& o) noexcept {
    size_t n = 0;
    if (o.has_mss) n += 4;
    if (o.has_timestamps) {
        n += 12;  // [SACK_PERM][TS] or NOP NOP TS
    } else if (o.sack_permitted) {
        n += 4;  // NOP NOP SACK_PERM
    }
    if (o.has_wscale) n += 4;  // NOP WS
    return n;
}

class OptionWriter {
public:
    explicit OptionWriter(uint8_t* out) noexcept : p_(out) {}
    void u8(uint8_t v) noexcept { *p_++ = v; }
    void be16(uint16_t v) noexcept {
        u8(static_cast<uint8_t>(v >> 8));
        u8(static_cast<uint8_t>(v));
    }
    void be32(uint32_t v) noexcept {
        be16(static_cast<uint16_t>(v >> 16));
        be16(static_cast<uint16_t>(v));
    }
    void nops(size_t n) noexcept {
        for (size_t i = 0; i < n; ++i) u8(option_kind::kNop);
    }

private:
    uint8_t* p_;
};

}  // namespace

const char* to_string(OptionsError error) noexcept {
    switch (error) {
        case OptionsError::None: return "no error";
        case OptionsError::Truncated: return "TCP option runs past the end of the options";
        case OptionsError::BadLength: return "TCP option with a bad length";
    }
    return "unknown TCP options error";
}

OptionsParse parse_options(std::span<const uint8_t> bytes) noexcept {
    OptionsParse result;
    size_t at = 0;
    const auto fail = [&](OptionsError e) {
        result.error = e;
        result.error_offset = static_cast<uint8_t>(at);
        return result;
    };
    while (at < bytes.size()) {
        const uint8_t kind = bytes[at];
        if (kind == option_kind::kEnd) break;
        if (kind == option_kind::kNop) {
            ++at;
            continue;
        }
        if (bytes.size() - at < 2) return fail(OptionsError::Truncated);
        const uint8_t len = bytes[at + 1];
        if (len < 2) return fail(OptionsError::BadLength);  // and it could not be skipped
        if (bytes.size() - at < len) return fail(OptionsError::Truncated);
        if (!length_ok(kind, len)) return fail(OptionsError::BadLength);
        read_option(kind, bytes.data() + at + 2, static_cast<uint8_t>(len - 2), result.options);
        at += len;
    }
    return result;
}

size_t options_size(const TcpOptions& o) noexcept {
    const size_t fixed = fixed_options_size(o);
    const size_t blocks = sack_blocks_to_write(o, fixed);
    return fixed + (blocks == 0 ? 0 : 4 + blocks * kSackBlockLen);
}

size_t write_options(const TcpOptions& o, std::span<uint8_t> out) noexcept {
    const size_t size = options_size(o);
    if (out.size() < size) return 0;
    OptionWriter w(out.data());
    if (o.has_mss) {
        w.u8(option_kind::kMss);
        w.u8(kMssLen);
        w.be16(o.mss);
    }
    if (o.has_timestamps) {
        // SACK_PERM's 2 bytes fill the alignment gap in front of the 10-byte timestamps option.
        if (o.sack_permitted) {
            w.u8(option_kind::kSackPermitted);
            w.u8(kSackPermittedLen);
        } else {
            w.nops(2);
        }
        w.u8(option_kind::kTimestamps);
        w.u8(kTimestampsLen);
        w.be32(o.ts_val);
        w.be32(o.ts_ecr);
    } else if (o.sack_permitted) {
        w.nops(2);
        w.u8(option_kind::kSackPermitted);
        w.u8(kSackPermittedLen);
    }
    if (o.has_wscale) {
        w.nops(1);
        w.u8(option_kind::kWindowScale);
        w.u8(kWindowScaleLen);
        w.u8(std::min(o.wscale, kMaxWindowShift));  // RFC 7323 2.3: never more
    }
    if (const size_t blocks = sack_blocks_to_write(o, fixed_options_size(o)); blocks > 0) {
        w.nops(2);
        w.u8(option_kind::kSack);
        w.u8(static_cast<uint8_t>(kSackHeaderLen + blocks * kSackBlockLen));
        for (size_t i = 0; i < blocks; ++i) {
            w.be32(o.sack[i].left.raw());
            w.be32(o.sack[i].right.raw());
        }
    }
    return size;
}

}  // namespace nvmeddp::tcp
