// The connection's rules, one crafted exchange each: handshake and options, in-order and
// out-of-order receive with SACK, wraparound, PAWS, RST and SYN in every relevant state,
// retransmission with backoff, fast retransmit, zero window, and the closes.
#include <gtest/gtest.h>

#include <numeric>

#include "connection_rig.hpp"
#include "pmd/dpdk/mbuf_meta.hpp"

namespace nvmeddp::tcp_test {
namespace {

using tcp::Seq;
using tcp::TcpError;
using tcp::TcpState;
namespace F = pmd::tcp_flags;

TEST(Connection, ActiveOpenOffersOptionsAndCompletesOnSynAck) {
    REQUIRE_TCP_EAL();
    const unsigned in_use = mbufs_in_use();
    {
        ConnectionRig rig;
        rig.conn().open_active(ConnectionRig::route(), Seq(77), &rig.handler());
        rig.finish_burst();
        auto sent = rig.take_sent();
        ASSERT_EQ(sent.size(), 1u);
        EXPECT_EQ(sent[0].flags, F::kSyn);
        EXPECT_EQ(sent[0].seq, Seq(77));
        EXPECT_TRUE(sent[0].options.has_mss);
        EXPECT_EQ(sent[0].options.mss, 1460);
        EXPECT_TRUE(sent[0].options.has_wscale);
        EXPECT_EQ(sent[0].options.wscale, 5);  // 1 MiB rcv_buf needs a shift of 5
        EXPECT_TRUE(sent[0].options.sack_permitted);
        EXPECT_TRUE(sent[0].options.has_timestamps);
        EXPECT_EQ(rig.conn().state(), TcpState::SynSent);

        rig.feed(Seq(9000), Seq(78), F::kSyn | F::kAck, {}, linux_syn_ack());
        EXPECT_EQ(rig.conn().state(), TcpState::Established);
        EXPECT_EQ(rig.handler().connected, 1);
        sent = rig.take_sent();
        ASSERT_EQ(sent.size(), 1u);
        EXPECT_EQ(sent[0].flags, F::kAck);
        EXPECT_EQ(sent[0].ack, Seq(9001));
        EXPECT_EQ(sent[0].seq, Seq(78));
        EXPECT_EQ(sent[0].options.ts_ecr, 5000u);  // echoes the peer's timestamp
        // Our window field is scaled by our shift from now on: 1 MiB >> 5.
        EXPECT_EQ(sent[0].window, (1u << 20) >> 5);
    }
    EXPECT_EQ(mbufs_in_use(), in_use);
}

TEST(Connection, SynAckWithoutWindowScaleTurnsScalingOffBothWays) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    tcp::TcpOptions o = linux_syn_ack();
    o.has_wscale = false;
    rig.establish(Seq(1), o);
    rig.feed(Seq(2), Seq(1001), F::kAck, bytes(10), o);
    rig.advance_us(50'000);  // delayed ACK
    auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].window, 0xFFFF);  // unscaled: 1 MiB does not fit, the field is capped
}

TEST(Connection, InOrderDataKeepsMbufsAndMetadataAndAcksEverySecondSegment) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    rig.establish(Seq(100), linux_syn_ack());
    // Segment 1 carries a DDP metadata flag: it must reach the handler on the same mbuf.
    tcp::InSegment s;
    s.seq = Seq(101);
    s.ack = Seq(1001);
    s.flags = F::kAck;
    s.window = 1000;
    s.options = ts(5001);
    const auto b = bytes(1000);
    s.payload = mbuf_of(b);
    s.len = 1000;
    pmd::MbufMeta::set(s.payload, nvmeddp_pkt_meta{});
    rig.conn().input(s);
    rig.finish_burst();
    ASSERT_EQ(rig.handler().data, b);
    ASSERT_EQ(rig.handler().metas.size(), 1u);
    EXPECT_NE(rig.handler().metas[0] & pmd::MbufMeta::flag(), 0u);
    EXPECT_TRUE(rig.take_sent().empty()) << "one segment: the ACK waits (delayed ACK)";
    rig.feed(Seq(1101), Seq(1001), F::kAck, bytes(1000, 7), ts(5002));
    auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u) << "the second segment is acknowledged at once";
    EXPECT_EQ(sent[0].ack, Seq(2101));
    rig.feed(Seq(2101), Seq(1001), F::kAck, bytes(500), ts(5003));
    EXPECT_TRUE(rig.take_sent().empty());
    rig.advance_us(39'000);
    EXPECT_TRUE(rig.take_sent().empty()) << "not before the delayed-ACK timeout";
    rig.advance_us(2'000);
    sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ack, Seq(2601));
    EXPECT_EQ(rig.conn().stats().bytes_received, 2500u);
}

