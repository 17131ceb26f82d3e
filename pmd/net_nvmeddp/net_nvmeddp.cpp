// net_nvmeddp: a loopback NIC with rte_flow, as a DPDK vdev (--vdev=net_nvmeddp0).
//
// No shipped PMD on these machines accepts rte_flow rules, so this one exists to run the offload's
// hardware steering path for real: what a port sends on tx queue q it receives on rx queue q, unless
// a flow rule (ETH / IPV4 or IPV6 with exact addresses / TCP with exact ports -> QUEUE and/or MARK)
// matches, in which case the frame goes to the rule's queue and carries the MARK the way a NIC
// reports it (RTE_MBUF_F_RX_FDIR | RTE_MBUF_F_RX_FDIR_ID, hash.fdir.hi). Each rx queue is a ring of
// nb_desc entries: a frame that finds it full is dropped and counted in imissed, as a NIC out of rx
// descriptors does. Multi-segment frames pass as they are.
//
// Like a NIC it also offers (configured by the application, as any NIC):
//   - rx checksum offload (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM, _TCP_CKSUM): each received TCP segment's
//     IPv4 header and TCP checksums are verified (pmd/packet/l4_checksum.hpp) and reported as
//     RTE_MBUF_F_RX_IP_CKSUM_* / RTE_MBUF_F_RX_L4_CKSUM_* GOOD or BAD; frames that are not TCP
//     segments it can parse, and the IP checksum of IPv6, are UNKNOWN;
//   - rx metadata negotiation (rte_eth_rx_metadata_negotiate): it delivers USER_MARK, unless an
//     application negotiated it away.
// Devargs, to stand in for NICs that deliver no MARK although they accept rules with one:
//   rx_mark=on      (default) as above
//   rx_mark=off     negotiation grants no USER_MARK; MARK actions are accepted, never delivered
//   rx_mark=silent  no negotiation at all (-ENOTSUP: "assume it works"), and no MARK delivered
//
// Built against the driver-SDK headers fetched by scripts/fetch-dpdk-sdk.sh; linked into whatever
// uses it as an object library, so its RTE_PMD_REGISTER_VDEV constructor is always kept.
#include <bus_vdev_driver.h>
#include <ethdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_flow.h>
#include <rte_flow_driver.h>
#include <rte_kvargs.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <span>

#include "pmd/packet/flow_key.hpp"
#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/l4_checksum.hpp"
#include "pmd/net_nvmeddp/nic_flow_parser.hpp"
#include "pmd/net_nvmeddp/nic_rule_table.hpp"

namespace {

using nvmeddp::pmd::FlowKey;
using nvmeddp::pmd::NicRuleAction;
using nvmeddp::pmd::NicRuleTable;

constexpr uint16_t kMaxQueues = 16;

struct RxQueue {
    rte_ring* ring = nullptr;
    uint64_t packets = 0, bytes = 0;  // written by the lcore polling it
};

struct TxQueue {
    uint16_t index = 0;
    struct Port* port = nullptr;
    uint64_t packets = 0, bytes = 0, missed = 0, marked = 0;  // written by the lcore sending on it
};

// What the rx_mark devarg makes of MARK delivery (see the top of the file).
enum class MarkMode : uint8_t { On, Off, Silent };

struct Port {
    rte_ether_addr mac{};
    uint16_t port_id = 0;
    RxQueue* rx[kMaxQueues] = {};
    TxQueue* tx[kMaxQueues] = {};
    NicRuleTable rules;
    MarkMode mark_mode = MarkMode::On;
    // Set on the control path while the port is stopped, read by the data path once started.
    bool deliver_mark = true;    // the last negotiation (if any) kept USER_MARK
    bool verify_ip_cksum = false;   // RTE_ETH_RX_OFFLOAD_IPV4_CKSUM configured
    bool verify_tcp_cksum = false;  // RTE_ETH_RX_OFFLOAD_TCP_CKSUM configured
};

}  // namespace

// rte_flow is opaque to applications; a PMD defines it. Ours names a rule slot.
struct rte_flow {
    Port* port;
    int slot;
};

