// net_nvmeddp's rule table (pmd/net_nvmeddp/nic_rule_table.hpp) on its own, without the EAL:
// priorities among rules with one key, handles that stop naming anything once their rule is gone
// (also when its slot is reused), COUNT, the full 65536 rules, a long random churn against a model
// (the hash index's tombstones and their clean-up), and lcores matching while the control path
// changes rules (a rule that stays is never missed, a rule is never read half-written).
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "pmd/net_nvmeddp/nic_rule_table.hpp"

using namespace nvmeddp::pmd;

namespace {

// Distinct keys for distinct i (i < 2^24), in both address families and with VLANs now and then.
FlowKey key_of(uint32_t i) {
    const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 10, uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)};
    const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1};
    const auto vlan = static_cast<uint16_t>(i % 7 == 0 ? i % 4095 + 1 : 0);
    if (i % 3 == 0) return FlowKey::ipv6(src, dst, 4420, 40000, vlan);
    return FlowKey::ipv4(src + 12, dst + 12, 4420, 40000, vlan);
}

NicRule rule_of(const FlowKey& key, uint32_t priority, uint32_t mark, bool count = false) {
    NicRule r;
    r.key = key;
    r.priority = priority;
    r.action.has_queue = true;
    r.action.queue = static_cast<uint16_t>(mark % 4);
    r.action.has_mark = true;
    r.action.mark = mark;
    r.action.count = count;
    return r;
}

// The mark of the rule that wins for `key`, or -1 on a miss.
int64_t mark_for(const NicRuleTable& t, const FlowKey& key, uint32_t bytes = 64) {
    NicRuleAction a;
    return t.match(key, bytes, a) ? int64_t{a.mark} : -1;
}

}  // namespace

TEST(NicRuleTable, MatchesWhatWasAddedAndMissesWhatWasRemoved) {
    NicRuleTable t;
    NicRuleHandle a, b;
    ASSERT_EQ(t.add(rule_of(key_of(1), 0, 11), a), 0);
    ASSERT_EQ(t.add(rule_of(key_of(2), 0, 22), b), 0);
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(mark_for(t, key_of(1)), 11);
    EXPECT_EQ(mark_for(t, key_of(2)), 22);
    EXPECT_EQ(mark_for(t, key_of(3)), -1);
    EXPECT_EQ(mark_for(t, key_of(1).reversed()), -1);  // the other direction is another key
    NicRuleAction got;
    ASSERT_TRUE(t.match(key_of(2), 64, got));
    EXPECT_TRUE(got.has_queue);
    EXPECT_EQ(got.queue, 22 % 4);
    EXPECT_FALSE(got.drop);
    EXPECT_TRUE(t.remove(a));
    EXPECT_EQ(mark_for(t, key_of(1)), -1);
    EXPECT_EQ(mark_for(t, key_of(2)), 22);
    EXPECT_EQ(t.size(), 1u);
}

TEST(NicRuleTable, DropIsStoredAndReturned) {
    NicRuleTable t;
    NicRule r;
    r.key = key_of(5);
    r.action.drop = true;
    NicRuleHandle h;
    ASSERT_EQ(t.add(r, h), 0);
    NicRuleAction got;
    ASSERT_TRUE(t.match(key_of(5), 64, got));
    EXPECT_TRUE(got.drop);
    EXPECT_FALSE(got.has_queue);
    EXPECT_FALSE(got.has_mark);
}

TEST(NicRuleTable, TheLowestPriorityNumberWinsAndTheNextTakesOver) {
    NicRuleTable t;
    const FlowKey k = key_of(9);
    NicRuleHandle p5, p1, p3, p0;
    ASSERT_EQ(t.add(rule_of(k, 5, 500), p5), 0);
    EXPECT_EQ(mark_for(t, k), 500);
    ASSERT_EQ(t.add(rule_of(k, 1, 100), p1), 0);
    EXPECT_EQ(mark_for(t, k), 100);
    ASSERT_EQ(t.add(rule_of(k, 3, 300), p3), 0);  // between the two: does not win
    EXPECT_EQ(mark_for(t, k), 100);
    // Same key, same priority: refused, as a NIC would (and check_add says so first).
    NicRuleHandle dup;
    EXPECT_EQ(t.check_add(rule_of(k, 3, 999)), -EEXIST);
    EXPECT_EQ(t.add(rule_of(k, 3, 999), dup), -EEXIST);
    EXPECT_EQ(t.check_add(rule_of(k, 4, 999)), 0);
    EXPECT_EQ(t.size(), 3u);
    ASSERT_TRUE(t.remove(p1));  // the winner goes: the next in priority takes over
    EXPECT_EQ(mark_for(t, k), 300);
    ASSERT_EQ(t.add(rule_of(k, 0, 42), p0), 0);
    EXPECT_EQ(mark_for(t, k), 42);
    ASSERT_TRUE(t.remove(p5));  // a loser goes: nothing changes
    EXPECT_EQ(mark_for(t, k), 42);
    ASSERT_TRUE(t.remove(p0));
    EXPECT_EQ(mark_for(t, k), 300);
    ASSERT_TRUE(t.remove(p3));
    EXPECT_EQ(mark_for(t, k), -1);
    EXPECT_EQ(t.size(), 0u);
}

