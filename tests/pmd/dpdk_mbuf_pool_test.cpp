// The packed mbuf pool (pmd/dpdk/mbuf_pool.hpp): every mbuf inside the area DPDK 22.11's
// net_af_xdp registers as its UMEM (a page-aligned start at the pool's first memory chunk and
// populated_size x object size after it), the mbufs usable, and the layout check telling a packed
// pool from rte_pktmbuf_pool_create's page-bound one (which, without hugepages, reaches far past
// that area: the cause of the stalled uploads through net_af_xdp).
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "dpdk_test_support.hpp"
#include "pmd/dpdk/mbuf_pool.hpp"

using namespace nvmeddp;
using namespace nvmeddp::dpdk_test;

namespace {

// How many of the pool's objects end past the area net_af_xdp in DPDK 22.11 maps (its
// xdp_umem_configure: the first chunk's address rounded down to a page, then populated_size
// objects' worth of bytes plus that rounding).
unsigned objects_past_af_xdp_umem(rte_mempool* pool) {
    struct Area {
        uintptr_t end = 0;
        size_t obj_size = 0;
        unsigned past = 0;
    } area;
    const auto first = reinterpret_cast<uintptr_t>(STAILQ_FIRST(&pool->mem_list)->addr);
    const uintptr_t page = static_cast<uintptr_t>(getpagesize());
    const uintptr_t base = first & ~(page - 1);
    area.obj_size = rte_mempool_calc_obj_size(pool->elt_size, pool->flags, nullptr);
    area.end = base + pool->populated_size * area.obj_size + (first - base);
    rte_mempool_obj_iter(
        pool,
        [](rte_mempool* mp, void* arg, void* obj, unsigned) {
            auto* a = static_cast<Area*>(arg);
            const uintptr_t obj_end = reinterpret_cast<uintptr_t>(obj) - mp->header_size + a->obj_size;
            if (obj_end > a->end) ++a->past;
        },
        &area);
    return area.past;
}

}  // namespace

TEST(DpdkMbufPool, PackedPoolLiesWhollyInsideTheAreaAfXdpMaps) {
    REQUIRE_EAL();
    std::string err;
    rte_mempool* pool = pmd::create_mbuf_pool("packed_pool", 4095, 32, RTE_MBUF_DEFAULT_BUF_SIZE, 0, &err);
    ASSERT_NE(pool, nullptr) << err;
    EXPECT_EQ(pool->populated_size, 4095u);
    EXPECT_TRUE(pmd::mbuf_pool_is_packed(pool));
    EXPECT_EQ(objects_past_af_xdp_umem(pool), 0u);
    rte_mempool_free(pool);
}

TEST(DpdkMbufPool, MbufsOfThePackedPoolAreOrdinaryPktmbufs) {
    REQUIRE_EAL();
    std::string err;
    rte_mempool* pool = pmd::create_mbuf_pool("usable_pool", 255, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0, &err);
    ASSERT_NE(pool, nullptr) << err;
    EXPECT_EQ(rte_pktmbuf_data_room_size(pool), RTE_MBUF_DEFAULT_BUF_SIZE);
    std::vector<rte_mbuf*> all(255);
    ASSERT_EQ(rte_pktmbuf_alloc_bulk(pool, all.data(), static_cast<unsigned>(all.size())), 0);
    for (rte_mbuf* m : all) {
        ASSERT_EQ(m->pool, pool);
        EXPECT_EQ(m->buf_len, RTE_MBUF_DEFAULT_BUF_SIZE);
        EXPECT_EQ(rte_pktmbuf_headroom(m), RTE_PKTMBUF_HEADROOM);
        EXPECT_EQ(rte_pktmbuf_tailroom(m), RTE_MBUF_DEFAULT_DATAROOM);
        EXPECT_EQ(m->nb_segs, 1);
        EXPECT_EQ(rte_mbuf_refcnt_read(m), 1);
        // IOVA as VA: the device address is the buffer's own address.
        if (rte_eal_iova_mode() == RTE_IOVA_VA) {
            EXPECT_EQ(m->buf_iova, reinterpret_cast<uintptr_t>(m->buf_addr));
        }
        EXPECT_NE(rte_pktmbuf_append(m, 1500), nullptr);
    }
    EXPECT_EQ(rte_mempool_avail_count(pool), 0u);
    for (rte_mbuf* m : all) rte_pktmbuf_free(m);
    EXPECT_EQ(rte_mempool_avail_count(pool), 255u);
    rte_mempool_free(pool);
}

TEST(DpdkMbufPool, DpdksPageBoundLayoutIsNotPackedAndReachesPastTheArea) {
    REQUIRE_EAL();
    if (rte_eal_has_hugepages()) GTEST_SKIP() << "the gaps are 4 KiB-page ones: this EAL has hugepages";
    rte_mempool* pool = rte_pktmbuf_pool_create("page_bound_pool", 4095, 32, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    ASSERT_NE(pool, nullptr);
    EXPECT_FALSE(pmd::mbuf_pool_is_packed(pool));
    // One 2368-byte object per 4 KiB page: the area covers 2368/4096 of the pool, the rest is past it.
    EXPECT_GT(objects_past_af_xdp_umem(pool), 4095u / 3);
    rte_mempool_free(pool);
}
