// The fixed pool the engine's PDUs with holes and the TCP's out-of-order queues are lent from.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>

#include "nvmetcp/lending_pool.hpp"

namespace nvmeddp::nvmetcp {
namespace {

// Items of several elements do not overlap, come from the first, and are lent again in any order
// they came back, each once; the statistics count what happened.
TEST(LendingPool, LendsDisjointItemsEachOnceAndCountsWhatHappened) {
    LendingPool<uint64_t> pool(3, 4);
    EXPECT_EQ(pool.elements(), 4u);
    uint64_t* a = pool.take();
    uint64_t* b = pool.take();
    uint64_t* c = pool.take();
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(b, a + 4) << "handed out from the first, one item after another";
    EXPECT_EQ(c, a + 8);
    EXPECT_EQ(pool.take(), nullptr) << "three items, all lent";
    EXPECT_EQ(pool.stats().refused, 1u);
    for (uint64_t* item : {a, b, c})
        for (int e = 0; e < 4; ++e) item[e] = reinterpret_cast<uintptr_t>(item);  // every element writable
    for (uint64_t* item : {a, b, c})
        for (int e = 0; e < 4; ++e) EXPECT_EQ(item[e], reinterpret_cast<uintptr_t>(item)) << "items do not overlap";

    pool.give_back(a);
    pool.give_back(c);
    EXPECT_EQ(pool.stats().lent, 1u);
    std::set<uint64_t*> again{pool.take(), pool.take()};
    EXPECT_EQ(again, (std::set<uint64_t*>{a, c})) << "what came back is lent again, each once";
    EXPECT_EQ(pool.take(), nullptr);

    const LendingStats s = pool.stats();
    EXPECT_EQ(s.items, 3u);
    EXPECT_EQ(s.lent, 3u);
    EXPECT_EQ(s.most_lent, 3u);
    EXPECT_EQ(s.loans, 5u);
    EXPECT_EQ(s.refused, 2u);
}

TEST(LendingPool, AnEmptyPoolRefusesEveryTake) {
    LendingPool<int> pool(0, 1);
    EXPECT_EQ(pool.take(), nullptr);
    EXPECT_EQ(pool.stats().refused, 1u);
    EXPECT_EQ(pool.stats().loans, 0u);
}

}  // namespace
}  // namespace nvmeddp::nvmetcp