TEST(NicRuleTable, RemovedAndClearedHandlesNameNothing) {
    NicRuleTable t;
    NicRuleHandle a, b, c;
    ASSERT_EQ(t.add(rule_of(key_of(1), 0, 1, true), a), 0);
    EXPECT_NE(a.generation, 0u);
    EXPECT_TRUE(t.remove(a));
    EXPECT_FALSE(t.remove(a));  // twice
    NicRuleCounts counts;
    EXPECT_EQ(t.query(a, false, counts), -EINVAL);
    ASSERT_EQ(t.add(rule_of(key_of(2), 0, 2, true), b), 0);
    t.clear();
    EXPECT_FALSE(t.remove(b));
    EXPECT_EQ(t.query(b, false, counts), -EINVAL);
    EXPECT_EQ(mark_for(t, key_of(2)), -1);
    ASSERT_EQ(t.add(rule_of(key_of(3), 0, 3), c), 0);
    // Handles nobody was given.
    EXPECT_FALSE(t.remove(NicRuleHandle{c.index, c.generation + 1}));
    EXPECT_FALSE(t.remove(NicRuleHandle{c.index, 0}));
    EXPECT_FALSE(t.remove(NicRuleHandle{NicRuleTable::kMaxRules, c.generation}));
    EXPECT_EQ(mark_for(t, key_of(3)), 3);
    // Two tables do not hand out the same handle for their first rule.
    NicRuleTable other;
    NicRuleHandle first;
    ASSERT_EQ(other.add(rule_of(key_of(1), 0, 1), first), 0);
    EXPECT_FALSE(t.remove(first));
}

TEST(NicRuleTable, CountsHitsAndBytesOfTheWinnerAndResets) {
    NicRuleTable t;
    const FlowKey k = key_of(4);
    NicRuleHandle winner, loser, plain;
    ASSERT_EQ(t.add(rule_of(k, 0, 1, true), winner), 0);
    ASSERT_EQ(t.add(rule_of(k, 1, 2, true), loser), 0);
    ASSERT_EQ(t.add(rule_of(key_of(5), 0, 3, false), plain), 0);
    EXPECT_EQ(mark_for(t, k, 100), 1);
    EXPECT_EQ(mark_for(t, k, 200), 1);
    EXPECT_EQ(mark_for(t, k, 300), 1);
    NicRuleCounts c;
    ASSERT_EQ(t.query(winner, false, c), 0);
    EXPECT_EQ(c.hits, 3u);
    EXPECT_EQ(c.bytes, 600u);
    ASSERT_EQ(t.query(loser, false, c), 0);
    EXPECT_EQ(c.hits, 0u);
    ASSERT_EQ(t.query(winner, true, c), 0);  // read and reset
    EXPECT_EQ(c.hits, 3u);
    ASSERT_EQ(t.query(winner, false, c), 0);
    EXPECT_EQ(c.hits, 0u);
    EXPECT_EQ(c.bytes, 0u);
    EXPECT_EQ(t.query(plain, false, c), -ENOTSUP);
    // The winner gone, the next rule counts from zero.
    ASSERT_TRUE(t.remove(winner));
    EXPECT_EQ(mark_for(t, k, 50), 2);
    ASSERT_EQ(t.query(loser, false, c), 0);
    EXPECT_EQ(c.hits, 1u);
    EXPECT_EQ(c.bytes, 50u);
}

// Every one of kMaxRules rules is found; one more is refused; after a flush, a rule that takes the
// first rule's slot is not reachable through the first rule's handle.
TEST(NicRuleTable, HoldsKMaxRulesAndMatchesEveryOne) {
    NicRuleTable t;
    constexpr uint32_t n = NicRuleTable::kMaxRules;
    std::vector<NicRuleHandle> handles(n);
    for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(t.add(rule_of(key_of(i), i % 3, i), handles[i]), 0) << i;
    EXPECT_EQ(t.size(), n);
    NicRuleHandle extra;
    EXPECT_EQ(t.add(rule_of(key_of(n), 0, n), extra), -ENOSPC);
    EXPECT_EQ(t.check_add(rule_of(key_of(n), 0, n)), -ENOSPC);
    for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(mark_for(t, key_of(i)), int64_t{i}) << i;
    for (uint32_t i = 0; i < n; i += 2) ASSERT_TRUE(t.remove(handles[i]));
    for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(mark_for(t, key_of(i)), i % 2 == 0 ? -1 : int64_t{i}) << i;
    for (uint32_t i = 0; i < n; i += 2) ASSERT_EQ(t.add(rule_of(key_of(i), 7, i + n), handles[i]), 0) << i;
    for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(mark_for(t, key_of(i)), i % 2 == 0 ? int64_t{i + n} : int64_t{i}) << i;

    const NicRuleHandle old = handles[1];
    t.clear();
    EXPECT_EQ(t.size(), 0u);
    for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(mark_for(t, key_of(i)), -1) << i;
    // Slots are reused oldest-freed first; clear() frees them in slot order, so B takes slot 0... and
    // so on: make one rule per slot until B sits in old's slot.
    NicRuleHandle b;
    for (uint32_t i = 0;; ++i) {
        ASSERT_LT(i, n);
        ASSERT_EQ(t.add(rule_of(key_of(n + i), 0, i), b), 0);
        if (b.index == old.index) break;
    }
    EXPECT_NE(b.generation, old.generation);
    EXPECT_FALSE(t.remove(old));
    NicRuleCounts c;
    EXPECT_EQ(t.query(old, false, c), -EINVAL);
    EXPECT_TRUE(t.remove(b));  // B was there all along
}