namespace {

Port* port_of(rte_eth_dev* dev) { return static_cast<Port*>(dev->data->dev_private); }

// --- data path ----------------------------------------------------------------------------------

uint16_t rx_burst(void* queue, rte_mbuf** pkts, uint16_t n) {
    auto* q = static_cast<RxQueue*>(queue);
    const auto got = static_cast<uint16_t>(rte_ring_dequeue_burst(q->ring, reinterpret_cast<void**>(pkts), n, nullptr));
    for (uint16_t i = 0; i < got; ++i) q->bytes += pkts[i]->pkt_len;
    q->packets += got;
    return got;
}

// The rx checksum offload of a received TCP segment (whose headers parse_frame found in the first
// segment): GOOD or BAD per enabled check, UNKNOWN (no flag) otherwise. The payload may continue in
// later segments of the chain.
uint64_t rx_checksum_flags(const Port& port, const rte_mbuf* m, const nvmeddp::pmd::TcpSegment& seg) {
    uint64_t flags = 0;
    const std::span<const uint8_t> first(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len);
    if (port.verify_ip_cksum && seg.flow.family == nvmeddp::pmd::IpFamily::Ipv4) {
        flags |= nvmeddp::pmd::ipv4_header_checksum_ok(first, seg) ? RTE_MBUF_F_RX_IP_CKSUM_GOOD : RTE_MBUF_F_RX_IP_CKSUM_BAD;
    }
    if (port.verify_tcp_cksum) {
        nvmeddp::pmd::TcpChecksum sum(first, seg);
        for (const rte_mbuf* s = m->next; s != nullptr; s = s->next) sum.add({rte_pktmbuf_mtod(s, const uint8_t*), s->data_len});
        flags |= sum.ok() ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : RTE_MBUF_F_RX_L4_CKSUM_BAD;
    }
    return flags;
}

// The wire and the receiving NIC in one: classify, verify checksums, mark, queue. Every frame is
// consumed.
uint16_t tx_burst(void* queue, rte_mbuf** pkts, uint16_t n) {
    auto* q = static_cast<TxQueue*>(queue);
    Port* port = q->port;
    rte_eth_dev_data* data = rte_eth_devices[port->port_id].data;
    const uint16_t rx_queues = data->nb_rx_queues;
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        uint16_t target = static_cast<uint16_t>(q->index % (rx_queues == 0 ? 1 : rx_queues));
        m->ol_flags = 0;
        m->port = port->port_id;
        const auto parsed = nvmeddp::pmd::parse_frame({rte_pktmbuf_mtod(m, const uint8_t*), m->data_len}, m->pkt_len);
        if (parsed.ok()) m->ol_flags |= rx_checksum_flags(*port, m, parsed.segment);
        NicRuleAction action;
        if (parsed.ok() && port->rules.match(parsed.segment.flow, action)) {
            if (action.has_queue && action.queue < rx_queues) target = action.queue;
            if (action.has_mark && port->deliver_mark) {
                m->ol_flags |= RTE_MBUF_F_RX_FDIR | RTE_MBUF_F_RX_FDIR_ID;
                m->hash.fdir.hi = action.mark;
                ++q->marked;
            }
        }
        RxQueue* rx = target < kMaxQueues ? port->rx[target] : nullptr;
        q->bytes += m->pkt_len;
        if (rx == nullptr || rte_ring_enqueue(rx->ring, m) != 0) {
            ++q->missed;
            rte_pktmbuf_free(m);
        }
    }
    q->packets += n;
    return n;
}

// --- device ops ---------------------------------------------------------------------------------

