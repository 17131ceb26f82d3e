// pmd::free_mbufs_bulk() (pmd/dpdk/mbuf_free.hpp): plain mbufs go back to their own pools in runs,
// and every other kind (a chain, a second reference, an indirect clone, an external buffer, an mbuf
// whose segment count and chain disagree) is freed as rte_pktmbuf_free() frees it. Judged by the
// pools' in-use counts, the reference counts left, what a raw allocation gets back and whether an
// external buffer's owner is told.
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

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

// Every mbuf of the pool, taken as a driver takes them (raw: no reset, so what the free left is
// what it gets), is back and as allocated: one segment, no next, one reference. Then all go back.
void expect_every_mbuf_back_as_allocated(const OwnPool& p) {
    std::vector<rte_mbuf*> raw;
    for (rte_mbuf* m = rte_mbuf_raw_alloc(p.pool); m != nullptr; m = rte_mbuf_raw_alloc(p.pool)) {
        EXPECT_EQ(m->nb_segs, 1);
        EXPECT_EQ(m->next, nullptr);
        EXPECT_EQ(rte_mbuf_refcnt_read(m), 1);
        raw.push_back(m);
    }
    EXPECT_EQ(raw.size(), size_t{p.pool->size});
    free_all(raw);
    EXPECT_EQ(p.in_use(), 0u);
}

TEST(MbufFreeBulk, PlainMbufsGoBackToTheirOwnPoolsInRunsLongerAndShorterThanOnePut) {
    REQUIRE_EAL();
    OwnPool a("free_bulk_a"), b("free_bulk_b");
    ASSERT_NE(a.pool, nullptr);
    ASSERT_NE(b.pool, nullptr);
    std::vector<rte_mbuf*> mbufs;
    // 150 of a's in a row (more than one put's run), then a's and b's interleaved (one a to two
    // b's), with gaps.
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
    expect_every_mbuf_back_as_allocated(a);
    expect_every_mbuf_back_as_allocated(b);
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

TEST(MbufFreeBulk, MbufsWhoseSegmentCountAndChainDisagreeAreFreedAsRtePktmbufFreeFreesThem) {
    REQUIRE_EAL();
    OwnPool pool("free_bulk_nb_segs", 63);
    ASSERT_NE(pool.pool, nullptr);
    // next null but nb_segs 2 (a chain whose tail was cut off without fixing the count):
    // rte_pktmbuf_prefree_seg() sets nb_segs back to 1 before the mbuf goes back, and a driver's
    // raw allocation (no reset) relies on that.
    rte_mbuf* counted_two = rte_pktmbuf_alloc(pool.pool);
    ASSERT_NE(counted_two, nullptr);
    counted_two->nb_segs = 2;
    // nb_segs 1 but a second segment linked: rte_pktmbuf_free() follows next, so both go back.
    rte_mbuf* linked = rte_pktmbuf_alloc(pool.pool);
    rte_mbuf* tail = rte_pktmbuf_alloc(pool.pool);
    ASSERT_NE(linked, nullptr);
    ASSERT_NE(tail, nullptr);
    linked->next = tail;
    free_all({counted_two, linked});
    EXPECT_EQ(pool.in_use(), 0u);
    expect_every_mbuf_back_as_allocated(pool);
}

TEST(MbufFreeBulk, AnMbufOnAnExternalBufferHasItsBufferFreedByItsOwner) {
    REQUIRE_EAL();
    OwnPool pool("free_bulk_ext");
    ASSERT_NE(pool.pool, nullptr);
    // An external buffer with its shared info at its end; its free callback counts the calls.
    std::vector<uint8_t> area(4096);
    uint16_t buf_len = static_cast<uint16_t>(area.size());
    int freed = 0;
    rte_mbuf_ext_shared_info* shinfo = rte_pktmbuf_ext_shinfo_init_helper(
        area.data(), &buf_len, [](void*, void* opaque) { ++*static_cast<int*>(opaque); }, &freed);
    ASSERT_NE(shinfo, nullptr);
    rte_mbuf* m = rte_pktmbuf_alloc(pool.pool);
    ASSERT_NE(m, nullptr);
    rte_pktmbuf_attach_extbuf(m, area.data(), reinterpret_cast<rte_iova_t>(area.data()), buf_len, shinfo);
    ASSERT_EQ(rte_mbuf_refcnt_read(m), 1);
    free_all({m});
    EXPECT_EQ(freed, 1) << "the external buffer's owner was not told";
    EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
