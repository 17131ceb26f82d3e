#include "nvmetcp/crc32c_copy.hpp"

#include <cstring>
#include <string_view>

#include "nvmetcp/crc32c.hpp"

#if defined(__x86_64__)
// GCC 12 warns "may be used uninitialized" inside its own AVX-512 intrinsic headers (the undefined
// pass-through operand of unmasked broadcasts and extracts): a false positive, silenced here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

namespace nvmeddp::nvmetcp {

namespace {

uint32_t two_pass(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    std::memcpy(dst, src, len);
    return crc32c_extend(state, dst, len);
}

#if defined(__x86_64__)

// Folding constants for the reflected CRC32C polynomial 0x1EDC6F41: reflect32(x^n mod P) << 1, for
// folding a 128-bit lane forward by 512 bits (four lanes) and by 128 bits (one lane). The low 64
// bits of a lane are multiplied by x^(D+32), the high 64 bits by x^(D-32).
constexpr uint64_t kFold512Lo = 0x740eef02;   // x^(512+32)
constexpr uint64_t kFold512Hi = 0x9e4addf8;   // x^(512-32)
constexpr uint64_t kFold128Lo = 0xf20c0dfe;   // x^(128+32)
constexpr uint64_t kFold128Hi = 0x14cd00bd6;  // x^(128-32)

__attribute__((target("sse4.2,pclmul"))) inline __m128i fold(__m128i x, __m128i k) noexcept {
    return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

__attribute__((target("sse4.2,pclmul"))) inline __m128i copy16(uint8_t* dst, const uint8_t* src) noexcept {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), v);
    return v;
}

// Fewer than 16 bytes, or what is left after the folded part: copy and crc32 instruction.
__attribute__((target("sse4.2"))) uint32_t copy_crc_small(uint32_t state, uint8_t* dst, const uint8_t* src,
                                                          size_t len) noexcept {
    uint64_t s = state;
    while (len >= 8) {
        uint64_t v;
        std::memcpy(&v, src, 8);
        std::memcpy(dst, &v, 8);
        s = _mm_crc32_u64(s, v);
        src += 8;
        dst += 8;
        len -= 8;
    }
    auto c = static_cast<uint32_t>(s);
    while (len > 0) {
        *dst++ = *src;
        c = _mm_crc32_u8(c, *src++);
        --len;
    }
    return c;
}

// Both folding versions end here, with one 128-bit lane: the remaining whole 16-byte blocks are
// folded in, the lane reduced to the CRC state, and the last bytes done with the crc32 instruction.
__attribute__((target("sse4.2,pclmul"))) uint32_t finish(__m128i x, uint8_t* dst, const uint8_t* src, size_t len) noexcept {
    const __m128i k128 = _mm_set_epi64x(static_cast<long long>(kFold128Hi), static_cast<long long>(kFold128Lo));
    while (len >= 16) {
        x = _mm_xor_si128(fold(x, k128), copy16(dst, src));
        src += 16;
        dst += 16;
        len -= 16;
    }
    // The folded 128 bits are congruent to everything so far: their CRC (from 0) is the state.
    uint64_t s = _mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(x)));
    s = _mm_crc32_u64(s, static_cast<uint64_t>(_mm_extract_epi64(x, 1)));
    return copy_crc_small(static_cast<uint32_t>(s), dst, src, len);
}

