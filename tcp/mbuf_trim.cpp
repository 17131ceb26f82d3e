#include "tcp/mbuf_trim.hpp"

#include <algorithm>

namespace nvmeddp::tcp {

void trim_front(rte_mbuf* m, uint32_t n) noexcept {
    if (n == 0) return;
    m->pkt_len -= n;
    // From the head's own data first (it stays, even when emptied).
    const uint16_t from_head = static_cast<uint16_t>(std::min<uint32_t>(n, m->data_len));
    m->data_off = static_cast<uint16_t>(m->data_off + from_head);
    m->data_len = static_cast<uint16_t>(m->data_len - from_head);
    n -= from_head;
    // Then from the segments after it: free those wholly trimmed, cut into the first one that is not.
    while (n > 0 && m->next != nullptr) {
        rte_mbuf* seg = m->next;
        if (seg->data_len <= n) {
            n -= seg->data_len;
            m->next = seg->next;
            seg->next = nullptr;
            --m->nb_segs;
            rte_pktmbuf_free_seg(seg);
        } else {
            seg->data_off = static_cast<uint16_t>(seg->data_off + n);
            seg->data_len = static_cast<uint16_t>(seg->data_len - n);
            n = 0;
        }
    }
}

void trim_back(rte_mbuf* m, uint32_t n) noexcept {
    const uint32_t keep = m->pkt_len - n;
    uint32_t before = 0;
    uint16_t segs = 0;
    for (rte_mbuf* seg = m; seg != nullptr; seg = seg->next) {
        ++segs;
        if (before + seg->data_len >= keep) {
            seg->data_len = static_cast<uint16_t>(keep - before);
            if (seg->next != nullptr) rte_pktmbuf_free(seg->next);
            seg->next = nullptr;
            break;
        }
        before += seg->data_len;
    }
    m->pkt_len = keep;
    m->nb_segs = segs;
}

}  // namespace nvmeddp::tcp
