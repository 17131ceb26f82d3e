// pmd::free_mbufs_bulk() (pmd/dpdk/mbuf_free.hpp): plain mbufs go back to their own pools in runs,
// and every other kind (a chain, a second reference, an indirect clone) is freed as
// rte_pktmbuf_free() frees it. Judged by the pools' in-use counts and the reference counts left.
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <string>
#include <vector>

#include "dpdk_test_support.hpp"
#include "pmd/dpdk/mbuf_free.hpp"

using namespace nvmeddp;
using namespace nvmeddp::dpdk_test;

namespace {

// A pool of its own, without a per-lcore cache, so that its in-use count is exact.
struct OwnPool {
    explicit OwnPool(const char* name, unsigned n = 511) : pool(rte_pktmbuf_pool_create(name, n, 0, 0, 2048, SOCKET_ID_ANY)) {}
    ~OwnPool() {
        if (pool != nullptr) rte_mempool_free(pool);
    }
    OwnPool(const OwnPool&) = delete;
    OwnPool& operator=(const OwnPool&) = delete;
    unsigned in_use() const { return rte_mempool_in_use_count(pool); }
    rte_mempool* pool;
};

void free_all(const std::vector<rte_mbuf*>& v) {
    pmd::free_mbufs_bulk(static_cast<unsigned>(v.size()), [&](unsigned i) { return v[i]; });
}

TEST(MbufFreeBulk, PlainMbufsGoBackToTheirOwnPoolsInRunsLongerAndShorterThanOnePut) {
    REQUIRE_EAL();
    OwnPool a("free_bulk_a"), b("free_bulk_b");
    ASSERT_NE(a.pool, nullptr);
    ASSERT_NE(b.pool, nullptr);
    std::vector<rte_mbuf*> mbufs;
    // 150 of a's in a row (more than one put's run), then a's and b's alternating, with gaps.
    for (int i = 0; i < 150; ++i) mbufs.push_back(rte_pktmbuf_alloc(a.pool));
    for (int i = 0; i < 40; ++i) {
        mbufs.push_back(rte_pktmbuf_alloc(i % 3 == 0 ? a.pool : b.pool));
        if (i % 7 == 0) mbufs.push_back(nullptr);
    }
    for (int i = 0; i < 70; ++i) mbufs.push_back(rte_pktmbuf_alloc(b.pool));
    size_t from_a = 0, from_b = 0;
    for (rte_mbuf* m : mbufs) {
        if (m == nullptr) continue;
        ASSERT_TRUE(m->pool == a.pool || m->pool == b.pool) << "a pool ran out";
        (m->pool == a.pool ? from_a : from_b) += 1;
    }
    ASSERT_EQ(a.in_use(), from_a);
    ASSERT_EQ(b.in_use(), from_b);
    free_all(mbufs);
    EXPECT_EQ(a.in_use(), 0u);
    EXPECT_EQ(b.in_use(), 0u);
    // What went back is allocated again as a fresh mbuf.
    std::vector<rte_mbuf*> again(a.pool->size);
    ASSERT_EQ(rte_pktmbuf_alloc_bulk(a.pool, again.data(), static_cast<unsigned>(again.size())), 0);
    for (rte_mbuf* m : again) {
        EXPECT_EQ(m->next, nullptr);
        EXPECT_EQ(m->nb_segs, 1);
        EXPECT_EQ(rte_mbuf_refcnt_read(m), 1);
    }
    free_all(again);
    EXPECT_EQ(a.in_use(), 0u);
}

TEST(MbufFreeBulk, ChainsSharedAndIndirectMbufsAreFreedAsRtePktmbufFreeFreesThem) {
    REQUIRE_EAL();
    OwnPool pool("free_bulk_kinds");
    ASSERT_NE(pool.pool, nullptr);
    // A chain of three segments: all three go back.
    rte_mbuf* chain = rte_pktmbuf_alloc(pool.pool);
    ASSERT_NE(chain, nullptr);
    for (int i = 0; i < 2; ++i) {
        rte_mbuf* seg = rte_pktmbuf_alloc(pool.pool);
        ASSERT_NE(seg, nullptr);
        ASSERT_EQ(rte_pktmbuf_chain(chain, seg), 0);
    }
    // One that someone else still holds a reference to: only that reference is dropped.
    rte_mbuf* shared = rte_pktmbuf_alloc(pool.pool);
    ASSERT_NE(shared, nullptr);
    rte_mbuf_refcnt_update(shared, 1);
    // An indirect clone of a plain mbuf: the clone goes back and its reference to the original
    // with it, the original stays.
    rte_mbuf* original = rte_pktmbuf_alloc(pool.pool);
    ASSERT_NE(original, nullptr);
    rte_mbuf* clone = rte_pktmbuf_clone(original, pool.pool);
    ASSERT_NE(clone, nullptr);
    ASSERT_EQ(rte_mbuf_refcnt_read(original), 2);
    rte_mbuf* plain = rte_pktmbuf_alloc(pool.pool);
    ASSERT_NE(plain, nullptr);
    ASSERT_EQ(pool.in_use(), 7u);

    free_all({chain, shared, clone, plain});
    EXPECT_EQ(pool.in_use(), 2u) << "the shared mbuf and the clone's original stay, nothing else";
    EXPECT_EQ(rte_mbuf_refcnt_read(shared), 1);
    EXPECT_EQ(rte_mbuf_refcnt_read(original), 1);

    free_all({shared, original});
    EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
