// Loopback mode's data path (nic_datapath.hpp).
#include <rte_ring.h>

#include "pmd/net_nvmeddp/frame_steering.hpp"
#include "pmd/net_nvmeddp/nic_datapath.hpp"
#include "pmd/net_nvmeddp/nic_port.hpp"

namespace nvmeddp::pmd::nic {

uint16_t loopback_rx_burst(void* queue, rte_mbuf** pkts, uint16_t n) {
    auto* q = static_cast<RxQueue*>(queue);
    const auto got = static_cast<uint16_t>(rte_ring_dequeue_burst(q->ring, reinterpret_cast<void**>(pkts), n, nullptr));
    for (uint16_t i = 0; i < got; ++i) q->bytes += pkts[i]->pkt_len;
    q->packets += got;
    return got;
}

// Every frame is consumed: delivered, dropped by a rule, or dropped for want of rx room.
uint16_t loopback_tx_burst(void* queue, rte_mbuf** pkts, uint16_t n) {
    auto* q = static_cast<TxQueue*>(queue);
    const Port& port = *q->port;
    const uint16_t rx_queues = rte_eth_devices[port.port_id].data->nb_rx_queues;
    const auto fallback = static_cast<uint16_t>(q->index % (rx_queues == 0 ? 1 : rx_queues));
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        q->bytes += m->pkt_len;
        // What the sender asked of tx is not what the receiver sees; whose buffer it is (an indirect
        // or external mbuf) stays, or freeing it would return it to its pool as a direct one.
        m->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;
        const SteerVerdict v = steer_received_frame(port, m, fallback, rx_queues);
        RxQueue* rx = v.queue < kMaxQueues ? port.rx[v.queue] : nullptr;
        if (v.drop) {
            ++q->dropped_by_rule;
            rte_pktmbuf_free(m);
        } else if (rx == nullptr || rte_ring_enqueue(rx->ring, m) != 0) {
            ++q->missed;
            rte_pktmbuf_free(m);
        }
    }
    q->packets += n;
    return n;
}

}  // namespace nvmeddp::pmd::nic
