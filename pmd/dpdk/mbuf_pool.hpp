// The mbuf pool of an application: its objects back to back in one memory chunk, the layout
// net_af_xdp needs, and a check of that layout.
//
// Why: DPDK 22.11's net_af_xdp (unaligned UMEM chunks, copy and zero-copy modes alike) registers as
// its UMEM the area from the pool's first object to populated_size x object size after it: it
// takes the objects to be packed. rte_pktmbuf_pool_create does not pack them: it keeps every object
// inside one page (one 2368-byte mbuf per 4 KiB page with --no-huge; a little lost at the end of
// every hugepage with hugepages), so the pool reaches past the UMEM. A tx descriptor for an mbuf
// past its end is one the kernel drops without a completion (the frame never leaves, the mbuf is
// never freed) and a fill descriptor there is dropped too: once the pool's allocation order
// reaches those mbufs, nothing goes out. DPDK fixed the UMEM size in 24.07 ("net/af_xdp: parse UMEM
// map info from mempool"); 22.11 stable did not take it.
//
// With IOVA as VA an object that crosses a page is still contiguous for any device, so the pool
// is made without DPDK's page rule (RTE_MEMPOOL_F_NO_IOVA_CONTIG) there. With IOVA as PA (a real
// NIC without IOMMU) DMA needs the rule and rte_pktmbuf_pool_create's layout is kept.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <string>

namespace nvmeddp::pmd {

// A pktmbuf pool of `count` mbufs with `data_room` bytes of buffer each (headroom included, as
// rte_pktmbuf_pool_create counts it) and a per-lcore cache of `cache`, on `socket_id`. Null with
// *error set when it cannot be made.
rte_mempool* create_mbuf_pool(const std::string& name, unsigned count, unsigned cache, uint16_t data_room,
                              int socket_id, std::string* error);

// True when every object of the pool lies in one memory chunk at one stride (the object size with
// header and trailer) from the first: the area net_af_xdp in DPDK 22.11 maps covers all of them.
bool mbuf_pool_is_packed(const rte_mempool* pool);

}  // namespace nvmeddp::pmd
