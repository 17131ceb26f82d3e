// Software classifier: the basic operations, its errors, and long random churn checked against
// std::unordered_map, including tables small enough that probe sequences wrap around the array.
#include <gtest/gtest.h>

#include <random>
#include <unordered_map>
#include <vector>

#include "pmd/packet/flow_classifier.hpp"

using namespace nvmeddp::pmd;

namespace {

FlowKey v4_key(uint32_t client, uint16_t client_port) {
    const uint8_t src[4] = {10, static_cast<uint8_t>(client >> 16), static_cast<uint8_t>(client >> 8),
                            static_cast<uint8_t>(client)};
    const uint8_t dst[4] = {10, 0, 0, 1};
    return FlowKey::ipv4(src, dst, client_port, 4420);
}

FlowKey v6_key(uint64_t n) {
    uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8};
    uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    for (int i = 0; i < 8; ++i) src[8 + i] = static_cast<uint8_t>(n >> (8 * i));
    return FlowKey::ipv6(src, dst, static_cast<uint16_t>(n * 31), 4420);
}

struct KeyHash {
    size_t operator()(const FlowKey& k) const noexcept { return static_cast<size_t>(k.hash(0)); }
};

}  // namespace

TEST(FlowClassifier, InsertLookupErase) {
    FlowClassifier c(16);
    const FlowKey a = v4_key(1, 50000);
    const FlowKey b = v6_key(1);
    EXPECT_FALSE(c.lookup(a));
    EXPECT_EQ(c.insert(a, 7, 2), ClassifierStatus::Ok);
    EXPECT_EQ(c.insert(b, 8, 3), ClassifierStatus::Ok);
    EXPECT_EQ(c.size(), 2u);
    ASSERT_TRUE(c.lookup(a));
    EXPECT_EQ(*c.lookup(a), (FlowTarget{7, 2}));
    EXPECT_EQ(*c.lookup(b), (FlowTarget{8, 3}));
    EXPECT_FALSE(c.lookup(a.reversed()));  // the other direction is not registered
    EXPECT_EQ(c.erase(a), ClassifierStatus::Ok);
    EXPECT_FALSE(c.lookup(a));
    EXPECT_EQ(*c.lookup(b), (FlowTarget{8, 3}));
    EXPECT_EQ(c.erase(a), ClassifierStatus::NotFound);
    EXPECT_EQ(c.size(), 1u);
    EXPECT_TRUE(c.check_invariants());
}

TEST(FlowClassifier, DuplicateKeyIsRefusedAndKeepsTheFirstTarget) {
    FlowClassifier c(4);
    const FlowKey k = v4_key(5, 1234);
    ASSERT_EQ(c.insert(k, 1, 1), ClassifierStatus::Ok);
    EXPECT_EQ(c.insert(k, 2, 2), ClassifierStatus::DuplicateKey);
    EXPECT_EQ(*c.lookup(k), (FlowTarget{1, 1}));
    EXPECT_EQ(c.size(), 1u);
}

TEST(FlowClassifier, FullTableRefusesNewKeysButReportsDuplicates) {
    FlowClassifier c(4);
    for (uint32_t i = 0; i < 4; ++i) ASSERT_EQ(c.insert(v4_key(i, 1), i, 0), ClassifierStatus::Ok);
    EXPECT_TRUE(c.full());
    EXPECT_EQ(c.insert(v4_key(99, 1), 99, 0), ClassifierStatus::TableFull);
    EXPECT_EQ(c.insert(v4_key(2, 1), 50, 0), ClassifierStatus::DuplicateKey);
    EXPECT_FALSE(c.lookup(v4_key(99, 1)));
    ASSERT_EQ(c.erase(v4_key(0, 1)), ClassifierStatus::Ok);
    EXPECT_EQ(c.insert(v4_key(99, 1), 99, 0), ClassifierStatus::Ok);
    for (uint32_t i = 1; i < 4; ++i) EXPECT_EQ(c.lookup(v4_key(i, 1))->connection_id, i);
    EXPECT_EQ(c.lookup(v4_key(99, 1))->connection_id, 99u);
}

TEST(FlowClassifier, CapacityIsAPowerOfTwoAtLeastTwiceTheEntries) {
    for (size_t max : {size_t{0}, size_t{1}, size_t{3}, size_t{4}, size_t{5}, size_t{4096}, size_t{5000}}) {
        FlowClassifier c(max);
        const size_t cap = c.capacity();
        EXPECT_EQ(cap & (cap - 1), 0u) << max;
        EXPECT_GE(cap, 2 * c.max_entries()) << max;
        EXPECT_GE(c.max_entries(), std::max<size_t>(max, 1));
    }
    EXPECT_EQ(FlowClassifier(4096).capacity(), 8192u);
}

TEST(FlowClassifier, ClearEmptiesAndTheTableIsReusable) {
    FlowClassifier c(8);
    for (uint32_t i = 0; i < 8; ++i) ASSERT_EQ(c.insert(v6_key(i), i, 1), ClassifierStatus::Ok);
    c.clear();
    EXPECT_EQ(c.size(), 0u);
    for (uint32_t i = 0; i < 8; ++i) EXPECT_FALSE(c.lookup(v6_key(i)));
    for (uint32_t i = 0; i < 8; ++i) ASSERT_EQ(c.insert(v6_key(i + 100), i, 1), ClassifierStatus::Ok);
    EXPECT_TRUE(c.check_invariants());
}