TEST(Connection, OutOfOrderGetsImmediateSackThenHoleFillDeliversAll) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    rig.establish(Seq(0), linux_syn_ack());
    const auto a = bytes(1000, 0), b = bytes(1000, 100), c = bytes(1000, 200);
    rig.feed(Seq(1001), Seq(1001), F::kAck, b, ts(5001));  // hole [1, 1001)
    auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ack, Seq(1));
    ASSERT_EQ(sent[0].options.sack_count, 1);
    EXPECT_EQ(sent[0].options.sack[0].left, Seq(1001));
    EXPECT_EQ(sent[0].options.sack[0].right, Seq(2001));
    rig.feed(Seq(3001), Seq(1001), F::kAck, c, ts(5002));  // second hole
    sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    ASSERT_EQ(sent[0].options.sack_count, 2);
    EXPECT_EQ(sent[0].options.sack[0].left, Seq(3001)) << "the newest block first (RFC 2018)";
    EXPECT_TRUE(rig.handler().data.empty());
    rig.feed(Seq(1), Seq(1001), F::kAck, a, ts(5003));
    sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u) << "filling a hole is acknowledged at once";
    EXPECT_EQ(sent[0].ack, Seq(2001));
    ASSERT_EQ(sent[0].options.sack_count, 1);
    std::vector<uint8_t> want(a);
    want.insert(want.end(), b.begin(), b.end());
    EXPECT_EQ(rig.handler().data, want);
    EXPECT_EQ(rig.conn().stats().rcv_ooopack, 2u);
}

TEST(Connection, ReceiveAcrossSequenceWrap) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    rig.establish(Seq(0xFFFFF000u), linux_syn_ack());
    std::vector<uint8_t> all;
    Seq seq(0xFFFFF001u);
    for (int i = 0; i < 6; ++i) {
        const auto b = bytes(1400, static_cast<uint8_t>(i * 40));
        all.insert(all.end(), b.begin(), b.end());
        rig.feed(seq, Seq(1001), F::kAck, b, ts(5001 + i));
        seq = seq + 1400;
    }
    EXPECT_EQ(rig.handler().data, all);
    rig.advance_us(50'000);
    auto sent = rig.take_sent();
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(sent.back().ack, seq);
}

TEST(Connection, DuplicateSegmentsAreReportedWithDsack) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    rig.establish(Seq(0), linux_syn_ack());
    const auto all = bytes(3000);
    rig.feed(Seq(1), Seq(1001), F::kAck, std::span(all).first(2000), ts(5001));
    rig.advance_us(50'000);
    rig.take_sent();
    // The peer sends [1001, 2001) again (our ACK was lost): the ACK reports it as a duplicate.
    rig.feed(Seq(1001), Seq(1001), F::kAck, std::span(all).subspan(1000, 1000), ts(5002));
    auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ack, Seq(2001));
    ASSERT_EQ(sent[0].options.sack_count, 1);
    EXPECT_EQ(sent[0].options.sack[0].left, Seq(1001));
    EXPECT_EQ(sent[0].options.sack[0].right, Seq(2001));
    // A partly new copy: the old part is the D-SACK, the new part is delivered.
    rig.feed(Seq(1501), Seq(1001), F::kAck, std::span(all).subspan(1500, 1000), ts(5003));
    rig.advance_us(50'000);
    sent = rig.take_sent();
    ASSERT_FALSE(sent.empty());
    ASSERT_GE(sent[0].options.sack_count, 1);
    EXPECT_EQ(sent[0].options.sack[0].left, Seq(1501));
    EXPECT_EQ(sent[0].options.sack[0].right, Seq(2001));
    EXPECT_EQ(rig.handler().data, std::vector<uint8_t>(all.begin(), all.begin() + 2500));
    // Reported once: the next ACK carries no D-SACK.
    rig.feed(Seq(2501), Seq(1001), F::kAck, std::span(all).subspan(2500, 500), ts(5004));
    rig.advance_us(50'000);
    sent = rig.take_sent();
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(sent.back().options.sack_count, 0);
}

TEST(Connection, PawsDropsSegmentWithOldTimestamp) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    rig.establish(Seq(0), linux_syn_ack());
    rig.feed(Seq(1), Seq(1001), F::kAck, bytes(100), ts(6000));
    rig.take_sent();
    rig.feed(Seq(101), Seq(1001), F::kAck, bytes(100), ts(5999));  // older than ts_recent
    EXPECT_EQ(rig.handler().data.size(), 100u);
    EXPECT_EQ(rig.conn().stats().paws_rejected, 1u);
    auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u) << "PAWS answers with an ACK";
    EXPECT_EQ(sent[0].ack, Seq(101));
}

