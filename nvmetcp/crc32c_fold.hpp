// The one-pass copy + CRC32C algorithm, written once over an instruction set `Isa`: the lane layout,
// the fold and reduce steps and the tail, with the constants of crc32c_fold_constants.hpp. The x86
// paths instantiate it with PCLMULQDQ / AVX-512 intrinsics, the tests also with a software emulation
// of the same instructions (crc32c_fold_soft.hpp): a mistake here shows on every machine.
//
// The data is folded with carry-less multiplies (Intel's "Fast CRC Computation Using PCLMULQDQ"),
// every loaded vector also stored to the destination. copy_fold_64: 64 bytes per iteration in four
// 128-bit lanes. copy_fold_128: 128 bytes per iteration in eight lanes (four 256-bit registers).
// copy_fold_256: 256 bytes per iteration in sixteen lanes (four 512-bit registers). All reduce to
// one lane, fold in the remaining whole 16-byte blocks, turn the lane into the CRC state with two
// crc32 instructions and do the last bytes with crc32 too.
//
// What Isa provides (static members; each maps to one instruction):
//   V128 copy16(dst, src)           load 16 bytes, store them to dst, return them
//   V128 from_state(uint32_t)       the state in bits 0..31, the rest zero
//   V128 constant(FoldConstant)     lo in bits 0..63, hi in bits 64..127
//   V128 xor128(a, b)
//   V128 clmul_lo(a, b)             carry-less product of the low 64 bits of a and b (PCLMULQDQ 0x00)
//   V128 clmul_hi(a, b)             the same of the high 64 bits (PCLMULQDQ 0x11)
//   uint64_t low64(V128), high64(V128)
//   uint64_t crc32_u64(s, v), uint32_t crc32_u8(c, b)   the crc32 instruction
// for copy_fold_128 the same per 128-bit lane on two lanes at once:
//   V256 copy32(dst, src), widen256(V128) (lane 0, the rest zero), broadcast256(V128), xor256,
//   clmul256_lo, clmul256_hi, lane256<i>(V256), and end256() when no V256 is needed any more;
// and for copy_fold_256 on four lanes at once:
//   V512 copy64(dst, src), widen(V128) (lane 0, the rest zero), broadcast(V128), xor512,
//   clmul512_lo, clmul512_hi, lane<i>(V512), and end512() when no V512 is needed any more.
//
// Compiling: the including file defines NVMEDDP_FOLD_TARGET as the target attribute its Isa needs
// (empty for the emulation) and includes this header once. Everything here is in an unnamed
// namespace, so each file gets its own copy compiled for its instructions; copies never merge.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "nvmetcp/crc32c_fold_constants.hpp"

#ifndef NVMEDDP_FOLD_TARGET
#error "define NVMEDDP_FOLD_TARGET (the instructions this file's Isa needs) before including crc32c_fold.hpp"
#endif