TEST(FlowClassifier, MovedTableKeepsItsEntries) {
    FlowClassifier a(8);
    ASSERT_EQ(a.insert(v4_key(1, 1), 11, 1), ClassifierStatus::Ok);
    FlowClassifier b(std::move(a));
    EXPECT_EQ(b.lookup(v4_key(1, 1))->connection_id, 11u);
}

TEST(FlowClassifier, FourThousandConnectionsHitAndStrangersMiss) {
    FlowClassifier c(4096, 0x1234);
    // Many clients of one target port: keys differ only in a few address bytes and the port.
    for (uint32_t i = 0; i < 4096; ++i) {
        ASSERT_EQ(c.insert(v4_key(i, static_cast<uint16_t>(40000 + i % 7)), i, static_cast<uint16_t>(i % 8)),
                  ClassifierStatus::Ok);
    }
    EXPECT_TRUE(c.full());
    EXPECT_TRUE(c.check_invariants());
    for (uint32_t i = 0; i < 4096; ++i) {
        const auto t = c.lookup(v4_key(i, static_cast<uint16_t>(40000 + i % 7)));
        ASSERT_TRUE(t) << i;
        ASSERT_EQ(*t, (FlowTarget{i, static_cast<uint16_t>(i % 8)}));
    }
    for (uint32_t i = 0; i < 100000; ++i) {
        ASSERT_FALSE(c.lookup(v4_key(4096 + i, static_cast<uint16_t>(40000 + i % 7))));  // unknown client
        ASSERT_FALSE(c.lookup(v4_key(i % 4096, static_cast<uint16_t>(40007 + i % 7))));   // known client, other port
    }
    // At load 1/2 a well-spread hash keeps clusters short; a hash that ignored some key bytes would
    // pile these structured keys up in a few long clusters.
    EXPECT_LT(c.max_probe_distance(), 40u);
}

namespace {

// Random insert/erase/lookup against std::unordered_map. Keys come from a pool a few times larger
// than the table, so duplicates, full-table refusals and misses all happen often.
void churn(size_t max_entries, size_t pool_size, uint64_t seed, int ops) {
    FlowClassifier c(max_entries, seed);
    std::unordered_map<FlowKey, FlowTarget, KeyHash> model;
    std::vector<FlowKey> pool;
    for (size_t i = 0; i < pool_size; ++i) pool.push_back(i % 2 ? v4_key(static_cast<uint32_t>(i), 1) : v6_key(i));
    std::mt19937_64 rng(seed);
    size_t counts[4] = {};
    for (int op = 0; op < ops; ++op) {
        const FlowKey& k = pool[rng() % pool.size()];
        const unsigned what = static_cast<unsigned>(rng() % 3);
        if (what == 0) {
            const FlowTarget t{static_cast<uint32_t>(rng()), static_cast<uint16_t>(rng())};
            ClassifierStatus want = ClassifierStatus::Ok;
            if (model.count(k)) {
                want = ClassifierStatus::DuplicateKey;
            } else if (model.size() == c.max_entries()) {
                want = ClassifierStatus::TableFull;
            } else {
                model.emplace(k, t);
            }
            const auto got = c.insert(k, t.connection_id, t.queue);
            ASSERT_EQ(got, want) << "op " << op;
            ++counts[static_cast<int>(got)];
        } else if (what == 1) {
            const auto want = model.erase(k) ? ClassifierStatus::Ok : ClassifierStatus::NotFound;
            ASSERT_EQ(c.erase(k), want) << "op " << op;
        } else {
            const auto it = model.find(k);
            const auto got = c.lookup(k);
            ASSERT_EQ(got.has_value(), it != model.end()) << "op " << op;
            if (got) {
                ASSERT_EQ(*got, it->second);
            }
        }
        ASSERT_EQ(c.size(), model.size());
        if (op % 997 == 0) {
            ASSERT_TRUE(c.check_invariants()) << "op " << op;
        }
    }
    ASSERT_TRUE(c.check_invariants());
    for (const auto& k : pool) {
        const auto it = model.find(k);
        const auto got = c.lookup(k);
        ASSERT_EQ(got.has_value(), it != model.end());
        if (got) {
            ASSERT_EQ(*got, it->second);
        }
    }
    EXPECT_GT(counts[static_cast<int>(ClassifierStatus::Ok)], 0u);
    EXPECT_GT(counts[static_cast<int>(ClassifierStatus::DuplicateKey)], 0u);
    EXPECT_GT(counts[static_cast<int>(ClassifierStatus::TableFull)], 0u);
}

}  // namespace

TEST(FlowClassifier, ChurnMatchesModelInATinyTable) {
    for (uint64_t seed = 1; seed <= 8; ++seed) churn(4, 12, seed, 20000);  // 8 slots: probes wrap constantly
}

TEST(FlowClassifier, ChurnMatchesModelInASmallTable) {
    for (uint64_t seed = 1; seed <= 4; ++seed) churn(64, 200, seed, 100000);
}

TEST(FlowClassifier, ChurnMatchesModelAtFourThousandEntries) { churn(4096, 10000, 99, 300000); }

TEST(FlowClassifier, StatusDescriptions) {
    for (auto s : {ClassifierStatus::Ok, ClassifierStatus::TableFull, ClassifierStatus::DuplicateKey, ClassifierStatus::NotFound}) {
        EXPECT_STRNE(to_string(s), "unknown classifier status");
    }
}