TEST(Connection, RstOutsideExactSequenceGetsChallengeAckExactResets) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    rig.establish(Seq(0), linux_syn_ack());
    rig.feed(Seq(500), Seq(0), F::kRst);  // in window, not at rcv_nxt
    EXPECT_EQ(rig.conn().state(), TcpState::Established);
    auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].flags, F::kAck);
    EXPECT_EQ(rig.conn().stats().challenge_acks, 1u);
    rig.feed(Seq(1u << 31), Seq(0), F::kRst);  // far outside: dropped silently
    EXPECT_TRUE(rig.take_sent().empty());
    rig.feed(Seq(1), Seq(0), F::kRst);
    EXPECT_EQ(rig.conn().state(), TcpState::Closed);
    EXPECT_EQ(rig.handler().closed, 1);
    EXPECT_EQ(rig.handler().error, TcpError::Reset);
    EXPECT_EQ(rig.released(), 1);
}

TEST(Connection, SynOnEstablishedConnectionGetsChallengeAck) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    rig.establish(Seq(0), linux_syn_ack());
    rig.feed(Seq(1), Seq(0), F::kSyn);
    EXPECT_EQ(rig.conn().state(), TcpState::Established);
    EXPECT_EQ(rig.take_sent().size(), 1u);
    EXPECT_EQ(rig.conn().stats().challenge_acks, 1u);
}

TEST(Connection, RstAnsweringOurSynIsRefused) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    rig.conn().open_active(ConnectionRig::route(), Seq(10), &rig.handler());
    rig.finish_burst();
    rig.take_sent();
    rig.feed(Seq(0), Seq(5), F::kRst | F::kAck);  // wrong ack: ignored
    EXPECT_EQ(rig.conn().state(), TcpState::SynSent);
    rig.feed(Seq(0), Seq(11), F::kRst | F::kAck);
    EXPECT_EQ(rig.handler().error, TcpError::Refused);
    EXPECT_EQ(rig.conn().state(), TcpState::Closed);
}

