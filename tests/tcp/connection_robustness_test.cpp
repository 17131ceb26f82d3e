// Connections that must not hang, reset or accept what they should not, found by review: each test
// is the scenario that went wrong (ACKs lost, windows shrunk, mbufs exhausted, blind segments).
#include <gtest/gtest.h>

#include "connection_rig.hpp"
#include "tcp/congestion.hpp"

namespace nvmeddp::tcp_test {
namespace {

using tcp::Seq;
using tcp::TcpError;
using tcp::TcpState;
namespace F = pmd::tcp_flags;

TEST(ConnectionRobustness, RetransmittedFinInCloseWaitIsAckedAgain) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    rig.feed(Seq(1), iss + 1, F::kAck | F::kFin, bytes(10), ts(5001));
    ASSERT_EQ(rig.conn().state(), TcpState::CloseWait);
    ASSERT_EQ(rig.take_sent().size(), 1u);
    // Our ACK was lost: the peer sends its data and FIN again. Without an answer it retries until
    // it gives up and resets.
    rig.feed(Seq(1), iss + 1, F::kAck | F::kFin, bytes(10), ts(5002));
    const auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ack, Seq(12));
    EXPECT_EQ(rig.handler().data.size(), 10u) << "the copy is not delivered again";
}

TEST(ConnectionRobustness, MoreReadySegmentsThanTheListHoldsAreAllDelivered) {
    REQUIRE_TCP_EAL();
    tcp::ConnectionConfig cfg;
    cfg.ready_segments = 2;
    ConnectionRig rig(cfg);
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    for (uint32_t i = 1; i < 5; ++i) rig.feed(Seq(1 + 100 * i), iss + 1, F::kAck, bytes(100), ts(5001));
    rig.take_sent();
    // The hole fills: five segments become in order at once, more than the ready list holds.
    rig.feed(Seq(1), iss + 1, F::kAck, bytes(100), ts(5002));
    EXPECT_EQ(rig.handler().data.size(), 500u) << "acknowledged must mean delivered";
}

// A burst brings more in-order segments than the ready list holds: the rest wait in the
// out-of-order queue (parked), and are neither dropped nor taken for out-of-order arrivals (which
// would ACK at once and count as reordering); one ACK after the burst covers them all.
TEST(ConnectionRobustness, ABurstOfMoreInOrderSegmentsThanTheReadyListHoldsIsDeliveredWhole) {
    REQUIRE_TCP_EAL();
    tcp::ConnectionConfig cfg;
    cfg.ready_segments = 2;
    ConnectionRig rig(cfg);
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    rig.take_sent();
    rig.hold_burst = true;
    for (uint32_t i = 0; i < 6; ++i) rig.feed(Seq(1 + 100 * i), iss + 1, F::kAck, bytes(100), ts(5001));
    EXPECT_TRUE(rig.take_sent().empty()) << "nothing is sent inside the burst";
    rig.finish_burst();
    EXPECT_EQ(rig.handler().data.size(), 600u);
    EXPECT_EQ(rig.conn().stats().ooo_dropped, 0u);
    EXPECT_EQ(rig.conn().stats().rcv_ooopack, 0u);
    const auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ack, Seq(601));
    EXPECT_EQ(sent[0].options.sack_count, 0u);
}

// A segment the out-of-order queue has no room for is dropped: the ACK sent at once carries no
// (D-)SACK block for it, which would tell the sender we hold bytes we threw away.
TEST(ConnectionRobustness, ASegmentDroppedForWantOfRoomIsNotSacked) {
    REQUIRE_TCP_EAL();
    tcp::ConnectionConfig cfg;
    cfg.ooo_segments = 2;
    cfg.rcv_buf = 2 * cfg.mss;
    ConnectionRig rig(cfg);
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    rig.take_sent();
    rig.feed(Seq(201), iss + 1, F::kAck, bytes(100), ts(5001));
    rig.feed(Seq(401), iss + 1, F::kAck, bytes(100), ts(5001));
    rig.take_sent();
    rig.feed(Seq(601), iss + 1, F::kAck, bytes(100), ts(5001));
    EXPECT_EQ(rig.conn().stats().ooo_dropped, 1u);
    const auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u) << "an ACK at once";
    EXPECT_EQ(sent[0].ack, Seq(1));
    for (uint8_t i = 0; i < sent[0].options.sack_count; ++i) {
        EXPECT_FALSE(sent[0].options.sack[i].left <= Seq(601) && Seq(601) < sent[0].options.sack[i].right)
            << "block " << int(i) << " covers the dropped bytes";
    }
}

