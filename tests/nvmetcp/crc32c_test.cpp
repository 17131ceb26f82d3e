#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "nvmetcp/crc32c.hpp"

using namespace nvmeddp::nvmetcp;

namespace {

// Bit-at-a-time CRC32C (reflected polynomial 0x82F63B78): an independent reference for isa-l.
uint32_t reference_crc32c(const uint8_t* p, size_t n) {
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
        crc ^= p[i];
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

}  // namespace

TEST(Crc32c, CheckValue) {
    const char* s = "123456789";
    EXPECT_EQ(crc32c(s, 9), 0xE3069283u);
    EXPECT_EQ(crc32c(s, 0), 0u) << "empty input: seed inverted back";
}

// RFC 3720 appendix B.4 vectors (32 bytes each, plus the iSCSI read command PDU).
TEST(Crc32c, Rfc3720Vectors) {
    std::vector<uint8_t> buf(32, 0x00);
    EXPECT_EQ(crc32c(buf), 0x8A9136AAu);
    std::fill(buf.begin(), buf.end(), 0xFF);
    EXPECT_EQ(crc32c(buf), 0x62A8AB43u);
    std::iota(buf.begin(), buf.end(), uint8_t{0});
    EXPECT_EQ(crc32c(buf), 0x46DD794Eu);
    for (size_t i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
    EXPECT_EQ(crc32c(buf), 0x113FDB5Cu);
    const uint8_t iscsi_read[48] = {0x01, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                    0x14, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0x14, 0, 0, 0, 0x18,
                                    0x28, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_EQ(crc32c(iscsi_read, sizeof iscsi_read), 0xD9963A56u);
}

TEST(Crc32c, MatchesBitwiseReferenceOnRandomLengths) {
    std::mt19937_64 rng(7);
    std::vector<uint8_t> buf(70000 + 16);  // room for the unaligned start of the longest length
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    for (size_t len : {1u, 3u, 7u, 8u, 15u, 16u, 63u, 64u, 255u, 256u, 1023u, 4096u, 65536u, 69999u}) {
        const size_t off = rng() % 16;  // unaligned starts too
        EXPECT_EQ(crc32c(buf.data() + off, len), reference_crc32c(buf.data() + off, len)) << "len " << len;
    }
}

TEST(Crc32c, IncrementalOverRandomFragmentsEqualsOneShot) {
    std::mt19937_64 rng(42);
    for (int round = 0; round < 200; ++round) {
        const size_t len = rng() % 20000;
        std::vector<uint8_t> buf(len);
        for (auto& b : buf) b = static_cast<uint8_t>(rng());
        Crc32c inc;
        size_t at = 0;
        while (at < len) {
            const size_t piece = std::min<size_t>(len - at, (rng() % 3 == 0) ? 1 : 1 + rng() % 2000);
            inc.update(buf.data() + at, piece);
            at += piece;
        }
        ASSERT_EQ(inc.value(), crc32c(buf)) << "round " << round << " len " << len;
    }
}

TEST(Crc32c, ResetStartsOver) {
    Crc32c c;
    c.update("garbage", 7);
    c.reset();
    c.update("123456789", 9);
    EXPECT_EQ(c.value(), 0xE3069283u);
}
