// Data segments that carry SACK blocks (both directions busy, ours receiving with holes) stay
// within the MSS, data and options together (RFC 6691): a full-sized segment with three SACK blocks
// would be 28 bytes over the MTU, and a link drops it. Before this was so, every data segment we
// sent while receiving with holes was lost on the veth, retransmissions included, and the kernel
// peer saw nothing from us for seconds of timer backoff.
#include <gtest/gtest.h>

#include "connection_rig.hpp"
#include "tcp/options.hpp"

namespace nvmeddp::tcp_test {
namespace {

using tcp::Seq;
namespace F = pmd::tcp_flags;

constexpr size_t kPeerMss = 1460;  // linux_syn_ack()'s; ours is the same

// Three holes in what the peer sent us: every ACK we send carries three SACK blocks.
void receive_with_three_holes(ConnectionRig& rig, Seq iss) {
    for (uint32_t at : {1001u, 3001u, 5001u}) rig.feed(Seq(at), iss + 1, F::kAck, bytes(1000), ts(5001));
    const auto acks = rig.take_sent();
    ASSERT_FALSE(acks.empty());
    ASSERT_EQ(acks.back().options.sack_count, 3);
}

// Every segment sent: its data and options within the peer's MSS, and (contiguous) the data one
// run from `from`. Returns the data bytes and how many data segments carried SACK blocks.
std::pair<size_t, int> check_sizes(const std::vector<Sent>& sent, Seq from, bool contiguous) {
    size_t bytes_sent = 0;
    int with_sack = 0;
    for (const Sent& s : sent) {
        if (s.payload.empty()) continue;
        EXPECT_LE(s.payload.size() + tcp::options_size(s.options), kPeerMss)
            << "a segment of " << s.payload.size() << " bytes with " << int(s.options.sack_count) << " SACK blocks";
        if (contiguous) {
            EXPECT_EQ(s.seq, from + static_cast<uint32_t>(bytes_sent)) << "the data is contiguous";
        }
        bytes_sent += s.payload.size();
        if (s.options.sack_count > 0) ++with_sack;
    }
    return {bytes_sent, with_sack};
}

TEST(SegmentSize, NewDataCarriesSackBlocksWithinTheMss) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    receive_with_three_holes(rig, iss);
    ASSERT_EQ(rig.conn().send(bytes(12000)), 12000u);
    rig.finish_burst();
    const auto [sent, with_sack] = check_sizes(rig.take_sent(), iss + 1, true);
    EXPECT_EQ(sent, 12000u) << "the initial window takes it all";
    EXPECT_GT(with_sack, 0) << "the SACK blocks go out with the data, not instead of it";
    EXPECT_EQ(rig.conn().stats().sack_blocks_left_out, 0u);
}

TEST(SegmentSize, RetransmissionSizedBeforeTheHolesStillFits) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    ASSERT_EQ(rig.conn().send(bytes(4000)), 4000u);
    rig.finish_burst();
    const auto first = rig.take_sent();
    ASSERT_FALSE(first.empty());
    EXPECT_EQ(first[0].payload.size(), kPeerMss - 12) << "full segments while nothing is missing";
    // Now we receive with holes, and none of our data is acknowledged: the timer sends it again.
    receive_with_three_holes(rig, iss);
    rig.advance_us(1'100'000);
    rig.advance_us(3'000'000);
    // The tail loss probe (the last segment again), then the timeout's first segment.
    const auto again = rig.take_sent();
    const auto [sent, with_sack] = check_sizes(again, iss + 1, false);
    EXPECT_GT(sent, 0u);
    EXPECT_GT(with_sack, 0);
    bool head_again = false;
    for (const Sent& s : again) head_again |= s.seq == iss + 1 && !s.payload.empty();
    EXPECT_TRUE(head_again) << "the timeout sent the first segment again";
}

TEST(SegmentSize, FastRetransmitOfAFullSegmentGoesOutInTwoThatFit) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    ASSERT_EQ(rig.conn().send(bytes(6000)), 6000u);
    rig.finish_burst();
    ASSERT_FALSE(rig.take_sent().empty());
    receive_with_three_holes(rig, iss);
    // The peer SACKs everything but our first segment: it was lost. Our ACKs now carry three SACK
    // blocks, so its 1448 bytes no longer fit one segment: the head goes out as 1420 bytes, and the
    // 28 left over follow as a segment of their own (both lost by the peer's SACK).
    const Seq first = iss + 1, second = iss + 1 + 1448, end = iss + 1 + 6000;
    rig.feed(Seq(6001), first, F::kAck, {}, ts_sack(5002, {{second, end}}));
    rig.finish_burst();
    std::vector<Sent> resent;
    for (const Sent& s : rig.take_sent()) {
        if (!s.payload.empty()) resent.push_back(s);
    }
    const auto [sent, with_sack] = check_sizes(resent, first, true);
    EXPECT_EQ(sent, 1448u) << "the lost segment, whole, and nothing else";
    EXPECT_GE(resent.size(), 2u);
    EXPECT_GT(with_sack, 0);
    EXPECT_EQ(rig.conn().stats().sack_blocks_left_out, 0u);
    EXPECT_EQ(rig.conn().stats().fast_retransmits, 1u);
}

}  // namespace
}  // namespace nvmeddp::tcp_test
