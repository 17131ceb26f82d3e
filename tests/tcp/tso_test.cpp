// TSO: where the port cuts frames into segments, new data leaves in frames of whole segments (up to
// 64 KiB), each of whose segments keeps within the MSS with its options (SACK blocks included) and,
// where the port counts the Ethernet header against the MTU (net_tap), within that too. What is
// sent again goes segment by segment. The rig's port completes the checksums and cuts the frames
// as a NIC would, and the segments are read from the wire bytes.
#include <gtest/gtest.h>

#include <map>

#include "connection_rig.hpp"
#include "tcp/options.hpp"

namespace nvmeddp::tcp_test {
namespace {

using tcp::Seq;
namespace F = pmd::tcp_flags;

constexpr uint32_t kMss = 1460 - 12;  // linux_syn_ack()'s MSS less the timestamp option

RigPort tso_port(uint32_t max_wire_segment = 0) {
    RigPort p;
    p.tso = true;
    p.max_wire_segment = max_wire_segment;
    return p;
}

// The data segments, checked to be one contiguous run from `from`; returns their bytes.
size_t contiguous_data(const std::vector<Sent>& sent, Seq from) {
    size_t n = 0;
    for (const Sent& s : sent) {
        if (s.payload.empty()) continue;
        EXPECT_EQ(s.seq, from + static_cast<uint32_t>(n));
        n += s.payload.size();
    }
    return n;
}

TEST(Tso, NewDataLeavesInOneFrameOfWholeSegments) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig({}, 1'000'000, tso_port());
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    const std::vector<uint8_t> data = bytes(100000, 3);
    ASSERT_EQ(rig.conn().send(data), data.size());
    rig.finish_burst();
    const auto sent = rig.take_sent();
    // The initial window (10 segments, RFC 6928) in one frame the port cut into 10.
    ASSERT_EQ(sent.size(), 10u);
    for (const Sent& s : sent) {
        EXPECT_EQ(s.frame, 0u);
        EXPECT_EQ(s.tso_segsz, kMss);
        EXPECT_EQ(s.payload.size(), kMss);
    }
    EXPECT_EQ(contiguous_data(sent, iss + 1), 10 * kMss);
    EXPECT_EQ(rig.conn().stats().tso_frames_out, 1u);
    EXPECT_EQ(rig.conn().stats().data_segs_out, 10u) << "segments on the wire, not frames";
    std::vector<uint8_t> got;
    for (const Sent& s : sent) got.insert(got.end(), s.payload.begin(), s.payload.end());
    EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin())) << "the application's bytes, in order";

    // Everything acknowledged by one ACK: slow start opens the window further, and what it allows
    // goes out as one frame again.
    rig.feed(Seq(1), iss + 1 + 10 * kMss, F::kAck, {}, ts(5002));
    const auto next = rig.take_sent();
    std::map<size_t, size_t> per_frame;
    for (const Sent& s : next) per_frame[s.frame] += s.payload.size();
    const size_t more = contiguous_data(next, iss + 1 + 10 * kMss);
    EXPECT_GT(more, 10u * kMss);
    EXPECT_EQ(more % kMss, 0u);
    EXPECT_EQ(per_frame.size(), 1u) << "a frame per burst of new data, not a frame per segment";
}

TEST(Tso, AFrameEndsOnASegmentBoundaryUnlessItEmptiesTheQueue) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig({}, 1'000'000, tso_port());
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    // 3.5 segments: the frame empties the queue, its last segment short.
    ASSERT_EQ(rig.conn().send(bytes(kMss * 3 + kMss / 2)), kMss * 3 + kMss / 2);
    rig.finish_burst();
    auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 4u);
    EXPECT_EQ(sent.back().payload.size(), kMss / 2);
    EXPECT_EQ(sent.back().frame, sent.front().frame) << "one frame";
    rig.feed(Seq(1), iss + 1 + kMss * 3 + kMss / 2, F::kAck, {}, ts(5002));
    rig.take_sent();

    // A peer window of 2.5 segments with more queued: two whole segments now, not a short third.
    rig.feed(Seq(1), iss + 1 + kMss * 3 + kMss / 2, F::kAck, {}, ts(5003), static_cast<uint16_t>((kMss * 5 / 2) >> 7));
    ASSERT_EQ(rig.conn().send(bytes(kMss * 10)), kMss * 10);
    rig.finish_burst();
    sent = rig.take_sent();
    size_t data = 0;
    for (const Sent& s : sent) {
        EXPECT_EQ(s.payload.size() % kMss, 0u) << "no short segment while more waits";
        data += s.payload.size();
    }
    EXPECT_EQ(data, 2u * kMss);
}

TEST(Tso, SegmentsWithSackBlocksStayWithinTheMss) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig({}, 1'000'000, tso_port());
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    // Three holes in what the peer sent: every segment we send carries three SACK blocks.
    for (uint32_t at : {1001u, 3001u, 5001u}) rig.feed(Seq(at), iss + 1, F::kAck, bytes(1000), ts(5001));
    rig.take_sent();
    ASSERT_EQ(rig.conn().send(bytes(60000)), 60000u);
    rig.finish_burst();
    const auto sent = rig.take_sent();
    ASSERT_FALSE(sent.empty());
    bool cut = false;
    for (const Sent& s : sent) {
        if (s.payload.empty()) continue;
        EXPECT_EQ(s.options.sack_count, 3);
        EXPECT_LE(s.payload.size() + tcp::options_size(s.options), 1460u);
        cut |= s.tso_segsz != 0;
    }
    EXPECT_TRUE(cut);
    EXPECT_EQ(rig.conn().stats().sack_blocks_left_out, 0u) << "the segment size shrinks, not the SACK blocks";
}

