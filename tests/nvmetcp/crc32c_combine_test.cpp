// crc32c_shift / crc32c_join against the plain CRC over the whole: runs digested apart and joined
// give exactly the digest of the concatenation, for any split, length and start state.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/crc32c_combine.hpp"

using namespace nvmeddp::nvmetcp;

TEST(Crc32cCombine, AShiftIsWhatZeroBytesDo) {
    std::vector<uint8_t> zeros(70000, 0);
    std::mt19937 rng(7);
    for (uint64_t n : {0ull, 1ull, 2ull, 3ull, 4ull, 7ull, 8ull, 255ull, 1448ull, 4096ull, 65535ull, 70000ull}) {
        const uint32_t s = static_cast<uint32_t>(rng());
        EXPECT_EQ(crc32c_shift(s, n), crc32c_extend(s, zeros.data(), n)) << n;
    }
    EXPECT_EQ(crc32c_shift(Crc32c::kSeed, 0), Crc32c::kSeed);
}

TEST(Crc32cCombine, RunsJoinedInAnyOrderGiveTheDigestOfTheWhole) {
    std::mt19937 rng(11);
    for (int round = 0; round < 300; ++round) {
        std::vector<uint8_t> data(1 + rng() % 20000);
        for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
        const size_t cut = rng() % (data.size() + 1);
        const uint32_t front = crc32c_extend(Crc32c::kSeed, data.data(), cut);
        const uint32_t back = crc32c_extend(0, data.data() + cut, data.size() - cut);
        EXPECT_EQ(~crc32c_join(front, back, data.size() - cut), crc32c(data.data(), data.size())) << data.size() << " " << cut;
        // Three runs, the middle one joined to the last first (a hole filled late).
        const size_t cut2 = cut + rng() % (data.size() - cut + 1);
        const uint32_t mid = crc32c_extend(0, data.data() + cut, cut2 - cut);
        const uint32_t last = crc32c_extend(0, data.data() + cut2, data.size() - cut2);
        const uint32_t mid_last = crc32c_join(mid, last, data.size() - cut2);
        EXPECT_EQ(~crc32c_join(front, mid_last, data.size() - cut), crc32c(data.data(), data.size()));
    }
}

TEST(Crc32cCombine, AWrongByteInARunChangesTheJoinedDigest) {
    std::vector<uint8_t> data(4096, 0x5a);
    const uint32_t good = crc32c(data.data(), data.size());
    data[3000] ^= 1;
    const uint32_t front = crc32c_extend(Crc32c::kSeed, data.data(), 2048);
    const uint32_t back = crc32c_extend(0, data.data() + 2048, 2048);
    EXPECT_NE(~crc32c_join(front, back, 2048), good);
}