__attribute__((target("sse4.2,pclmul"))) uint32_t fused(uint32_t state, void* dst_v, const void* src_v,
                                                        size_t len) noexcept {
    auto* dst = static_cast<uint8_t*>(dst_v);
    const auto* src = static_cast<const uint8_t*>(src_v);
    if (len < 64) return copy_crc_small(state, dst, src, len);

    // The state joins the first four bytes of the message; then the lanes hold bytes 0..63.
    __m128i x0 = _mm_xor_si128(copy16(dst, src), _mm_cvtsi32_si128(static_cast<int>(state)));
    __m128i x1 = copy16(dst + 16, src + 16);
    __m128i x2 = copy16(dst + 32, src + 32);
    __m128i x3 = copy16(dst + 48, src + 48);
    src += 64;
    dst += 64;
    len -= 64;

    const __m128i k512 = _mm_set_epi64x(static_cast<long long>(kFold512Hi), static_cast<long long>(kFold512Lo));
    while (len >= 64) {
        x0 = _mm_xor_si128(fold(x0, k512), copy16(dst, src));
        x1 = _mm_xor_si128(fold(x1, k512), copy16(dst + 16, src + 16));
        x2 = _mm_xor_si128(fold(x2, k512), copy16(dst + 32, src + 32));
        x3 = _mm_xor_si128(fold(x3, k512), copy16(dst + 48, src + 48));
        src += 64;
        dst += 64;
        len -= 64;
    }

    // Four lanes into one, then whole 16-byte blocks.
    const __m128i k128 = _mm_set_epi64x(static_cast<long long>(kFold128Hi), static_cast<long long>(kFold128Lo));
    __m128i x = _mm_xor_si128(fold(x0, k128), x1);
    x = _mm_xor_si128(fold(x, k128), x2);
    x = _mm_xor_si128(fold(x, k128), x3);
    return finish(x, dst, src, len);
}

// The same with AVX-512 VPCLMULQDQ: sixteen 128-bit lanes in four 512-bit registers, 256 bytes per
// iteration (each instruction does four carry-less multiplies), then down to one register (folds by
// 512 bits), one lane (folds by 384, 256 and 128 bits), and on as above.
constexpr uint64_t kFold2048Lo = 0xdcb17aa4;   // x^(2048+32)
constexpr uint64_t kFold2048Hi = 0xb9e02b86;   // x^(2048-32)
constexpr uint64_t kFold384Lo = 0x1c291d04;    // x^(384+32)
constexpr uint64_t kFold384Hi = 0x1d82c63da;   // x^(384-32)
constexpr uint64_t kFold256Lo = 0x1384aa63a;   // x^(256+32)
constexpr uint64_t kFold256Hi = 0xba4fc28e;    // x^(256-32)

#define NVMEDDP_AVX512_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,vpclmulqdq,sse4.2,pclmul")))

NVMEDDP_AVX512_TARGET inline __m512i fold512(__m512i x, __m512i k) noexcept {
    return _mm512_xor_si512(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11));
}

NVMEDDP_AVX512_TARGET inline __m512i copy64(uint8_t* dst, const uint8_t* src) noexcept {
    const __m512i v = _mm512_loadu_si512(src);
    _mm512_storeu_si512(dst, v);
    return v;
}