TEST(Tso, APortThatCountsTheEthernetHeaderGetsSmallerSegments) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig({}, 1'000'000, tso_port(1500));
    rig.establish(Seq(0), linux_syn_ack());
    ASSERT_EQ(rig.conn().send(bytes(30000)), 30000u);
    rig.finish_burst();
    const auto sent = rig.take_sent();
    ASSERT_FALSE(sent.empty());
    for (const Sent& s : sent) {
        ASSERT_NE(s.tso_segsz, 0);
        EXPECT_LE(s.tso_segsz + 14u + 20u + 20u + 12u, 1500u) << "segment, Ethernet, IPv4, TCP and timestamp";
    }
}

TEST(Tso, WhatIsSentAgainGoesSegmentBySegment) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig({}, 1'000'000, tso_port());
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    ASSERT_EQ(rig.conn().send(bytes(8 * kMss)), 8 * kMss);
    rig.finish_burst();
    ASSERT_EQ(rig.take_sent().size(), 8u);
    // Nothing acknowledged: the loss probe, then the timeout, send again.
    rig.advance_us(1'100'000);
    rig.advance_us(3'000'000);
    const auto again = rig.take_sent();
    ASSERT_FALSE(again.empty());
    bool head = false;
    for (const Sent& s : again) {
        if (s.payload.empty()) continue;
        EXPECT_EQ(s.tso_segsz, 0) << "a retransmission at " << (s.seq - iss) << " went out as a TSO frame";
        EXPECT_LE(s.payload.size(), kMss);
        head |= s.seq == iss + 1;
    }
    EXPECT_TRUE(head);
}

// A peer with a small MSS: a frame is still cut into at most 64 segments (ports take so many per
// frame; net_nvmeddp's stack would drop segments past 128).
TEST(Tso, AFrameHoldsAtMost64Segments) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig({}, 1'000'000, tso_port());
    tcp::TcpOptions peer = linux_syn_ack();
    peer.mss = 300;
    const Seq iss = rig.establish(Seq(0), peer);
    constexpr uint32_t kSmall = 300 - 12;
    ASSERT_EQ(rig.conn().send(bytes(1'000'000)), 1'000'000u);
    rig.finish_burst();
    Seq acked = iss + 1;
    size_t most = 0;
    for (int round = 0; round < 60; ++round) {  // the window grows past 64 segments
        const auto sent = rig.take_sent();
        std::map<size_t, size_t> per_frame;
        for (const Sent& s : sent) {
            if (s.payload.empty()) continue;
            EXPECT_LE(s.payload.size(), kSmall);
            ++per_frame[s.frame];
            if (s.seq + static_cast<uint32_t>(s.payload.size()) > acked) acked = s.seq + static_cast<uint32_t>(s.payload.size());
        }
        for (const auto& [frame, segments] : per_frame) {
            EXPECT_LE(segments, 64u);
            most = std::max(most, segments);
        }
        rig.feed(Seq(1), acked, F::kAck, {}, ts(5002 + static_cast<uint32_t>(round)));  // all of it, at once
    }
    EXPECT_EQ(most, 64u) << "the window grew past 64 segments and the frames stopped there";
}

TEST(Tso, NotUsedWhereThePortDoesNotCut) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    rig.establish(Seq(0), linux_syn_ack());
    ASSERT_EQ(rig.conn().send(bytes(30000)), 30000u);
    rig.finish_burst();
    const auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 10u);
    for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(sent[i].frame, i) << "a frame per segment";
    EXPECT_EQ(rig.conn().stats().tso_frames_out, 0u);
}

// LRO, the receiving side: a frame the port merged from several segments is acknowledged at once
// (it is more than one segment: RFC 9293 3.8.6.3's every second segment) and counted as the
// segments it was, not as one; an unmerged segment of the same size still waits for a second.
TEST(Lro, AMergedFrameIsAcknowledgedAndCountedAsItsSegments) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq iss = rig.establish(Seq(1000), linux_syn_ack());
    const auto feed = [&](Seq seq, uint32_t len, uint16_t merged_segsz) {
        tcp::InSegment s;
        s.seq = seq;
        s.ack = iss + 1;
        s.flags = F::kAck;
        s.window = 1000;
        s.options = ts(5001);
        const auto b = bytes(len);
        s.payload = mbuf_of(b, 2048);
        s.len = len;
        s.merged = merged_segsz != 0;
        s.merged_segsz = merged_segsz;
        rig.conn().input(s);
        rig.finish_burst();
    };
    feed(Seq(1001), 1448, 0);
    EXPECT_TRUE(rig.take_sent().empty()) << "one segment: the ACK waits";
    rig.advance_us(50'000);
    rig.take_sent();
    const uint64_t segs_before = rig.conn().stats().data_segs_in;
    feed(Seq(1001 + 1448), 3 * 1448, 1448);
    const auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u) << "a frame of three merged segments is acknowledged at once";
    EXPECT_EQ(sent[0].ack, Seq(1001 + 4 * 1448));
    EXPECT_EQ(rig.conn().stats().data_segs_in - segs_before, 3u);
    EXPECT_EQ(rig.conn().snapshot().rcvmss, 1448u) << "the sender's segment size, not the merged frame's";
}

}  // namespace
}  // namespace nvmeddp::tcp_test
