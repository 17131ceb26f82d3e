#include "pmd/net_nvmeddp/nic_ethdev_ops.hpp"

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "pmd/net_nvmeddp/nic_flow_ops.hpp"
#include "pmd/net_nvmeddp/nic_log.hpp"
#include "pmd/net_nvmeddp/nic_offload.hpp"
#include "pmd/net_nvmeddp/nic_port.hpp"
#include "pmd/net_nvmeddp/rx_coalescing.hpp"
#include "pmd/net_nvmeddp/tx_segmentation.hpp"

namespace nvmeddp::pmd::nic {

namespace {

// Checksums this port verifies itself when the lower port cannot (and always in loopback mode).
constexpr uint64_t kSoftwareRxOffloads = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;

// Loopback LRO's longest frame, L2 header included: its IP length then fits 16 bits however many
// VLAN tags it has.
constexpr uint32_t kMaxLroFrameLen = kMaxLroIpLength;

void drain(RxQueue* q) {
    if (q == nullptr || q->ring == nullptr) return;
    rte_mbuf* m = nullptr;
    while (rte_ring_dequeue(q->ring, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
}

int dev_configure(rte_eth_dev* dev) {
    Port* port = port_of(dev);
    const rte_eth_conf& conf = dev->data->dev_conf;
    const uint64_t rx_offloads = conf.rxmode.offloads;
    if (!port->stacked()) {
        port->verify_ip_cksum = (rx_offloads & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
        port->verify_tcp_cksum = (rx_offloads & RTE_ETH_RX_OFFLOAD_TCP_CKSUM) != 0;
        // ethdev has checked max_lro_pkt_size against ours, and made 0 the MTU's frame length.
        port->lro_enabled = (rx_offloads & RTE_ETH_RX_OFFLOAD_TCP_LRO) != 0;
        port->max_lro_pkt_size = std::min(conf.rxmode.max_lro_pkt_size, kMaxLroFrameLen);
        return 0;
    }
    rte_eth_dev_info lower{};
    if (int rc = rte_eth_dev_info_get(port->lower, &lower); rc != 0) return rc;
    const uint16_t rx = dev->data->nb_rx_queues, tx = dev->data->nb_tx_queues;
    if (tx > lower.max_tx_queues) {
        NVMEDDP_PMD_LOG(ERR, "%s: %u tx queues asked, the lower port %s has %u (for af_packet: queues=N or qpairs=N)",
                        port->name, tx, lower.device != nullptr ? rte_dev_name(lower.device) : "?", lower.max_tx_queues);
        return -EINVAL;
    }
    // Rx queues beyond the lower port's receive only what rules steer to them.
    port->lower_rx_queues = std::min<uint16_t>(rx, lower.max_rx_queues);
    rte_eth_conf lower_conf = conf;
    lower_conf.rxmode.offloads = rx_offloads & lower.rx_offload_capa;
    lower_conf.rxmode.mq_mode = port->lower_rx_queues > 1 ? conf.rxmode.mq_mode : RTE_ETH_MQ_RX_NONE;
    lower_conf.rx_adv_conf.rss_conf.rss_hf &= lower.flow_type_rss_offloads;
    lower_conf.intr_conf = {};
    port->verify_ip_cksum = (rx_offloads & ~lower.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
    port->verify_tcp_cksum = (rx_offloads & ~lower.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_CKSUM) != 0;
    // LRO the lower port does itself stays its own; where it has none, it is done here.
    port->lro_enabled = (rx_offloads & ~lower.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_LRO) != 0;
    port->max_lro_pkt_size = std::min(conf.rxmode.max_lro_pkt_size, kMaxLroFrameLen);
    if (port->lro_enabled) lower_conf.rxmode.max_lro_pkt_size = 0;
    lower_conf.txmode.offloads = conf.txmode.offloads & lower.tx_offload_capa & ~RTE_ETH_TX_OFFLOAD_TCP_TSO;
    if ((conf.txmode.offloads & kTxOffloadsDone & ~lower_conf.txmode.offloads) != 0) {
        // What is done here hands the lower port mbuf chains (a header mbuf, indirect payload): it
        // must send chains, and must not fast-free them (that skips detaching indirect mbufs).
        lower_conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
        lower_conf.txmode.offloads &= ~RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    }
    port->lower_tx_offloads = lower_conf.txmode.offloads;
    const int rc = rte_eth_dev_configure(port->lower, port->lower_rx_queues, tx, &lower_conf);
    if (rc != 0) NVMEDDP_PMD_LOG(ERR, "%s: configuring the lower port failed: %s", port->name, std::strerror(-rc));
    return rc;
}

// Called by ethdev only before the first configure. Of what is asked, USER_MARK is what it can
// deliver (with rx_mark=on); asking for nothing, or without USER_MARK, switches delivery off.
int rx_metadata_negotiate(rte_eth_dev* dev, uint64_t* features) {
    Port* port = port_of(dev);
    if (port->mark_mode == MarkMode::Silent) return -ENOTSUP;
    *features &= port->mark_mode == MarkMode::On ? RTE_ETH_RX_METADATA_USER_MARK : 0;
    port->deliver_mark = (*features & RTE_ETH_RX_METADATA_USER_MARK) != 0;
    return 0;
}

void set_queue_states(rte_eth_dev* dev, uint8_t state) {
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; ++i) dev->data->rx_queue_state[i] = state;
    for (uint16_t i = 0; i < dev->data->nb_tx_queues; ++i) dev->data->tx_queue_state[i] = state;
}

int link_update(rte_eth_dev* dev, int) {
    Port* port = port_of(dev);
    rte_eth_link link{};
    if (port->stacked()) {
        if (int rc = rte_eth_link_get_nowait(port->lower, &link); rc != 0) return rc;
        if (!dev->data->dev_started) link.link_status = RTE_ETH_LINK_DOWN;
    } else {
        link.link_speed = RTE_ETH_SPEED_NUM_100G;
        link.link_duplex = RTE_ETH_LINK_FULL_DUPLEX;
        link.link_autoneg = RTE_ETH_LINK_FIXED;
        link.link_status = dev->data->dev_started ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN;
    }
    return rte_eth_linkstatus_set(dev, &link);
}

int dev_start(rte_eth_dev* dev) {
    Port* port = port_of(dev);
    if (port->stacked()) {
        if (int rc = rte_eth_dev_start(port->lower); rc != 0) {
            NVMEDDP_PMD_LOG(ERR, "%s: starting the lower port failed: %s", port->name, std::strerror(-rc));
            return rc;
        }
    }
    if (int rc = start_offload(*port, dev->data->nb_rx_queues); rc != 0) {
        if (port->stacked()) rte_eth_dev_stop(port->lower);
        return rc;
    }
    // Started from here on, whatever link_update says (the link status is only reported).
    dev->data->dev_started = 1;  // ethdev sets it after we return; link_update wants it now
    set_queue_states(dev, RTE_ETH_QUEUE_STATE_STARTED);
    link_update(dev, 0);
    return 0;
}

// Frames queued for delivery are dropped, as a NIC's rx rings are reset.
int dev_stop(rte_eth_dev* dev) {
    Port* port = port_of(dev);
    if (port->stacked() && !port->lower_destroyed) {
        // Still started (as ethdev then keeps it) when the lower port cannot stop.
        if (int rc = rte_eth_dev_stop(port->lower); rc != 0) return rc;
    }
    for (RxQueue* q : port->rx) drain(q);
    dev->data->dev_started = 0;
    set_queue_states(dev, RTE_ETH_QUEUE_STATE_STOPPED);
    link_update(dev, 0);
    return 0;
}

void rx_queue_release(rte_eth_dev* dev, uint16_t id) {
    Port* port = port_of(dev);
    if (id >= kMaxQueues || port->rx[id] == nullptr) return;
    RxQueue* q = port->rx[id];
    drain(q);
    rte_ring_free(q->ring);
    rte_free(q);
    port->rx[id] = nullptr;
    dev->data->rx_queues[id] = nullptr;
}

void tx_queue_release(rte_eth_dev* dev, uint16_t id) {
    Port* port = port_of(dev);
    if (id >= kMaxQueues || port->tx[id] == nullptr) return;
    rte_free(port->tx[id]);
    port->tx[id] = nullptr;
    dev->data->tx_queues[id] = nullptr;
}

int dev_infos_get(rte_eth_dev* dev, rte_eth_dev_info* info) {
    Port* port = port_of(dev);
    info->max_mac_addrs = 1;
    info->max_rx_queues = kMaxQueues;
    info->min_rx_bufsize = 0;
    info->dev_capa = RTE_ETH_DEV_CAPA_FLOW_RULE_KEEP;  // rules live in the port, not in a started state
    if (!port->stacked()) {
        info->max_rx_pktlen = 9618;
        info->max_mtu = 9600;
        info->max_tx_queues = kMaxQueues;
        info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER | kSoftwareRxOffloads;
        info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
        if (port->tso_offered) info->tx_offload_capa |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
        if (port->lro_offered) {
            info->rx_offload_capa |= RTE_ETH_RX_OFFLOAD_TCP_LRO;
            info->max_lro_pkt_size = kMaxLroFrameLen;
        }
        return 0;
    }
    rte_eth_dev_info lower{};
    if (int rc = rte_eth_dev_info_get(port->lower, &lower); rc != 0) return rc;
    info->max_rx_pktlen = lower.max_rx_pktlen;
    info->min_mtu = lower.min_mtu;
    info->max_mtu = lower.max_mtu;
    info->max_tx_queues = std::min<uint16_t>(lower.max_tx_queues, kMaxQueues);
    info->rx_offload_capa = lower.rx_offload_capa | kSoftwareRxOffloads;
    info->tx_offload_capa = lower.tx_offload_capa & ~RTE_ETH_TX_OFFLOAD_TCP_TSO;
    info->max_lro_pkt_size = lower.max_lro_pkt_size;
    // What is done here makes mbuf chains (segments on the sender's buffers, merged payloads): only
    // over a lower port that sends and receives them.
    if ((lower.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0) {
        if (port->tso_offered) {
            info->tx_offload_capa |= kTxOffloadsDone;
            info->tx_offload_capa &= ~RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;  // see dev_configure
        }
        if (port->lro_offered && (lower.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_LRO) == 0) {
            info->rx_offload_capa |= RTE_ETH_RX_OFFLOAD_TCP_LRO;
            info->max_lro_pkt_size = kMaxLroFrameLen;
        }
    }
    info->rx_desc_lim = lower.rx_desc_lim;
    info->tx_desc_lim = lower.tx_desc_lim;
    info->flow_type_rss_offloads = lower.flow_type_rss_offloads;
    info->speed_capa = lower.speed_capa;
    return 0;
}

int rx_queue_setup(rte_eth_dev* dev, uint16_t id, uint16_t nb_desc, unsigned socket, const rte_eth_rxconf* conf,
                   rte_mempool* pool) {
    Port* port = port_of(dev);
    if (id >= kMaxQueues) return -EINVAL;
    rx_queue_release(dev, id);
    if (port->stacked() && id < port->lower_rx_queues) {
        rte_eth_rxconf lower_conf = conf != nullptr ? *conf : rte_eth_rxconf{};
        rte_eth_dev_info lower{};
        if (int rc = rte_eth_dev_info_get(port->lower, &lower); rc != 0) return rc;
        lower_conf.offloads &= lower.rx_queue_offload_capa | lower.rx_offload_capa;
        if (int rc = rte_eth_rx_queue_setup(port->lower, id, nb_desc, socket, &lower_conf, pool); rc != 0) {
            NVMEDDP_PMD_LOG(ERR, "%s: rx queue %u of the lower port: %s", port->name, id, std::strerror(-rc));
            return rc;
        }
    }
    auto* q = static_cast<RxQueue*>(rte_zmalloc_socket("net_nvmeddp_rxq", sizeof(RxQueue), RTE_CACHE_LINE_SIZE, static_cast<int>(socket)));
    if (q == nullptr) return -ENOMEM;
    q->index = id;
    q->port = port;
    char name[RTE_RING_NAMESIZE];
    std::snprintf(name, sizeof name, "nvmeddp_p%u_rx%u", dev->data->port_id, id);
    // Several queues (lcores) may steer into one rx queue; one lcore polls it.
    q->ring = rte_ring_create(name, rte_align32pow2(nb_desc == 0 ? 1024 : nb_desc), static_cast<int>(socket), RING_F_SC_DEQ);
    if (q->ring == nullptr) {
        rte_free(q);
        return -rte_errno;
    }
    port->rx[id] = q;
    dev->data->rx_queues[id] = q;
    return 0;
}

int tx_queue_setup(rte_eth_dev* dev, uint16_t id, uint16_t nb_desc, unsigned socket, const rte_eth_txconf* conf) {
    Port* port = port_of(dev);
    if (id >= kMaxQueues) return -EINVAL;
    tx_queue_release(dev, id);
    if (port->stacked()) {
        rte_eth_txconf lower_conf = conf != nullptr ? *conf : rte_eth_txconf{};
        lower_conf.offloads &= port->lower_tx_offloads;
        if (int rc = rte_eth_tx_queue_setup(port->lower, id, nb_desc, socket, &lower_conf); rc != 0) {
            NVMEDDP_PMD_LOG(ERR, "%s: tx queue %u of the lower port: %s", port->name, id, std::strerror(-rc));
            return rc;
        }
    }
    auto* q = static_cast<TxQueue*>(rte_zmalloc_socket("net_nvmeddp_txq", sizeof(TxQueue), RTE_CACHE_LINE_SIZE, static_cast<int>(socket)));
    if (q == nullptr) return -ENOMEM;
    q->index = id;
    q->port = port;
    // ethdev passes the queue's own offloads, those of the port apart.
    q->offloads = dev->data->dev_conf.txmode.offloads | (conf != nullptr ? conf->offloads : 0);
    port->tx[id] = q;
    dev->data->tx_queues[id] = q;
    return 0;
}

int stats_get(rte_eth_dev* dev, rte_eth_stats* st) {
    Port* port = port_of(dev);
    if (port->stacked()) {
        rte_eth_stats lower{};
        if (rte_eth_stats_get(port->lower, &lower) == 0) {
            st->imissed = lower.imissed;
            st->ierrors = lower.ierrors;
            st->oerrors = lower.oerrors;
            st->rx_nombuf = lower.rx_nombuf;
        }
    }
    for (uint16_t i = 0; i < kMaxQueues; ++i) {
        if (const RxQueue* q = port->rx[i]) {
            st->ipackets += q->packets;
            st->ibytes += q->bytes;
            st->imissed += q->steer_missed;
            if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
                st->q_ipackets[i] = q->packets;
                st->q_ibytes[i] = q->bytes;
            }
        }
        if (const TxQueue* q = port->tx[i]) {
            st->opackets += q->packets;
            st->obytes += q->bytes;
            st->imissed += q->missed;
            st->oerrors += q->tx_offload_errors;
            if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
                st->q_opackets[i] = q->packets;
                st->q_obytes[i] = q->bytes;
            }
        }
    }
    return 0;
}

int stats_reset(rte_eth_dev* dev) {
    Port* port = port_of(dev);
    for (RxQueue* q : port->rx) {
        if (q != nullptr) {
            q->packets = q->bytes = q->steered_out = q->steer_missed = q->dropped_by_rule = q->adopted_polls = 0;
            q->lro_frames = q->lro_segments_merged = 0;
        }
    }
    for (TxQueue* q : port->tx) {
        if (q != nullptr) {
            q->packets = q->bytes = q->missed = q->dropped_by_rule = 0;
            q->tso_frames = q->tso_segments = q->tso_segments_dropped = q->tx_offload_errors = 0;
        }
    }
    return port->stacked() ? rte_eth_stats_reset(port->lower) : 0;
}

// The port's own counters beyond rte_eth_stats (per-queue ones ethdev adds itself:
// RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS).
struct XstatField {
    const char* name;
    uint64_t (*read)(const Port&);
};

template <uint64_t RxQueue::*Field>
uint64_t sum_rx(const Port& p) {
    uint64_t n = 0;
    for (const RxQueue* q : p.rx) n += q != nullptr ? q->*Field : 0;
    return n;
}
template <uint64_t TxQueue::*Field>
uint64_t sum_tx(const Port& p) {
    uint64_t n = 0;
    for (const TxQueue* q : p.tx) n += q != nullptr ? q->*Field : 0;
    return n;
}

constexpr XstatField kXstats[] = {
    {"rx_steered_to_other_queue_packets", sum_rx<&RxQueue::steered_out>},
    {"rx_steer_queue_full_drops", sum_rx<&RxQueue::steer_missed>},
    {"rx_lower_queue_adopted_polls", sum_rx<&RxQueue::adopted_polls>},
    {"rx_flow_drop_packets", [](const Port& p) { return sum_rx<&RxQueue::dropped_by_rule>(p) + sum_tx<&TxQueue::dropped_by_rule>(p); }},
    {"rx_no_descriptor_drops", sum_tx<&TxQueue::missed>},
    {"tx_tso_frames", sum_tx<&TxQueue::tso_frames>},
    {"tx_tso_segments", sum_tx<&TxQueue::tso_segments>},
    {"tx_offload_errors", sum_tx<&TxQueue::tx_offload_errors>},
    {"tx_tso_segments_dropped", sum_tx<&TxQueue::tso_segments_dropped>},
    {"rx_lro_frames", sum_rx<&RxQueue::lro_frames>},
    {"rx_lro_segments_merged", sum_rx<&RxQueue::lro_segments_merged>},
    {"flow_rules", [](const Port& p) { return static_cast<uint64_t>(p.rules.size()); }},
};
constexpr unsigned kXstatCount = static_cast<unsigned>(std::size(kXstats));

// The port's own, then the offload's (when it runs one).
int xstats_get(rte_eth_dev* dev, rte_eth_xstat* xstats, unsigned n) {
    const Port& port = *port_of(dev);
    const unsigned total = kXstatCount + offload_xstat_count(port);
    if (xstats == nullptr || n < total) return static_cast<int>(total);
    uint64_t offload[kMaxOffloadXstats] = {};
    offload_xstat_values(port, offload);
    for (unsigned i = 0; i < total; ++i) xstats[i] = {i, i < kXstatCount ? kXstats[i].read(port) : offload[i - kXstatCount]};
    return static_cast<int>(total);
}

int xstats_get_names(rte_eth_dev* dev, rte_eth_xstat_name* names, unsigned n) {
    const Port& port = *port_of(dev);
    const unsigned total = kXstatCount + offload_xstat_count(port);
    if (names == nullptr || n < total) return static_cast<int>(total);
    for (unsigned i = 0; i < kXstatCount; ++i) std::snprintf(names[i].name, sizeof names[i].name, "%s", kXstats[i].name);
    offload_xstat_names(port, names + kXstatCount);
    return static_cast<int>(total);
}

int promiscuous_enable(rte_eth_dev* dev) {
    Port* port = port_of(dev);
    return port->stacked() ? rte_eth_promiscuous_enable(port->lower) : 0;
}
int promiscuous_disable(rte_eth_dev* dev) {
    Port* port = port_of(dev);
    return port->stacked() ? rte_eth_promiscuous_disable(port->lower) : -ENOTSUP;  // loopback takes every frame
}
int allmulticast_enable(rte_eth_dev* dev) {
    Port* port = port_of(dev);
    return port->stacked() ? rte_eth_allmulticast_enable(port->lower) : 0;
}
int allmulticast_disable(rte_eth_dev* dev) {
    Port* port = port_of(dev);
    return port->stacked() ? rte_eth_allmulticast_disable(port->lower) : -ENOTSUP;
}
int mtu_set(rte_eth_dev* dev, uint16_t mtu) {
    Port* port = port_of(dev);
    return port->stacked() ? rte_eth_dev_set_mtu(port->lower, mtu) : 0;
}

// Filled in code rather than with designated initialisers: C++20 wants those in declaration order
// and -Wextra would warn about every one of the ~70 members left out.
constexpr eth_dev_ops make_dev_ops() {
    eth_dev_ops ops{};
    ops.dev_configure = dev_configure;
    ops.dev_start = dev_start;
    ops.dev_stop = dev_stop;
    ops.dev_close = nic_dev_close;
    ops.link_update = link_update;
    ops.promiscuous_enable = promiscuous_enable;
    ops.promiscuous_disable = promiscuous_disable;
    ops.allmulticast_enable = allmulticast_enable;
    ops.allmulticast_disable = allmulticast_disable;
    ops.mtu_set = mtu_set;
    ops.stats_get = stats_get;
    ops.stats_reset = stats_reset;
    ops.xstats_get = xstats_get;
    ops.xstats_get_names = xstats_get_names;
    ops.dev_infos_get = dev_infos_get;
    ops.rx_queue_setup = rx_queue_setup;
    ops.rx_queue_release = rx_queue_release;
    ops.tx_queue_setup = tx_queue_setup;
    ops.tx_queue_release = tx_queue_release;
    ops.flow_ops_get = flow_ops_get;
    ops.rx_metadata_negotiate = rx_metadata_negotiate;
    return ops;
}
constinit const eth_dev_ops g_dev_ops = make_dev_ops();

}  // namespace

const eth_dev_ops* nic_dev_ops() noexcept { return &g_dev_ops; }

namespace {

int close_port(rte_eth_dev* dev, bool remove_lower_vdev) {
    if (rte_eal_process_type() != RTE_PROC_PRIMARY) return 0;
    Port* port = port_of(dev);
    if (dev->data->dev_started) dev_stop(dev);
    stop_offload(*port);  // its rx callbacks and rte_flow rules go before the queues and rules do
    for (uint16_t i = 0; i < kMaxQueues; ++i) {
        rx_queue_release(dev, i);
        tx_queue_release(dev, i);
    }
    port->rules.clear();
    if (port->stacked()) {
        const uint16_t lower = port->lower;
        port->lower = kNoPort;
        if (!port->lower_destroyed) {
            rte_eth_dev_callback_unregister(lower, RTE_ETH_EVENT_DESTROY, on_lower_destroyed, port);
            char lower_name[RTE_ETH_NAME_MAX_LEN] = {};
            rte_eth_dev_get_name_by_port(lower, lower_name);
            rte_eth_dev_owner_unset(lower, port->owner.id);
            rte_eth_dev_close(lower);
            if (port->lower_made_here && remove_lower_vdev) rte_eal_hotplug_remove("vdev", lower_name);
        }
    }
    dev->data->mac_addrs = nullptr;  // it lives in dev_private: ethdev must not free it
    port->~Port();                    // ethdev frees dev_private next
    return 0;
}

}  // namespace

int nic_dev_close(rte_eth_dev* dev) { return close_port(dev, true); }
int nic_dev_close_for_bus_remove(rte_eth_dev* dev) { return close_port(dev, false); }

int on_lower_destroyed(uint16_t, rte_eth_event_type, void* arg, void*) {
    static_cast<Port*>(arg)->lower_destroyed = true;
    return 0;
}

}  // namespace nvmeddp::pmd::nic
