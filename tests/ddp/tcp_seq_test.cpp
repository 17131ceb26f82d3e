// TCP sequence arithmetic across the 2^32 wrap, and the 64-bit stream offsets built on it.
#include <gtest/gtest.h>

#include <random>

#include "ddp/tcp_seq.hpp"

using namespace nvmeddp::ddp;

TEST(TcpSeq, OrdersAcrossTheWrap) {
    struct Case {
        uint32_t a, b;
        int32_t diff;  // a - b
    };
    const Case cases[] = {
        {1, 0, 1},
        {0, 1, -1},
        {0, 0xFFFFFFFFu, 1},
        {0xFFFFFFFFu, 0, -1},
        {0x10, 0xFFFFFFF0u, 0x20},
        {0x7FFFFFFFu, 0, 0x7FFFFFFF},
        {0, 0x7FFFFFFFu, -0x7FFFFFFF},
        {0x80000000u, 1, 0x7FFFFFFF},
        {5, 5, 0},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(testing::Message() << c.a << " vs " << c.b);
        EXPECT_EQ(seq_diff(c.a, c.b), c.diff);
        EXPECT_EQ(seq_lt(c.a, c.b), c.diff < 0);
        EXPECT_EQ(seq_leq(c.a, c.b), c.diff <= 0);
        EXPECT_EQ(seq_gt(c.a, c.b), c.diff > 0);
        EXPECT_EQ(seq_geq(c.a, c.b), c.diff >= 0);
    }
    // Raw comparison gets the wrap wrong; serial comparison does not.
    EXPECT_TRUE(0xFFFFFF00u > 0x100u);
    EXPECT_TRUE(seq_lt(0xFFFFFF00u, 0x100u));
}

TEST(TcpSeq, HalfTheSpaceApartIsAmbiguousBothWays) {
    // Documented: exactly 2^31 apart, each is "before" the other (RFC 1982 leaves it undefined).
    for (uint32_t a : {0u, 1u, 0x7FFFFFFFu, 0xFFFFFFFFu}) {
        const uint32_t b = a + 0x80000000u;
        EXPECT_TRUE(seq_lt(a, b));
        EXPECT_TRUE(seq_lt(b, a));
    }
}

TEST(TcpSeq, DiffIsAntisymmetricAndMatchesOffsetsWithinHalfTheSpace) {
    std::mt19937_64 rng(3);
    for (int i = 0; i < 100000; ++i) {
        const auto a = static_cast<uint32_t>(rng());
        const auto d = static_cast<int32_t>(static_cast<int64_t>(rng() % 0xFFFFFFFFull) - 0x7FFFFFFF);
        const uint32_t b = a + static_cast<uint32_t>(d);
        ASSERT_EQ(seq_diff(b, a), d);
        ASSERT_EQ(seq_diff(a, b), -d);
        ASSERT_EQ(seq_lt(a, b), d > 0);
        ASSERT_EQ(seq_lt(b, a), d < 0);
    }
}

TEST(TcpSeq, WindowMembershipWraps) {
    EXPECT_TRUE(seq_in_window(0xFFFFFFFFu, 0xFFFFFFF0u, 0x20));
    EXPECT_TRUE(seq_in_window(0x0Fu, 0xFFFFFFF0u, 0x20));
    EXPECT_FALSE(seq_in_window(0x10u, 0xFFFFFFF0u, 0x20));
    EXPECT_FALSE(seq_in_window(0xFFFFFFEFu, 0xFFFFFFF0u, 0x20));
    EXPECT_FALSE(seq_in_window(5, 5, 0));
}

TEST(TcpSeq, OffsetsFollowAMovingAnchorAcrossManyWraps) {
    // A 40 GiB connection (about ten wraps) whose ISN sits just below 2^32: the receiver moves its
    // anchor forward as in-order data arrives; segments up to 1 GiB around the anchor (as far as a
    // scaled window reaches) map to their exact 64-bit offsets.
    const uint32_t first_seq = 0xFFFFFF00u;
    std::mt19937_64 rng(5);
    SeqAnchor anchor{first_seq, 0};
    const uint64_t total = uint64_t{40} << 30;
    uint64_t wraps = 0;
    while (anchor.offset < total) {
        for (int i = 0; i < 64; ++i) {
            const int64_t delta = static_cast<int64_t>(rng() % (uint64_t{2} << 30)) - (int64_t{1} << 30);
            const int64_t offset = static_cast<int64_t>(anchor.offset) + delta;
            const auto seq = offset_to_seq(static_cast<uint64_t>(offset), first_seq);  // wraps for offset < 0 too
            ASSERT_EQ(seq_to_offset(seq, anchor), offset) << "anchor " << anchor.offset;
        }
        const uint64_t advance = 1 + rng() % (uint64_t{512} << 20);
        const uint32_t next_seq = anchor.seq + static_cast<uint32_t>(advance);
        if (next_seq < anchor.seq) ++wraps;
        anchor = SeqAnchor{next_seq, anchor.offset + advance};
        ASSERT_EQ(anchor.seq, offset_to_seq(anchor.offset, first_seq));
    }
    EXPECT_GE(wraps, 9u);
}

TEST(TcpSeq, BytesBeforeTheStreamMapBelowZero) {
    const uint32_t first_seq = 3;
    EXPECT_EQ(seq_to_offset(2, SeqAnchor{first_seq, 0}), -1);           // the SYN
    EXPECT_EQ(seq_to_offset(0xFFFFFFFFu, SeqAnchor{first_seq, 0}), -4); // before the wrap
    EXPECT_EQ(seq_to_offset(first_seq, SeqAnchor{first_seq, 0}), 0);
}
