// DigestedCopies: a copy matches only the exact range remembered with the same CRC32C; the table
// keeps the newest kEntries, forgets entries a horizon behind the stream (across the wrap), and
// empties on clear().
#include <gtest/gtest.h>

#include "pmd/engine/digested_copies.hpp"

using namespace nvmeddp;
using ddp::TcpSeq;
using pmd::DigestedCopies;

TEST(DigestedCopies, OnlyTheSameRangeWithTheSameCrcMatches) {
    DigestedCopies c;
    EXPECT_TRUE(c.empty());
    c.remember(TcpSeq(1000), 1448, 0xabcd1234u);
    EXPECT_FALSE(c.empty());
    EXPECT_TRUE(c.holds(TcpSeq(1000), 1448));
    EXPECT_TRUE(c.matches(TcpSeq(1000), 1448, 0xabcd1234u));
    EXPECT_FALSE(c.matches(TcpSeq(1000), 1448, 0xabcd1235u));  // other bytes
    EXPECT_FALSE(c.matches(TcpSeq(1000), 1447, 0xabcd1234u));  // cut shorter
    EXPECT_FALSE(c.matches(TcpSeq(1001), 1448, 0xabcd1234u));  // cut elsewhere
    EXPECT_FALSE(c.holds(TcpSeq(1000), 2896));
}

TEST(DigestedCopies, RememberingARangeAgainKeepsOnlyTheNewestCrc) {
    DigestedCopies c;
    c.remember(TcpSeq(0), 100, 1);
    c.remember(TcpSeq(0), 100, 2);
    EXPECT_FALSE(c.matches(TcpSeq(0), 100, 1));
    EXPECT_TRUE(c.matches(TcpSeq(0), 100, 2));
}

TEST(DigestedCopies, TheOldestEntryGoesWhenTheTableIsFull) {
    DigestedCopies c;
    for (uint32_t k = 0; k <= DigestedCopies::kEntries; ++k) c.remember(TcpSeq(k * 100), 100, k);
    EXPECT_FALSE(c.holds(TcpSeq(0), 100));
    for (uint32_t k = 1; k <= DigestedCopies::kEntries; ++k) EXPECT_TRUE(c.matches(TcpSeq(k * 100), 100, k)) << k;
}

TEST(DigestedCopies, EntriesAHorizonBehindAreForgottenAcrossTheWrap) {
    DigestedCopies c;
    const TcpSeq old(0xFFFFF000u);
    c.remember(old, 100, 7);
    c.remember(old + 0x2000u, 100, 8);  // past the wrap
    c.forget_older_than(old + DigestedCopies::kHorizon);
    EXPECT_TRUE(c.holds(old, 100));  // exactly the horizon behind: kept
    c.forget_older_than(old + DigestedCopies::kHorizon + 1);
    EXPECT_FALSE(c.holds(old, 100));
    EXPECT_TRUE(c.matches(old + 0x2000u, 100, 8));
    c.clear();
    EXPECT_TRUE(c.empty());
    EXPECT_FALSE(c.holds(old + 0x2000u, 100));
}

TEST(DigestedCopies, KeepsWhereTheFirstCopyWasPlaced) {
    DigestedCopies c;
    c.remember(TcpSeq(1000), 1448, 5);  // digested, not placed
    EXPECT_EQ(c.placement(TcpSeq(1000), 1448), nullptr);
    c.remember(TcpSeq(2448), 1448, 6, {8, 1440, 4096, 7, 0x1234});
    const DigestedCopies::Placement* p = c.placement(TcpSeq(2448), 1448);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->from, 8);
    EXPECT_EQ(p->len, 1440);
    EXPECT_EQ(p->buf_off, 4096u);
    EXPECT_EQ(p->cccid, 7);
    EXPECT_EQ(p->tag, 0x1234);
    EXPECT_EQ(c.placement(TcpSeq(2448), 1447), nullptr);  // only the exact range
    c.remember(TcpSeq(2448), 1448, 6);                     // remembered again, not placed this time
    EXPECT_EQ(c.placement(TcpSeq(2448), 1448), nullptr);
}
