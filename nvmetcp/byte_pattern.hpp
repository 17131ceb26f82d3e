// A checkable byte pattern, a function of a stream (direction) and an offset only, so a receiver checks
// every byte it gets without the sender's help: a byte delivered twice, skipped, reordered or from
// another stream shows as a mismatch at its offset. Not periodic in any segment or block size.
// The TCP transfer tests send it (direction 0 and 1); the built-in target's RAM namespace holds it
// (kNamespacePattern, offset = byte address in the namespace), so a host verifies any read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace nvmeddp::nvmetcp {

inline constexpr uint32_t kNamespacePattern = 2;

// SplitMix64 of the 8-byte block number: the pattern's bytes [8 * block, 8 * block + 8), little-endian.
constexpr uint64_t pattern_word(uint32_t direction, uint64_t block) noexcept {
    uint64_t z = block + (uint64_t{direction} << 56) + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z;
}

// One byte of its block's word per offset.
constexpr uint8_t pattern_byte(uint32_t direction, uint64_t offset) noexcept {
    return static_cast<uint8_t>(pattern_word(direction, offset >> 3) >> ((offset & 7) * 8));
}

inline void fill_pattern(uint32_t direction, uint64_t offset, std::span<uint8_t> out) noexcept {
    for (size_t i = 0; i < out.size(); ++i) out[i] = pattern_byte(direction, offset + i);
}

// Index of the first byte that differs from the pattern, or bytes.size() when all match.
inline size_t first_mismatch(uint32_t direction, uint64_t offset, std::span<const uint8_t> bytes) noexcept {
    for (size_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] != pattern_byte(direction, offset + i)) return i;
    }
    return bytes.size();
}

}  // namespace nvmeddp::nvmetcp