TEST(Connection, SynRetriesBackOffThenTimeOut) {
    REQUIRE_TCP_EAL();
    tcp::ConnectionConfig cfg;
    cfg.syn_retries = 3;
    ConnectionRig rig(cfg);
    const uint64_t t0 = rig.now();
    rig.conn().open_active(ConnectionRig::route(), Seq(10), &rig.handler());
    rig.finish_burst();
    ASSERT_EQ(rig.take_sent().size(), 1u);
    // RTO 1 s, doubled per retry: SYNs again at 1, 3 and 7 s, and the end at 15 s.
    std::vector<uint64_t> retries_ms;
    uint64_t closed_ms = 0;
    while (rig.now() - t0 < 20'000'000 && closed_ms == 0) {
        rig.advance_us(5'000);
        for (const Sent& s : rig.take_sent()) {
            EXPECT_EQ(s.flags, F::kSyn);
            retries_ms.push_back((rig.now() - t0) / 1000);
        }
        if (rig.handler().closed) closed_ms = (rig.now() - t0) / 1000;
    }
    ASSERT_EQ(retries_ms.size(), 3u);
    EXPECT_NEAR(static_cast<double>(retries_ms[0]), 1000, 10);
    EXPECT_NEAR(static_cast<double>(retries_ms[1]), 3000, 10);
    EXPECT_NEAR(static_cast<double>(retries_ms[2]), 7000, 10);
    EXPECT_NEAR(static_cast<double>(closed_ms), 15000, 10);
    EXPECT_EQ(rig.handler().error, TcpError::TimedOut);
}

TEST(Connection, SendsAtMssRetransmitsOnTimeoutWithBackoffAndGivesUp) {
    REQUIRE_TCP_EAL();
    tcp::ConnectionConfig cfg;
    cfg.max_retransmits = 3;
    ConnectionRig rig(cfg);
    tcp::TcpOptions no_sack = linux_syn_ack();  // without SACK there is no tail loss probe: RTOs only
    no_sack.sack_permitted = false;
    const Seq iss = rig.establish(Seq(0), no_sack);
    const auto data = bytes(4000);
    EXPECT_EQ(rig.conn().send(data), 4000u);
    rig.finish_burst();
    auto sent = rig.take_sent();
    // MSS 1460 less 12 bytes of timestamps: 1448, 1448, 1104.
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[0].payload.size(), 1448u);
    EXPECT_EQ(sent[1].payload.size(), 1448u);
    EXPECT_EQ(sent[2].payload.size(), 1104u);
    EXPECT_EQ(sent[0].seq, iss + 1);
    std::vector<uint8_t> joined;
    for (auto& s : sent) joined.insert(joined.end(), s.payload.begin(), s.payload.end());
    EXPECT_EQ(joined, data);
    // No ACK: the initial RTO (1 s, no sample yet) then 2 s, 4 s; then the connection gives up.
    uint64_t rto = 1'000'000;
    for (int i = 0; i < 3; ++i) {
        rig.advance_us(rto + 2'000);
        sent = rig.take_sent();
        ASSERT_GE(sent.size(), 1u) << "timeout " << i;
        EXPECT_EQ(sent[0].seq, iss + 1) << "go-back-N from snd_una";
        EXPECT_EQ(sent.size(), 1u) << "cwnd is one segment after a timeout";
        rto *= 2;
    }
    rig.advance_us(rto + 2'000);
    EXPECT_EQ(rig.handler().error, TcpError::TimedOut);
    EXPECT_EQ(rig.conn().stats().timeouts, 4u);
}

TEST(Connection, ThreeDuplicateAcksFastRetransmitOnceWithoutSack) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    tcp::TcpOptions no_sack = linux_syn_ack();
    no_sack.sack_permitted = false;
    const Seq iss = rig.establish(Seq(0), no_sack);
    const Seq una = iss + 1;
    rig.feed(Seq(1), una, F::kAck, {}, ts(5001), 8192);  // the window, scaled from now on
    ASSERT_EQ(rig.conn().send(bytes(1448 * 8)), 1448u * 8);
    rig.finish_burst();
    auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 8u);
    // The first segment is lost: the peer acknowledges nothing new, three times; the first two
    // let limited transmit send nothing here (no new data queued).
    for (int i = 0; i < 2; ++i) rig.feed(Seq(1), una, F::kAck, {}, ts(5002 + i), 8192);
    EXPECT_TRUE(rig.take_sent().empty());
    EXPECT_EQ(rig.conn().stats().fast_retransmits, 0u);
    rig.feed(Seq(1), una, F::kAck, {}, ts(5004), 8192);
    sent = rig.take_sent();
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(sent[0].seq, una);
    EXPECT_EQ(sent[0].payload.size(), 1448u);
    EXPECT_EQ(rig.conn().stats().fast_retransmits, 1u);
    rig.feed(Seq(1), una, F::kAck, {}, ts(5005), 8192);
    for (const Sent& s : rig.take_sent()) EXPECT_NE(s.seq, una) << "no second fast retransmit";
    // The full ACK ends recovery.
    rig.feed(Seq(1), una + 1448 * 8, F::kAck, {}, ts(5006), 8192);
    EXPECT_EQ(rig.conn().stats().bytes_acked, 1448u * 8);
    EXPECT_EQ(rig.handler().acked, 1448u * 8);
}

