// The per-packet DDP metadata (include/nvmeddp/ddp_mbuf.h) in DPDK mbufs: a dynamic field holding a
// nvmeddp_pkt_meta and a dynamic flag saying it is valid, registered under the public names so any
// host stack can find them with rte_mbuf_dynfield_lookup / rte_mbuf_dynflag_lookup.
#pragma once

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include <cstdint>
#include <string>

#include "nvmeddp/ddp_mbuf.h"

namespace nvmeddp::pmd {

class MbufMeta {
public:
    // Registers (or finds, if registered already) the field and the flag; after the EAL is up.
    // Returns an empty string on success, else why not.
    static std::string register_once();

    static bool registered() noexcept { return offset_ >= 0; }
    static uint64_t flag() noexcept { return flag_; }

    static bool has(const rte_mbuf* m) noexcept { return (m->ol_flags & flag_) != 0 && flag_ != 0; }
    static nvmeddp_pkt_meta* get(rte_mbuf* m) noexcept { return RTE_MBUF_DYNFIELD(m, offset_, nvmeddp_pkt_meta*); }
    static const nvmeddp_pkt_meta* get(const rte_mbuf* m) noexcept {
        return RTE_MBUF_DYNFIELD(m, offset_, const nvmeddp_pkt_meta*);
    }
    static void set(rte_mbuf* m, const nvmeddp_pkt_meta& meta) noexcept {
        *get(m) = meta;
        m->ol_flags |= flag_;
    }

private:
    static inline int offset_ = -1;
    static inline uint64_t flag_ = 0;
};

}  // namespace nvmeddp::pmd