namespace nvmeddp::nvmetcp::crc32c_fold {
namespace {

// One lane D bits forward: low half times k.lo, high half times k.hi, the products added.
template <class Isa>
NVMEDDP_FOLD_TARGET inline typename Isa::V128 fold(typename Isa::V128 x, typename Isa::V128 k) noexcept {
    return Isa::xor128(Isa::clmul_lo(x, k), Isa::clmul_hi(x, k));
}

// The same on the two lanes of a V256.
template <class Isa>
NVMEDDP_FOLD_TARGET inline typename Isa::V256 fold2(typename Isa::V256 x, typename Isa::V256 k) noexcept {
    return Isa::xor256(Isa::clmul256_lo(x, k), Isa::clmul256_hi(x, k));
}

// The same on the four lanes of a V512.
template <class Isa>
NVMEDDP_FOLD_TARGET inline typename Isa::V512 fold4(typename Isa::V512 x, typename Isa::V512 k) noexcept {
    return Isa::xor512(Isa::clmul512_lo(x, k), Isa::clmul512_hi(x, k));
}

// Fewer than 16 bytes, or what is left after the folded part: copy and crc32 instruction.
template <class Isa>
NVMEDDP_FOLD_TARGET uint32_t copy_crc_small(uint32_t state, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
    uint64_t s = state;
    while (len >= 8) {
        uint64_t v;
        std::memcpy(&v, src, 8);
        std::memcpy(dst, &v, 8);
        s = Isa::crc32_u64(s, v);
        src += 8;
        dst += 8;
        len -= 8;
    }
    auto c = static_cast<uint32_t>(s);
    while (len > 0) {
        *dst++ = *src;
        c = Isa::crc32_u8(c, *src++);
        --len;
    }
    return c;
}

// Both folds end here, with one lane: the remaining whole 16-byte blocks are folded in, the lane
// reduced to the CRC state, and the last bytes done with the crc32 instruction.
template <class Isa>
NVMEDDP_FOLD_TARGET uint32_t finish(typename Isa::V128 x, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
    const auto k128 = Isa::constant(kFold128);
    while (len >= 16) {
        x = Isa::xor128(fold<Isa>(x, k128), Isa::copy16(dst, src));
        src += 16;
        dst += 16;
        len -= 16;
    }
    // The folded 128 bits are congruent to everything so far: their CRC (from 0) is the state.
    uint64_t s = Isa::crc32_u64(0, Isa::low64(x));
    s = Isa::crc32_u64(s, Isa::high64(x));
    return copy_crc_small<Isa>(static_cast<uint32_t>(s), dst, src, len);
}

// The end of the 512-bit folds, from one register of four lanes: the remaining whole 64-byte blocks
// folded in, the lanes reduced to one, and on as finish().
template <class Isa>
NVMEDDP_FOLD_TARGET uint32_t finish512(typename Isa::V512 x, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
    const auto k512 = Isa::broadcast(Isa::constant(kFold512));
    while (len >= 64) {
        x = Isa::xor512(fold4<Isa>(x, k512), Isa::copy64(dst, src));
        src += 64;
        dst += 64;
        len -= 64;
    }

    // Lanes 0..2 forward onto lane 3.
    auto r = Isa::template lane<3>(x);
    r = Isa::xor128(r, fold<Isa>(Isa::template lane<0>(x), Isa::constant(kFold384)));
    r = Isa::xor128(r, fold<Isa>(Isa::template lane<1>(x), Isa::constant(kFold256)));
    r = Isa::xor128(r, fold<Isa>(Isa::template lane<2>(x), Isa::constant(kFold128)));
    Isa::end512();
    return finish<Isa>(r, dst, src, len);
}

// crc32 of the 64 bytes at src from state s, copied to dst (with one 64-byte load and store: the
// crc32 instructions load the source again, from L1).
template <class Isa>
NVMEDDP_FOLD_TARGET uint64_t copy_crc64(uint64_t s, uint8_t* dst, const uint8_t* src) noexcept {
    Isa::copy64(dst, src);
    for (int i = 0; i < 64; i += 8) {
        uint64_t v;
        std::memcpy(&v, src + i, 8);
        s = Isa::crc32_u64(s, v);
    }
    return s;
}

// copy_fold_64 from its four lanes on (they hold the 64 bytes before src): the loop, the lanes into
// one, and finish.
template <class Isa>
NVMEDDP_FOLD_TARGET uint32_t fold_64_rest(typename Isa::V128 x0, typename Isa::V128 x1, typename Isa::V128 x2, typename Isa::V128 x3,
                                          uint8_t* dst, const uint8_t* src, size_t len) noexcept {
    const auto k512 = Isa::constant(kFold512);
    while (len >= 64) {
        x0 = Isa::xor128(fold<Isa>(x0, k512), Isa::copy16(dst, src));
        x1 = Isa::xor128(fold<Isa>(x1, k512), Isa::copy16(dst + 16, src + 16));
        x2 = Isa::xor128(fold<Isa>(x2, k512), Isa::copy16(dst + 32, src + 32));
        x3 = Isa::xor128(fold<Isa>(x3, k512), Isa::copy16(dst + 48, src + 48));
        src += 64;
        dst += 64;
        len -= 64;
    }

    // Four lanes into one, then whole 16-byte blocks.
    const auto k128 = Isa::constant(kFold128);
    auto x = Isa::xor128(fold<Isa>(x0, k128), x1);
    x = Isa::xor128(fold<Isa>(x, k128), x2);
    x = Isa::xor128(fold<Isa>(x, k128), x3);
    return finish<Isa>(x, dst, src, len);
}

template <class Isa>
NVMEDDP_FOLD_TARGET uint32_t copy_fold_64(uint32_t state, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
    if (len < 64) return copy_crc_small<Isa>(state, dst, src, len);

    // The state joins the first four bytes of the message; then the lanes hold bytes 0..63.
    const auto x0 = Isa::xor128(Isa::copy16(dst, src), Isa::from_state(state));
    const auto x1 = Isa::copy16(dst + 16, src + 16);
    const auto x2 = Isa::copy16(dst + 32, src + 32);
    const auto x3 = Isa::copy16(dst + 48, src + 48);
    return fold_64_rest<Isa>(x0, x1, x2, x3, dst + 64, src + 64, len - 64);
}

// The end of the 256-bit folds, from one register of two lanes: the remaining whole 32-byte blocks
// folded in, lane 0 forward onto lane 1, and on as finish().
template <class Isa>
NVMEDDP_FOLD_TARGET uint32_t finish256(typename Isa::V256 x, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
    const auto k256 = Isa::broadcast256(Isa::constant(kFold256));
    while (len >= 32) {
        x = Isa::xor256(fold2<Isa>(x, k256), Isa::copy32(dst, src));
        src += 32;
        dst += 32;
        len -= 32;
    }
    auto r = Isa::xor128(Isa::template lane256<1>(x), fold<Isa>(Isa::template lane256<0>(x), Isa::constant(kFold128)));
    Isa::end256();
    return finish<Isa>(r, dst, src, len);
}

// copy_fold_128 from its four registers on (they hold the 128 bytes before src): the loop, the
// registers into one (folds by 256 bits), and finish256.
template <class Isa>
NVMEDDP_FOLD_TARGET uint32_t fold_128_rest(typename Isa::V256 x0, typename Isa::V256 x1, typename Isa::V256 x2, typename Isa::V256 x3,
                                           uint8_t* dst, const uint8_t* src, size_t len) noexcept {
    const auto k1024 = Isa::broadcast256(Isa::constant(kFold1024));
    while (len >= 128) {
        x0 = Isa::xor256(fold2<Isa>(x0, k1024), Isa::copy32(dst, src));
        x1 = Isa::xor256(fold2<Isa>(x1, k1024), Isa::copy32(dst + 32, src + 32));
        x2 = Isa::xor256(fold2<Isa>(x2, k1024), Isa::copy32(dst + 64, src + 64));
        x3 = Isa::xor256(fold2<Isa>(x3, k1024), Isa::copy32(dst + 96, src + 96));
        src += 128;
        dst += 128;
        len -= 128;
    }

    const auto k256 = Isa::broadcast256(Isa::constant(kFold256));
    auto x = Isa::xor256(fold2<Isa>(x0, k256), x1);
    x = Isa::xor256(fold2<Isa>(x, k256), x2);
    x = Isa::xor256(fold2<Isa>(x, k256), x3);
    return finish256<Isa>(x, dst, src, len);
}

// Eight lanes in four registers of two, 128 bytes per iteration; then down to one register (folds
// by 256 bits), one lane (a fold by 128 bits), and on as copy_fold_64. Below 128 bytes it is
// copy_fold_64. For CPUs with 256-bit VPCLMULQDQ but no AVX-512.
template <class Isa>
NVMEDDP_FOLD_TARGET uint32_t copy_fold_128(uint32_t state, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
    if (len < 128) return copy_fold_64<Isa>(state, dst, src, len);

    const auto x0 = Isa::xor256(Isa::copy32(dst, src), Isa::widen256(Isa::from_state(state)));
    const auto x1 = Isa::copy32(dst + 32, src + 32);
    const auto x2 = Isa::copy32(dst + 64, src + 64);
    const auto x3 = Isa::copy32(dst + 96, src + 96);
    return fold_128_rest<Isa>(x0, x1, x2, x3, dst + 128, src + 128, len - 128);
}

// copy_fold_256 from its four registers on (they hold the 256 bytes before src): the loop, the
// registers into one (pairwise: 0 onto 1 and 2 onto 3 by 512 bits, then 1 onto 3 by 1024: two
// multiplies deep, not three), and finish512.
template <class Isa>
NVMEDDP_FOLD_TARGET uint32_t fold_256_rest(typename Isa::V512 x0, typename Isa::V512 x1, typename Isa::V512 x2, typename Isa::V512 x3,
                                           uint8_t* dst, const uint8_t* src, size_t len) noexcept {
    const auto k2048 = Isa::broadcast(Isa::constant(kFold2048));
    while (len >= 256) {
        x0 = Isa::xor512(fold4<Isa>(x0, k2048), Isa::copy64(dst, src));
        x1 = Isa::xor512(fold4<Isa>(x1, k2048), Isa::copy64(dst + 64, src + 64));
        x2 = Isa::xor512(fold4<Isa>(x2, k2048), Isa::copy64(dst + 128, src + 128));
        x3 = Isa::xor512(fold4<Isa>(x3, k2048), Isa::copy64(dst + 192, src + 192));
        src += 256;
        dst += 256;
        len -= 256;
    }

    const auto k512 = Isa::broadcast(Isa::constant(kFold512));
    x1 = Isa::xor512(x1, fold4<Isa>(x0, k512));
    x3 = Isa::xor512(x3, fold4<Isa>(x2, k512));
    x3 = Isa::xor512(x3, fold4<Isa>(x1, Isa::broadcast(Isa::constant(kFold1024))));
    return finish512<Isa>(x3, dst, src, len);
}

// Sixteen lanes in four registers of four, 256 bytes per iteration; then down to one register (folds
// by 512 and 1024 bits), one lane (folds by 384, 256 and 128 bits), and on as copy_fold_64. Below 256 bytes
// it is copy_fold_64.
template <class Isa>
NVMEDDP_FOLD_TARGET uint32_t copy_fold_256(uint32_t state, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
    if (len < 256) return copy_fold_64<Isa>(state, dst, src, len);

    auto x0 = Isa::xor512(Isa::copy64(dst, src), Isa::widen(Isa::from_state(state)));
    auto x1 = Isa::copy64(dst + 64, src + 64);
    auto x2 = Isa::copy64(dst + 128, src + 128);
    auto x3 = Isa::copy64(dst + 192, src + 192);
    src += 256;
    dst += 256;
    len -= 256;

    return fold_256_rest<Isa>(x0, x1, x2, x3, dst, src, len);
}

}  // namespace
}  // namespace nvmeddp::nvmetcp::crc32c_fold
