// The resync mailboxes: requests replace each other, answers are taken once and only for the
// request they name, ids wrap without ever being 0.
#include <gtest/gtest.h>

#include "ddp/resync_channel.hpp"

using namespace nvmeddp::ddp;

TEST(ResyncChannel, NothingPendingAtFirst) {
    ResyncChannel ch;
    EXPECT_FALSE(ch.pending());
    EXPECT_FALSE(ch.take_answer());
    EXPECT_EQ(ch.answer({100, 1}, true), Status::NoResyncPending);
}

TEST(ResyncChannel, RequestAnswerTakeOnce) {
    ResyncChannel ch;
    const ResyncRequest r = ch.post(0xFFFFFFF0u);
    EXPECT_NE(r.id, 0u);
    ASSERT_TRUE(ch.pending());
    EXPECT_EQ(*ch.pending(), r);
    EXPECT_FALSE(ch.take_answer());  // not answered yet

    EXPECT_EQ(ch.answer(r, true), Status::Ok);
    EXPECT_FALSE(ch.pending());  // answered: not pending for the host any more
    EXPECT_EQ(ch.answer(r, false), Status::NoResyncPending);  // and not twice

    const auto a = ch.take_answer();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->request, r);
    EXPECT_TRUE(a->confirmed);
    EXPECT_FALSE(ch.take_answer());  // the engine takes it once
}

TEST(ResyncChannel, ANewerRequestMakesTheOlderStale) {
    ResyncChannel ch;
    const ResyncRequest first = ch.post(1000);
    const ResyncRequest second = ch.post(5000);
    EXPECT_NE(first.id, second.id);
    EXPECT_EQ(*ch.pending(), second);
    EXPECT_EQ(ch.answer(first, true), Status::StaleResync);
    EXPECT_FALSE(ch.take_answer());
    EXPECT_EQ(ch.answer(second, false), Status::Ok);
    const auto a = ch.take_answer();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->request, second);
    EXPECT_FALSE(a->confirmed);
}

TEST(ResyncChannel, AnAnswerThatCrossesANewRequestIsIgnoredByTheEngine) {
    ResyncChannel ch;
    const ResyncRequest first = ch.post(1000);
    ASSERT_EQ(ch.answer(first, true), Status::Ok);  // the host answers...
    const ResyncRequest second = ch.post(2000);      // ...while the engine moves on
    EXPECT_FALSE(ch.take_answer());                  // the answer names the old request
    EXPECT_EQ(*ch.pending(), second);
}

TEST(ResyncChannel, AnswerMustNameTheRequestExactly) {
    ResyncChannel ch;
    const ResyncRequest r = ch.post(1000);
    EXPECT_EQ(ch.answer({1001, r.id}, true), Status::StaleResync);
    EXPECT_EQ(ch.answer({1000, r.id + 1}, true), Status::StaleResync);
    EXPECT_EQ(ch.answer({1000, 0}, true), Status::NoResyncPending);
    EXPECT_EQ(ch.answer(r, true), Status::Ok);
}

TEST(ResyncChannel, IdsStayNonZeroAndDistinctAcrossManyRequests) {
    ResyncChannel ch;
    uint32_t previous = 0;
    for (uint32_t i = 0; i < 100000; ++i) {
        const ResyncRequest r = ch.post(i);
        ASSERT_NE(r.id, 0u);
        ASSERT_NE(r.id, previous);
        ASSERT_LT(r.id, 0x80000000u);
        previous = r.id;
    }
}