NVMEDDP_AVX512_TARGET uint32_t fused_avx512(uint32_t state, void* dst_v, const void* src_v, size_t len) noexcept {
    auto* dst = static_cast<uint8_t*>(dst_v);
    const auto* src = static_cast<const uint8_t*>(src_v);
    if (len < 256) return fused(state, dst, src, len);

    __m512i x0 = _mm512_xor_si512(copy64(dst, src), _mm512_zextsi128_si512(_mm_cvtsi32_si128(static_cast<int>(state))));
    __m512i x1 = copy64(dst + 64, src + 64);
    __m512i x2 = copy64(dst + 128, src + 128);
    __m512i x3 = copy64(dst + 192, src + 192);
    src += 256;
    dst += 256;
    len -= 256;

    const __m512i k2048 = _mm512_broadcast_i32x4(_mm_set_epi64x(static_cast<long long>(kFold2048Hi), static_cast<long long>(kFold2048Lo)));
    while (len >= 256) {
        x0 = _mm512_xor_si512(fold512(x0, k2048), copy64(dst, src));
        x1 = _mm512_xor_si512(fold512(x1, k2048), copy64(dst + 64, src + 64));
        x2 = _mm512_xor_si512(fold512(x2, k2048), copy64(dst + 128, src + 128));
        x3 = _mm512_xor_si512(fold512(x3, k2048), copy64(dst + 192, src + 192));
        src += 256;
        dst += 256;
        len -= 256;
    }

    const __m512i k512 = _mm512_broadcast_i32x4(_mm_set_epi64x(static_cast<long long>(kFold512Hi), static_cast<long long>(kFold512Lo)));
    __m512i x = _mm512_xor_si512(fold512(x0, k512), x1);
    x = _mm512_xor_si512(fold512(x, k512), x2);
    x = _mm512_xor_si512(fold512(x, k512), x3);
    while (len >= 64) {
        x = _mm512_xor_si512(fold512(x, k512), copy64(dst, src));
        src += 64;
        dst += 64;
        len -= 64;
    }

    // Lanes 0..2 forward onto lane 3.
    const __m128i k384 = _mm_set_epi64x(static_cast<long long>(kFold384Hi), static_cast<long long>(kFold384Lo));
    const __m128i k256 = _mm_set_epi64x(static_cast<long long>(kFold256Hi), static_cast<long long>(kFold256Lo));
    const __m128i k128 = _mm_set_epi64x(static_cast<long long>(kFold128Hi), static_cast<long long>(kFold128Lo));
    __m128i r = _mm512_extracti32x4_epi32(x, 3);
    r = _mm_xor_si128(r, fold(_mm512_extracti32x4_epi32(x, 0), k384));
    r = _mm_xor_si128(r, fold(_mm512_extracti32x4_epi32(x, 1), k256));
    r = _mm_xor_si128(r, fold(_mm512_extracti32x4_epi32(x, 2), k128));
    return finish(r, dst, src, len);
}

enum class Impl : uint8_t { TwoPass, Pclmul, Avx512 };

Impl pick() noexcept {
    if (!__builtin_cpu_supports("pclmul") || !__builtin_cpu_supports("sse4.2")) return Impl::TwoPass;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("vpclmulqdq")) {
        return Impl::Avx512;
    }
    return Impl::Pclmul;
}

#else

enum class Impl : uint8_t { TwoPass, Pclmul, Avx512 };
Impl pick() noexcept { return Impl::TwoPass; }
uint32_t fused(uint32_t state, void* dst, const void* src, size_t len) noexcept { return two_pass(state, dst, src, len); }
uint32_t fused_avx512(uint32_t state, void* dst, const void* src, size_t len) noexcept { return two_pass(state, dst, src, len); }

#endif

Impl g_impl = pick();

}  // namespace

uint32_t crc32c_copy_extend(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    switch (g_impl) {
        case Impl::Avx512: return fused_avx512(state, dst, src, len);
        case Impl::Pclmul: return fused(state, dst, src, len);
        case Impl::TwoPass: break;
    }
    return two_pass(state, dst, src, len);
}

bool crc32c_copy_is_fused() noexcept { return g_impl != Impl::TwoPass; }

const char* crc32c_copy_implementation() noexcept {
    switch (g_impl) {
        case Impl::Avx512: return "one pass, AVX-512 VPCLMULQDQ";
        case Impl::Pclmul: return "one pass, PCLMULQDQ";
        case Impl::TwoPass: break;
    }
    return "two passes: memcpy, then isa-l";
}

bool crc32c_copy_select(const char* name) noexcept {
    const std::string_view n = name;
    Impl want;
    if (n == "avx512") {
        want = Impl::Avx512;
    } else if (n == "pclmul") {
        want = Impl::Pclmul;
    } else if (n == "two-pass") {
        want = Impl::TwoPass;
    } else {
        return false;
    }
    // Never more than the CPU has.
    const Impl best = pick();
    if (static_cast<int>(want) > static_cast<int>(best)) return false;
    g_impl = want;
    return true;
}

}  // namespace nvmeddp::nvmetcp
