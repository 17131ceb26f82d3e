#include <gtest/gtest.h>

#include "tcp/rtt_estimator.hpp"

namespace nvmeddp::tcp {
namespace {

// G = 1 ms, floor 200 ms, ceiling 120 s, initial 1 s (the defaults).
using Config = RttEstimator::Config;

TEST(RttEstimator, InitialRtoBeforeAnySample) {
    RttEstimator rtt;
    EXPECT_FALSE(rtt.has_sample());
    EXPECT_EQ(rtt.rto_us(), 1'000'000u);
    EXPECT_EQ(rtt.srtt_us(), 0u);
    EXPECT_EQ(rtt.min_rtt_us(), 0u);
}

TEST(RttEstimator, FirstSampleSetsSrttToRAndRttvarToHalfR) {
    RttEstimator rtt;
    rtt.sample(100'000);  // R = 100 ms
    EXPECT_TRUE(rtt.has_sample());
    EXPECT_EQ(rtt.srtt_us(), 100'000u);
    EXPECT_EQ(rtt.rttvar_us(), 50'000u);
    EXPECT_EQ(rtt.rto_us(), 100'000u + 4 * 50'000u);  // R + max(G, 2R) = 300 ms
    EXPECT_EQ(rtt.min_rtt_us(), 100'000u);
}

TEST(RttEstimator, LaterSamplesSmoothWithAlphaEighthAndBetaQuarter) {
    RttEstimator rtt;
    rtt.sample(80'000);  // SRTT 80 ms, RTTVAR 40 ms
    rtt.sample(160'000);
    // RTTVAR = 3/4 * 40 + 1/4 * |80 - 160| = 30 + 20 = 50 ms (from the old SRTT);
    // SRTT = 7/8 * 80 + 1/8 * 160 = 70 + 20 = 90 ms.
    EXPECT_EQ(rtt.rttvar_us(), 50'000u);
    EXPECT_EQ(rtt.srtt_us(), 90'000u);
    EXPECT_EQ(rtt.rto_us(), 90'000u + 200'000u);
    rtt.sample(10'000);
    // RTTVAR = 3/4 * 50 + 1/4 * |90 - 10| = 37.5 + 20 = 57.5 ms; SRTT = 7/8 * 90 + 1/8 * 10 = 80 ms.
    EXPECT_EQ(rtt.rttvar_us(), 57'500u);
    EXPECT_EQ(rtt.srtt_us(), 80'000u);
    EXPECT_EQ(rtt.rto_us(), 80'000u + 230'000u);
    EXPECT_EQ(rtt.min_rtt_us(), 10'000u);
}

TEST(RttEstimator, SteadySamplesConvergeToTheFloor) {
    RttEstimator rtt;
    for (int i = 0; i < 200; ++i) rtt.sample(20'000);
    EXPECT_EQ(rtt.srtt_us(), 20'000u);
    EXPECT_LT(rtt.rttvar_us(), 1'000u);
    // SRTT + max(G, 4*RTTVAR) is far below 200 ms: the floor holds.
    EXPECT_EQ(rtt.rto_us(), 200'000u);
}

TEST(RttEstimator, ClockGranularityBoundsTheVarianceTerm) {
    Config c;
    c.min_rto_us = 0;
    c.clock_granularity_us = 10'000;
    RttEstimator rtt(c);
    rtt.sample(1'000);  // RTTVAR 500 us: 4*RTTVAR = 2 ms < G
    EXPECT_EQ(rtt.rto_us(), 1'000u + 10'000u);
}

TEST(RttEstimator, BackoffDoublesUpToTheMaximumAndSampleKeepsIt) {
    RttEstimator rtt;
    rtt.sample(100'000);  // RTO 300 ms
    rtt.backoff();
    EXPECT_EQ(rtt.rto_us(), 600'000u);
    rtt.backoff();
    EXPECT_EQ(rtt.rto_us(), 1'200'000u);
    EXPECT_EQ(rtt.backoff_count(), 2u);
    // Karn: a sample (e.g. from a timestamp) does not end the backoff; the caller does.
    rtt.sample(100'000);  // RTTVAR 37.5 ms: base RTO 100 + 150 = 250 ms
    EXPECT_EQ(rtt.rto_us(), 4 * 250'000u);
    rtt.reset_backoff();
    EXPECT_EQ(rtt.rto_us(), 250'000u);
    EXPECT_EQ(rtt.backoff_count(), 0u);

    for (int i = 0; i < 40; ++i) rtt.backoff();
    EXPECT_EQ(rtt.rto_us(), 120'000'000u);  // 250 ms * 2^9 = 128 s > 120 s
    EXPECT_EQ(rtt.backoff_count(), 40u) << "still counts retries once capped";
}

TEST(RttEstimator, RtoIsClampedToTheConfiguredRange) {
    Config c;
    c.max_rto_us = 2'000'000;
    RttEstimator rtt(c);
    rtt.sample(1'000'000);  // 1 s + 2 s = 3 s > 2 s
    EXPECT_EQ(rtt.rto_us(), 2'000'000u);
    rtt.backoff();
    EXPECT_EQ(rtt.rto_us(), 2'000'000u);
    RttEstimator fast;
    fast.sample(50);  // 50 us + max(1 ms, 100 us) is far below the 200 ms floor
    EXPECT_EQ(fast.rto_us(), 200'000u);
}

TEST(RttEstimator, HugeSamplesDoNotOverflow) {
    RttEstimator rtt;
    rtt.sample(4'000'000'000u);
    rtt.sample(4'000'000'000u);
    EXPECT_EQ(rtt.srtt_us(), 4'000'000'000u);
    EXPECT_EQ(rtt.rto_us(), 120'000'000u);
}

}  // namespace
}  // namespace nvmeddp::tcp