// A connection sharing its endpoint's out-of-order queues: behind a hole it borrows one and keeps
// everything; with none left it keeps the segments nearest the hole in its inline entries, drops
// the rest (never SACKing them) and takes them again from the sender's retransmission. The bytes
// handed up are the stream's either way, and the loan returns once the hole is filled.
TEST(ConnectionRobustness, WithTheSharedOutOfOrderQueuesLentTheStreamStillComesOutWhole) {
    REQUIRE_TCP_EAL();
    constexpr uint32_t kBehind = 20;  // segments after the hole, more than the inline entries
    for (const uint32_t queues : {1u, 0u}) {
        SCOPED_TRACE(queues == 1 ? "a queue to borrow" : "every queue lent");
        tcp::OutOfOrderReserve reserve(queues, tcp::ConnectionConfig{}.ooo_segments);
        ConnectionRig rig({}, 1'000'000, {}, &reserve);
        const Seq iss = rig.establish(Seq(0), linux_syn_ack());
        rig.take_sent();
        const std::vector<uint8_t> stream = bytes(100 * (kBehind + 1));
        const auto part = [&](uint32_t i) {
            return std::vector<uint8_t>(stream.begin() + 100 * i, stream.begin() + 100 * (i + 1));
        };
        for (uint32_t i = 1; i <= kBehind; ++i) rig.feed(Seq(1 + 100 * i), iss + 1, F::kAck, part(i), ts(5001));
        const uint64_t dropped = rig.conn().stats().ooo_dropped;
        EXPECT_EQ(dropped, queues == 1 ? 0u : kBehind - tcp::ReceiveQueue::kInlineSegments);
        EXPECT_EQ(reserve.stats().lent, queues);
        const auto acks = rig.take_sent();
        ASSERT_FALSE(acks.empty());
        const Sent& last = acks.back();
        ASSERT_GT(last.options.sack_count, 0u);
        const Seq sacked_to = queues == 1 ? Seq(1 + 100 * (kBehind + 1)) : Seq(1 + 100 * (tcp::ReceiveQueue::kInlineSegments + 1));
        EXPECT_EQ(last.options.sack[0].right, sacked_to) << "SACK only what is held";
        // The hole, then the sender's retransmission of everything after it.
        rig.feed(Seq(1), iss + 1, F::kAck, part(0), ts(5002));
        for (uint32_t i = 1; i <= kBehind; ++i) rig.feed(Seq(1 + 100 * i), iss + 1, F::kAck, part(i), ts(5003));
        rig.finish_burst();
        EXPECT_EQ(rig.handler().data, stream);
        EXPECT_EQ(reserve.stats().lent, 0u) << "the loan comes back";
        EXPECT_EQ(reserve.stats().refused > 0, queues == 0);
    }
}

TEST(ConnectionRobustness, SmallWindowWithNothingInFlightStillSends) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    rig.feed(Seq(1), iss + 1, F::kAck, {}, ts(5001), 8192);  // 1 MiB
    rig.feed(Seq(1), iss + 1, F::kAck, {}, ts(5002), 8);     // 1 KiB: below half the largest seen
    ASSERT_EQ(rig.conn().send(bytes(3000)), 3000u);
    rig.finish_burst();
    EXPECT_TRUE(rig.take_sent().empty()) << "silly window avoidance holds the small segment back";
    rig.advance_us(1'500'000);  // the override (persist) timer
    const auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].payload.size(), 1024u);
}

TEST(ConnectionRobustness, BlindSegmentWithAnAncientAckIsNotTaken) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    ASSERT_EQ(rig.conn().send(bytes(100)), 100u);
    rig.finish_burst();
    rig.take_sent();
    rig.feed(Seq(1), iss + 101, F::kAck, {}, ts(5001), 8192);
    // The right sequence number but an ACK 1 GiB in the past (RFC 5961 5): an injection.
    rig.feed(Seq(1), iss + 101 - 0x40000000u, F::kAck, bytes(50), ts(5002), 8192);
    EXPECT_TRUE(rig.handler().data.empty());
    EXPECT_EQ(rig.conn().stats().challenge_acks, 1u);
}