TEST(Connection, SackRecoveryRepairsEveryHoleWithinOneRoundTrip) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    const Seq una = iss + 1;
    constexpr uint32_t kSeg = 1448;
    rig.feed(Seq(1), una, F::kAck, {}, ts(5001), 8192);
    ASSERT_EQ(rig.conn().send(bytes(kSeg * 10)), kSeg * 10u);
    rig.finish_burst();
    ASSERT_EQ(rig.take_sent().size(), 10u);
    // Segments 0 and 3 are lost; the peer SACKs 1-2, then 4-5, then 6-9 (no cumulative progress).
    auto at = [&](uint32_t i) { return una + i * kSeg; };
    rig.feed(Seq(1), una, F::kAck, {}, ts_sack(5002, {{at(1), at(3)}}), 8192);
    rig.feed(Seq(1), una, F::kAck, {}, ts_sack(5003, {{at(4), at(6)}, {at(1), at(3)}}), 8192);
    rig.feed(Seq(1), una, F::kAck, {}, ts_sack(5004, {{at(6), at(10)}, {at(4), at(6)}, {at(1), at(3)}}), 8192);
    const auto sent = rig.take_sent();
    std::vector<Seq> retransmitted;
    for (const Sent& s : sent) retransmitted.push_back(s.seq);
    // Both holes go out again without waiting for an ACK in between (NewReno would need one RTT per
    // hole), and nothing the peer SACKed is sent again.
    ASSERT_EQ(retransmitted.size(), 2u);
    EXPECT_EQ(retransmitted[0], at(0));
    EXPECT_EQ(retransmitted[1], at(3));
    for (const Sent& s : sent) EXPECT_EQ(s.payload.size(), kSeg);
    EXPECT_EQ(rig.conn().stats().fast_retransmits, 1u);
    EXPECT_EQ(rig.conn().stats().total_retrans, 2u);
    // The cumulative ACK for everything ends the recovery.
    rig.feed(Seq(1), at(10), F::kAck, {}, ts(5005), 8192);
    EXPECT_EQ(rig.handler().acked, kSeg * 10u);
    EXPECT_EQ(rig.conn().send_queued(), 0u);
}

// Establishes with SACK and timestamps, and gives the connection an RTT sample of `rtt_us`.
Seq establish_with_rtt(ConnectionRig& rig, uint64_t rtt_us) {
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    rig.feed(Seq(1), iss + 1, F::kAck, {}, ts(5001), 8192);
    EXPECT_EQ(rig.conn().send(bytes(100)), 100u);
    rig.finish_burst();
    rig.take_sent();
    rig.advance_us(rtt_us);
    rig.feed(Seq(1), iss + 101, F::kAck, {}, ts(5002), 8192);
    return iss + 101;  // the next byte to send
}