// Random adds and removes (the index's tombstones, and their clean-up where an empty entry follows)
// checked against a model after every step for the key touched, and in full now and then.
TEST(NicRuleTable, ChurnAgainstAModel) {
    NicRuleTable t;
    std::mt19937_64 rng(20240611);
    constexpr uint32_t kKeys = 90000;  // more keys than rules: adds meet a full table too
    std::unordered_map<uint32_t, std::pair<NicRuleHandle, uint32_t>> model;  // key -> handle, mark
    uint32_t next_mark = 1;
    for (int step = 0; step < 400000; ++step) {
        const auto k = static_cast<uint32_t>(rng() % kKeys);
        auto it = model.find(k);
        if (it == model.end()) {
            NicRuleHandle h;
            const int rc = t.add(rule_of(key_of(k), 0, next_mark), h);
            if (model.size() == NicRuleTable::kMaxRules) {
                ASSERT_EQ(rc, -ENOSPC);
            } else {
                ASSERT_EQ(rc, 0) << step;
                model[k] = {h, next_mark};
            }
            ++next_mark;
        } else {
            ASSERT_TRUE(t.remove(it->second.first)) << step;
            model.erase(it);
        }
        const auto now = model.find(k);
        ASSERT_EQ(mark_for(t, key_of(k)), now == model.end() ? -1 : int64_t{now->second.second}) << step;
        if (step % 50000 == 0) {
            for (uint32_t i = 0; i < kKeys; ++i) {
                const auto m = model.find(i);
                ASSERT_EQ(mark_for(t, key_of(i)), m == model.end() ? -1 : int64_t{m->second.second}) << step << " " << i;
            }
        }
    }
    EXPECT_EQ(t.size(), model.size());
}

// Two lcores match while the control path adds and removes thousands of other rules and keeps
// swapping the winner of one key: a rule that stays is found on every lookup, and the swapped key
// always gives one whole rule (mark and queue of the same rule), never a mix.
TEST(NicRuleTable, MatchingLcoresSeeWholeRulesWhileRulesChange) {
    NicRuleTable t;
    constexpr uint32_t kStable = 256;
    for (uint32_t i = 0; i < kStable; ++i) {
        NicRuleHandle h;
        ASSERT_EQ(t.add(rule_of(key_of(i), 0, i + 1), h), 0);
    }
    const FlowKey swapped = key_of(kStable);
    NicRuleHandle base;
    ASSERT_EQ(t.add(rule_of(swapped, 10, 1000), base), 0);

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> misses{0}, torn{0}, lookups{0};
    auto reader = [&] {
        uint64_t n = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            for (uint32_t i = 0; i < kStable; ++i, ++n) {
                NicRuleAction a;
                if (!t.match(key_of(i), 64, a) || a.mark != i + 1) misses.fetch_add(1);
            }
            NicRuleAction a;
            // Either rule of the swapped key (or, while its winner is rewritten, a miss), whole.
            if (t.match(swapped, 64, a) && ((a.mark != 1000 && a.mark != 2000) || a.queue != a.mark % 4)) torn.fetch_add(1);
        }
        lookups.fetch_add(n);
    };
    std::thread r1(reader), r2(reader);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(600);
    std::vector<NicRuleHandle> others;
    uint32_t round = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        for (uint32_t i = 0; i < 4000; ++i) {
            NicRuleHandle h;
            if (t.add(rule_of(key_of(100000 + (round % 4) * 4000 + i), 0, 7), h) == 0) others.push_back(h);
        }
        NicRuleHandle top;
        EXPECT_EQ(t.add(rule_of(swapped, 1, 2000), top), 0);
        for (const auto& h : others) t.remove(h);
        others.clear();
        EXPECT_TRUE(t.remove(top));
        ++round;
    }
    stop = true;
    r1.join();
    r2.join();
    EXPECT_GT(round, 1u);
    EXPECT_GT(lookups.load(), 0u);
    EXPECT_EQ(misses.load(), 0u) << "of " << lookups.load() << " lookups, " << round << " rounds";
    EXPECT_EQ(torn.load(), 0u);
}
