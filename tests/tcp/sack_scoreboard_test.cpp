// The SACK scoreboard: recording blocks (merging, order, partial acks, invalid and D-SACK blocks,
// wraparound, a full scoreboard), and RFC 6675's IsLost(), SetPipe() and NextSeg() rule 1, checked at
// their boundaries and against a slow byte-by-byte model on random scoreboards. Pure logic: no mbufs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tcp/sack_scoreboard.hpp"

namespace nvmeddp::ddp {
// Failures show sequence numbers as numbers (GoogleTest finds this by argument-dependent lookup;
// static, so that another test file may have its own).
static void PrintTo(TcpSeq seq, std::ostream* out) { *out << seq.raw(); }
}  // namespace nvmeddp::ddp

namespace nvmeddp::tcp {
namespace {

constexpr uint32_t kSmss = 1000;

Seq S(uint32_t raw) { return Seq(raw); }

SackScoreboard::Update ack(SackScoreboard& board, uint32_t ack_seq, std::initializer_list<SackBlock> blocks,
                           uint32_t snd_max) {
    const std::vector<SackBlock> list(blocks);
    return board.on_ack(S(ack_seq), list.data(), list.size(), S(snd_max));
}

SackBlock B(uint32_t left, uint32_t right) { return SackBlock{S(left), S(right)}; }

// The SACKed bytes of [from, to) as a string of '#' (SACKed) and '.' (not), for readable failures.
std::string picture(const SackScoreboard& board, uint32_t from, uint32_t to, uint32_t step) {
    std::string out;
    for (uint32_t seq = from; seq != to; seq += step) out += board.is_sacked(S(seq)) ? '#' : '.';
    return out;
}

TEST(SackScoreboard, StartsEmpty) {
    SackScoreboard board(8);
    board.reset(S(1000));
    EXPECT_EQ(board.una(), S(1000));
    EXPECT_EQ(board.ranges(), 0u);
    EXPECT_EQ(board.sacked_bytes(), 0u);
    EXPECT_EQ(board.highest_sacked(), S(1000));
    EXPECT_FALSE(board.is_sacked(S(1000)));
    EXPECT_FALSE(board.is_lost(S(1000), kSmss));
    EXPECT_EQ(board.pipe(S(11'000), S(1000), kSmss), 10'000u);
    Seq seq;
    uint32_t len = 0;
    EXPECT_FALSE(board.next_lost(S(1000), kSmss, &seq, &len));
}

TEST(SackScoreboard, MergesOverlappingAndAdjacentBlocks) {
    SackScoreboard board(8);
    board.reset(S(0));
    auto u = ack(board, 0, {B(2000, 3000), B(3000, 4000)}, 10'000);  // adjacent: one range
    EXPECT_EQ(u.newly_sacked, 2000u);
    EXPECT_EQ(board.ranges(), 1u);
    u = ack(board, 0, {B(3500, 4500)}, 10'000);  // overlapping: only the new part is new
    EXPECT_EQ(u.newly_sacked, 500u);
    EXPECT_EQ(board.ranges(), 1u);
    u = ack(board, 0, {B(6000, 7000)}, 10'000);
    EXPECT_EQ(u.newly_sacked, 1000u);
    EXPECT_EQ(board.ranges(), 2u);
    EXPECT_EQ(picture(board, 0, 10'000, 500), "....#####...##......");
    u = ack(board, 0, {B(2500, 3500)}, 10'000);  // inside: nothing new
    EXPECT_EQ(u.newly_sacked, 0u);
    u = ack(board, 0, {B(4500, 6000)}, 10'000);  // exactly fills the gap: both merge into one
    EXPECT_EQ(u.newly_sacked, 1500u);
    EXPECT_EQ(board.ranges(), 1u);
    u = ack(board, 0, {B(1000, 8000)}, 10'000);  // covers it all and more on both sides
    EXPECT_EQ(u.newly_sacked, 2000u);
    EXPECT_EQ(board.ranges(), 1u);
    EXPECT_EQ(board.sacked_bytes(), 7000u);
    EXPECT_EQ(board.highest_sacked(), S(8000));
    EXPECT_FALSE(board.is_sacked(S(999)));
    EXPECT_TRUE(board.is_sacked(S(1000)));
    EXPECT_TRUE(board.is_sacked(S(7999)));
    EXPECT_FALSE(board.is_sacked(S(8000)));
}

TEST(SackScoreboard, BlocksInOneAckMayOverlapEachOther) {
    SackScoreboard board(8);
    board.reset(S(0));
    const auto u = ack(board, 0, {B(3000, 5000), B(1000, 2000), B(1500, 3500), B(8000, 9000)}, 10'000);
    EXPECT_EQ(u.newly_sacked, 5000u);  // [1000, 5000) and [8000, 9000)
    EXPECT_FALSE(u.dsack);
    EXPECT_EQ(board.ranges(), 2u);
    EXPECT_EQ(board.sacked_bytes(), 5000u);
}

TEST(SackScoreboard, BlocksInAnyOrderGiveTheSameScoreboard) {
    const std::vector<SackBlock> blocks = {B(100, 200), B(300, 400), B(200, 300), B(500, 600), B(450, 550),
                                           B(700, 710), B(690, 700), B(900, 1000)};
    std::vector<size_t> order(blocks.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::mt19937 rng(7);
    std::string first_picture;
    for (int round = 0; round < 50; ++round) {
        std::shuffle(order.begin(), order.end(), rng);
        SackScoreboard board(8);
        board.reset(S(0));
        uint32_t newly = 0;
        for (size_t i : order) newly += board.on_ack(S(0), &blocks[i], 1, S(1000)).newly_sacked;
        EXPECT_EQ(newly, 570u);
        EXPECT_EQ(board.sacked_bytes(), 570u);
        EXPECT_EQ(board.ranges(), 4u);  // [100,400) [450,600) [690,710) [900,1000)
        const std::string now = picture(board, 0, 1000, 10);
        if (round == 0) first_picture = now;
        EXPECT_EQ(now, first_picture) << "round " << round;
    }
    EXPECT_EQ(first_picture.substr(0, 50), std::string(10, '.') + std::string(30, '#') + ".....#####");
}

TEST(SackScoreboard, AcksCoveringPartOfARangeTrimIt) {
    SackScoreboard board(8);
    board.reset(S(0));
    ack(board, 0, {B(2000, 3000), B(4000, 5000), B(6000, 7000)}, 10'000);
    ASSERT_EQ(board.sacked_bytes(), 3000u);
    // A receiver may acknowledge into a SACKed range (it received the hole's bytes).
    auto u = ack(board, 2500, {}, 10'000);
    EXPECT_EQ(u.newly_sacked, 0u);
    EXPECT_EQ(board.una(), S(2500));
    EXPECT_EQ(board.sacked_bytes(), 2500u);
    EXPECT_EQ(board.ranges(), 3u);
    EXPECT_TRUE(board.is_sacked(S(2500)));
    EXPECT_FALSE(board.is_sacked(S(2499)));  // acknowledged, not SACKed
    ack(board, 3000, {}, 10'000);  // exactly the range's end: gone
    EXPECT_EQ(board.ranges(), 2u);
    EXPECT_EQ(board.sacked_bytes(), 2000u);
    ack(board, 4500, {}, 10'000);
    EXPECT_EQ(board.ranges(), 2u);
    EXPECT_EQ(board.sacked_bytes(), 1500u);
    ack(board, 6500, {}, 10'000);  // drops one whole range and trims the next
    EXPECT_EQ(board.ranges(), 1u);
    EXPECT_EQ(board.sacked_bytes(), 500u);
    EXPECT_EQ(board.highest_sacked(), S(7000));
    ack(board, 8000, {}, 10'000);
    EXPECT_EQ(board.ranges(), 0u);
    EXPECT_EQ(board.sacked_bytes(), 0u);
    EXPECT_EQ(board.highest_sacked(), S(8000));
}

TEST(SackScoreboard, InvalidBlocksAreCountedAndIgnored) {
    SackScoreboard board(8);
    board.reset(S(1000));
    // The first block is valid (so that the ones after it cannot be read as a D-SACK).
    auto u = ack(board, 2000, {B(5000, 6000), B(1500, 1800), B(1800, 2500)}, 10'000);
    EXPECT_EQ(u.newly_sacked, 1000u);
    EXPECT_EQ(u.invalid_blocks, 2u);  // wholly below the ack; straddling it
    EXPECT_FALSE(u.dsack);
    u = ack(board, 2000, {B(7000, 7100), B(2000, 2100), B(9000, 10'001), B(10'000, 10'500)}, 10'000);
    EXPECT_EQ(u.invalid_blocks, 3u);  // starting at the ack itself; past snd_max; wholly past it
    EXPECT_EQ(u.newly_sacked, 100u);
    u = ack(board, 2000, {B(7000, 7100), B(3000, 2900), B(3000, 3000), B(9000, 10'000)}, 10'000);
    EXPECT_EQ(u.invalid_blocks, 2u);  // inverted; empty. Ending exactly at snd_max is fine.
    EXPECT_EQ(u.newly_sacked, 1000u);
    // An invalid first block is not a D-SACK either.
    u = ack(board, 2000, {B(3000, 2900)}, 10'000);
    EXPECT_EQ(u.invalid_blocks, 1u);
    EXPECT_FALSE(u.dsack);
    u = ack(board, 2000, {B(1500, 10'100)}, 10'000);  // below the ack but past snd_max
    EXPECT_EQ(u.invalid_blocks, 1u);
    EXPECT_FALSE(u.dsack);
    EXPECT_EQ(board.sacked_bytes(), 2100u);
    EXPECT_EQ(board.ranges(), 3u);
    EXPECT_FALSE(board.is_sacked(S(2000)));
    EXPECT_FALSE(board.is_sacked(S(3000)));
}

TEST(SackScoreboard, DsackBelowTheAckIsReportedNotRecorded) {
    SackScoreboard board(8);
    board.reset(S(1000));
    auto u = ack(board, 3000, {B(1000, 2000), B(4000, 5000)}, 10'000);
    EXPECT_TRUE(u.dsack);
    EXPECT_EQ(u.invalid_blocks, 0u);
    EXPECT_EQ(u.newly_sacked, 1000u);  // the second block still counts
    EXPECT_EQ(board.sacked_bytes(), 1000u);
    // Starting below the ack and reaching above it (a duplicate partly new) is a D-SACK too.
    u = ack(board, 3000, {B(2500, 3500)}, 10'000);
    EXPECT_TRUE(u.dsack);
    EXPECT_FALSE(board.is_sacked(S(3200)));
    // Only the first block can be a D-SACK.
    u = ack(board, 3000, {B(6000, 6500), B(1000, 2000)}, 10'000);
    EXPECT_FALSE(u.dsack);
    EXPECT_EQ(u.invalid_blocks, 1u);
}

TEST(SackScoreboard, DsackInsideTheSecondBlockIsReportedAndTheSecondRecorded) {
    SackScoreboard board(8);
    board.reset(S(1000));
    auto u = ack(board, 1000, {B(3000, 3500), B(2500, 4000)}, 10'000);
    EXPECT_TRUE(u.dsack);
    EXPECT_EQ(u.newly_sacked, 1500u);
    EXPECT_EQ(board.sacked_bytes(), 1500u);
    u = ack(board, 1000, {B(2500, 4000), B(2500, 4000)}, 10'000);  // equal counts as inside
    EXPECT_TRUE(u.dsack);
    EXPECT_EQ(u.newly_sacked, 0u);
    // Overlapping the second block without being inside it: an ordinary block.
    u = ack(board, 1000, {B(3800, 4200), B(2500, 4000)}, 10'000);
    EXPECT_FALSE(u.dsack);
    EXPECT_EQ(u.newly_sacked, 200u);
    EXPECT_EQ(board.sacked_bytes(), 1700u);
    // A single block above the ack is never a D-SACK.
    u = ack(board, 1000, {B(5000, 5100)}, 10'000);
    EXPECT_FALSE(u.dsack);
    EXPECT_EQ(u.newly_sacked, 100u);
}

TEST(SackScoreboard, WorksAcrossTheSequenceWrap) {
    SackScoreboard board(8);
    const uint32_t una = 0xFFFF'F000u;
    board.reset(S(una));
    const uint32_t snd_max = una + 10 * kSmss;  // 0x0000'1710
    auto u = ack(board, una, {B(una + 3000, una + 5000), B(0xFFFF'FFF0u, 0x10u), B(una + 1000, una + 2000)},
                 snd_max);
    EXPECT_EQ(u.invalid_blocks, 0u);
    EXPECT_EQ(u.newly_sacked, 3000u);  // the block across 0 lies inside the first one
    EXPECT_EQ(board.ranges(), 2u);
    EXPECT_TRUE(board.is_sacked(S(0xFFFF'FFFFu)));
    EXPECT_TRUE(board.is_sacked(S(0)));
    EXPECT_FALSE(board.is_sacked(S(una + 2000)));
    EXPECT_EQ(board.highest_sacked(), S(una + 5000));
    EXPECT_TRUE(board.is_lost(S(una), kSmss));  // 3000 bytes above it
    Seq seq;
    uint32_t len = 0;
    ASSERT_TRUE(board.next_lost(S(una), kSmss, &seq, &len));
    EXPECT_EQ(seq, S(una));
    EXPECT_EQ(len, kSmss);
    // Lost: [una, una+1000) (3000 bytes above); [una+2000, una+3000) has only 2000 above: in flight,
    // as is everything from una+5000.
    EXPECT_EQ(board.pipe(S(snd_max), S(una), kSmss), 1000u + 5000u);
    // A block past snd_max, across the wrap, is still refused.
    u = ack(board, una, {B(snd_max - 10, snd_max + 10)}, snd_max);
    EXPECT_EQ(u.invalid_blocks, 1u);
    ack(board, una + 4000, {}, snd_max);  // the ack crosses 0 into the range
    EXPECT_EQ(board.una(), S(una + 4000));
    EXPECT_EQ(board.sacked_bytes(), 1000u);
    EXPECT_EQ(board.ranges(), 1u);
}

TEST(SackScoreboard, FullScoreboardForgetsTheFurthestRanges) {
    SackScoreboard board(3);
    board.reset(S(0));
    ack(board, 0, {B(1000, 1100), B(3000, 3100), B(5000, 5100)}, 10'000);
    ASSERT_EQ(board.ranges(), 3u);
    // A new range above all the others is the furthest: it is the one forgotten.
    auto u = ack(board, 0, {B(7000, 7100)}, 10'000);
    EXPECT_EQ(u.newly_sacked, 0u);
    EXPECT_EQ(board.ranges(), 3u);
    EXPECT_FALSE(board.is_sacked(S(7000)));
    EXPECT_EQ(board.highest_sacked(), S(5100));
    // A new range below the top one takes its place.
    u = ack(board, 0, {B(2000, 2100)}, 10'000);
    EXPECT_EQ(u.newly_sacked, 100u);
    EXPECT_EQ(board.ranges(), 3u);
    EXPECT_EQ(board.sacked_bytes(), 300u);
    EXPECT_FALSE(board.is_sacked(S(5000)));
    EXPECT_TRUE(board.is_sacked(S(2000)));
    EXPECT_EQ(board.highest_sacked(), S(3100));
    // Extending or merging needs no room.
    u = ack(board, 0, {B(1100, 2000)}, 10'000);
    EXPECT_EQ(u.newly_sacked, 900u);
    EXPECT_EQ(board.ranges(), 2u);
    u = ack(board, 0, {B(500, 600)}, 10'000);
    EXPECT_EQ(board.ranges(), 3u);
    EXPECT_EQ(board.sacked_bytes(), 1300u);  // [500,600) [1000,2100) [3000,3100)
    EXPECT_EQ(board.range(0).left, S(500));
    EXPECT_EQ(board.range(0).right, S(600));
    EXPECT_EQ(board.range(1).left, S(1000));
    EXPECT_EQ(board.range(1).right, S(2100));
    EXPECT_EQ(board.range(2).left, S(3000));
    EXPECT_EQ(board.range(2).right, S(3100));
    EXPECT_EQ(board.capacity(), 3u);
}

TEST(SackScoreboard, ResetForgetsEverything) {
    SackScoreboard board(4);
    board.reset(S(0));
    ack(board, 0, {B(1000, 2000)}, 10'000);
    board.reset(S(500));
    EXPECT_EQ(board.una(), S(500));
    EXPECT_EQ(board.ranges(), 0u);
    EXPECT_EQ(board.sacked_bytes(), 0u);
    EXPECT_FALSE(board.is_sacked(S(1500)));
}

TEST(SackScoreboard, IsLostByTheCountOfRangesAtTheBoundary) {
    SackScoreboard board(8);
    board.reset(S(0));
    ack(board, 0, {B(1000, 1010), B(2000, 2010)}, 10'000);
    EXPECT_FALSE(board.is_lost(S(0), kSmss));  // two ranges, 20 bytes
    ack(board, 0, {B(3000, 3010)}, 10'000);
    EXPECT_TRUE(board.is_lost(S(0), kSmss));  // three
    EXPECT_TRUE(board.is_lost(S(999), kSmss));
    EXPECT_TRUE(board.is_lost(S(1008), kSmss));  // byte 1009 is still above it
    EXPECT_FALSE(board.is_lost(S(1009), kSmss));  // the first range is no longer above
    EXPECT_FALSE(board.is_lost(S(1500), kSmss));
}

TEST(SackScoreboard, IsLostByTheSackedBytesAtTheBoundary) {
    SackScoreboard board(8);
    board.reset(S(0));
    ack(board, 0, {B(1000, 2000), B(5000, 6000)}, 10'000);  // exactly 2 * SMSS above 0
    EXPECT_FALSE(board.is_lost(S(0), kSmss));
    ack(board, 0, {B(6000, 6001)}, 10'000);  // 2 * SMSS + 1, still two ranges
    ASSERT_EQ(board.ranges(), 2u);
    EXPECT_TRUE(board.is_lost(S(0), kSmss));
    EXPECT_TRUE(board.is_lost(S(999), kSmss));
    // Inside the first range only the bytes after seq count: 2001 above 999, 2000 above 1000.
    EXPECT_FALSE(board.is_lost(S(1000), kSmss));
    EXPECT_FALSE(board.is_lost(S(3000), kSmss));
    // The SMSS is the caller's: a smaller one makes the same SACKs mean loss higher up.
    EXPECT_TRUE(board.is_lost(S(3000), 500));
    EXPECT_TRUE(board.is_lost(S(4999), 500));   // 1001 above it > 2 * 500
    EXPECT_FALSE(board.is_lost(S(5000), 500));  // exactly 1000
}

// RFC 6675's situation: ten segments sent, the first and the fourth lost; the others arrive and
// each draws a SACK. NextSeg() rule 1 finds the holes as they become lost, in order, and SetPipe()
// follows the retransmissions.
TEST(SackScoreboard, NextLostInAWindowOfTenSegmentsWithTwoLost) {
    SackScoreboard board(8);
    board.reset(S(0));
    const uint32_t snd_max = 10 * kSmss;
    Seq seq;
    uint32_t len = 0;
    ack(board, 0, {B(1000, 2000)}, snd_max);  // segment 2 arrives: first duplicate ACK
    ack(board, 0, {B(1000, 3000)}, snd_max);  // segment 3: second
    EXPECT_FALSE(board.is_lost(S(0), kSmss));
    EXPECT_FALSE(board.next_lost(S(0), kSmss, &seq, &len));
    EXPECT_EQ(board.pipe(S(snd_max), S(0), kSmss), 8000u);
    ack(board, 0, {B(4000, 5000), B(1000, 3000)}, snd_max);  // segment 5: the third
    EXPECT_TRUE(board.is_lost(S(0), kSmss));
    ASSERT_TRUE(board.next_lost(S(0), kSmss, &seq, &len));
    EXPECT_EQ(seq, S(0));
    EXPECT_EQ(len, kSmss);
    // Segment 1 lost (not in flight), segment 4 not yet lost (one range, 1000 bytes above it).
    EXPECT_EQ(board.pipe(S(snd_max), S(0), kSmss), 1000u + 5000u);
    // Segment 1 retransmitted: HighRxt moves past it; it counts in the pipe again.
    Seq high_rxt = S(kSmss);
    EXPECT_EQ(board.pipe(S(snd_max), high_rxt, kSmss), 7000u);
    EXPECT_FALSE(board.next_lost(high_rxt, kSmss, &seq, &len));  // segment 4 is not lost yet
    ASSERT_TRUE(board.next_unsacked(high_rxt, kSmss, &seq, &len));  // but rule 3 may send it
    EXPECT_EQ(seq, S(3000));
    EXPECT_EQ(len, kSmss);
    ack(board, 0, {B(4000, 6000), B(1000, 3000)}, snd_max);  // segment 6
    EXPECT_FALSE(board.next_lost(high_rxt, kSmss, &seq, &len));  // exactly 2 * SMSS above it
    ack(board, 0, {B(4000, 7000), B(1000, 3000)}, snd_max);  // segment 7
    ASSERT_TRUE(board.next_lost(high_rxt, kSmss, &seq, &len));
    EXPECT_EQ(seq, S(3000));
    EXPECT_EQ(len, kSmss);
    EXPECT_EQ(board.pipe(S(snd_max), high_rxt, kSmss), 1000u + 3000u);  // retransmitted 1; 8..10
    high_rxt = S(4000);
    EXPECT_EQ(board.pipe(S(snd_max), high_rxt, kSmss), 1000u + 1000u + 3000u);
    EXPECT_FALSE(board.next_lost(high_rxt, kSmss, &seq, &len));  // nothing lost above HighRxt
    EXPECT_FALSE(board.next_unsacked(high_rxt, kSmss, &seq, &len));  // nor any hole below the top
    // The retransmission of segment 1 arrives: the ack jumps to the second hole.
    ack(board, 3000, {B(4000, 8000)}, snd_max);
    EXPECT_EQ(board.ranges(), 1u);
    EXPECT_EQ(board.pipe(S(snd_max), high_rxt, kSmss), 1000u + 2000u);  // 4 retransmitted; 9..10
    EXPECT_FALSE(board.next_lost(high_rxt, kSmss, &seq, &len));
    // Without the retransmission of 4, rule 1 would give it again.
    ASSERT_TRUE(board.next_lost(S(3000), kSmss, &seq, &len));
    EXPECT_EQ(seq, S(3000));
}

TEST(SackScoreboard, NextLostCutsHolesIntoSegmentsAndStopsAtSackedData) {
    SackScoreboard board(8);
    board.reset(S(0));
    // A hole of 2.5 segments, a SACKed range, a hole of 300 bytes, three segments SACKed.
    ack(board, 0, {B(2500, 3000), B(3300, 6300)}, 10'000);
    Seq seq;
    uint32_t len = 0;
    Seq from = S(0);
    std::vector<std::pair<uint32_t, uint32_t>> got;
    while (board.next_lost(from, kSmss, &seq, &len)) {
        got.emplace_back(seq.raw(), len);
        from = seq + len;
    }
    const std::vector<std::pair<uint32_t, uint32_t>> want = {{0, 1000}, {1000, 1000}, {2000, 500}, {3000, 300}};
    EXPECT_EQ(got, want);
    // Starting inside a SACKed range goes to its end; above the highest SACKed byte there is nothing.
    ASSERT_TRUE(board.next_lost(S(2600), kSmss, &seq, &len));
    EXPECT_EQ(seq, S(3000));
    EXPECT_FALSE(board.next_lost(S(6300), kSmss, &seq, &len));
    EXPECT_FALSE(board.next_lost(S(7000), kSmss, &seq, &len));
    // A `from` below una (nothing retransmitted yet in an older reckoning) starts at una.
    ack(board, 1200, {}, 10'000);
    ASSERT_TRUE(board.next_lost(S(0), kSmss, &seq, &len));
    EXPECT_EQ(seq, S(1200));
    EXPECT_EQ(len, kSmss);
}

// ---- Random scoreboards against a byte-by-byte model ------------------------------------------------

// The slow reference: one flag per byte of the window, the RFCs' definitions applied literally.
class ByteModel {
public:
    ByteModel(uint32_t base, uint32_t size) : base_(base), sacked_(size, false) {}

    uint32_t una = 0;      // offsets from base
    uint32_t snd_max = 0;

    // Offsets may lie anywhere in [0, size]; the model judges them as integers, without wrap.
    SackScoreboard::Update on_ack(uint32_t ack, const std::vector<std::pair<int64_t, int64_t>>& blocks) {
        SackScoreboard::Update update;
        una = std::max(una, ack);
        for (uint32_t i = 0; i < una; ++i) sacked_[i] = false;
        for (size_t k = 0; k < blocks.size(); ++k) {
            const auto [left, right] = blocks[k];
            if (k == 0 && left < right && right <= snd_max &&
                (left < una ||
                 (blocks.size() >= 2 && blocks[1].first <= left && right <= blocks[1].second))) {
                update.dsack = true;
                continue;
            }
            if (!(una < left && left < right && right <= snd_max)) {
                ++update.invalid_blocks;
                continue;
            }
            for (int64_t i = left; i < right; ++i) {
                if (!sacked_[i]) ++update.newly_sacked;
                sacked_[i] = true;
            }
        }
        return update;
    }

    bool sacked(uint32_t off) const { return off < sacked_.size() && sacked_[off]; }
    uint64_t sacked_bytes() const { return std::count(sacked_.begin(), sacked_.end(), true); }
    uint32_t runs() const {
        uint32_t n = 0;
        for (size_t i = 0; i < sacked_.size(); ++i) n += sacked_[i] && (i == 0 || !sacked_[i - 1]);
        return n;
    }
    uint32_t highest() const {
        for (size_t i = sacked_.size(); i-- > 0;) {
            if (sacked_[i]) return static_cast<uint32_t>(i + 1);
        }
        return una;
    }
    // IsLost for every offset of the window, by counting what lies above each one.
    std::vector<bool> lost(uint32_t smss) const {
        std::vector<bool> out(sacked_.size() + 1, false);
        uint32_t runs_above = 0;
        uint64_t bytes_above = 0;
        for (size_t s = sacked_.size(); s-- > 0;) {
            out[s] = runs_above >= 3 || bytes_above > 2ull * smss;
            // Now count byte s itself, which is above s - 1.
            if (sacked_[s]) {
                ++bytes_above;
                if (s + 1 == sacked_.size() || !sacked_[s + 1]) ++runs_above;
            }
        }
        return out;
    }
    uint32_t pipe(uint32_t high_rxt, uint32_t smss) const {
        const auto is_lost = lost(smss);
        uint32_t pipe = 0;
        for (uint32_t o = una; o < snd_max; ++o) {
            if (sacked_[o]) continue;
            const uint32_t segment_start = una + (o - una) / smss * smss;
            if (!is_lost[segment_start]) ++pipe;
            if (o < high_rxt) ++pipe;
        }
        return pipe;
    }
    // Runs of SACKed bytes as [left, right) offsets, from the lowest.
    std::vector<std::pair<uint32_t, uint32_t>> run_list() const {
        std::vector<std::pair<uint32_t, uint32_t>> out;
        for (uint32_t i = 0; i < sacked_.size(); ++i) {
            if (!sacked_[i]) continue;
            if (i == 0 || !sacked_[i - 1]) out.emplace_back(i, i);
            out.back().second = i + 1;
        }
        return out;
    }
    // NextSeg() rule 1 (need_lost) or the candidate of rule 3 (not need_lost).
    bool next_hole(uint32_t from, uint32_t smss, bool need_lost, const std::vector<bool>& is_lost,
                   uint32_t* seq, uint32_t* len) const {
        const uint32_t top = highest();
        for (uint32_t s = std::max(from, una); s < top; ++s) {
            if (sacked_[s] || (need_lost && !is_lost[s])) continue;
            uint32_t n = 0;
            while (n < smss && !sacked_[s + n]) ++n;
            *seq = s;
            *len = n;
            return true;
        }
        return false;
    }

    Seq seq(int64_t off) const { return Seq(static_cast<uint32_t>(base_ + off)); }

private:
    uint32_t base_;
    std::vector<bool> sacked_;
};

// How often the random runs met each case, so that a run that never does cannot pass unnoticed.
struct Coverage {
    uint32_t dsacks = 0;
    uint32_t invalid_blocks = 0;
    uint32_t newly_sacked_acks = 0;
    uint32_t partial_acks = 0;  // acks into a SACKed range
    uint32_t lost_found = 0;    // next_lost() answers that found a segment
    uint32_t short_lost = 0;    // ... shorter than SMSS
    uint32_t unsacked_not_lost = 0;  // next_unsacked() answers that next_lost() would not give
    uint32_t pipes_with_loss = 0;  // pipe() below the unSACKed bytes: some were lost
    uint32_t pipes_with_rxt = 0;   // pipe() above them: retransmissions counted twice
};

void compare_with_model(uint32_t base, uint32_t seed, Coverage& seen) {
    SCOPED_TRACE(testing::Message() << "base " << base << " seed " << seed);
    constexpr uint32_t kWindow = 3000;
    std::mt19937 rng(seed);
    const auto uniform = [&rng](uint32_t lo, uint32_t hi) { return std::uniform_int_distribution<uint32_t>(lo, hi)(rng); };
    ByteModel model(base, kWindow);
    SackScoreboard board(4096);  // never full here: the model has no capacity limit
    board.reset(model.seq(0));
    const uint32_t unit = uniform(1, 120);  // the peer's segment size, for aligned blocks
    for (int step = 0; step < 60; ++step) {
        model.snd_max = std::min(kWindow, model.snd_max + uniform(0, 400));
        const uint32_t ack = uniform(0, 4) == 0 ? std::min(model.snd_max, model.una + uniform(0, 300)) : model.una;
        std::vector<std::pair<int64_t, int64_t>> blocks;
        const uint32_t count = uniform(0, 4);
        for (uint32_t k = 0; k < count; ++k) {
            int64_t left = 0;
            int64_t right = 0;
            switch (uniform(0, 9)) {
            case 0:  // anything in the window, possibly inverted, empty or out of bounds
                left = uniform(0, kWindow);
                right = uniform(0, kWindow);
                break;
            case 1:  // below the ack: a D-SACK when first
                left = uniform(0, ack);
                right = left + uniform(1, 200);
                break;
            case 2:  // put first, inside the block that was first: a D-SACK
                if (!blocks.empty() && blocks[0].first < blocks[0].second) {
                    left = uniform(static_cast<uint32_t>(blocks[0].first), static_cast<uint32_t>(blocks[0].second));
                    right = uniform(static_cast<uint32_t>(left), static_cast<uint32_t>(blocks[0].second));
                    blocks.insert(blocks.begin(), std::make_pair(left, right));
                    continue;
                }
                [[fallthrough]];
            default: {  // whole segments above the ack
                const uint32_t first = uniform(0, (kWindow - ack) / unit);
                left = ack + int64_t{first} * unit;
                right = left + int64_t{uniform(1, 4)} * unit;
                break;
            }
            }
            blocks.emplace_back(left, right);
        }
        seen.partial_acks += model.sacked(ack) && ack > model.una;
        const auto want = model.on_ack(ack, blocks);
        seen.dsacks += want.dsack;
        seen.invalid_blocks += want.invalid_blocks;
        seen.newly_sacked_acks += want.newly_sacked > 0;
        std::vector<SackBlock> wire;
        for (const auto& [left, right] : blocks) wire.push_back(SackBlock{model.seq(left), model.seq(right)});
        const auto got = board.on_ack(model.seq(ack), wire.data(), wire.size(), model.seq(model.snd_max));
        SCOPED_TRACE(testing::Message() << "step " << step);
        ASSERT_EQ(got.newly_sacked, want.newly_sacked);
        ASSERT_EQ(got.dsack, want.dsack);
        ASSERT_EQ(got.invalid_blocks, want.invalid_blocks);
        ASSERT_EQ(board.una(), model.seq(model.una));
        ASSERT_EQ(board.sacked_bytes(), model.sacked_bytes());
        ASSERT_EQ(board.ranges(), model.runs());
        ASSERT_EQ(board.highest_sacked(), model.seq(model.highest()));
        for (uint32_t off = model.una; off < model.snd_max; ++off) {
            ASSERT_EQ(board.is_sacked(model.seq(off)), model.sacked(off)) << "offset " << off;
        }
        const auto runs = model.run_list();
        for (uint32_t i = 0; i < runs.size(); ++i) {
            ASSERT_EQ(board.range(i).left, model.seq(runs[i].first)) << "range " << i;
            ASSERT_EQ(board.range(i).right, model.seq(runs[i].second)) << "range " << i;
        }
        for (uint32_t smss : {1u, unit, uniform(1, 300)}) {
            SCOPED_TRACE(testing::Message() << "smss " << smss);
            const auto lost = model.lost(smss);
            for (uint32_t off = model.una; off < model.snd_max; ++off) {
                ASSERT_EQ(board.is_lost(model.seq(off), smss), lost[off]) << "offset " << off;
            }
            for (int k = 0; k < 4; ++k) {
                const uint32_t high_rxt = k == 0 ? model.una : uniform(model.una, model.snd_max);
                const uint32_t pipe = board.pipe(model.seq(model.snd_max), model.seq(high_rxt), smss);
                ASSERT_EQ(pipe, model.pipe(high_rxt, smss)) << "high_rxt " << high_rxt;
                const uint64_t unsacked = model.snd_max - model.una - model.sacked_bytes();
                seen.pipes_with_loss += pipe < unsacked;
                seen.pipes_with_rxt += pipe > unsacked;
            }
            for (int k = 0; k < 16; ++k) {
                const uint32_t from = k < 2 ? model.una : uniform(model.una, model.snd_max);
                const bool need_lost = k % 2 == 0;
                uint32_t want_seq = 0;
                uint32_t want_len = 0;
                Seq got_seq;
                uint32_t got_len = 0;
                const bool want_found = model.next_hole(from, smss, need_lost, lost, &want_seq, &want_len);
                const bool got_found = need_lost ? board.next_lost(model.seq(from), smss, &got_seq, &got_len)
                                                 : board.next_unsacked(model.seq(from), smss, &got_seq, &got_len);
                ASSERT_EQ(got_found, want_found) << "from " << from << (need_lost ? " lost" : " unsacked");
                if (want_found) {
                    seen.lost_found += need_lost;
                    seen.unsacked_not_lost += !need_lost && !lost[want_seq];
                    seen.short_lost += want_len < smss;
                    ASSERT_EQ(got_seq, model.seq(want_seq)) << "from " << from;
                    ASSERT_EQ(got_len, want_len) << "from " << from;
                }
            }
        }
    }
}

void expect_every_case_met(const Coverage& seen) {
    EXPECT_GT(seen.dsacks, 50u);
    EXPECT_GT(seen.invalid_blocks, 50u);
    EXPECT_GT(seen.newly_sacked_acks, 50u);
    EXPECT_GT(seen.partial_acks, 5u);
    EXPECT_GT(seen.lost_found, 50u);
    EXPECT_GT(seen.short_lost, 10u);
    EXPECT_GT(seen.unsacked_not_lost, 50u);
    EXPECT_GT(seen.pipes_with_loss, 50u);
    EXPECT_GT(seen.pipes_with_rxt, 50u);
}

TEST(SackScoreboard, MatchesAByteModelOnRandomScoreboards) {
    Coverage seen;
    for (uint32_t seed = 1; seed <= 40; ++seed) compare_with_model(1'000'000 * seed, seed, seen);
    expect_every_case_met(seen);
}

TEST(SackScoreboard, MatchesAByteModelAcrossTheWrap) {
    Coverage seen;
    for (uint32_t seed = 41; seed <= 80; ++seed) compare_with_model(0xFFFF'FFFFu - seed * 37, seed, seen);
    expect_every_case_met(seen);
}

}  // namespace
}  // namespace nvmeddp::tcp
