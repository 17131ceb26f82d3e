// The fault shim's coin: a small seeded generator per queue and direction, so that a run's faults
// depend only on the seed and the traffic of that queue, never on how the lcores interleave.
//
// SplitMix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number generators", 2014): a 64-bit
// counter stepped by an odd constant and passed through a mixing function. Statistically good enough
// for fault injection, one multiply-xorshift chain per draw, and any seed (0 included) is fine.
#pragma once

#include <cstdint>

namespace nvmeddp::pmd {

class FaultRandom {
public:
    // The stream for one queue and direction of a run: the three are mixed so that neighbouring
    // queues (or seeds) do not get shifted copies of one sequence.
    FaultRandom(uint64_t seed, uint16_t queue, bool tx) noexcept
        : state_(mix(mix(seed) ^ (uint64_t{queue} << 1 | (tx ? 1 : 0)))) {}

    uint64_t next() noexcept { return mix(state_ += kGolden); }

    // True with probability `p` (p <= 0: never, p >= 1: always).
    bool chance(double p) noexcept {
        if (p <= 0) return false;
        // 53 random bits as a double in [0, 1).
        return static_cast<double>(next() >> 11) * 0x1p-53 < p;
    }

    // Uniform in [0, n), n > 0 (the modulo bias is below 2^-32 for the small n used here).
    uint32_t below(uint32_t n) noexcept { return static_cast<uint32_t>(next() % n); }

private:
    static constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;  // 2^64 / golden ratio, odd

    static uint64_t mix(uint64_t z) noexcept {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    uint64_t state_;
};

}  // namespace nvmeddp::pmd
