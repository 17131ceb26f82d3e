// A chained frame's later mbufs (a port's LRO, a scattered rx) as the payload chunks the queue engine
// takes after the head mbuf's bytes. One walk, shared by the offload port's rx callback and the
// benchmarks that stand in for it, so both leave the same frames to the host.
#pragma once

#include <rte_mbuf.h>

#include <cstddef>

#include "pmd/engine/queue_engine.hpp"

namespace nvmeddp::pmd {

// Fills more[0..count) with the data of m's segments after the first. Returns false for a chain of
// more than QueueEngine::kMaxChunks further segments: cut short, its payload would disagree with
// the IP length, so such a frame is left to the host whole (count is then meaningless).
inline bool chained_chunks(const rte_mbuf* m, PayloadChunk (&more)[QueueEngine::kMaxChunks], size_t& count) noexcept {
    count = 0;
    for (const rte_mbuf* seg = m->next; seg != nullptr; seg = seg->next) {
        if (count == QueueEngine::kMaxChunks) return false;
        more[count++] = PayloadChunk{rte_pktmbuf_mtod(seg, const uint8_t*), seg->data_len};
    }
    return true;
}

}  // namespace nvmeddp::pmd
