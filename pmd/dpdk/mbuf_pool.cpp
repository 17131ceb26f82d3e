#include "pmd/dpdk/mbuf_pool.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_memzone.h>

namespace nvmeddp::pmd {

namespace {

std::string failed(const char* what, int code) { return std::string(what) + ": " + rte_strerror(code); }

void free_zone(rte_mempool_memhdr*, void* zone) { rte_memzone_free(static_cast<const rte_memzone*>(zone)); }

struct StrideCheck {
    uintptr_t first = 0;
    size_t stride = 0;
    unsigned seen = 0;
    bool packed = true;
};

}  // namespace

rte_mempool* create_mbuf_pool(const std::string& name, unsigned count, unsigned cache, uint16_t data_room,
                              int socket_id, std::string* error) {
    if (rte_eal_iova_mode() != RTE_IOVA_VA) {
        rte_mempool* pool = rte_pktmbuf_pool_create(name.c_str(), count, cache, 0, data_room, socket_id);
        if (pool == nullptr) *error = failed("rte_pktmbuf_pool_create", rte_errno);
        return pool;
    }
    // rte_pktmbuf_pool_create's steps, with the one flag it does not let us pass.
    rte_mempool* pool = rte_mempool_create_empty(name.c_str(), count, sizeof(rte_mbuf) + data_room, cache,
                                                 sizeof(rte_pktmbuf_pool_private), socket_id,
                                                 RTE_MEMPOOL_F_NO_IOVA_CONTIG);
    if (pool == nullptr) {
        *error = failed("rte_mempool_create_empty", rte_errno);
        return nullptr;
    }
    if (int rc = rte_mempool_set_ops_byname(pool, rte_mbuf_best_mempool_ops(), nullptr); rc != 0) {
        *error = failed("rte_mempool_set_ops_byname", -rc);
        rte_mempool_free(pool);
        return nullptr;
    }
    rte_pktmbuf_pool_private priv{};
    priv.mbuf_data_room_size = data_room;
    priv.mbuf_priv_size = 0;
    rte_pktmbuf_pool_init(pool, &priv);
    // Populated from one memzone of ours, the objects (header + element + trailer each) back to back
    // as the default ops lay them out: rte_mempool_populate_default would give the objects of a
    // pool with that flag no IOVA at all (RTE_BAD_IOVA); with IOVA as VA the zone's is right.
    const size_t bytes = static_cast<size_t>(count) * rte_mempool_calc_obj_size(pool->elt_size, pool->flags, nullptr);
    const rte_memzone* zone = rte_memzone_reserve_aligned(("mz_" + name).c_str(), bytes, socket_id, 0,
                                                          RTE_CACHE_LINE_SIZE);
    if (zone == nullptr) {
        *error = failed("rte_memzone_reserve_aligned", rte_errno);
        rte_mempool_free(pool);
        return nullptr;
    }
    const int added = rte_mempool_populate_iova(pool, static_cast<char*>(zone->addr), zone->iova, zone->len, free_zone,
                                                const_cast<rte_memzone*>(zone));
    if (added < 0 || static_cast<unsigned>(added) != count) {
        if (added < 0) rte_memzone_free(zone);  // else the pool owns it now and frees it
        *error = added < 0 ? failed("rte_mempool_populate_iova", -added)
                           : "rte_mempool_populate_iova placed " + std::to_string(added) + " of " +
                                 std::to_string(count) + " mbufs";
        rte_mempool_free(pool);
        return nullptr;
    }
    rte_mempool_obj_iter(pool, rte_pktmbuf_init, nullptr);
    return pool;
}

bool mbuf_pool_is_packed(const rte_mempool* pool) {
    if (pool->nb_mem_chunks != 1) return false;
    StrideCheck check;
    check.stride = rte_mempool_calc_obj_size(pool->elt_size, pool->flags, nullptr);
    // The iterator visits the objects in the order they were laid out, by address within a chunk.
    rte_mempool_obj_iter(
        const_cast<rte_mempool*>(pool),
        [](rte_mempool*, void* arg, void* obj, unsigned) {
            auto* c = static_cast<StrideCheck*>(arg);
            const auto at = reinterpret_cast<uintptr_t>(obj);
            if (c->seen == 0) c->first = at;
            if (at != c->first + c->seen * c->stride) c->packed = false;
            ++c->seen;
        },
        &check);
    return check.packed && check.seen == pool->populated_size;
}

}  // namespace nvmeddp::pmd
