// Stacked mode's data path (nic_datapath.hpp).
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "pmd/net_nvmeddp/frame_steering.hpp"
#include "pmd/net_nvmeddp/nic_datapath.hpp"
#include "pmd/net_nvmeddp/nic_log.hpp"
#include "pmd/net_nvmeddp/nic_port.hpp"
#include "pmd/net_nvmeddp/queue_offloads.hpp"
#include "pmd/net_nvmeddp/tx_segmentation.hpp"

namespace nvmeddp::pmd::nic {

namespace {

// Frames asked of the lower port per poll, however few the caller wants: vector PMDs return nothing
// for fewer than 4, and a small poll would leave the other queues' frames waiting too.
constexpr uint16_t kLowerBurst = 32;

// A lower queue its own poller has not polled for this long is polled by the next poller that comes by.
constexpr uint64_t kAdoptAfterUs = 500;

// Polls lower rx queue `lower` (held: LowerRx::busy) for queue q: its frames go to pkts (up to n,
// after `kept`), to their queues' rings, or are dropped by a rule. Returns the new kept.
uint16_t poll_lower(RxQueue* q, uint16_t lower, rte_mbuf** pkts, uint16_t kept, uint16_t n) {
    const Port& port = *q->port;
    const uint16_t rx_queues = rte_eth_devices[port.port_id].data->nb_rx_queues;
    // Whoever held this lower queue before us passed our frames from it to our ring before letting
    // go, possibly after we emptied the ring at the start of this burst: those go first, or a
    // connection's frames would overtake each other when the own poller and an adopter alternate.
    if (kept < n) kept = static_cast<uint16_t>(kept + rte_ring_dequeue_burst(q->ring, reinterpret_cast<void**>(pkts + kept), n - kept, nullptr));
    rte_mbuf* fresh[kLowerBurst];
    const uint16_t polled = rte_eth_rx_burst(port.lower, lower, fresh, kLowerBurst);
    for (uint16_t i = 0; i < polled; ++i) {
        rte_mbuf* m = fresh[i];
        const SteerVerdict v = steer_received_frame(port, m, lower, rx_queues);
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
    return kept;
}

// A TSO frame of 64 KiB cut at 536 bytes makes 123 segments.
constexpr uint16_t kMaxSegments = 128;
// Polls of a full lower tx queue before a frame's remaining segments are dropped (as a wire drops).
constexpr int kTxRetries = 64;

// The checksum requests a frame may carry (RTE_MBUF_F_TX_*).
constexpr uint64_t kChecksumRequests = RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK;

// Whether a frame asks for something the lower port was not configured to do: then it is done here.
bool done_here(const rte_mbuf* m, uint64_t lower_offloads) noexcept {
    const uint64_t f = m->ol_flags;
    if ((f & RTE_MBUF_F_TX_TCP_SEG) != 0) return true;
    if ((f & kChecksumRequests) == 0) return false;
    const bool ip_ok = (f & RTE_MBUF_F_TX_IP_CKSUM) == 0 || (lower_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
    const uint64_t l4 = f & RTE_MBUF_F_TX_L4_MASK;
    const bool l4_ok = l4 == 0 || (l4 == RTE_MBUF_F_TX_TCP_CKSUM && (lower_offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0);
    return !(ip_ok && l4_ok);
}

struct Segments {
    rte_mbuf* frames[kMaxSegments];
    uint16_t count = 0;
    uint16_t overflow = 0;  // segments past kMaxSegments: freed at once
};

void collect(void* ctx, rte_mbuf* m) {
    auto* s = static_cast<Segments*>(ctx);
    if (s->count == kMaxSegments) {
        ++s->overflow;
        rte_pktmbuf_free(m);
        return;
    }
    s->frames[s->count++] = m;
}

// One frame whose offloads are done here: its segments (or the frame with its checksums) go to the
// lower port, all of them (retrying a full queue a while), or what is left is dropped. The caller's
// frame is consumed either way.
void send_done_here(TxQueue* q, rte_mbuf* m) {
    const Port& port = *q->port;
    Segments s;
    const TxOffloadResult r = apply_tx_offloads(m, q->offloads, m->pool, collect, &s);
    account_tx_offloads(*q, r);
    // Frames sent belong to the lower port at once (it may have freed them): counted before.
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < s.count; ++i) bytes += s.frames[i]->pkt_len;
    uint16_t sent = 0;
    for (int tries = 0; sent < s.count && tries < kTxRetries; ++tries) {
        sent = static_cast<uint16_t>(sent + rte_eth_tx_burst(port.lower, q->index, s.frames + sent, s.count - sent));
    }
    for (uint16_t i = sent; i < s.count; ++i) bytes -= s.frames[i]->pkt_len;
    q->bytes += bytes;
    q->packets += sent;
    if (sent < s.count) rte_pktmbuf_free_bulk(s.frames + sent, s.count - sent);
    q->tso_segments_dropped += static_cast<uint64_t>(s.count - sent) + s.overflow;
}

bool try_hold(LowerRx& l) noexcept {
    return !l.busy.load(std::memory_order_relaxed) && !l.busy.exchange(true, std::memory_order_acquire);
}

void release(LowerRx& l, uint64_t now) noexcept {
    l.polled_tsc.store(now, std::memory_order_relaxed);
    l.busy.store(false, std::memory_order_release);
}

}  // namespace

uint16_t stacked_rx_burst(void* queue, rte_mbuf** pkts, uint16_t n) {
    auto* q = static_cast<RxQueue*>(queue);
    Port& port = *q->port;
    // Frames other queues steered here (or this queue kept for later) came before anything polled now.
    uint16_t kept = static_cast<uint16_t>(rte_ring_dequeue_burst(q->ring, reinterpret_cast<void**>(pkts), n, nullptr));
    if (kept < n && q->index < port.lower_rx_queues) {
        LowerRx& own = port.lower_rx[q->index];
        if (try_hold(own)) {  // busy only while another poller adopted it: its frames come through the ring
            kept = poll_lower(q, q->index, pkts, kept, n);
            release(own, rte_get_tsc_cycles());
        }
    }
    // One other lower queue per call, in turn: adopted when its own poller has not polled it lately.
    if (port.lower_rx_queues > 1) {
        const uint16_t other = static_cast<uint16_t>((q->index + 1 + q->adopt_next++ % (port.lower_rx_queues - 1)) %
                                                     port.lower_rx_queues);
        LowerRx& l = port.lower_rx[other];
        const uint64_t now = rte_get_tsc_cycles();
        if (now - l.polled_tsc.load(std::memory_order_relaxed) > kAdoptAfterUs * rte_get_tsc_hz() / 1000000 &&
            try_hold(l)) {
            kept = poll_lower(q, other, pkts, kept, n);
            ++q->adopted_polls;
            release(l, now);
        }
    }
    kept = coalesce_received(*q, pkts, kept);
    for (uint16_t i = 0; i < kept; ++i) q->bytes += pkts[i]->pkt_len;
    q->packets += kept;
    return kept;
}

namespace {

// Frames as they are, to the lower port: what it took.
uint16_t send_as_they_are(TxQueue* q, rte_mbuf** pkts, uint16_t n) {
    // Frames sent belong to the lower port at once (it may have freed them): count them before.
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < n; ++i) bytes += pkts[i]->pkt_len;
    const uint16_t sent = rte_eth_tx_burst(q->port->lower, q->index, pkts, n);
    for (uint16_t i = sent; i < n; ++i) bytes -= pkts[i]->pkt_len;
    q->bytes += bytes;
    q->packets += sent;
    return sent;
}

}  // namespace

// Runs of frames the lower port sends as they are go to it together, and what it does not take is
// left to the caller, as any PMD does; a frame whose offloads are done here (TSO, or checksums the
// lower port was not configured with) is consumed whole, however much of it the lower port took.
uint16_t stacked_tx_burst(void* queue, rte_mbuf** pkts, uint16_t n) {
    auto* q = static_cast<TxQueue*>(queue);
    const uint64_t lower_offloads = q->port->lower_tx_offloads;
    uint16_t done = 0;
    while (done < n) {
        if (done_here(pkts[done], lower_offloads)) {
            send_done_here(q, pkts[done++]);
            continue;
        }
        uint16_t end = static_cast<uint16_t>(done + 1);
        while (end < n && !done_here(pkts[end], lower_offloads)) ++end;
        const auto want = static_cast<uint16_t>(end - done);
        const uint16_t sent = send_as_they_are(q, pkts + done, want);
        done = static_cast<uint16_t>(done + sent);
        if (sent < want) break;
    }
    return done;
}

// The lower port prepares the frames it will send as they are; those done here need nothing.
uint16_t stacked_tx_prepare(void* queue, rte_mbuf** pkts, uint16_t n) {
    const auto* q = static_cast<const TxQueue*>(queue);
    const uint64_t lower_offloads = q->port->lower_tx_offloads;
    uint16_t done = 0;
    while (done < n) {
        if (done_here(pkts[done], lower_offloads)) {
            ++done;
            continue;
        }
        uint16_t end = static_cast<uint16_t>(done + 1);
        while (end < n && !done_here(pkts[end], lower_offloads)) ++end;
        const auto want = static_cast<uint16_t>(end - done);
        const uint16_t ok = rte_eth_tx_prepare(q->port->lower, q->index, pkts + done, want);
        done = static_cast<uint16_t>(done + ok);
        if (ok < want) break;
    }
    return done;
}

}  // namespace nvmeddp::pmd::nic
