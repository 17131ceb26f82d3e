// Returning received mbufs to their pool in bulk, for a receiver that frees every segment it took.
//
// rte_pktmbuf_free_bulk() is a call into librte_mbuf that walks every mbuf as possibly chained,
// shared, indirect or external (rte_pktmbuf_prefree_seg() on each segment) before it puts them back
// in runs per pool. What a receiver frees is nearly always none of those: one direct segment, its
// only reference, from the port's pool. For such an mbuf rte_pktmbuf_prefree_seg() changes nothing
// (refcnt 1 is what a free mbuf has, next is already null, nb_segs already 1), so it can go back as
// it is, many in one rte_mempool_put_bulk(), with the checks inline. Anything else takes
// rte_pktmbuf_free().
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

namespace nvmeddp::pmd {

// Frees the n mbufs `mbuf_at(0)` .. `mbuf_at(n - 1)` (chains with all their segments; null ones
// skipped), as rte_pktmbuf_free_bulk() would; an accessor rather than an array so that a caller
// holding them in a larger record need not gather them first.
template <class MbufAt>
inline void free_mbufs_bulk(unsigned n, MbufAt mbuf_at) noexcept {
    constexpr unsigned kRun = 64;  // one put per run of this many from one pool
    void* run[kRun];
    unsigned in_run = 0;
    rte_mempool* run_pool = nullptr;
    for (unsigned i = 0; i < n; ++i) {
        rte_mbuf* m = mbuf_at(i);
        if (m == nullptr) continue;
        const bool as_allocated = m->next == nullptr && m->nb_segs == 1 && RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1;
        if (!as_allocated) {
            rte_pktmbuf_free(m);
            continue;
        }
        if (m->pool != run_pool || in_run == kRun) {
            if (in_run != 0) rte_mempool_put_bulk(run_pool, run, in_run);
            in_run = 0;
            run_pool = m->pool;
        }
        run[in_run++] = m;
    }
    if (in_run != 0) rte_mempool_put_bulk(run_pool, run, in_run);
}

}  // namespace nvmeddp::pmd
