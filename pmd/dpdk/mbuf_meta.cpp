#include "pmd/dpdk/mbuf_meta.hpp"

#include <rte_errno.h>

#include <cstring>

namespace nvmeddp::pmd {

std::string MbufMeta::register_once() {
    if (registered()) return {};
    rte_mbuf_dynfield field{};
    std::strncpy(field.name, NVMEDDP_MBUF_DYNFIELD_NAME, sizeof field.name - 1);
    field.size = sizeof(nvmeddp_pkt_meta);
    field.align = alignof(nvmeddp_pkt_meta);
    const int offset = rte_mbuf_dynfield_register(&field);
    if (offset < 0) return std::string("rte_mbuf_dynfield_register: ") + rte_strerror(rte_errno);
    rte_mbuf_dynflag flag{};
    std::strncpy(flag.name, NVMEDDP_MBUF_DYNFLAG_NAME, sizeof flag.name - 1);
    const int bit = rte_mbuf_dynflag_register(&flag);
    if (bit < 0) return std::string("rte_mbuf_dynflag_register: ") + rte_strerror(rte_errno);
    offset_ = offset;
    flag_ = uint64_t{1} << bit;
    return {};
}

}  // namespace nvmeddp::pmd
