// The 128-bit instructions of crc32c_fold.hpp's Isa on x86 (SSE4.2 crc32, PCLMULQDQ), shared by the
// PCLMULQDQ, AVX2 and AVX-512 paths. Like crc32c_fold.hpp it is compiled with the including file's
// NVMEDDP_FOLD_TARGET (legacy SSE encodings in the PCLMULQDQ file, VEX in the AVX2 and AVX-512 ones) and
// so lives in an unnamed namespace.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "nvmetcp/crc32c_fold_constants.hpp"

#ifndef NVMEDDP_FOLD_TARGET
#error "define NVMEDDP_FOLD_TARGET before including crc32c_fold_x86.hpp"
#endif

namespace nvmeddp::nvmetcp::crc32c_fold {
namespace {

struct X86Clmul128 {
    using V128 = __m128i;

    NVMEDDP_FOLD_TARGET static V128 copy16(uint8_t* dst, const uint8_t* src) noexcept {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), v);
        return v;
    }
    NVMEDDP_FOLD_TARGET static V128 from_state(uint32_t state) noexcept {
        return _mm_cvtsi32_si128(static_cast<int>(state));
    }
    NVMEDDP_FOLD_TARGET static V128 constant(FoldConstant k) noexcept {
        return _mm_set_epi64x(static_cast<long long>(k.hi), static_cast<long long>(k.lo));
    }
    NVMEDDP_FOLD_TARGET static V128 xor128(V128 a, V128 b) noexcept { return _mm_xor_si128(a, b); }
    NVMEDDP_FOLD_TARGET static V128 clmul_lo(V128 a, V128 b) noexcept { return _mm_clmulepi64_si128(a, b, 0x00); }
    NVMEDDP_FOLD_TARGET static V128 clmul_hi(V128 a, V128 b) noexcept { return _mm_clmulepi64_si128(a, b, 0x11); }
    NVMEDDP_FOLD_TARGET static uint64_t low64(V128 a) noexcept { return static_cast<uint64_t>(_mm_cvtsi128_si64(a)); }
    NVMEDDP_FOLD_TARGET static uint64_t high64(V128 a) noexcept {
        return static_cast<uint64_t>(_mm_extract_epi64(a, 1));
    }
    NVMEDDP_FOLD_TARGET static uint64_t crc32_u64(uint64_t s, uint64_t v) noexcept { return _mm_crc32_u64(s, v); }
    NVMEDDP_FOLD_TARGET static uint32_t crc32_u8(uint32_t c, uint8_t v) noexcept { return _mm_crc32_u8(c, v); }
};

}  // namespace
}  // namespace nvmeddp::nvmetcp::crc32c_fold
