#include "nvmetcp/crc32c_combine.hpp"

#include <array>
#include <cstddef>

namespace nvmeddp::nvmetcp {

namespace {

// CRC32C's polynomial bit-reflected, as the crc32 instruction keeps its state: bit 31 is the
// coefficient of x^0, bit 0 that of x^31.
constexpr uint32_t kReflectedPoly = 0x82F63B78u;
constexpr uint32_t kOne = 0x80000000u;  // the polynomial 1, reflected

// a * b mod P, both reflected: for each term x^i of a, from x^0 up, add b * x^i (b multiplied by x
// once per step: a right shift, reduced by P when x^31's coefficient falls off).
constexpr uint32_t multiply_mod_p(uint32_t a, uint32_t b) noexcept {
    uint32_t product = 0;
    for (uint32_t term = kOne; term != 0 && a != 0; term >>= 1) {
        if ((a & term) != 0) {
            product ^= b;
            a &= ~term;
        }
        b = (b & 1u) != 0 ? (b >> 1) ^ kReflectedPoly : b >> 1;
    }
    return product;
}

// x^(2^k) mod P for k = 0..63, reflected: each the square of the one before.
constexpr std::array<uint32_t, 64> powers_of_x() noexcept {
    std::array<uint32_t, 64> t{};
    t[0] = kOne >> 1;  // x^1
    for (std::size_t k = 1; k < t.size(); ++k) t[k] = multiply_mod_p(t[k - 1], t[k - 1]);
    return t;
}

constexpr std::array<uint32_t, 64> kXPow2k = powers_of_x();

}  // namespace

uint32_t crc32c_shift(uint32_t state, uint64_t nbytes) noexcept {
    // x^(8n) = product of x^(2^k) over the set bits k of 8n. Bits of n beyond 2^61 would overflow 8n;
    // no stream run is that long, and 8n's bit k is n's bit k - 3.
    for (unsigned k = 3; nbytes != 0 && k < 64; ++k, nbytes >>= 1) {
        if ((nbytes & 1u) != 0) state = multiply_mod_p(kXPow2k[k], state);
    }
    return state;
}

}  // namespace nvmeddp::nvmetcp
