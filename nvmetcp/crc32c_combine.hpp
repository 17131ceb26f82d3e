// CRC32C of data the device saw in pieces, in any order: each contiguous run is digested on its
// own, and the runs are joined once the whole is there.
//
// Why it works: a raw (not inverted) CRC state is linear in the bytes fed to it. Feeding n bytes B to
// a state s gives crc32c_shift(s, n) ^ crc32c_extend(0, B), where the shift is what n zero bytes do
// to s: a multiplication by x^(8n) modulo P. So a run digested from state 0 can be put after any
// state later, knowing only its length. zlib's crc32_combine and isa-l rest on the same identity.
//
// Cost: a shift by n bytes is one multiplication modulo P per set bit of n (at most 64), from a table
// of x^(2^k) mod P built at compile time; about a hundred nanoseconds, paid once per run joined.
#pragma once

#include <cstdint>

namespace nvmeddp::nvmetcp {

// The raw state after `nbytes` zero bytes are fed to `state`: state * x^(8 * nbytes) mod P.
uint32_t crc32c_shift(uint32_t state, uint64_t nbytes) noexcept;

// The raw state of A followed by B, from `front` (the raw state after A, from any start) and
// `back_from_zero` (crc32c_extend(0, B)) and B's length.
inline uint32_t crc32c_join(uint32_t front, uint32_t back_from_zero, uint64_t back_len) noexcept {
    return crc32c_shift(front, back_len) ^ back_from_zero;
}

}  // namespace nvmeddp::nvmetcp