TEST(Connection, TailLossProbeComesAfterTwoRttsNotTheRto) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq next = establish_with_rtt(rig, 10'000);
    ASSERT_EQ(rig.conn().send(bytes(1448 * 3)), 1448u * 3);
    rig.finish_burst();
    ASSERT_EQ(rig.take_sent().size(), 3u);
    // All three are lost (no ACK). The probe comes at PTO = max(2*SRTT, 10 ms), long before the RTO.
    const uint64_t pto = std::max<uint64_t>(2 * uint64_t{rig.conn().snapshot().srtt_us}, 10'000);
    ASSERT_LT(pto + 5'000, rig.conn().snapshot().rto_us);
    rig.advance_us(pto - 2'000);
    EXPECT_TRUE(rig.take_sent().empty()) << "not before the probe timeout";
    rig.advance_us(4'000);
    auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].seq, next + 1448 * 2) << "the last segment again: no new data to probe with";
    EXPECT_EQ(rig.conn().stats().loss_probes, 1u);
    EXPECT_EQ(rig.conn().stats().timeouts, 0u);
    // Its ACK SACKs the probe: two segments below it are missing, and recovery repairs them.
    rig.feed(Seq(1), next, F::kAck, {}, ts_sack(5003, {{next + 1448 * 2, next + 1448 * 3}}), 8192);
    rig.feed(Seq(1), next, F::kAck, {}, ts_sack(5004, {{next + 1448 * 2, next + 1448 * 3}}), 8192);
    rig.feed(Seq(1), next, F::kAck, {}, ts_sack(5005, {{next + 1448 * 2, next + 1448 * 3}}), 8192);
    (void)rig.take_sent();
    EXPECT_EQ(rig.conn().stats().timeouts, 0u);
}

TEST(Connection, LostRetransmissionIsSentAgainWithoutWaitingForTheRto) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq una = establish_with_rtt(rig, 1'000);
    constexpr uint32_t kSeg = 1448;
    auto at = [&](uint32_t i) { return una + i * kSeg; };
    ASSERT_EQ(rig.conn().send(bytes(kSeg * 10)), kSeg * 10u);
    rig.finish_burst();
    ASSERT_EQ(rig.take_sent().size(), 10u);
    // Segment 0 is lost; 1..3 arrive: recovery retransmits 0 (and, with room, more).
    rig.feed(Seq(1), una, F::kAck, {}, ts_sack(5003, {{at(1), at(4)}}), 8192);
    auto sent = rig.take_sent();
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(sent[0].seq, at(0));
    ASSERT_EQ(rig.conn().send(bytes(kSeg * 4)), kSeg * 4u);  // new data for recovery's rule 2
    rig.feed(Seq(1), una, F::kAck, {}, ts_sack(5004, {{at(1), at(8)}}), 8192);
    sent = rig.take_sent();
    bool new_data = false;
    for (const Sent& s : sent) new_data |= s.seq >= at(10);
    ASSERT_TRUE(new_data) << "recovery sends new data when the window allows";
    // The retransmission of 0 is lost too; data sent after it arrives (SACKed up to segment 11).
    rig.advance_us(2'000);
    rig.feed(Seq(1), una, F::kAck, {}, ts_sack(5005, {{at(1), at(11)}}), 8192);
    sent = rig.take_sent();
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(sent[0].seq, at(0)) << "sent again, long before an RTO";
    EXPECT_EQ(rig.conn().stats().lost_retransmits, 1u);
    EXPECT_EQ(rig.conn().stats().timeouts, 0u);
}

TEST(Connection, RecoveryForReorderingIsUndoneByDsack) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq una = establish_with_rtt(rig, 1'000);
    constexpr uint32_t kSeg = 1448;
    auto at = [&](uint32_t i) { return una + i * kSeg; };
    ASSERT_EQ(rig.conn().send(bytes(kSeg * 10)), kSeg * 10u);
    rig.finish_burst();
    rig.take_sent();
    const uint32_t cwnd_before = rig.conn().snapshot().cwnd_bytes;
    // Segment 0 is only late: 1..3 are SACKed first, so recovery starts and cwnd is cut.
    rig.feed(Seq(1), una, F::kAck, {}, ts_sack(5003, {{at(1), at(4)}}), 8192);
    ASSERT_EQ(rig.conn().stats().fast_retransmits, 1u);
    EXPECT_LT(rig.conn().snapshot().cwnd_bytes, cwnd_before);
    // The original arrives: everything acknowledged; then our retransmission arrives as a
    // duplicate, which the peer reports with a D-SACK block below the ACK (RFC 2883).
    rig.feed(Seq(1), at(10), F::kAck, {}, ts(5004), 8192);
    const uint32_t total_retrans = static_cast<uint32_t>(rig.conn().stats().total_retrans);
    rig.feed(Seq(1), at(10), F::kAck, {}, ts_sack(5005, {{at(0), at(1)}}), 8192);
    EXPECT_EQ(rig.conn().stats().recoveries_undone, total_retrans == 1 ? 1u : 0u);
    if (total_retrans == 1) {
        EXPECT_GE(rig.conn().snapshot().cwnd_bytes, cwnd_before) << "the cut is undone";
    }
    EXPECT_EQ(total_retrans, 1u) << "only segment 0 was retransmitted";
}

// A handler that keeps every mbuf it is given (as a host that places data later would).
class KeepingHandler : public RecordingHandler {
public:
    void on_data(tcp::Connection& c, std::span<tcp::RxSegment> segments) override {
        RecordingHandler::on_data(c, segments);
        for (tcp::RxSegment& s : segments) {
            kept.push_back(s.m);
            s.m = nullptr;
        }
    }
    ~KeepingHandler() override {
        for (rte_mbuf* m : kept) rte_pktmbuf_free(m);
    }
    std::vector<rte_mbuf*> kept;
};

TEST(Connection, ReceiveWindowIsWhatTheApplicationGrants) {
    REQUIRE_TCP_EAL();
    tcp::ConnectionConfig cfg;
    cfg.rcv_buf = 16 * 1024;
    cfg.ooo_segments = 64;
    ConnectionRig rig(cfg);
    KeepingHandler keeper;
    rig.conn().open_active(ConnectionRig::route(), Seq(1000), &keeper);
    rig.finish_burst();
    rig.take_sent();
    rig.feed(Seq(0), Seq(1001), F::kSyn | F::kAck, {}, linux_syn_ack());
    rig.take_sent();
    // The peer fills the 16 KiB window; the application keeps all of it.
    Seq seq(1);
    for (int i = 0; i < 16; ++i) {
        rig.feed(seq, Seq(1001), F::kAck, bytes(1024), ts(5001 + i));
        seq = seq + 1024;
    }
    EXPECT_EQ(rig.conn().held_bytes(), 16u * 1024);
    rig.advance_us(50'000);
    auto sent = rig.take_sent();
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(sent.back().ack, seq);
    EXPECT_EQ(sent.back().window, 0) << "nothing granted: the window is shut";
    // The application is done with 8 KiB: a window update offers it again.
    rig.conn().consumed(8 * 1024);
    rig.finish_burst();
    sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].window, 8u * 1024) << "no window scaling needed for a 16 KiB buffer";
    EXPECT_EQ(rig.conn().held_bytes(), 8u * 1024);
}

TEST(Connection, ZeroWindowIsProbedUntilItOpens) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    tcp::TcpOptions o = linux_syn_ack();
    const Seq iss = rig.establish(Seq(0), o);
    rig.feed(Seq(1), iss + 1, F::kAck, {}, ts(5001), 0);  // window 0
    ASSERT_EQ(rig.conn().send(bytes(3000)), 3000u);
    rig.finish_burst();
    EXPECT_TRUE(rig.take_sent().empty()) << "nothing fits a zero window";
    rig.advance_us(1'100'000);
    auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(sent[0].payload.empty());
    EXPECT_EQ(sent[0].seq, iss) << "a probe for an old byte, which the peer must answer";
    EXPECT_EQ(rig.conn().stats().window_probes, 1u);
    rig.feed(Seq(1), iss + 1, F::kAck, {}, ts(5002), 100);  // 100 << 7 = 12800 bytes
    sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[0].seq, iss + 1);
}

