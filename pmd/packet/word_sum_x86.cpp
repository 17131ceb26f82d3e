// The AVX2 and AVX-512 loops of the Internet checksum's sum (word_sum.hpp), each compiled for its
// instruction set alone; the dispatch in l4_checksum.cpp calls one only on a CPU that has it.
#include "pmd/packet/word_sum.hpp"

#if defined(__x86_64__)
#include <immintrin.h>

// GCC 12 warns "may be used uninitialized" inside its own AVX-512 intrinsic headers (the undefined
// pass-through operand of unmasked operations): a false positive, silenced in this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace nvmeddp::pmd::detail {

namespace {

// The vector loops below split each 32-bit lane into its two 16-bit halves (mask, shift) and add
// them into 32-bit lanes: two cheap operations per vector and no widening, where the compiler's
// version of sum_words widened every word to 64 bits (the checksum of a 1448-byte segment cost more
// than copying it). A lane takes at most 2 x 0xFFFF per iteration, so a block of kBlock bytes
// (512 or 1024 iterations) leaves it below 2^28 and the four accumulators' sum below 2^30; each
// block is then added into 64 bits. Equal modulo 0xFFFF to sum_words over the same bytes.
//
// Each vector is loaded once into a register: left to itself GCC folds the load into both the mask
// and the shift, loading every byte twice, and the loads were what bounded the loop (on Zen 5 a
// 8948-byte segment's check went from 97 to 53 ns with AVX-512, 134 to 116 with AVX2; bench_packet's
// BM_TcpChecksum). The empty asm statement is what keeps it in the register.
constexpr size_t kBlock = 65536;

__attribute__((target("avx2"))) uint64_t add_lanes(__m256i v) noexcept {
    alignas(32) uint32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
    uint64_t total = 0;
    for (uint32_t lane : lanes) total += lane;
    return total;
}

}  // namespace

__attribute__((target("avx2"))) uint64_t sum_avx2(const uint8_t* p, size_t n) noexcept {
    const __m256i low = _mm256_set1_epi32(0xFFFF);
    uint64_t total = 0;
    while (n >= 64) {
        const size_t block = n < kBlock ? n & ~size_t{63} : kBlock;
        __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
        for (size_t i = 0; i < block; i += 64) {
            __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
            __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32));
            __asm__("" : "+v"(x), "+v"(y));  // loaded once (above)
            a = _mm256_add_epi32(a, _mm256_and_si256(x, low));
            b = _mm256_add_epi32(b, _mm256_srli_epi32(x, 16));
            c = _mm256_add_epi32(c, _mm256_and_si256(y, low));
            d = _mm256_add_epi32(d, _mm256_srli_epi32(y, 16));
        }
        total += add_lanes(_mm256_add_epi32(_mm256_add_epi32(a, b), _mm256_add_epi32(c, d)));
        p += block;
        n -= block;
    }
    return total + sum_words(p, n);
}

__attribute__((target("avx512f"))) uint64_t sum_avx512(const uint8_t* p, size_t n) noexcept {
    const __m512i low = _mm512_set1_epi32(0xFFFF);
    uint64_t total = 0;
    while (n >= 128) {
        const size_t block = n < kBlock ? n & ~size_t{127} : kBlock;
        __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
        for (size_t i = 0; i < block; i += 128) {
            __m512i x = _mm512_loadu_si512(p + i);
            __m512i y = _mm512_loadu_si512(p + i + 64);
            __asm__("" : "+v"(x), "+v"(y));  // loaded once (above)
            a = _mm512_add_epi32(a, _mm512_and_si512(x, low));
            b = _mm512_add_epi32(b, _mm512_srli_epi32(x, 16));
            c = _mm512_add_epi32(c, _mm512_and_si512(y, low));
            d = _mm512_add_epi32(d, _mm512_srli_epi32(y, 16));
        }
        const __m512i s = _mm512_add_epi32(_mm512_add_epi32(a, b), _mm512_add_epi32(c, d));
        total += _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_and_si512(s, _mm512_set1_epi64(0xFFFFFFFF)), _mm512_srli_epi64(s, 32)));
        p += block;
        n -= block;
    }
    return total + sum_avx2(p, n);
}

}  // namespace nvmeddp::pmd::detail

#else  // not x86-64: never chosen, defined for the dispatch table

namespace nvmeddp::pmd::detail {
uint64_t sum_avx2(const uint8_t* p, size_t n) noexcept { return sum_words(p, n); }
uint64_t sum_avx512(const uint8_t* p, size_t n) noexcept { return sum_words(p, n); }
}  // namespace nvmeddp::pmd::detail

#endif

