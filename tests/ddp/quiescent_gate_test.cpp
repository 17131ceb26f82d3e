// QuiescentGate semantics on one thread (the two-thread behaviour is concurrency_test.cpp's).
#include <gtest/gtest.h>

#include "ddp/quiescent_gate.hpp"

using namespace nvmeddp::ddp;

TEST(QuiescentGate, RetireIsImmediateWhileTheEngineIsOutsideABurst) {
    QuiescentGate g;
    EXPECT_FALSE(g.engine_online());
    EXPECT_EQ(g.retire(), 0u);
    g.enter();
    g.leave();
    EXPECT_EQ(g.retire(), 0u);
}

TEST(QuiescentGate, RetireDuringABurstWaitsForItsEnd) {
    QuiescentGate g;
    g.enter();
    const auto t = g.retire();
    ASSERT_NE(t, 0u);
    EXPECT_FALSE(g.passed(t));
    g.leave();
    EXPECT_TRUE(g.passed(t));
}

TEST(QuiescentGate, ALaterBurstPassesEarlierTicketsButNotLaterOnes) {
    QuiescentGate g;
    g.enter();
    const auto t1 = g.retire();
    g.leave();
    g.enter();  // a new burst began after t1 was issued: it sees the retirement
    EXPECT_TRUE(g.passed(t1));
    const auto t2 = g.retire();  // issued during this burst
    ASSERT_NE(t2, 0u);
    EXPECT_GT(t2, t1);
    EXPECT_FALSE(g.passed(t2));
    g.leave();
    EXPECT_TRUE(g.passed(t2));
}
