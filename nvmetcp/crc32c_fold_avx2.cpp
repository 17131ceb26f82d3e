// The 128-byte fold (eight 128-bit lanes in four YMM registers) on AVX2 + VPCLMULQDQ, for CPUs that
// have 256-bit carry-less multiplies but no AVX-512 (AMD Zen 3, Intel Alder Lake): without it they
// would run the 128-bit PCLMULQDQ path. Its 128-bit steps, and buffers under 128 bytes, run the
// PCLMULQDQ path's instructions compiled here with VEX encodings, for the reason
// crc32c_fold_avx512.cpp gives (legacy-SSE code right after wide vector code is slow).
#include "nvmetcp/crc32c_fold_paths.hpp"

#if defined(__x86_64__)

#define NVMEDDP_FOLD_TARGET __attribute__((target("avx2,vpclmulqdq,sse4.2,pclmul")))
#include "nvmetcp/crc32c_fold.hpp"
#include "nvmetcp/crc32c_fold_mixed.hpp"
#include "nvmetcp/crc32c_fold_x86.hpp"

namespace nvmeddp::nvmetcp::crc32c_fold {
namespace {

struct X86Avx2Vpclmul : X86Clmul128 {
    using V256 = __m256i;

    NVMEDDP_FOLD_TARGET static V256 copy32(uint8_t* dst, const uint8_t* src) noexcept {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), v);
        return v;
    }
    NVMEDDP_FOLD_TARGET static V256 widen256(V128 a) noexcept { return _mm256_zextsi128_si256(a); }
    NVMEDDP_FOLD_TARGET static V256 broadcast256(V128 a) noexcept { return _mm256_broadcastsi128_si256(a); }
    NVMEDDP_FOLD_TARGET static V256 xor256(V256 a, V256 b) noexcept { return _mm256_xor_si256(a, b); }
    NVMEDDP_FOLD_TARGET static V256 clmul256_lo(V256 a, V256 b) noexcept { return _mm256_clmulepi64_epi128(a, b, 0x00); }
    NVMEDDP_FOLD_TARGET static V256 clmul256_hi(V256 a, V256 b) noexcept { return _mm256_clmulepi64_epi128(a, b, 0x11); }
    template <int I>
    NVMEDDP_FOLD_TARGET static V128 lane256(V256 a) noexcept {
        static_assert(I == 0 || I == 1);
        return _mm256_extracti128_si256(a, I);
    }
    // vzeroupper: legacy-SSE code run after us (in callers, or the PCLMULQDQ path) slows down while
    // the upper halves of the vector registers are dirty, and GCC 12 does not emit it for this code.
    NVMEDDP_FOLD_TARGET static void end256() noexcept { _mm256_zeroupper(); }
};

}  // namespace

// With the same target as the fold, which the compiler can then inline here.
NVMEDDP_FOLD_TARGET uint32_t copy_avx2(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return copy_fold_128<X86Avx2Vpclmul>(state, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len);
}

NVMEDDP_FOLD_TARGET uint32_t copy_avx2_mixed(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return copy_fold_mixed<X86Avx2Vpclmul, 32>(state, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len);
}

}  // namespace nvmeddp::nvmetcp::crc32c_fold

#undef NVMEDDP_FOLD_TARGET

#endif