int dev_configure(rte_eth_dev* dev) {
    Port* port = port_of(dev);
    const uint64_t offloads = dev->data->dev_conf.rxmode.offloads;
    port->verify_ip_cksum = (offloads & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
    port->verify_tcp_cksum = (offloads & RTE_ETH_RX_OFFLOAD_TCP_CKSUM) != 0;
    return 0;
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

int dev_start(rte_eth_dev* dev) {
    dev->data->dev_link.link_status = RTE_ETH_LINK_UP;
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; ++i) dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
    for (uint16_t i = 0; i < dev->data->nb_tx_queues; ++i) dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
    return 0;
}

int dev_stop(rte_eth_dev* dev) {
    dev->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
    for (uint16_t i = 0; i < dev->data->nb_rx_queues; ++i) dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
    for (uint16_t i = 0; i < dev->data->nb_tx_queues; ++i) dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
    return 0;
}

void rx_queue_release(rte_eth_dev* dev, uint16_t id) {
    Port* port = port_of(dev);
    if (id >= kMaxQueues || port->rx[id] == nullptr) return;
    RxQueue* q = port->rx[id];
    rte_mbuf* m = nullptr;
    while (rte_ring_dequeue(q->ring, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
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

int dev_close(rte_eth_dev* dev) {
    if (rte_eal_process_type() != RTE_PROC_PRIMARY) return 0;
    Port* port = port_of(dev);
    for (uint16_t i = 0; i < kMaxQueues; ++i) {
        rx_queue_release(dev, i);
        tx_queue_release(dev, i);
    }
    port->rules.~NicRuleTable();
    dev->data->mac_addrs = nullptr;  // it lives in dev_private: ethdev must not free it
    return 0;
}

int dev_infos_get(rte_eth_dev*, rte_eth_dev_info* info) {
    info->max_mac_addrs = 1;
    info->max_rx_pktlen = 9618;
    info->max_rx_queues = kMaxQueues;
    info->max_tx_queues = kMaxQueues;
    info->min_rx_bufsize = 0;
    info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
    info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    return 0;
}

int rx_queue_setup(rte_eth_dev* dev, uint16_t id, uint16_t nb_desc, unsigned socket, const rte_eth_rxconf*, rte_mempool*) {
    if (id >= kMaxQueues) return -EINVAL;
    rx_queue_release(dev, id);
    auto* q = static_cast<RxQueue*>(rte_zmalloc_socket("net_nvmeddp_rxq", sizeof(RxQueue), RTE_CACHE_LINE_SIZE, static_cast<int>(socket)));
    if (q == nullptr) return -ENOMEM;
    char name[RTE_RING_NAMESIZE];
    std::snprintf(name, sizeof name, "nvmeddp_p%u_rx%u", dev->data->port_id, id);
    // Several tx queues (lcores) may steer into one rx queue; one lcore polls it.
    q->ring = rte_ring_create(name, rte_align32pow2(nb_desc == 0 ? 1024 : nb_desc), static_cast<int>(socket), RING_F_SC_DEQ);
    if (q->ring == nullptr) {
        rte_free(q);
        return -rte_errno;
    }
    port_of(dev)->rx[id] = q;
    dev->data->rx_queues[id] = q;
    return 0;
}

int tx_queue_setup(rte_eth_dev* dev, uint16_t id, uint16_t, unsigned socket, const rte_eth_txconf*) {
    if (id >= kMaxQueues) return -EINVAL;
    tx_queue_release(dev, id);
    auto* q = static_cast<TxQueue*>(rte_zmalloc_socket("net_nvmeddp_txq", sizeof(TxQueue), RTE_CACHE_LINE_SIZE, static_cast<int>(socket)));
    if (q == nullptr) return -ENOMEM;
    q->index = id;
    q->port = port_of(dev);
    port_of(dev)->tx[id] = q;
    dev->data->tx_queues[id] = q;
    return 0;
}

int link_update(rte_eth_dev* dev, int) {
    rte_eth_link link{};
    link.link_speed = RTE_ETH_SPEED_NUM_100G;
    link.link_duplex = RTE_ETH_LINK_FULL_DUPLEX;
    link.link_autoneg = RTE_ETH_LINK_FIXED;
    link.link_status = dev->data->dev_started ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN;
    return rte_eth_linkstatus_set(dev, &link);
}

int stats_get(rte_eth_dev* dev, rte_eth_stats* st) {
    Port* port = port_of(dev);
    for (uint16_t i = 0; i < kMaxQueues; ++i) {
        if (const RxQueue* q = port->rx[i]) {
            st->ipackets += q->packets;
            st->ibytes += q->bytes;
            if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) st->q_ipackets[i] = q->packets;
        }
        if (const TxQueue* q = port->tx[i]) {
            st->opackets += q->packets;
            st->obytes += q->bytes;
            st->imissed += q->missed;
            if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) st->q_opackets[i] = q->packets;
        }
    }
    return 0;
}

// --- rte_flow -----------------------------------------------------------------------------------

int flow_validate(rte_eth_dev* dev, const rte_flow_attr* attr, const rte_flow_item items[],
                  const rte_flow_action actions[], rte_flow_error* error) {
    FlowKey key;
    NicRuleAction action;
    return nvmeddp::pmd::parse_nic_rule(attr, items, actions, dev->data->nb_rx_queues, key, action, error);
}

rte_flow* flow_create(rte_eth_dev* dev, const rte_flow_attr* attr, const rte_flow_item items[],
                      const rte_flow_action actions[], rte_flow_error* error) {
    FlowKey key;
    NicRuleAction action;
    if (nvmeddp::pmd::parse_nic_rule(attr, items, actions, dev->data->nb_rx_queues, key, action, error) != 0) return nullptr;
    auto* flow = static_cast<rte_flow*>(rte_zmalloc("net_nvmeddp_flow", sizeof(rte_flow), 0));
    if (flow == nullptr) {
        rte_flow_error_set(error, ENOMEM, RTE_FLOW_ERROR_TYPE_HANDLE, nullptr, "out of memory");
        return nullptr;
    }
    flow->port = port_of(dev);
    flow->slot = flow->port->rules.add(key, action);
    if (flow->slot < 0) {
        rte_free(flow);
        rte_flow_error_set(error, ENOSPC, RTE_FLOW_ERROR_TYPE_HANDLE, nullptr, "flow table full");
        return nullptr;
    }
    return flow;
}

int flow_destroy(rte_eth_dev* dev, rte_flow* flow, rte_flow_error* error) {
    if (flow == nullptr || flow->port != port_of(dev) || !flow->port->rules.remove(flow->slot)) {
        return rte_flow_error_set(error, EINVAL, RTE_FLOW_ERROR_TYPE_HANDLE, flow, "no such flow");
    }
    rte_free(flow);
    return 0;
}

int flow_flush(rte_eth_dev* dev, rte_flow_error*) {
    // Handles the application still holds become invalid (as with any PMD's flush).
    port_of(dev)->rules.clear();
    return 0;
}

constexpr rte_flow_ops make_flow_ops() {
    rte_flow_ops ops{};
    ops.validate = flow_validate;
    ops.create = flow_create;
    ops.destroy = flow_destroy;
    ops.flush = flow_flush;
    return ops;
}
constinit const rte_flow_ops g_flow_ops = make_flow_ops();

int flow_ops_get(rte_eth_dev*, const rte_flow_ops** ops) {
    *ops = &g_flow_ops;
    return 0;
}

// Filled in code rather than with designated initialisers: C++20 wants those in declaration order
// and -Wextra would warn about every one of the ~70 members left out.
constexpr eth_dev_ops make_dev_ops() {
    eth_dev_ops ops{};
    ops.dev_configure = dev_configure;
    ops.dev_start = dev_start;
    ops.dev_stop = dev_stop;
    ops.dev_close = dev_close;
    ops.link_update = link_update;
    ops.stats_get = stats_get;
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

// --- vdev ---------------------------------------------------------------------------------------

constexpr const char* kDevargs[] = {"rx_mark", nullptr};

// -EINVAL for an unknown key or value (the EAL then reports the vdev as failed).
int parse_devargs(const char* args, MarkMode& mark_mode) {
    if (args == nullptr || args[0] == '\0') return 0;
    rte_kvargs* kv = rte_kvargs_parse(args, kDevargs);
    if (kv == nullptr) return -EINVAL;
    int rc = 0;
    if (const char* v = rte_kvargs_get(kv, "rx_mark"); v != nullptr) {
        if (std::strcmp(v, "on") == 0) {
            mark_mode = MarkMode::On;
        } else if (std::strcmp(v, "off") == 0) {
            mark_mode = MarkMode::Off;
        } else if (std::strcmp(v, "silent") == 0) {
            mark_mode = MarkMode::Silent;
        } else {
            rc = -EINVAL;
        }
    }
    rte_kvargs_free(kv);
    return rc;
}

int probe(rte_vdev_device* vdev) {
    if (rte_eal_process_type() != RTE_PROC_PRIMARY) return -ENOTSUP;
    MarkMode mark_mode = MarkMode::On;
    if (int rc = parse_devargs(rte_vdev_device_args(vdev), mark_mode); rc != 0) return rc;
    rte_eth_dev* dev = rte_eth_vdev_allocate(vdev, sizeof(Port));
    if (dev == nullptr) return -ENOMEM;
    Port* port = new (dev->data->dev_private) Port();  // dev_private is zeroed memory: construct it
    port->port_id = dev->data->port_id;
    port->mark_mode = mark_mode;
    port->deliver_mark = mark_mode == MarkMode::On;
    rte_eth_random_addr(port->mac.addr_bytes);
    dev->data->mac_addrs = &port->mac;
    dev->data->promiscuous = 1;
    dev->data->all_multicast = 1;
    dev->dev_ops = &g_dev_ops;
    dev->rx_pkt_burst = rx_burst;
    dev->tx_pkt_burst = tx_burst;
    rte_eth_dev_probing_finish(dev);
    return 0;
}

int vdev_remove(rte_vdev_device* vdev) {
    rte_eth_dev* dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));
    if (dev == nullptr) return 0;
    dev_close(dev);
    return rte_eth_dev_release_port(dev);
}

// Constant-initialised: RTE_PMD_REGISTER_VDEV's constructor names and registers it before dynamic
// initialisers run, and one of those would overwrite the name with the zeros of a fresh struct.
constexpr rte_vdev_driver make_driver() {
    rte_vdev_driver d{};
    d.probe = probe;
    d.remove = vdev_remove;
    return d;
}
constinit rte_vdev_driver g_driver = make_driver();

}  // namespace

RTE_PMD_REGISTER_VDEV(net_nvmeddp, g_driver);
RTE_PMD_REGISTER_PARAM_STRING(net_nvmeddp, "rx_mark=on|off|silent");
