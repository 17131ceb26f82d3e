// The mixed one-pass copy + CRC32C: part of every 128 bytes through the crc32 instruction, the rest
// folded with carry-less multiplies, for CPUs whose carry-less multiply holds the plain fold back
// while their crc32 instruction has room on other units. AMD Zen 5 does one (V)PCLMULQDQ of any
// width per 2 cycles, so the plain folds pass at most 4 (PCLMULQDQ), 8 (AVX2) or 16 (AVX-512) bytes
// a cycle, and runs crc32 on other units. Written once over a register width W (16, 32 or 64
// bytes: the PCLMULQDQ, AVX2 and AVX-512 instructions of crc32c_fold.hpp's Isa).
//
// Each iteration is 512 bytes: four groups of [128 - W bytes through crc32][W bytes in a register].
// A group's crc32 chain starts from 0 (from the state in the first group of all), and its result
// joins the first four bytes of the register after it, as the state joins the first four bytes of a
// message: crc(a, C Z) = crc(a, zeros(C) Z') with Z' = Z xor crc(0, C) in its first four bytes, and
// zeros add nothing to a fold. So the registers alone hold everything: they fold by 4096 bits per
// iteration, and at the end pairwise onto the later one (128 bytes apart) by 1024 and 2048 bits.
// The crc32 chains carry nothing from one iteration to the next, so consecutive iterations overlap.
// Below 512 bytes it is the plain fold of the same width; after the loop, 4 W bytes or more go on in
// that fold's loop.
//
// Why one register per group, the rest through crc32: on Zen 5 (scratch loop, fastest of 200, 8948
// and 65536 bytes in cache) the AVX2 loop ran at 52-56 GB/s like this and at 45-49 with two registers (64
// bytes through crc32), the PCLMULQDQ loop at 42-45 GB/s like this and at 25-27 with four; plain avx2 28,
// pclmul 14. A CPU with a faster carry-less multiply (Intel's) would want a smaller crc32 share;
// there the start-up calibration (crc32c_copy.cpp) keeps the plain fold.
//
// The loops over groups, registers and words are unrolled (GCC does not at -O2): else the arrays
// live in memory and the path runs at a third of its speed. Four groups, not eight (1024 bytes an
// iteration, more chains in flight): with W = 64 eight ran at 17-18 bytes a cycle on Zen 5, four
// at 20-22 (scratch rdtsc loop, 8948 and 65536 bytes).
//
// Compiling: as crc32c_fold.hpp, which the including file includes first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "nvmetcp/crc32c_fold.hpp"