TEST(Connection, PassiveCloseGoesThroughCloseWaitAndLastAck) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    rig.feed(Seq(1), iss + 1, F::kAck | F::kFin, bytes(10), ts(5001));
    EXPECT_EQ(rig.conn().state(), TcpState::CloseWait);
    EXPECT_EQ(rig.handler().peer_closed, 1);
    EXPECT_EQ(rig.handler().data.size(), 10u);
    auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ack, Seq(12)) << "the FIN takes a sequence number";
    rig.conn().close();
    rig.finish_burst();
    sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(sent[0].has(F::kFin));
    EXPECT_EQ(rig.conn().state(), TcpState::LastAck);
    rig.feed(Seq(12), iss + 2, F::kAck, {}, ts(5002));
    EXPECT_EQ(rig.conn().state(), TcpState::Closed);
    EXPECT_EQ(rig.handler().error, TcpError::None);
    EXPECT_EQ(rig.handler().closed, 1);
}

TEST(Connection, FinOutOfOrderWaitsForTheDataBeforeIt) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    rig.feed(Seq(101), iss + 1, F::kAck | F::kFin, bytes(50), ts(5001));
    EXPECT_EQ(rig.conn().state(), TcpState::Established);
    EXPECT_EQ(rig.handler().peer_closed, 0);
    rig.feed(Seq(1), iss + 1, F::kAck, bytes(100), ts(5002));
    EXPECT_EQ(rig.handler().data.size(), 150u);
    EXPECT_EQ(rig.conn().state(), TcpState::CloseWait);
    EXPECT_EQ(rig.handler().peer_closed, 1);
}

