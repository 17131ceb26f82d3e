// GapPdus::Pdu's runs: added in any order, joined with their neighbours (their CRCs with them), never
// more than kRunsPerPdu, and when the body is one run its CRC is that of the whole data. The pool that
// lends a queue's connections their PDUs (gap_pdu_pool.hpp): lent, refused, given back.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "nvmetcp/crc32c.hpp"
#include "pmd/engine/gap_pdu_pool.hpp"
#include "pmd/engine/gap_pdus.hpp"

using namespace nvmeddp;
using ddp::TcpSeq;
using pmd::GapPdus;

namespace {

// A PDU whose body is [start, start + n): data only, no digest, so every byte is a data byte.
GapPdus::Pdu data_pdu(TcpSeq start, uint32_t n) {
    GapPdus::Pdu g;
    g.pdu_start = g.body_begin = g.data_begin = start;
    g.data_end = g.pdu_end = start + n;
    g.ended = true;
    return g;
}

GapPdus::Run run_of(const std::vector<uint8_t>& data, TcpSeq start, uint32_t from, uint32_t to) {
    return {start + from, start + to, nvmetcp::crc32c_extend(0, data.data() + from, to - from)};
}

}  // namespace

TEST(GapPdus, RunsAddedInAnyOrderJoinIntoTheCrcOfTheWhole) {
    std::mt19937 rng(5);
    for (int round = 0; round < 200; ++round) {
        const TcpSeq start(static_cast<uint32_t>(rng()));  // wraps sometimes
        std::vector<uint8_t> data(64 + rng() % 4000);
        for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
        // Cut the body into up to kRunsPerPdu pieces and add them in a random order.
        std::vector<uint32_t> cuts{0, static_cast<uint32_t>(data.size())};
        while (cuts.size() < GapPdus::kRunsPerPdu + 1) cuts.push_back(1 + rng() % (data.size() - 1));
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        std::vector<size_t> order(cuts.size() - 1);
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        GapPdus::Pdu g = data_pdu(start, static_cast<uint32_t>(data.size()));
        for (size_t k : order) {
            const GapPdus::Run r = run_of(data, start, cuts[k], cuts[k + 1]);
            ASSERT_TRUE(g.room_for(r.begin, r.end));
            ASSERT_TRUE(g.add(r));
            ASSERT_LE(g.run_count, GapPdus::kRunsPerPdu);
        }
        ASSERT_TRUE(g.complete());
        EXPECT_EQ(g.runs[0].crc, nvmetcp::crc32c_extend(0, data.data(), data.size()));
    }
}

// The fuzzer's find: with every run taken, a piece that touches only the run after it must join it,
// not be inserted past the end of the array.
TEST(GapPdus, APieceTouchingOnlyTheNextRunJoinsItWhenAllRunsAreTaken) {
    std::vector<uint8_t> data(100);
    std::iota(data.begin(), data.end(), 0);
    const TcpSeq start(1000);
    GapPdus::Pdu g = data_pdu(start, 100);
    for (uint32_t k = 0; k < GapPdus::kRunsPerPdu; ++k) ASSERT_TRUE(g.add(run_of(data, start, 10 * k + 5, 10 * k + 10)));
    ASSERT_EQ(g.run_count, GapPdus::kRunsPerPdu);
    const GapPdus::Run before_third = run_of(data, start, 22, 25);  // touches [25, 30) only
    ASSERT_TRUE(g.room_for(before_third.begin, before_third.end));
    ASSERT_TRUE(g.add(before_third));
    EXPECT_EQ(g.run_count, GapPdus::kRunsPerPdu);
    EXPECT_EQ(g.runs[2].begin, start + 22);
    EXPECT_EQ(g.runs[2].crc, nvmetcp::crc32c_extend(0, data.data() + 22, 8));
    const GapPdus::Run lonely = run_of(data, start, 0, 2);  // touches nothing: no room
    EXPECT_FALSE(g.room_for(lonely.begin, lonely.end));
    EXPECT_FALSE(g.add(lonely));
    EXPECT_EQ(g.run_count, GapPdus::kRunsPerPdu);
}

