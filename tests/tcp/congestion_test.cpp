#include <gtest/gtest.h>

#include "tcp/congestion.hpp"

namespace nvmeddp::tcp {
namespace {

constexpr uint32_t kSmss = 1000;  // round numbers

NewRenoCongestion fresh(uint32_t smss = kSmss) {
    NewRenoCongestion cc;
    cc.reset(smss);
    return cc;
}

TEST(NewRenoCongestion, InitialWindowIsRfc6928s) {
    EXPECT_EQ(fresh(1460).cwnd(), 14'600u);  // 10 * 1460 = 14600 exactly
    EXPECT_EQ(fresh(1000).cwnd(), 10'000u);  // 10 segments
    EXPECT_EQ(fresh(536).cwnd(), 5'360u);
    EXPECT_EQ(fresh(2000).cwnd(), 14'600u);  // 14600 bytes caps it
    EXPECT_EQ(fresh(9000).cwnd(), 18'000u);  // but never below 2 segments
    const auto cc = fresh();
    EXPECT_EQ(cc.ssthresh(), UINT32_MAX);
    EXPECT_FALSE(cc.in_recovery());
    EXPECT_EQ(cc.dup_acks(), 0u);
}

TEST(NewRenoCongestion, SlowStartGrowsByBytesAckedUpToTwoSegmentsPerAck) {
    auto cc = fresh();
    EXPECT_FALSE(cc.on_new_ack(1'000, Seq(1'001), 10'000));
    EXPECT_EQ(cc.cwnd(), 11'000u);
    cc.on_new_ack(2'000, Seq(3'001), 10'000);  // a delayed ACK for two segments: two SMSS
    EXPECT_EQ(cc.cwnd(), 13'000u);
    cc.on_new_ack(500, Seq(3'501), 10'000);  // a small segment counts for its bytes
    EXPECT_EQ(cc.cwnd(), 13'500u);
    cc.on_new_ack(8'000, Seq(11'501), 10'000);  // a stretch ACK counts for L = 2 segments only
    EXPECT_EQ(cc.cwnd(), 15'500u);
}

TEST(NewRenoCongestion, SlowStartDoublesPerRoundTrip) {
    auto cc = fresh();
    Seq una(1);
    for (int rtt = 0; rtt < 3; ++rtt) {
        const uint32_t window = cc.cwnd();
        for (uint32_t sent = 0; sent < window; sent += kSmss) {
            una += kSmss;
            cc.on_new_ack(kSmss, una, window - sent);
        }
        EXPECT_EQ(cc.cwnd(), 2 * window) << "round trip " << rtt;
    }
}

TEST(NewRenoCongestion, CongestionAvoidanceGrowsOneSegmentPerRoundTrip) {
    auto cc = fresh();
    cc.on_timeout(40'000, Seq(40'001));  // ssthresh 20000, cwnd 1000
    ASSERT_EQ(cc.ssthresh(), 20'000u);
    ASSERT_EQ(cc.cwnd(), 1'000u);
    Seq una(1);
    while (cc.cwnd() < cc.ssthresh()) {
        una += kSmss;
        cc.on_new_ack(kSmss, una, cc.cwnd());
    }
    EXPECT_EQ(cc.cwnd(), 20'000u);  // slow start ends exactly at ssthresh with 1-SMSS ACKs
    for (uint32_t rtt = 1; rtt <= 5; ++rtt) {
        const uint32_t window = cc.cwnd();
        for (uint32_t sent = 0; sent < window; sent += kSmss) {
            EXPECT_EQ(cc.cwnd(), window) << "grew before a whole window was acknowledged";
            una += kSmss;
            cc.on_new_ack(kSmss, una, window - sent);
        }
        EXPECT_EQ(cc.cwnd(), 20'000u + rtt * kSmss);
    }
    // Delayed ACKs (two segments each) give the same growth per round trip: bytes are counted.
    const uint32_t window = cc.cwnd();
    for (uint32_t sent = 0; sent < window; sent += 2 * kSmss) {
        una += 2 * kSmss;
        cc.on_new_ack(2 * kSmss, una, window - sent);
    }
    EXPECT_EQ(cc.cwnd(), window + kSmss);
}

// snd_una 1001, 10 segments of 1000 in flight up to snd_max 11001.
struct LossSetup {
    NewRenoCongestion cc = fresh();
    Seq una{1'001};
    Seq max{11'001};
    uint32_t flight = 10'000;
};

TEST(NewRenoCongestion, LimitedTransmitThenFastRetransmitOnTheThirdDupAck) {
    LossSetup s;
    EXPECT_EQ(s.cc.limited_transmit_allowance(), 0u);
    EXPECT_FALSE(s.cc.on_dup_ack(s.una, s.max, s.flight));
    EXPECT_EQ(s.cc.limited_transmit_allowance(), 1'000u);  // one new segment
    EXPECT_FALSE(s.cc.on_dup_ack(s.una, s.max, s.flight));
    EXPECT_EQ(s.cc.limited_transmit_allowance(), 2'000u);  // two in all
    EXPECT_EQ(s.cc.cwnd(), 10'000u) << "limited transmit does not change cwnd";
    s.max += 2'000;  // the two limited-transmit segments
    s.flight += 2'000;
    EXPECT_TRUE(s.cc.on_dup_ack(s.una, s.max, s.flight));
    EXPECT_TRUE(s.cc.in_recovery());
    EXPECT_EQ(s.cc.ssthresh(), 6'000u);  // flight 12000 / 2
    EXPECT_EQ(s.cc.cwnd(), 9'000u);      // ssthresh + 3 SMSS
    EXPECT_EQ(s.cc.limited_transmit_allowance(), 0u);
    // Further duplicates inflate cwnd and never retransmit again.
    for (uint32_t i = 1; i <= 5; ++i) {
        EXPECT_FALSE(s.cc.on_dup_ack(s.una, s.max, s.flight));
        EXPECT_EQ(s.cc.cwnd(), 9'000u + i * kSmss);
    }
    EXPECT_EQ(s.cc.dup_acks(), 8u);
}

TEST(NewRenoCongestion, SsthreshIsAtLeastTwoSegments) {
    LossSetup s;
    for (int i = 0; i < 2; ++i) s.cc.on_dup_ack(s.una, s.max, 3'000);
    EXPECT_TRUE(s.cc.on_dup_ack(s.una, s.max, 3'000));
    EXPECT_EQ(s.cc.ssthresh(), 2'000u);
    EXPECT_EQ(s.cc.cwnd(), 5'000u);
}

TEST(NewRenoCongestion, PartialAcksRetransmitAndDeflateThenAFullAckEndsRecovery) {
    LossSetup s;
    for (int i = 0; i < 3; ++i) s.cc.on_dup_ack(s.una, s.max, s.flight);  // recover = 11001
    ASSERT_TRUE(s.cc.in_recovery());
    ASSERT_EQ(s.cc.cwnd(), 8'000u);  // ssthresh 5000 + 3000
    s.cc.on_dup_ack(s.una, s.max, s.flight);
    s.cc.on_dup_ack(s.una, s.max, s.flight);  // cwnd 10000
    ASSERT_EQ(s.cc.cwnd(), 10'000u);

    // The retransmission filled the first hole; the next one is at 4001.
    EXPECT_TRUE(s.cc.on_new_ack(3'000, Seq(4'001), 10'000));
    EXPECT_EQ(s.cc.cwnd(), 10'000u - 3'000u + 1'000u);
    EXPECT_TRUE(s.cc.in_recovery());
    EXPECT_EQ(s.cc.dup_acks(), 0u);
    // In recovery still: a duplicate after the partial ACK inflates, and is no limited transmit.
    EXPECT_FALSE(s.cc.on_dup_ack(Seq(4'001), s.max, 7'000));
    EXPECT_EQ(s.cc.cwnd(), 9'000u);
    EXPECT_EQ(s.cc.limited_transmit_allowance(), 0u);
    s.cc.on_dup_ack(Seq(4'001), s.max, 7'000);
    s.cc.on_dup_ack(Seq(4'001), s.max, 7'000);
    EXPECT_FALSE(s.cc.on_dup_ack(Seq(4'001), s.max, 7'000)) << "no second fast retransmit in recovery";
    EXPECT_EQ(s.cc.cwnd(), 12'000u);
    EXPECT_EQ(s.cc.ssthresh(), 5'000u);
    EXPECT_TRUE(s.cc.on_new_ack(500, Seq(4'501), 10'000));
    EXPECT_EQ(s.cc.cwnd(), 11'500u) << "a partial ACK below one SMSS gets nothing back";
    // The full ACK (up to recover): cwnd = min(ssthresh, max(flight after, SMSS) + SMSS).
    EXPECT_FALSE(s.cc.on_new_ack(6'500, Seq(11'001), 8'500));  // 2000 still in flight after it
    EXPECT_FALSE(s.cc.in_recovery());
    EXPECT_EQ(s.cc.cwnd(), 3'000u);
    EXPECT_EQ(s.cc.ssthresh(), 5'000u);
    // Back to slow start up to ssthresh.
    s.cc.on_new_ack(1'000, Seq(12'001), 2'000);
    EXPECT_EQ(s.cc.cwnd(), 4'000u);
}

TEST(NewRenoCongestion, FullAckWithMuchInFlightLeavesCwndAtSsthresh) {
    LossSetup s;
    for (int i = 0; i < 3; ++i) s.cc.on_dup_ack(s.una, s.max, s.flight);
    EXPECT_FALSE(s.cc.on_new_ack(10'000, Seq(11'001), 20'000));
    EXPECT_EQ(s.cc.cwnd(), 5'000u);
}

TEST(NewRenoCongestion, NoSecondFastRetransmitForDupAcksBelowRecover) {
    LossSetup s;
    for (int i = 0; i < 3; ++i) s.cc.on_dup_ack(s.una, s.max, s.flight);  // recover = 11001
    s.cc.on_new_ack(10'000, Seq(11'001), 10'000);                          // full ACK
    ASSERT_FALSE(s.cc.in_recovery());
    // Duplicates at recover (the first byte after the episode just repaired: RFC 6582 wants the ACK
    // to cover more than the highest byte sent before it): no retransmit.
    for (int i = 0; i < 4; ++i) EXPECT_FALSE(s.cc.on_dup_ack(Seq(11'001), Seq(20'001), 9'000));
    EXPECT_FALSE(s.cc.in_recovery());
    EXPECT_EQ(s.cc.limited_transmit_allowance(), 0u);
    s.cc.on_new_ack(1, Seq(11'002), 9'000);
    // Beyond recover it is a new loss: fast retransmit again.
    EXPECT_FALSE(s.cc.on_dup_ack(Seq(11'002), Seq(20'001), 9'000));
    EXPECT_FALSE(s.cc.on_dup_ack(Seq(11'002), Seq(20'001), 9'000));
    EXPECT_TRUE(s.cc.on_dup_ack(Seq(11'002), Seq(20'001), 9'000));
    EXPECT_TRUE(s.cc.in_recovery());
}

TEST(NewRenoCongestion, TheFirstLossOfAConnectionIsFastRetransmittedWhereverItIs) {
    // No recovery or timeout has set `recover` yet, even with sequence numbers near the wrap.
    auto cc = fresh();
    const Seq una(0xFFFF'FF00u), max(una + 10'000);
    EXPECT_FALSE(cc.on_dup_ack(una, max, 10'000));
    EXPECT_FALSE(cc.on_dup_ack(una, max, 10'000));
    EXPECT_TRUE(cc.on_dup_ack(una, max, 10'000));
}

TEST(NewRenoCongestion, TimeoutCollapsesToTheLossWindowAndBlocksFastRetransmitOfItsEcho) {
    LossSetup s;
    for (int i = 0; i < 3; ++i) s.cc.on_dup_ack(s.una, s.max, s.flight);
    ASSERT_TRUE(s.cc.in_recovery());
    s.cc.on_timeout(10'000, s.max);
    EXPECT_FALSE(s.cc.in_recovery());
    EXPECT_EQ(s.cc.cwnd(), 1'000u);
    EXPECT_EQ(s.cc.ssthresh(), 5'000u);
    EXPECT_EQ(s.cc.dup_acks(), 0u);
    s.cc.on_timeout(1'500, s.max);
    EXPECT_EQ(s.cc.ssthresh(), 2'000u);  // max(flight/2, 2 SMSS)
    // Slow start again from the loss window.
    EXPECT_FALSE(s.cc.on_new_ack(1'000, Seq(2'001), 10'000));
    EXPECT_EQ(s.cc.cwnd(), 2'000u);

    // A first timeout of a connection sets recover too: go-back-N resends make the peer send
    // duplicates for data it already had, below recover, which are not a new loss.
    auto cc = fresh();
    cc.on_timeout(10'000, Seq(11'001));
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(cc.on_dup_ack(Seq(5'001), Seq(11'001), 6'000));
    EXPECT_FALSE(cc.in_recovery());
    cc.on_new_ack(7'000, Seq(12'001), 6'000);
    for (int i = 0; i < 2; ++i) EXPECT_FALSE(cc.on_dup_ack(Seq(12'001), Seq(15'001), 3'000));
    EXPECT_TRUE(cc.on_dup_ack(Seq(12'001), Seq(15'001), 3'000)) << "beyond recover: a new loss";
}

TEST(NewRenoCongestion, UndoneRecoveryLeavesNoRecoveryPoint) {
    // A recovery that DSACKs show was reordering: a real loss right after it, below its recovery
    // point, must start a recovery of its own, not wait for the retransmission timer.
    NewRenoCongestion c;
    c.reset(1448);
    c.enter_sack_recovery(20 * 1448, Seq(100000));
    c.undo_recovery();
    EXPECT_TRUE(c.sack_recovery_allowed(Seq(60000)));
}

}  // namespace
}  // namespace nvmeddp::tcp