TEST(Connection, SimultaneousCloseGoesThroughClosingToTimeWait) {
    REQUIRE_TCP_EAL();
    tcp::ConnectionConfig cfg;
    cfg.time_wait_us = 2'000'000;
    ConnectionRig rig(cfg);
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    rig.conn().close();
    rig.finish_burst();
    auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(sent[0].has(F::kFin));
    EXPECT_EQ(rig.conn().state(), TcpState::FinWait1);
    // The peer's FIN crosses ours: it does not acknowledge our FIN yet.
    rig.feed(Seq(1), iss + 1, F::kAck | F::kFin, {}, ts(5001));
    EXPECT_EQ(rig.conn().state(), TcpState::Closing);
    rig.feed(Seq(2), iss + 2, F::kAck, {}, ts(5002));
    EXPECT_EQ(rig.conn().state(), TcpState::TimeWait);
    EXPECT_EQ(rig.handler().closed, 1);
    EXPECT_EQ(rig.released(), 0) << "the slot stays taken for 2 MSL";
    rig.advance_us(2'100'000);
    EXPECT_EQ(rig.conn().state(), TcpState::Closed);
    EXPECT_EQ(rig.released(), 1);
    EXPECT_EQ(rig.handler().closed, 1) << "on_closed once";
}

TEST(Connection, RetransmittedFinInTimeWaitIsAckedAgain) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    rig.conn().close();
    rig.finish_burst();
    rig.take_sent();
    rig.feed(Seq(1), iss + 2, F::kAck | F::kFin, {}, ts(5001));
    EXPECT_EQ(rig.conn().state(), TcpState::TimeWait);
    EXPECT_EQ(rig.take_sent().size(), 1u);
    rig.feed(Seq(1), iss + 2, F::kAck | F::kFin, {}, ts(5002));
    auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ack, Seq(2));
}

TEST(Connection, AckForUnsentDataIsAnsweredAndIgnored) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    rig.feed(Seq(1), iss + 5000, F::kAck, bytes(10), ts(5001));
    EXPECT_TRUE(rig.handler().data.empty()) << "the segment is dropped";
    EXPECT_EQ(rig.take_sent().size(), 1u);
}

TEST(Connection, RetransmissionOverlappingReceivedDataIsTrimmed) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    rig.establish(Seq(0), linux_syn_ack());
    const auto all = bytes(3000);
    rig.feed(Seq(1), Seq(1001), F::kAck, std::span(all).first(1000), ts(5001));
    // The peer resends [501, 3001): half old, half new.
    rig.feed(Seq(501), Seq(1001), F::kAck, std::span(all).subspan(500), ts(5002));
    EXPECT_EQ(rig.handler().data, all);
    ASSERT_EQ(rig.handler().seqs.size(), 2u);
    EXPECT_EQ(rig.handler().seqs[1], Seq(1001)) << "delivered from rcv_nxt on";
}

TEST(Connection, PassiveOpenAnswersSynWithSynAck) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    tcp::InSegment syn;
    syn.seq = Seq(5000);
    syn.flags = F::kSyn;
    syn.window = 64240;
    syn.options = linux_syn_ack();
    rig.conn().open_passive(ConnectionRig::route(), Seq(42), syn, &rig.handler());
    rig.finish_burst();
    auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].flags, F::kSyn | F::kAck);
    EXPECT_EQ(sent[0].ack, Seq(5001));
    EXPECT_TRUE(sent[0].options.has_timestamps);
    EXPECT_TRUE(sent[0].options.sack_permitted);
    // The SYN again (our SYN-ACK lost): the SYN-ACK again.
    rig.feed(Seq(5000), Seq(0), F::kSyn, {}, linux_syn_ack());
    sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].flags, F::kSyn | F::kAck);
    rig.feed(Seq(5001), Seq(43), F::kAck, {}, ts(5001));
    EXPECT_EQ(rig.conn().state(), TcpState::Established);
    EXPECT_EQ(rig.handler().connected, 1);
}

TEST(Connection, AbortSendsRstAndReportsAborted) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    rig.establish(Seq(0), linux_syn_ack());
    rig.conn().abort();
    rig.finish_burst();
    auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(sent[0].has(F::kRst));
    EXPECT_EQ(rig.handler().error, TcpError::Aborted);
}

}  // namespace
}  // namespace nvmeddp::tcp_test
