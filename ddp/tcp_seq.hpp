// TCP sequence number arithmetic: serial-number comparison modulo 2^32 (RFC 793 3.3, RFC 1982) and
// the mapping of 32-bit sequence numbers to 64-bit stream offsets.
//
// Sequence numbers wrap (every 4 GiB of a connection, and the ISN is random, so possibly within the
// first bytes), so `a < b` on raw values is wrong near the wrap. Serial arithmetic compares by the
// signed 32-bit distance instead: a is before b when b - a, taken mod 2^32, is in (0, 2^31). Valid as
// long as the two numbers are less than 2^31 apart, which a TCP receive window (at most 2^30 with
// window scaling) guarantees for anything acceptable.
//
// At exactly 2^31 apart the order is undefined (RFC 1982 3.2); these functions then say each is
// before the other (as Linux's before()/after() do). Callers never compare that far: a segment so
// far from the expected sequence number is outside any window and dropped first.
//
// Stream offsets are the engine's and the PDU parser's coordinates: 64-bit, counted from the first
// payload byte of the connection, never wrapping. seq_to_offset() converts with a reference point
// (a sequence number whose offset is known, e.g. rcv_nxt) that the caller moves forward as the
// stream advances, so any sequence number within 2^31 of it maps to the right offset, across any
// number of wraps.
#pragma once

#include <cstdint>

namespace nvmeddp::ddp {

// A TCP sequence number as a type of its own (as Seastar's tcp_seq): comparisons are serial
// (RFC 1982), differences are signed distances, and there is no conversion from or to a plain
// integer except through the explicit constructor and raw(), so a comparison of raw values, wrong
// near the wrap, does not compile where sequence numbers are TcpSeq.
class TcpSeq;
constexpr int32_t seq_diff(uint32_t a, uint32_t b) noexcept;

// Signed distance from b to a (a - b): positive when a is after b.
constexpr int32_t seq_diff(uint32_t a, uint32_t b) noexcept {
    // C++20 defines the unsigned -> signed conversion as modular, so this is exact.
    return static_cast<int32_t>(a - b);
}

constexpr bool seq_lt(uint32_t a, uint32_t b) noexcept { return seq_diff(a, b) < 0; }
constexpr bool seq_leq(uint32_t a, uint32_t b) noexcept { return seq_diff(a, b) <= 0; }
constexpr bool seq_gt(uint32_t a, uint32_t b) noexcept { return seq_diff(a, b) > 0; }
constexpr bool seq_geq(uint32_t a, uint32_t b) noexcept { return seq_diff(a, b) >= 0; }

class TcpSeq {
public:
    constexpr TcpSeq() noexcept = default;
    constexpr explicit TcpSeq(uint32_t raw) noexcept : raw_(raw) {}
    constexpr uint32_t raw() const noexcept { return raw_; }

    constexpr TcpSeq& operator+=(uint32_t n) noexcept {
        raw_ += n;
        return *this;
    }
    friend constexpr TcpSeq operator+(TcpSeq s, uint32_t n) noexcept { return TcpSeq(s.raw_ + n); }
    friend constexpr TcpSeq operator-(TcpSeq s, uint32_t n) noexcept { return TcpSeq(s.raw_ - n); }
    // Signed distance a - b: positive when a is after b.
    friend constexpr int32_t operator-(TcpSeq a, TcpSeq b) noexcept { return seq_diff(a.raw_, b.raw_); }
    friend constexpr bool operator==(TcpSeq a, TcpSeq b) noexcept = default;
    friend constexpr bool operator<(TcpSeq a, TcpSeq b) noexcept { return seq_diff(a.raw_, b.raw_) < 0; }
    friend constexpr bool operator<=(TcpSeq a, TcpSeq b) noexcept { return seq_diff(a.raw_, b.raw_) <= 0; }
    friend constexpr bool operator>(TcpSeq a, TcpSeq b) noexcept { return seq_diff(a.raw_, b.raw_) > 0; }
    friend constexpr bool operator>=(TcpSeq a, TcpSeq b) noexcept { return seq_diff(a.raw_, b.raw_) >= 0; }

    // Bytes from *this up to `end` when end is not before it (the caller knows), as a count.
    constexpr uint32_t bytes_to(TcpSeq end) const noexcept { return end.raw_ - raw_; }

private:
    uint32_t raw_ = 0;
};

// True when seq lies in [begin, begin + len) modulo 2^32 (len < 2^31).
constexpr bool seq_in_window(uint32_t seq, uint32_t begin, uint32_t len) noexcept { return seq - begin < len; }

// A sequence number and the stream offset it stands for.
struct SeqAnchor {
    uint32_t seq = 0;
    uint64_t offset = 0;
};

// Stream offset of `seq` relative to an anchor. Signed: a sequence number before the anchor maps to
// an offset below it, and below 0 for bytes before the start of the stream (e.g. the SYN).
constexpr int64_t seq_to_offset(uint32_t seq, SeqAnchor anchor) noexcept {
    return static_cast<int64_t>(anchor.offset) + seq_diff(seq, anchor.seq);
}

// Sequence number of a stream offset given the sequence number of offset 0 (ISN + 1).
constexpr uint32_t offset_to_seq(uint64_t offset, uint32_t first_seq) noexcept {
    return static_cast<uint32_t>(first_seq + offset);
}

static_assert(seq_lt(0xFFFFFFF0u, 0x10u) && !seq_lt(0x10u, 0xFFFFFFF0u));
static_assert(seq_diff(0x10u, 0xFFFFFFF0u) == 0x20 && seq_diff(0xFFFFFFF0u, 0x10u) == -0x20);
static_assert(seq_leq(5, 5) && !seq_lt(5, 5) && seq_geq(5, 5));
static_assert(seq_in_window(2, 0xFFFFFFFEu, 8) && !seq_in_window(6, 0xFFFFFFFEu, 8));
static_assert(seq_to_offset(0x10u, SeqAnchor{0xFFFFFFF0u, 1000}) == 1032);
static_assert(seq_to_offset(0xFFFFFFF0u, SeqAnchor{0x10u, 1032}) == 1000);
static_assert(seq_to_offset(7, SeqAnchor{10, 0}) == -3);
static_assert(offset_to_seq((uint64_t{5} << 32) + 3, 0xFFFFFFFFu) == 2);
static_assert(TcpSeq(0xFFFFFFF0u) < TcpSeq(0x10u) && TcpSeq(0x10u) - TcpSeq(0xFFFFFFF0u) == 0x20);
static_assert(TcpSeq(0xFFFFFFF0u) + 0x20u == TcpSeq(0x10u) && TcpSeq(3).bytes_to(TcpSeq(10)) == 7);

}  // namespace nvmeddp::ddp
