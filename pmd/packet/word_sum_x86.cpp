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

// The vector loops below add the 16-bit halves of each 32-bit lane into 32-bit lanes with one
// multiply-add (pmaddwd) per vector: its pairs are signed, so each half has its top bit flipped
// first (a half h becomes the signed h - 0x8000, a lane's pair h1 + h2 - 0x10000), and the
// 0x10000 per lane and vector is added back to the block's total. No widening, where the
// compiler's version of sum_words widened every word to 64 bits (the checksum of a 1448-byte
// segment cost more than copying it). A lane takes at most 2^16 in size per step, so within a block
// of kBlock bytes it stays within 2^27 either way; each block's lanes are then added as signed
// 64-bit numbers. The result equals sum_words' over the same bytes modulo 0xFFFF.
//
// Three operations a vector (xor, multiply-add, add), each load used once. Before: mask, shift and
// two adds, with GCC folding the load into both the mask and the shift (every byte loaded twice);
// on Zen 5 a 8948-byte segment's check (bench_packet BM_TcpChecksum) took 97 ns with AVX-512 then,
// 55 with each vector loaded once and 56.5 with the multiply-add (a 1448-byte one's 14.5 -> 13.1
// ns); with AVX2 134, 120, then 90 ns.
constexpr size_t kBlock = 65536;

__attribute__((target("avx2"))) int64_t add_signed_lanes(__m256i v) noexcept {
    alignas(32) int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
    int64_t total = 0;
    for (int32_t lane : lanes) total += lane;
    return total;
}

}  // namespace

__attribute__((target("avx2"))) uint64_t sum_avx2(const uint8_t* p, size_t n) noexcept {
    const __m256i bias = _mm256_set1_epi16(static_cast<int16_t>(0x8000));  // each half's top bit (above)
    const __m256i ones = _mm256_set1_epi16(1);
    uint64_t total = 0;
    while (n >= 64) {
        const size_t block = n < kBlock ? n & ~size_t{63} : kBlock;
        __m256i a = _mm256_setzero_si256(), c = a;
        for (size_t i = 0; i < block; i += 64) {
            const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
            const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32));
            a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_xor_si256(x, bias), ones));
            c = _mm256_add_epi32(c, _mm256_madd_epi16(_mm256_xor_si256(y, bias), ones));
        }
        // Each lane within 2^27 either way (block / 64 <= 1024 steps of at most 2^16 into each of a and c).
        total += static_cast<uint64_t>(add_signed_lanes(_mm256_add_epi32(a, c)) + int64_t{0x10000} * 8 * static_cast<int64_t>(block / 32));
        p += block;
        n -= block;
    }
    return total + sum_words(p, n);
}

__attribute__((target("avx512f,avx512bw"))) uint64_t sum_avx512(const uint8_t* p, size_t n) noexcept {
    const __m512i bias = _mm512_set1_epi16(static_cast<int16_t>(0x8000));  // each half's top bit (above)
    const __m512i ones = _mm512_set1_epi16(1);
    uint64_t total = 0;
    while (n >= 128) {
        const size_t block = n < kBlock ? n & ~size_t{127} : kBlock;
        __m512i a = _mm512_setzero_si512(), c = a;
        for (size_t i = 0; i < block; i += 128) {
            a = _mm512_add_epi32(a, _mm512_madd_epi16(_mm512_xor_si512(_mm512_loadu_si512(p + i), bias), ones));
            c = _mm512_add_epi32(c, _mm512_madd_epi16(_mm512_xor_si512(_mm512_loadu_si512(p + i + 64), bias), ones));
        }
        // Each lane of s within 2^26 either way (block / 128 <= 512 steps of at most 2^16 into each of a
        // and c): added as signed 64-bit numbers.
        const __m512i s = _mm512_add_epi32(a, c);
        const int64_t lanes = _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_srai_epi64(_mm512_slli_epi64(s, 32), 32), _mm512_srai_epi64(s, 32)));
        total += static_cast<uint64_t>(lanes + int64_t{0x10000} * 16 * static_cast<int64_t>(block / 64));
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

