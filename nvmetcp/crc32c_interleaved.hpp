// The copy + CRC32C path for CPUs whose carry-less multiply is missing or slow: SSE4.2's crc32
// instruction on three interleaved lanes, fused with the copy (every 8-byte word loaded is stored to
// the destination and fed to its lane's CRC).
//
// Why three lanes: crc32 takes one 8-byte word per cycle but gives its result three cycles later, so
// one chain runs at a third of the instruction's rate. Three independent chains, over three
// consecutive blocks of L bytes, keep it busy. The blocks' CRCs are joined by linearity (see
// crc32c_combine.hpp): crc(s, A B C) = shift(a, 2L) ^ shift(b, L) ^ c, with a = crc(s, A),
// b = crc(0, B), c = crc(0, C). A shift by a fixed L is a linear map of 32 bits, done with four
// 256-entry tables (ShiftTable), built once from crc32c_shift; no multiply needed.
//
// Block sizes 1024, 256 and 64 bytes per lane in turn, so that a 1448-byte segment still runs three
// lanes for most of its bytes; the last < 192 bytes go one word, then one byte, at a time.
// Templated on the instruction (Ops::crc64, Ops::crc8) so that tests run the same algorithm in
// software on any CPU.
//
// Compiling: the including file defines NVMEDDP_INTERLEAVED_TARGET as the target attribute its Ops
// need (empty for the software one), so that they inline into the loop: without it each crc32 was a
// call and the path ran at a sixth of its speed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nvmeddp::nvmetcp::crc32c_interleaved {

// x -> x * x^(8 * nbytes) mod P for one fixed nbytes, as four table lookups.
struct ShiftTable {
    std::array<std::array<uint32_t, 256>, 4> t;
    uint32_t operator()(uint32_t x) const noexcept {
        return t[0][x & 0xFF] ^ t[1][x >> 8 & 0xFF] ^ t[2][x >> 16 & 0xFF] ^ t[3][x >> 24];
    }
};

// The shifts by L and 2L of one block size.
struct BlockShifts {
    size_t lane;  // L, bytes per lane
    ShiftTable by_lane, by_two_lanes;
};

// The block sizes, largest first, with their tables (built on first use).
const std::array<BlockShifts, 3>& block_shifts() noexcept;

#ifndef NVMEDDP_INTERLEAVED_TARGET
#error "define NVMEDDP_INTERLEAVED_TARGET (the instructions this file's Ops need) before including crc32c_interleaved.hpp"
#endif

template <typename Ops>
NVMEDDP_INTERLEAVED_TARGET inline uint32_t copy_interleaved(uint32_t state, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
    const auto word = [](const uint8_t* p) {
        uint64_t w;
        std::memcpy(&w, p, sizeof w);
        return w;
    };
    for (const BlockShifts& b : block_shifts()) {
        const size_t lane = b.lane;
        while (len >= 3 * lane) {
            // 64-bit chains, as the instruction has them: truncating to 32 bits between steps put a
            // zero-extending move on each chain's critical path.
            uint64_t x = state, y = 0, z = 0;
            for (size_t i = 0; i < lane; i += 8) {
                const uint64_t u = word(src + i), v = word(src + lane + i), w = word(src + 2 * lane + i);
                std::memcpy(dst + i, &u, 8);
                std::memcpy(dst + lane + i, &v, 8);
                std::memcpy(dst + 2 * lane + i, &w, 8);
                x = Ops::crc64(x, u);
                y = Ops::crc64(y, v);
                z = Ops::crc64(z, w);
            }
            state = b.by_two_lanes(static_cast<uint32_t>(x)) ^ b.by_lane(static_cast<uint32_t>(y)) ^ static_cast<uint32_t>(z);
            src += 3 * lane;
            dst += 3 * lane;
            len -= 3 * lane;
        }
    }
    uint64_t tail = state;
    for (; len >= 8; src += 8, dst += 8, len -= 8) {
        const uint64_t u = word(src);
        std::memcpy(dst, &u, 8);
        tail = Ops::crc64(tail, u);
    }
    state = static_cast<uint32_t>(tail);
    for (; len > 0; ++src, ++dst, --len) {
        *dst = *src;
        state = Ops::crc8(state, *src);
    }
    return state;
}

}  // namespace nvmeddp::nvmetcp::crc32c_interleaved
