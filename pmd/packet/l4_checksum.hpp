// Verifying the IPv4 header checksum and the TCP checksum of a received frame (RFC 1071 Internet
// checksum: the ones' complement sum of 16-bit words), what a NIC's rx checksum offload does.
//
// Two users: our vdev NIC (net_nvmeddp) when the application enables its rx checksum offload, and
// the offload engine, which must not follow a segment the host's TCP will drop and so verifies the
// checksum itself when the port could not say (L4Checksum::Unknown). The engine calls this for
// every frame of an offloaded connection (with payload), so it is written to be fast: no carry
// handling per word and no per-byte loop. The baseline adds 32-bit words into 64 bits, a loop the
// compiler vectorises; the AVX2 and AVX-512 loops, chosen by CPU flags, add 16-bit halves into
// 32-bit lanes. The sum is taken
// in the CPU's byte order and only compared with all-ones at the end, which RFC 1071 (section 2(B))
// shows is the same test as in network order.
//
// Frames come as parse_frame() describes them (frame_parser.hpp): `first` is the first segment of
// the frame (every header is in it), later segments follow as ByteChunks. The TCP segment is taken
// from the TcpSegment's l4_offset to the end of its payload (payload_offset + payload_len): bytes
// after it (Ethernet padding, a trailer) are not summed, wherever they sit.
#pragma once

#include <cstdint>
#include <span>

#include "pmd/packet/byte_chunk.hpp"
#include "pmd/packet/frame_parser.hpp"

namespace nvmeddp::pmd {

// A running ones' complement sum over bytes added piece by piece, in order; a piece may have any
// length (an odd one shifts the byte positions of the next, which add() accounts for).
class InternetSum {
public:
    void add(std::span<const uint8_t> bytes) noexcept;
    // The sum folded to 16 bits, in the CPU's byte order. 0xFFFF means "checksum correct" for bytes
    // that include their checksum field.
    uint16_t folded() const noexcept;

private:
    uint64_t acc_ = 0;  // 64-bit partial sums with end-around carry, each already in even position
    bool odd_ = false;  // an odd number of bytes added so far
};

// True when the IPv4 header of `seg` (l3_offset to l4_offset in `first`) sums to all ones, i.e. its
// header checksum is right. Always true for IPv6, which has no header checksum.
bool ipv4_header_checksum_ok(std::span<const uint8_t> first, const TcpSegment& seg) noexcept;

// The TCP checksum, fed piece by piece: the constructor takes the pseudo-header (IPv4 or IPv6, from
// the addresses in `first`) and the segment's bytes in `first`; add() each later piece of the frame
// in order (bytes past the segment's end are ignored). ok() once all pieces were added.
class TcpChecksum {
public:
    TcpChecksum(std::span<const uint8_t> first, const TcpSegment& seg) noexcept;
    void add(std::span<const uint8_t> more) noexcept;
    // The segment's bytes were all seen and, with the pseudo-header, sum to all ones. False when
    // fewer bytes came than the IP length promised.
    bool ok() const noexcept { return left_ == 0 && valid_ && sum_.folded() == 0xFFFF; }

private:
    InternetSum sum_;
    uint32_t left_ = 0;   // segment bytes not yet seen
    bool valid_ = false;  // the segment's headers lie in `first` (else ok() is false)
};

// The whole check in one call: the segment's bytes in `first`, then in `more`, in order.
bool tcp_checksum_ok(std::span<const uint8_t> first, const TcpSegment& seg,
                     std::span<const ByteChunk> more = {}) noexcept;

// Both checksums of a frame plain_ipv4_tcp() accepted (frame_parser.hpp), the IPv4 header's and the
// TCP segment's, as ipv4_header_checksum_ok() and tcp_checksum_ok() would judge them: the same
// verdict without the general path's offsets, family dispatch and piecewise sums. `first` is the
// frame's first segment, `more` the rest, in order.
bool plain_ipv4_checksums_ok(std::span<const uint8_t> first, std::span<const ByteChunk> more = {}) noexcept;

// A checksum field (as a number: the field's two bytes read big-endian) after bytes it covers
// changed: old_sum and new_sum are the ones' complement sums of those bytes before and after, as
// 16-bit words in network order (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
uint16_t patch_internet_checksum(uint16_t checksum, uint32_t old_sum, uint32_t new_sum) noexcept;

// Which summing loop runs: "avx512", "avx2" or "baseline" (SSE2 on x86-64). Chosen from the CPU flags at
// start-up; tests and benchmarks may choose another one the CPU has (false when it lacks it or the
// name is unknown). Not thread-safe: call before any checksum is computed.
const char* l4_checksum_implementation() noexcept;
bool l4_checksum_select(const char* name) noexcept;

}  // namespace nvmeddp::pmd