TEST(ConnectionRobustness, FinWait2KeepsReceivingAndTimesOutOnlyWhenSilent) {
    REQUIRE_TCP_EAL();
    tcp::ConnectionConfig cfg;
    cfg.fin_wait2_us = 2'000'000;
    ConnectionRig rig(cfg);
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    rig.conn().close();
    rig.finish_burst();
    rig.take_sent();
    rig.feed(Seq(1), iss + 2, F::kAck, {}, ts(5001));
    ASSERT_EQ(rig.conn().state(), TcpState::FinWait2);
    Seq seq(1);
    for (int i = 0; i < 8; ++i) {  // 4 s of data, half-closed: the timer restarts with each segment
        rig.advance_us(500'000);
        rig.feed(seq, iss + 2, F::kAck, bytes(100), ts(5002 + i));
        seq = seq + 100;
    }
    EXPECT_EQ(rig.conn().state(), TcpState::FinWait2);
    EXPECT_EQ(rig.handler().data.size(), 800u);
    rig.take_sent();
    rig.advance_us(2'100'000);  // then silence
    EXPECT_EQ(rig.conn().state(), TcpState::Closed);
    EXPECT_EQ(rig.handler().error, TcpError::TimedOut) << "never reported as an orderly close";
    const auto sent = rig.take_sent();
    ASSERT_FALSE(sent.empty());
    EXPECT_TRUE(sent.back().has(F::kRst));
}

TEST(ConnectionRobustness, SendThatFoundNoMbufIsRetried) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    rig.feed(Seq(1), iss + 1, F::kAck, {}, ts(5001), 8192);
    rig.take_sent();
    ASSERT_TRUE(rig.conn().send(mbuf_of(bytes(1000))));
    std::vector<rte_mbuf*> hog;
    while (rte_mbuf* m = rte_pktmbuf_alloc(pool())) hog.push_back(m);
    rig.finish_burst();
    EXPECT_TRUE(rig.take_sent().empty());
    for (rte_mbuf* m : hog) rte_pktmbuf_free(m);
    rig.advance_us(5'000);
    const auto sent = rig.take_sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].payload.size(), 1000u);
}

TEST(ConnectionRobustness, RecoveryPointDoesNotGoStaleAcrossTheWrap) {
    tcp::NewRenoCongestion c;
    c.reset(1448);
    c.on_timeout(100000, Seq(1000));
    // Loss-free progress past the recovery point, then 2 GiB later a loss: it must start recovery.
    EXPECT_FALSE(c.on_new_ack(1448, Seq(2448), 2896));
    const Seq una(1000u + 0x80000000u + 5000u);
    EXPECT_TRUE(c.sack_recovery_allowed(una));
    bool fast_retransmit = false;
    for (int i = 0; i < 3; ++i) fast_retransmit |= c.on_dup_ack(una, una + 100000, 100000);
    EXPECT_TRUE(fast_retransmit);
}

TEST(ConnectionRobustness, ZeroWindowWithDataInFlightIsProbedNotTimedOut) {
    REQUIRE_TCP_EAL();
    tcp::ConnectionConfig cfg;
    cfg.max_retransmits = 3;
    ConnectionRig rig(cfg);
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    rig.feed(Seq(1), iss + 1, F::kAck, {}, ts(5001), 8192);
    ASSERT_EQ(rig.conn().send(bytes(3000)), 3000u);
    rig.finish_burst();
    ASSERT_GT(rig.take_sent().size(), 0u);
    rig.feed(Seq(1), iss + 1001, F::kAck, {}, ts(5002), 0);  // part acknowledged, window shut
    size_t probes = 0;
    uint32_t t = 5003;
    for (int i = 0; i < 300; ++i) {
        rig.advance_us(100'000);
        for (const Sent& s : rig.take_sent()) {
            ++probes;
            rig.feed(Seq(1), iss + 1001, F::kAck, {}, ts(t++), 0);  // the peer answers: still shut
            (void)s;
        }
    }
    EXPECT_GT(probes, 3u) << "the head segment probes the shut window";
    EXPECT_NE(rig.conn().state(), TcpState::Closed) << "a peer that answers is not timed out";
}

TEST(ConnectionRobustness, DroppedSegmentDoesNotPoisonPaws) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const Seq iss = rig.establish(Seq(0), linux_syn_ack());
    // In window, but it acknowledges data never sent (dropped): its huge TSval must not stick.
    rig.feed(Seq(1), iss + 1 + 0x10000000u, F::kAck, {}, ts(5001 + 0x70000000u));
    rig.take_sent();
    rig.feed(Seq(1), iss + 1, F::kAck, bytes(100), ts(5002));
    EXPECT_EQ(rig.handler().data.size(), 100u);
}

TEST(ConnectionRobustness, DataOnSynAckIsTaken) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    rig.conn().open_active(ConnectionRig::route(), Seq(1000), &rig.handler());
    rig.finish_burst();
    const auto syn = rig.take_sent();
    ASSERT_EQ(syn.size(), 1u);
    rig.feed(Seq(0), syn[0].seq + 1, F::kSyn | F::kAck, bytes(10), linux_syn_ack());
    EXPECT_EQ(rig.handler().data, bytes(10));
}

