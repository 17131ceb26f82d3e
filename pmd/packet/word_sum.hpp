// The summing loops of the Internet checksum (l4_checksum.hpp): the bytes added as words in the
// CPU's byte order, without folding; each result is equal modulo 0xFFFF to RFC 1071's sum of 16-bit
// words, so the caller folds it once. One portable loop, and vector loops for x86 CPUs that have
// AVX2 or AVX-512 (word_sum_x86.cpp; call them only on such a CPU).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nvmeddp::pmd::detail {

// A 64-bit word of p, in the CPU's byte order (the short spans' load).
inline __attribute__((always_inline)) uint64_t load_word64(const uint8_t* p) noexcept {
    uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
}

// A 32-bit word of p, in the CPU's byte order (sum_words' load, the short spans' 4-byte tail,
// header words).
inline __attribute__((always_inline)) uint32_t load_word32(const uint8_t* p) noexcept {
    uint32_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
}

// The bytes as 32-bit words in the CPU's byte order, the last one zero-padded, summed without
// folding: every 32-bit word is congruent modulo 0xFFFF to the sum of its two 16-bit halves, and a
// 64-bit accumulator cannot overflow below 2^32 words (16 GiB). No carry to propagate per word is
// what lets the compiler vectorise the loop (widen to 64-bit lanes, add); pmd/packet/CMakeLists.txt
// asks GCC to in l4_checksum.cpp, since its -O2 cost model leaves loops of unknown length scalar.
inline __attribute__((always_inline)) uint64_t sum_words(const uint8_t* p, size_t n) noexcept {
    uint64_t acc = 0;
    const size_t words = n / 4;
    for (size_t i = 0; i < words; ++i) acc += load_word32(p + 4 * i);
    if (const size_t tail = n % 4; tail != 0) {
        uint32_t w = 0;  // the missing bytes are zeros at the end, in memory order: RFC 1071's padding
        std::memcpy(&w, p + 4 * words, tail);
        acc += w;
    }
    return acc;
}

// 64-bit ones' complement addition: 2^64 is 1 modulo 0xFFFF, so a carry out comes back in at bit 0.
inline __attribute__((always_inline)) uint64_t add_carry(uint64_t a, uint64_t b) noexcept {
    const uint64_t s = a + b;
    return s + (s < b ? 1 : 0);
}

// A short span (a header, a pseudo-header, a segment of a few dozen bytes) as 64-bit words added
// with end-around carry (add, then add the carry back in: 2^64 is 1 modulo 0xFFFF), the tail as one
// 4-, 2- and 1-byte word (zero-padded like sum_words'). Below 64 bytes sum_words' vectorised loop
// is mostly set-up and tail: a CapsuleResp packet's three short spans (IP header, pseudo-header,
// TCP segment) took 131 instructions there, 111 in a loop of one word. Here 32 bytes a step, then 16
// and 8 by the length's bits, into two sums: no loop test per word, and two carry chains where one
// made every word wait for the one before. The result may be any 64-bit value: add it to others with
// end-around carry too.
inline __attribute__((always_inline)) uint64_t sum_short(const uint8_t* p, size_t n) noexcept {
    uint64_t a = 0, b = 0;
    for (; n >= 32; n -= 32, p += 32) {
        a = add_carry(a, load_word64(p));
        b = add_carry(b, load_word64(p + 8));
        a = add_carry(a, load_word64(p + 16));
        b = add_carry(b, load_word64(p + 24));
    }
    if ((n & 16) != 0) {
        a = add_carry(a, load_word64(p));
        b = add_carry(b, load_word64(p + 8));
        p += 16;
    }
    if ((n & 8) != 0) {
        a = add_carry(a, load_word64(p));
        p += 8;
    }
    uint64_t tail = 0;  // at most 2^32 + 2^17: no carry out
    if ((n & 4) != 0) {
        tail += load_word32(p);
        p += 4;
    }
    if ((n & 2) != 0) {
        uint16_t w;
        std::memcpy(&w, p, sizeof w);
        tail += w;
        p += 2;
    }
    if ((n & 1) != 0) {
        uint16_t w = 0;  // the last byte in the first half of its 16-bit word, in memory order
        std::memcpy(&w, p, 1);
        tail += w;
    }
    return add_carry(add_carry(a, b), tail);
}

// v folded to 16 bits with end-around carry (RFC 1071), without a loop: the two 32-bit halves added
// with their carry, then x + (x rotated by 16) holds in its upper half the two 16-bit halves of x
// added with their carry (the lower half's sum carries into it). Nonzero stays nonzero, so a
// nonzero sum congruent to 0 modulo 0xFFFF comes out 0xFFFF (and 0 stays 0).
inline __attribute__((always_inline)) uint16_t fold_sum(uint64_t v) noexcept {
    const uint32_t lo = static_cast<uint32_t>(v);
    uint32_t x = lo + static_cast<uint32_t>(v >> 32);
    x += x < lo ? 1 : 0;
    x += x >> 16 | x << 16;
    return static_cast<uint16_t>(x >> 16);
}

uint64_t sum_avx2(const uint8_t* p, size_t n) noexcept;
uint64_t sum_avx512(const uint8_t* p, size_t n) noexcept;

}  // namespace nvmeddp::pmd::detail