namespace nvmeddp::nvmetcp::crc32c_fold {
namespace {

// The multipliers that move a register by the plain fold's step of 4 W bytes.
template <size_t W>
inline constexpr FoldConstant kPlainStep = W == 16 ? kFold512 : W == 32 ? kFold1024 : kFold2048;

// One register width of the Isa, under the same names for the mixed loop: the register, its copy,
// xor and fold, a constant in every lane, the plain fold of that width (whole, and from its four
// registers on), and its end from one register.
template <class Isa, size_t W>
struct Width;

template <class Isa>
struct Width<Isa, 16> {
    using V = typename Isa::V128;
    NVMEDDP_FOLD_TARGET static V copy(uint8_t* dst, const uint8_t* src) noexcept { return Isa::copy16(dst, src); }
    NVMEDDP_FOLD_TARGET static V with_state(V v, uint64_t s) noexcept {
        return Isa::xor128(v, Isa::from_state(static_cast<uint32_t>(s)));
    }
    NVMEDDP_FOLD_TARGET static V xor_(V a, V b) noexcept { return Isa::xor128(a, b); }
    NVMEDDP_FOLD_TARGET static V splat(FoldConstant k) noexcept { return Isa::constant(k); }
    NVMEDDP_FOLD_TARGET static V fold_by(V x, V k) noexcept { return fold<Isa>(x, k); }
    NVMEDDP_FOLD_TARGET static uint32_t plain(uint32_t state, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
        return copy_fold_64<Isa>(state, dst, src, len);
    }
    NVMEDDP_FOLD_TARGET static uint32_t plain_rest(V x0, V x1, V x2, V x3, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
        return fold_64_rest<Isa>(x0, x1, x2, x3, dst, src, len);
    }
    NVMEDDP_FOLD_TARGET static uint32_t end(V x, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
        return finish<Isa>(x, dst, src, len);
    }
};

template <class Isa>
struct Width<Isa, 32> {
    using V = typename Isa::V256;
    NVMEDDP_FOLD_TARGET static V copy(uint8_t* dst, const uint8_t* src) noexcept { return Isa::copy32(dst, src); }
    NVMEDDP_FOLD_TARGET static V with_state(V v, uint64_t s) noexcept {
        return Isa::xor256(v, Isa::widen256(Isa::from_state(static_cast<uint32_t>(s))));
    }
    NVMEDDP_FOLD_TARGET static V xor_(V a, V b) noexcept { return Isa::xor256(a, b); }
    NVMEDDP_FOLD_TARGET static V splat(FoldConstant k) noexcept { return Isa::broadcast256(Isa::constant(k)); }
    NVMEDDP_FOLD_TARGET static V fold_by(V x, V k) noexcept { return fold2<Isa>(x, k); }
    NVMEDDP_FOLD_TARGET static uint32_t plain(uint32_t state, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
        return copy_fold_128<Isa>(state, dst, src, len);
    }
    NVMEDDP_FOLD_TARGET static uint32_t plain_rest(V x0, V x1, V x2, V x3, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
        return fold_128_rest<Isa>(x0, x1, x2, x3, dst, src, len);
    }
    NVMEDDP_FOLD_TARGET static uint32_t end(V x, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
        return finish256<Isa>(x, dst, src, len);
    }
};

template <class Isa>
struct Width<Isa, 64> {
    using V = typename Isa::V512;
    NVMEDDP_FOLD_TARGET static V copy(uint8_t* dst, const uint8_t* src) noexcept { return Isa::copy64(dst, src); }
    NVMEDDP_FOLD_TARGET static V with_state(V v, uint64_t s) noexcept {
        return Isa::xor512(v, Isa::widen(Isa::from_state(static_cast<uint32_t>(s))));
    }
    NVMEDDP_FOLD_TARGET static V xor_(V a, V b) noexcept { return Isa::xor512(a, b); }
    NVMEDDP_FOLD_TARGET static V splat(FoldConstant k) noexcept { return Isa::broadcast(Isa::constant(k)); }
    NVMEDDP_FOLD_TARGET static V fold_by(V x, V k) noexcept { return fold4<Isa>(x, k); }
    NVMEDDP_FOLD_TARGET static uint32_t plain(uint32_t state, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
        return copy_fold_256<Isa>(state, dst, src, len);
    }
    NVMEDDP_FOLD_TARGET static uint32_t plain_rest(V x0, V x1, V x2, V x3, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
        return fold_256_rest<Isa>(x0, x1, x2, x3, dst, src, len);
    }
    NVMEDDP_FOLD_TARGET static uint32_t end(V x, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
        return finish512<Isa>(x, dst, src, len);
    }
};

// The four crc32 chains of one iteration, interleaved (each instruction's result comes three cycles
// later: one chain at a time would wait on it): s[g] goes over the 128 - W bytes at src + 128 g,
// which are copied to dst + 128 g in registers of W bytes (the crc32 instructions load them again,
// from L1).
template <class Isa, size_t W>
NVMEDDP_FOLD_TARGET inline void copy_crc_groups(uint64_t (&s)[4], uint8_t* dst, const uint8_t* src) noexcept {
    constexpr size_t kCrcBytes = 128 - W;
#pragma GCC unroll 16
    for (size_t i = 0; i < kCrcBytes; i += 8) {
#pragma GCC unroll 4
        for (size_t g = 0; g < 4; ++g) {
            uint64_t v;
            std::memcpy(&v, src + 128 * g + i, 8);
            s[g] = Isa::crc32_u64(s[g], v);
        }
    }
#pragma GCC unroll 4
    for (size_t g = 0; g < 4; ++g) {
#pragma GCC unroll 8
        for (size_t i = 0; i < kCrcBytes; i += W) Width<Isa, W>::copy(dst + 128 * g + i, src + 128 * g + i);
    }
}

template <class Isa, size_t W>
NVMEDDP_FOLD_TARGET uint32_t copy_fold_mixed(uint32_t state, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
    using L = Width<Isa, W>;
    using V = typename L::V;
    constexpr size_t kCrcBytes = 128 - W;

    if (len < 512) return L::plain(state, dst, src, len);

    // x[g]: the W bytes that end group g, with its crc32 chain's result joined to their first four.
    V x[4];
    uint64_t s[4] = {state, 0, 0, 0};
    copy_crc_groups<Isa, W>(s, dst, src);
#pragma GCC unroll 4
    for (size_t g = 0; g < 4; ++g) x[g] = L::with_state(L::copy(dst + 128 * g + kCrcBytes, src + 128 * g + kCrcBytes), s[g]);
    src += 512;
    dst += 512;
    len -= 512;

    const V k4096 = L::splat(kFold4096);
    while (len >= 512) {
        uint64_t t[4] = {0, 0, 0, 0};
        copy_crc_groups<Isa, W>(t, dst, src);
#pragma GCC unroll 4
        for (size_t g = 0; g < 4; ++g) {
            const V y = L::with_state(L::copy(dst + 128 * g + kCrcBytes, src + 128 * g + kCrcBytes), t[g]);
            x[g] = L::xor_(L::fold_by(x[g], k4096), y);
        }
        src += 512;
        dst += 512;
        len -= 512;
    }

    // Registers 0 and 2 onto the next (128 bytes later), then 1 onto 3 (256 bytes later): register 3
    // ends the bytes done so far.
    const V k1024 = L::splat(kFold1024);
    x[1] = L::xor_(x[1], L::fold_by(x[0], k1024));
    x[3] = L::xor_(x[3], L::fold_by(x[2], k1024));
    x[3] = L::xor_(x[3], L::fold_by(x[1], L::splat(kFold2048)));

    // 4 W bytes or more left: on in the plain fold's four registers, x[3] folded onto the last of them
    // (4 W bytes later), rather than W bytes at a time on one register (each step waits for the one
    // before: a multiply and an xor, 7 cycles on Zen 5).
    if (len >= 4 * W) {
        const V z0 = L::copy(dst, src);
        const V z1 = L::copy(dst + W, src + W);
        const V z2 = L::copy(dst + 2 * W, src + 2 * W);
        const V z3 = L::xor_(L::copy(dst + 3 * W, src + 3 * W), L::fold_by(x[3], L::splat(kPlainStep<W>)));
        return L::plain_rest(z0, z1, z2, z3, dst + 4 * W, src + 4 * W, len - 4 * W);
    }
    return L::end(x[3], dst, src, len);
}

}  // namespace
}  // namespace nvmeddp::nvmetcp::crc32c_fold
