// The 256-byte fold (sixteen 128-bit lanes in four ZMM registers) on AVX-512 F/VL/BW + VPCLMULQDQ.
// Its 128-bit steps, and buffers under 256 bytes, run the PCLMULQDQ path's instructions, but compiled
// here with VEX encodings: the legacy-SSE ones right after ZMM code made a 1448-byte copy about 7x
// slower (bench_nvmetcp BM_Crc32cCopyOnePass, when this path called into the PCLMULQDQ code).
#include "nvmetcp/crc32c_fold_paths.hpp"

#if defined(__x86_64__)

// GCC 12 warns "(may be) used uninitialized" inside its own AVX-512 intrinsic headers (the undefined
// pass-through operand of unmasked broadcasts and extracts): a false positive, silenced here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#define NVMEDDP_FOLD_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,vpclmulqdq,sse4.2,pclmul")))
#include "nvmetcp/crc32c_fold.hpp"
#include "nvmetcp/crc32c_fold_mixed.hpp"
#include "nvmetcp/crc32c_fold_x86.hpp"

namespace nvmeddp::nvmetcp::crc32c_fold {
namespace {

struct X86Avx512 : X86Clmul128 {
    using V512 = __m512i;

    NVMEDDP_FOLD_TARGET static V512 copy64(uint8_t* dst, const uint8_t* src) noexcept {
        const __m512i v = _mm512_loadu_si512(src);
        _mm512_storeu_si512(dst, v);
        return v;
    }
    NVMEDDP_FOLD_TARGET static V512 widen(V128 a) noexcept { return _mm512_zextsi128_si512(a); }
    NVMEDDP_FOLD_TARGET static V512 broadcast(V128 a) noexcept { return _mm512_broadcast_i32x4(a); }
    NVMEDDP_FOLD_TARGET static V512 xor512(V512 a, V512 b) noexcept { return _mm512_xor_si512(a, b); }
    NVMEDDP_FOLD_TARGET static V512 clmul512_lo(V512 a, V512 b) noexcept { return _mm512_clmulepi64_epi128(a, b, 0x00); }
    NVMEDDP_FOLD_TARGET static V512 clmul512_hi(V512 a, V512 b) noexcept { return _mm512_clmulepi64_epi128(a, b, 0x11); }
    template <int I>
    NVMEDDP_FOLD_TARGET static V128 lane(V512 a) noexcept {
        return _mm512_extracti32x4_epi32(a, I);
    }
    // vzeroupper: with the upper halves of the vector registers left dirty, legacy-SSE code run after
    // us (in callers, or the PCLMULQDQ path) slows down; GCC 12 does not emit it for this code.
    NVMEDDP_FOLD_TARGET static void end512() noexcept { _mm256_zeroupper(); }
};

}  // namespace

// With the same target as the fold, which the compiler can then inline here.
NVMEDDP_FOLD_TARGET uint32_t copy_avx512(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return copy_fold_256<X86Avx512>(state, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len);
}

NVMEDDP_FOLD_TARGET uint32_t copy_avx512_mixed(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return copy_fold_mixed<X86Avx512, 64>(state, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len);
}

}  // namespace nvmeddp::nvmetcp::crc32c_fold

#undef NVMEDDP_FOLD_TARGET

#endif
