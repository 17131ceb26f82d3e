// GapPdus::Pdu's runs: added in any order, joined with their neighbours (their CRCs with them), never
// more than kRunsPerPdu, and when the body is one run its CRC is that of the whole data.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "nvmetcp/crc32c.hpp"
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
