// Stacked mode's data path (nic_datapath.hpp).
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "pmd/net_nvmeddp/frame_steering.hpp"
#include "pmd/net_nvmeddp/nic_datapath.hpp"
#include "pmd/net_nvmeddp/nic_port.hpp"

namespace nvmeddp::pmd::nic {

namespace {

// Frames asked of the lower port per poll, however few the caller wants: vector PMDs return nothing
// for fewer than 4, and a small poll would leave the other queues' frames waiting too.
constexpr uint16_t kLowerBurst = 32;

}  // namespace

uint16_t stacked_rx_burst(void* queue, rte_mbuf** pkts, uint16_t n) {
    auto* q = static_cast<RxQueue*>(queue);
    const Port& port = *q->port;
    // Frames other queues steered here (or this queue kept for later) came before anything polled now.
    uint16_t kept = static_cast<uint16_t>(rte_ring_dequeue_burst(q->ring, reinterpret_cast<void**>(pkts), n, nullptr));
    if (kept < n && q->index < port.lower_rx_queues) {
        const uint16_t rx_queues = rte_eth_devices[port.port_id].data->nb_rx_queues;
        rte_mbuf* fresh[kLowerBurst];
        const uint16_t polled = rte_eth_rx_burst(port.lower, q->index, fresh, kLowerBurst);
        for (uint16_t i = 0; i < polled; ++i) {
            rte_mbuf* m = fresh[i];
            const SteerVerdict v = steer_received_frame(port, m, q->index, rx_queues);
            if (v.drop) {
                ++q->dropped_by_rule;
                rte_pktmbuf_free(m);
            } else if (v.queue == q->index && kept < n) {
                pkts[kept++] = m;
            } else if (RxQueue* to = port.rx[v.queue]; to != nullptr && rte_ring_enqueue(to->ring, m) == 0) {
                // Another queue's, or ours beyond what the caller takes now (first out next time).
                if (to != q) ++q->steered_out;
            } else {
                ++q->steer_missed;
                rte_pktmbuf_free(m);
            }
        }
    }
    for (uint16_t i = 0; i < kept; ++i) q->bytes += pkts[i]->pkt_len;
    q->packets += kept;
    return kept;
}

uint16_t stacked_tx_burst(void* queue, rte_mbuf** pkts, uint16_t n) {
    auto* q = static_cast<TxQueue*>(queue);
    // Frames sent belong to the lower port at once (it may have freed them): count them before.
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < n; ++i) bytes += pkts[i]->pkt_len;
    const uint16_t sent = rte_eth_tx_burst(q->port->lower, q->index, pkts, n);
    for (uint16_t i = sent; i < n; ++i) bytes -= pkts[i]->pkt_len;
    q->bytes += bytes;
    q->packets += sent;
    return sent;
}

uint16_t stacked_tx_prepare(void* queue, rte_mbuf** pkts, uint16_t n) {
    const auto* q = static_cast<const TxQueue*>(queue);
    return rte_eth_tx_prepare(q->port->lower, q->index, pkts, n);
}

}  // namespace nvmeddp::pmd::nic