TEST(ConnectionRobustness, AnswersToInvalidSegmentsAreRateLimited) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    rig.establish(Seq(0), linux_syn_ack());
    // A flood of in-window RSTs not at rcv_nxt: one challenge ACK per 500 ms, not one each.
    for (int i = 0; i < 100; ++i) rig.feed(Seq(500 + i), Seq(0), F::kRst);
    EXPECT_EQ(rig.take_sent().size(), 1u);
    rig.advance_us(600'000);
    rig.feed(Seq(700), Seq(0), F::kRst);
    EXPECT_EQ(rig.take_sent().size(), 1u);
}

// An exact RST (at rcv_nxt) in every synchronized state ends the connection; the application hears
// "reset" unless it had already been told the connection was over (TIME-WAIT).
struct RstCase {
    const char* name;
    TcpState state;
};

class RstInEveryState : public testing::TestWithParam<RstCase> {};

TEST_P(RstInEveryState, ExactRstCloses) {
    REQUIRE_TCP_EAL();
    ConnectionRig rig;
    const TcpState want = GetParam().state;
    Seq rcv_nxt(1);
    Seq iss;
    if (want == TcpState::SynReceived) {
        tcp::InSegment syn;
        syn.seq = Seq(0);
        syn.flags = F::kSyn;
        syn.window = 65535;
        syn.options = linux_syn_ack();
        rig.conn().open_passive(ConnectionRig::route(), Seq(7), syn, &rig.handler());
        rig.finish_burst();
    } else {
        iss = rig.establish(Seq(0), linux_syn_ack());
        switch (want) {
            case TcpState::FinWait1:
                rig.conn().close();
                rig.finish_burst();
                break;
            case TcpState::FinWait2:
                rig.conn().close();
                rig.finish_burst();
                rig.feed(Seq(1), iss + 2, F::kAck, {}, ts(5001));
                break;
            case TcpState::CloseWait:
                rig.feed(Seq(1), iss + 1, F::kAck | F::kFin, {}, ts(5001));
                rcv_nxt = Seq(2);
                break;
            case TcpState::LastAck:
                rig.feed(Seq(1), iss + 1, F::kAck | F::kFin, {}, ts(5001));
                rig.conn().close();
                rig.finish_burst();
                rcv_nxt = Seq(2);
                break;
            case TcpState::Closing:
                rig.conn().close();
                rig.finish_burst();
                rig.feed(Seq(1), iss + 1, F::kAck | F::kFin, {}, ts(5001));
                rcv_nxt = Seq(2);
                break;
            case TcpState::TimeWait:
                rig.conn().close();
                rig.finish_burst();
                rig.feed(Seq(1), iss + 2, F::kAck | F::kFin, {}, ts(5001));
                rcv_nxt = Seq(2);
                break;
            default:
                break;
        }
    }
    ASSERT_EQ(rig.conn().state(), want) << "could not reach " << tcp::to_string(want);
    rig.take_sent();
    rig.feed(rcv_nxt, Seq(0), F::kRst);
    EXPECT_EQ(rig.conn().state(), TcpState::Closed);
    EXPECT_TRUE(rig.take_sent().empty()) << "an RST is never answered";
    EXPECT_EQ(rig.handler().closed, 1) << "on_closed exactly once";
    if (want == TcpState::TimeWait) {
        EXPECT_EQ(rig.handler().error, TcpError::None) << "told at TIME-WAIT: the close was orderly";
    } else if (want == TcpState::SynReceived) {
        EXPECT_EQ(rig.handler().error, TcpError::Refused);
    } else {
        EXPECT_EQ(rig.handler().error, TcpError::Reset);
    }
    EXPECT_EQ(rig.released(), 1);
}

INSTANTIATE_TEST_SUITE_P(States, RstInEveryState,
                         testing::Values(RstCase{"SynReceived", TcpState::SynReceived},
                                         RstCase{"Established", TcpState::Established},
                                         RstCase{"FinWait1", TcpState::FinWait1},
                                         RstCase{"FinWait2", TcpState::FinWait2},
                                         RstCase{"CloseWait", TcpState::CloseWait},
                                         RstCase{"LastAck", TcpState::LastAck},
                                         RstCase{"Closing", TcpState::Closing},
                                         RstCase{"TimeWait", TcpState::TimeWait}),
                         [](const testing::TestParamInfo<RstCase>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace nvmeddp::tcp_test