TEST(GapPdus, HolesAreWhatNoRunCovers) {
    const TcpSeq start(0xFFFFFF00u);
    GapPdus::Pdu g = data_pdu(start, 1000);
    std::vector<uint8_t> data(1000, 1);
    ASSERT_TRUE(g.add(run_of(data, start, 100, 200)));
    ASSERT_TRUE(g.add(run_of(data, start, 300, 1000)));
    GapPdus::Run h = g.next_hole(start, start + 1000);
    EXPECT_EQ(h.begin, start);
    EXPECT_EQ(h.end, start + 100);
    h = g.next_hole(start + 150, start + 1000);
    EXPECT_EQ(h.begin, start + 200);
    EXPECT_EQ(h.end, start + 300);
    h = g.next_hole(start + 300, start + 1000);
    EXPECT_EQ(h.begin, h.end);  // none
    EXPECT_FALSE(g.complete());
}

// The queue's pool: lends PDUs to the connections' tables until it has none (refused, counted), takes
// them back on close() and close_all(), and a PDU lent again starts empty.
TEST(GapPduPool, LendsUntilEmptyThenRefusesAndTakesEveryOneBack) {
    pmd::GapPduPool pool(3);
    GapPdus a(pool), b(pool);
    const int a0 = a.open();
    const int a1 = a.open();
    const int b0 = b.open();
    ASSERT_NE(a0, GapPdus::kNone);
    ASSERT_NE(a1, GapPdus::kNone);
    ASSERT_NE(b0, GapPdus::kNone);
    EXPECT_EQ(b.open(), GapPdus::kNone) << "the pool has three";
    EXPECT_EQ(pool.stats().lent, 3u);
    EXPECT_EQ(pool.stats().refused, 1u);
    EXPECT_NE(&a.at(a0), &b.at(b0));
    EXPECT_NE(&a.at(a0), &a.at(a1));

    GapPdus::Pdu& used = a.at(a1);
    used.pdu_start = TcpSeq(1234);
    used.run_count = 5;
    used.ended = true;
    a.close(a1);
    EXPECT_FALSE(a.in_use(a1));
    const int b1 = b.open();
    ASSERT_NE(b1, GapPdus::kNone) << "a closed slot's PDU is the pool's again";
    EXPECT_EQ(&b.at(b1), &used);
    EXPECT_EQ(b.at(b1).pdu_start, TcpSeq{});
    EXPECT_EQ(b.at(b1).run_count, 0u);
    EXPECT_FALSE(b.at(b1).ended);

    b.close_all();
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(pool.stats().lent, 1u);
    a.close_all();
    EXPECT_EQ(pool.stats().lent, 0u);
    EXPECT_EQ(pool.stats().most_lent, 3u);
    EXPECT_EQ(pool.stats().loans, 4u);
}

// A table still holds at most kSlots, however large the pool.
TEST(GapPduPool, ATableTakesAtMostItsSlots) {
    pmd::GapPduPool pool(4 * GapPdus::kSlots);
    GapPdus a(pool);
    for (uint32_t k = 0; k < GapPdus::kSlots; ++k) ASSERT_NE(a.open(), GapPdus::kNone) << k;
    EXPECT_EQ(a.open(), GapPdus::kNone);
    EXPECT_EQ(pool.stats().lent, GapPdus::kSlots);
    EXPECT_EQ(pool.stats().refused, 0u) << "the table was full, not the pool";
}

TEST(GapPduPool, DefaultIsHalfTheConnectionsAndAtLeastOneTable) {
    EXPECT_EQ(pmd::GapPduPool::default_pdus(1), GapPdus::kSlots);
    EXPECT_EQ(pmd::GapPduPool::default_pdus(16), GapPdus::kSlots);
    EXPECT_EQ(pmd::GapPduPool::default_pdus(64), 32u);
    EXPECT_EQ(pmd::GapPduPool::default_pdus(65536), 32768u);
}
