// For fuzz targets that need mbufs: the EAL, one pool and the DDP metadata field, once per process.
// Aborts (a reported crash) when any of them cannot be had: a fuzzer that silently tests nothing is
// worse than one that stops. Called from LLVMFuzzerInitialize and from LLVMFuzzerTestOneInput
// (the replay program calls only the latter).
#pragma once

#include <rte_errno.h>
#include <rte_mbuf.h>

#include <string>

#include "fuzz_input.hpp"
#include "pmd/dpdk/eal.hpp"
#include "pmd/dpdk/mbuf_meta.hpp"

namespace nvmeddp::fuzz {

inline rte_mempool* dpdk_pool(const char* program, const char* pool_name, unsigned mbufs) {
    static rte_mempool* pool = nullptr;
    if (pool != nullptr) return pool;
    pmd::EalOptions o;
    o.lcores = "0";
    o.program = program;
    const std::string eal = pmd::init_eal(o);
    if (!eal.empty()) invariant_broken("cannot bring the EAL up:", eal.c_str());
    pool = rte_pktmbuf_pool_create(pool_name, mbufs, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    if (pool == nullptr) invariant_broken("rte_pktmbuf_pool_create:", rte_strerror(rte_errno));
    const std::string meta = pmd::MbufMeta::register_once();
    if (!meta.empty()) invariant_broken("MbufMeta::register_once:", meta.c_str());
    return pool;
}

}  // namespace nvmeddp::fuzz
