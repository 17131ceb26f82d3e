// The instructions the fold uses (crc32c_fold.hpp), emulated in portable C++: a 64x64-bit carry-less
// multiply for PCLMULQDQ, a bitwise CRC32C step for the crc32 instruction, and 128/256/512-bit values
// as plain integers. Slow, and never chosen by the dispatch; it exists so that the algorithm of each
// x86 path can be checked on a machine that lacks its instructions (crc32c_fold_emulated.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>

#include "nvmetcp/crc32c_fold_constants.hpp"

namespace nvmeddp::nvmetcp::crc32c_fold {

// A 128-bit lane as x86 keeps it in a register: lo holds bytes 0..7 (little-endian), hi bytes 8..15.
struct Soft128 {
    uint64_t lo;
    uint64_t hi;
};

// Carry-less product of two 64-bit polynomials (bit i is the coefficient of x^i), 128 bits wide.
constexpr Soft128 clmul64(uint64_t a, uint64_t b) noexcept {
    Soft128 r{0, 0};
    for (unsigned i = 0; i < 64; ++i) {
        const uint64_t take = 0 - ((b >> i) & 1);  // all ones when bit i of b is set
        r.lo ^= (a << i) & take;
        if (i != 0) r.hi ^= (a >> (64 - i)) & take;
    }
    return r;
}

// The crc32 instruction: CRC32C (reflected polynomial 0x82F63B78) of one byte, or of eight bytes
// least significant first, from a raw state, no inversion.
constexpr uint32_t crc32c_u8(uint32_t c, uint8_t v) noexcept {
    c ^= v;
    for (int bit = 0; bit < 8; ++bit) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    return c;
}

// Like _mm_crc32_u64: the upper half of s is ignored, the result is zero-extended.
constexpr uint64_t crc32c_u64(uint64_t s, uint64_t v) noexcept {
    auto c = static_cast<uint32_t>(s);
    for (int byte = 0; byte < 8; ++byte) c = crc32c_u8(c, static_cast<uint8_t>(v >> (8 * byte)));
    return c;
}

// The Isa of crc32c_fold.hpp in software: a V256 is two 128-bit lanes and a V512 four, lane i
// holding bytes 16i..16i+15 as in a YMM or ZMM register.
struct SoftIsa {
    using V128 = Soft128;
    struct V256 {
        Soft128 lane[2];
    };
    struct V512 {
        Soft128 lane[4];
    };

    static V128 copy16(uint8_t* dst, const uint8_t* src) noexcept {
        V128 v;
        std::memcpy(&v.lo, src, 8);
        std::memcpy(&v.hi, src + 8, 8);
        std::memcpy(dst, src, 16);
        return v;
    }
    static V128 from_state(uint32_t state) noexcept { return {state, 0}; }
    static V128 constant(FoldConstant k) noexcept { return {k.lo, k.hi}; }
    static V128 xor128(V128 a, V128 b) noexcept { return {a.lo ^ b.lo, a.hi ^ b.hi}; }
    static V128 clmul_lo(V128 a, V128 b) noexcept { return clmul64(a.lo, b.lo); }
    static V128 clmul_hi(V128 a, V128 b) noexcept { return clmul64(a.hi, b.hi); }
    static uint64_t low64(V128 a) noexcept { return a.lo; }
    static uint64_t high64(V128 a) noexcept { return a.hi; }
    static uint64_t crc32_u64(uint64_t s, uint64_t v) noexcept { return crc32c_u64(s, v); }
    static uint32_t crc32_u8(uint32_t c, uint8_t v) noexcept { return crc32c_u8(c, v); }

    static V256 copy32(uint8_t* dst, const uint8_t* src) noexcept {
        V256 v;
        for (int i = 0; i < 2; ++i) v.lane[i] = copy16(dst + 16 * i, src + 16 * i);
        return v;
    }
    static V256 widen256(V128 a) noexcept { return {{a, {0, 0}}}; }
    static V256 broadcast256(V128 a) noexcept { return {{a, a}}; }
    static V256 xor256(const V256& a, const V256& b) noexcept { return each(a, b, xor128); }
    static V256 clmul256_lo(const V256& a, const V256& b) noexcept { return each(a, b, clmul_lo); }
    static V256 clmul256_hi(const V256& a, const V256& b) noexcept { return each(a, b, clmul_hi); }
    template <int I>
    static V128 lane256(const V256& a) noexcept {
        static_assert(I >= 0 && I < 2);
        return a.lane[I];
    }
    static void end256() noexcept {}

    static V512 copy64(uint8_t* dst, const uint8_t* src) noexcept {
        V512 v;
        for (int i = 0; i < 4; ++i) v.lane[i] = copy16(dst + 16 * i, src + 16 * i);
        return v;
    }
    static V512 widen(V128 a) noexcept { return {{a, {0, 0}, {0, 0}, {0, 0}}}; }
    static V512 broadcast(V128 a) noexcept { return {{a, a, a, a}}; }
    static V512 xor512(const V512& a, const V512& b) noexcept { return each(a, b, xor128); }
    static V512 clmul512_lo(const V512& a, const V512& b) noexcept { return each(a, b, clmul_lo); }
    static V512 clmul512_hi(const V512& a, const V512& b) noexcept { return each(a, b, clmul_hi); }
    template <int I>
    static V128 lane(const V512& a) noexcept {
        static_assert(I >= 0 && I < 4);
        return a.lane[I];
    }
    static void end512() noexcept {}

private:
    // op on each 128-bit lane of a V256 or V512.
    template <class V>
    static V each(const V& a, const V& b, V128 (*op)(V128, V128)) noexcept {
        V r;
        for (size_t i = 0; i < std::size(r.lane); ++i) r.lane[i] = op(a.lane[i], b.lane[i]);
        return r;
    }
};

}  // namespace nvmeddp::nvmetcp::crc32c_fold
