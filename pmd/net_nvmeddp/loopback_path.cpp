// Loopback mode's data path (nic_datapath.hpp).
#include <rte_ring.h>

#include "pmd/net_nvmeddp/frame_steering.hpp"
#include "pmd/net_nvmeddp/nic_datapath.hpp"
#include "pmd/net_nvmeddp/nic_log.hpp"
#include "pmd/net_nvmeddp/nic_port.hpp"
#include "pmd/net_nvmeddp/queue_offloads.hpp"
#include "pmd/net_nvmeddp/tx_segmentation.hpp"

namespace nvmeddp::pmd::nic {

namespace {

struct Wire {
    TxQueue* q;
    const Port* port;
    uint16_t fallback;
    uint16_t rx_queues;
};

// A frame on the wire, its tx offloads done: it arrives at the receiving NIC.
void deliver(void* ctx, rte_mbuf* m) {
    const Wire& w = *static_cast<const Wire*>(ctx);
    // What the sender asked of tx is not what the receiver sees; whose buffer it is (an indirect
    // or external mbuf) stays, or freeing it would return it to its pool as a direct one.
    m->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;
    const SteerVerdict v = steer_received_frame(*w.port, m, w.fallback, w.rx_queues);
    RxQueue* rx = v.queue < kMaxQueues ? w.port->rx[v.queue] : nullptr;
    if (v.drop) {
        ++w.q->dropped_by_rule;
        rte_pktmbuf_free(m);
    } else if (rx == nullptr || rte_ring_enqueue(rx->ring, m) != 0) {
        ++w.q->missed;
        rte_pktmbuf_free(m);
    }
}

}  // namespace

uint16_t loopback_rx_burst(void* queue, rte_mbuf** pkts, uint16_t n) {
    auto* q = static_cast<RxQueue*>(queue);
    auto got = static_cast<uint16_t>(rte_ring_dequeue_burst(q->ring, reinterpret_cast<void**>(pkts), n, nullptr));
    got = coalesce_received(*q, pkts, got);
    for (uint16_t i = 0; i < got; ++i) q->bytes += pkts[i]->pkt_len;
    q->packets += got;
    return got;
}

// Every frame is consumed: delivered (as one frame or, with TSO, several), dropped by a rule, dropped
// for want of rx room, or dropped for a tx offload request the queue cannot do (oerrors).
uint16_t loopback_tx_burst(void* queue, rte_mbuf** pkts, uint16_t n) {
    auto* q = static_cast<TxQueue*>(queue);
    const Port& port = *q->port;
    const uint16_t rx_queues = rte_eth_devices[port.port_id].data->nb_rx_queues;
    Wire wire{q, &port, static_cast<uint16_t>(q->index % (rx_queues == 0 ? 1 : rx_queues)), rx_queues};
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        q->bytes += m->pkt_len;
        // Segments come from the frame's own pool, as the sender's buffers do.
        const TxOffloadResult r = apply_tx_offloads(m, q->offloads, m->pool, deliver, &wire);
        account_tx_offloads(*q, r);
    }
    q->packets += n;
    return n;
}

}  // namespace nvmeddp::pmd::nic
