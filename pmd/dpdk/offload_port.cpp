#include "pmd/dpdk/offload_port.hpp"

#include <rte_errno.h>

#include <array>
#include <atomic>
#include <cstdio>

#include "ddp/device_registry.hpp"
#include "pmd/dpdk/mbuf_meta.hpp"
#include "pmd/dpdk/payload_chunks.hpp"
#include "pmd/dpdk/rx_checksum.hpp"

namespace nvmeddp::pmd {

namespace {

std::string failed(const char* what, int rc) {
    return std::string(what) + " failed: " + rte_strerror(rc < 0 ? -rc : rc);
}

// Per port, what configure_port() learnt of MARK delivery, and whether it asked already (control
// path, any thread).
std::array<std::atomic<MarkDelivery>, RTE_MAX_ETHPORTS> g_mark_delivery{};
std::array<std::atomic<uint64_t>, RTE_MAX_ETHPORTS> g_tx_offloads{};
std::array<std::atomic<bool>, RTE_MAX_ETHPORTS> g_mark_asked{};
// The offload attached to each port, for OffloadPort::of_port().
std::array<std::atomic<OffloadPort*>, RTE_MAX_ETHPORTS> g_attached{};

// Before the port's first configure: ethdev refuses it later (-EBUSY, with an error in the log),
// so a port configured by someone else stays NotNegotiated. -ENOTSUP is most PMDs' answer and, as
// DPDK documents, means the features may be used without negotiating: nothing to report.
MarkDelivery negotiate_mark(uint16_t port) {
    uint64_t features = RTE_ETH_RX_METADATA_USER_MARK;
    const int rc = rte_eth_rx_metadata_negotiate(port, &features);
    if (rc == -ENOTSUP) return MarkDelivery::Unsupported;
    if (rc != 0) return MarkDelivery::NotNegotiated;
    return (features & RTE_ETH_RX_METADATA_USER_MARK) != 0 ? MarkDelivery::Negotiated : MarkDelivery::Refused;
}

}  // namespace

MarkDelivery rx_mark_delivery(uint16_t port_id) noexcept {
    return port_id < RTE_MAX_ETHPORTS ? g_mark_delivery[port_id].load(std::memory_order_acquire) : MarkDelivery::NotNegotiated;
}

uint64_t configured_tx_offloads(uint16_t port_id) noexcept {
    return port_id < RTE_MAX_ETHPORTS ? g_tx_offloads[port_id].load(std::memory_order_acquire) : 0;
}

std::string configure_port(const PortSetup& s) {
    if (!rte_eth_dev_is_valid_port(s.port_id)) return "port " + std::to_string(s.port_id) + " does not exist";
    if (s.pool == nullptr) return "no mbuf pool given";
    if (!g_mark_asked[s.port_id].exchange(true)) {
        g_mark_delivery[s.port_id].store(negotiate_mark(s.port_id), std::memory_order_release);
    }
    rte_eth_dev_info info{};
    int rc = rte_eth_dev_info_get(s.port_id, &info);
    if (rc != 0) return failed("rte_eth_dev_info_get", rc);
    rte_eth_conf conf{};
    // The engine must not follow a segment the host's TCP will drop: let the port say which those
    // are where it can (the engine verifies the others itself).
    conf.rxmode.offloads = info.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM);
    if (s.lro && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_LRO) != 0) {
        conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_LRO;
        conf.rxmode.max_lro_pkt_size = info.max_lro_pkt_size;  // 0 (none given): ethdev's default
    }
    // A sender (our TCP) may leave the checksums to the port and send mbuf chains where it can.
    // TSO only changes what frames that ask for it (RTE_MBUF_F_TX_TCP_SEG) become.
    conf.txmode.offloads = info.tx_offload_capa & (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
                                                   RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_TCP_TSO);
    rc = rte_eth_dev_configure(s.port_id, s.rx_queues, s.tx_queues, &conf);
    if (rc < 0) return failed("rte_eth_dev_configure", rc);
    g_tx_offloads[s.port_id].store(conf.txmode.offloads, std::memory_order_release);
    uint16_t rxd = s.rx_descriptors;
    uint16_t txd = s.tx_descriptors;
    rc = rte_eth_dev_adjust_nb_rx_tx_desc(s.port_id, &rxd, &txd);
    if (rc < 0) return failed("rte_eth_dev_adjust_nb_rx_tx_desc", rc);
    const int socket = rte_eth_dev_socket_id(s.port_id);
    const unsigned sock = socket < 0 ? 0u : static_cast<unsigned>(socket);
    for (uint16_t q = 0; q < s.rx_queues; ++q) {
        rc = rte_eth_rx_queue_setup(s.port_id, q, rxd, sock, nullptr, s.pool);
        if (rc < 0) return failed("rte_eth_rx_queue_setup", rc);
    }
    for (uint16_t q = 0; q < s.tx_queues; ++q) {
        rc = rte_eth_tx_queue_setup(s.port_id, q, txd, sock, nullptr);
        if (rc < 0) return failed("rte_eth_tx_queue_setup", rc);
    }
    rc = rte_eth_dev_start(s.port_id);
    if (rc < 0) return failed("rte_eth_dev_start", rc);
    return {};
}

std::unique_ptr<OffloadPort> OffloadPort::attach(const OffloadPortOptions& o, std::string& error) {
    if (!rte_eth_dev_is_valid_port(o.port_id)) {
        error = "port " + std::to_string(o.port_id) + " does not exist";
        return nullptr;
    }
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(o.port_id, &info); rc != 0) {
        error = failed("rte_eth_dev_info_get", rc);
        return nullptr;
    }
    if (o.rx_queues == 0 || o.rx_queues > info.nb_rx_queues) {
        error = "port " + std::to_string(o.port_id) + " has " + std::to_string(info.nb_rx_queues) +
                " rx queues configured, " + std::to_string(o.rx_queues) + " asked for";
        return nullptr;
    }
    if (error = MbufMeta::register_once(); !error.empty()) return nullptr;

    std::unique_ptr<OffloadPort> p(new OffloadPort());
    p->port_ = o.port_id;
    p->use_mark_ = rx_mark_delivery(o.port_id) != MarkDelivery::Refused;
    char port_name[RTE_ETH_NAME_MAX_LEN] = "";
    rte_eth_dev_get_name_by_port(o.port_id, port_name);
    p->name_ = std::string("nvmeddp-sw:") + port_name;
    if (o.use_rte_flow) p->steering_ = std::make_unique<RteFlowSteering>(o.port_id, o.limits.max_connections);

    SoftwareDriverConfig dc;
    dc.name = p->name_;
    dc.rx_queues = o.rx_queues;
    dc.limits = o.limits;
    dc.classifier_seed = (uint64_t{o.port_id} << 48) ^ rte_rand();
    dc.steering = p->steering_.get();
    dc.log = o.log;
    // The device writes the data digests of sent PDUs where it sees every frame sent on a
    // connection's queue: a tx callback on the tx queue of each engine's index.
    dc.tx_digests = info.nb_tx_queues >= o.rx_queues;
    auto driver = std::make_unique<SoftwareDriver>(dc);
    p->driver_ = driver.get();
    p->device_ = std::make_unique<ddp::Device>(std::move(driver));

    for (uint16_t q = 0; q < o.rx_queues; ++q) {
        auto ctx = std::make_unique<QueueContext>();
        ctx->port = p.get();
        ctx->engine = &p->driver_->queue(q);
        ctx->use_mark = p->use_mark_;
        const rte_eth_rxtx_callback* cb = rte_eth_add_rx_callback(o.port_id, q, &OffloadPort::on_rx_burst, ctx.get());
        if (cb == nullptr) {
            error = std::string("rte_eth_add_rx_callback failed on queue ") + std::to_string(q) + ": " + rte_strerror(rte_errno);
            return nullptr;  // the destructor removes the callbacks added so far
        }
        p->callbacks_.push_back(cb);
        if (dc.tx_digests) {
            const rte_eth_rxtx_callback* tx = rte_eth_add_tx_callback(o.port_id, q, &OffloadPort::on_tx_burst, ctx.get());
            if (tx == nullptr) {
                error = std::string("rte_eth_add_tx_callback failed on queue ") + std::to_string(q) + ": " +
                        rte_strerror(rte_errno);
                p->queues_.push_back(std::move(ctx));
                return nullptr;
            }
            p->tx_callbacks_.push_back(tx);
        }
        p->queues_.push_back(std::move(ctx));
    }
    if (!ddp::register_device(*p->device_)) {
        error = "a device named " + p->name_ + " is already registered";
        return nullptr;
    }
    p->registered_ = true;
    g_attached[o.port_id].store(p.get(), std::memory_order_release);
    return p;
}

OffloadPort* OffloadPort::of_port(uint16_t port_id) noexcept {
    return port_id < RTE_MAX_ETHPORTS ? g_attached[port_id].load(std::memory_order_acquire) : nullptr;
}

OffloadPort::~OffloadPort() {
    if (registered_) {
        OffloadPort* self = this;
        g_attached[port_].compare_exchange_strong(self, nullptr);
        ddp::unregister_device(*device_);
    }
    for (size_t q = 0; q < callbacks_.size(); ++q) {
        rte_eth_remove_rx_callback(port_, static_cast<uint16_t>(q), callbacks_[q]);
    }
    for (size_t q = 0; q < tx_callbacks_.size(); ++q) {
        rte_eth_remove_tx_callback(port_, static_cast<uint16_t>(q), tx_callbacks_[q]);
    }
    // No lcore may still be inside a callback when the port goes away (DPDK leaves that to the
    // application); the engines are now idle, so connection removal can complete here.
    stop_polling();
    device_.reset();
}

void OffloadPort::stop_polling() {
    if (driver_ != nullptr) driver_->set_poller_stopped(true);
}

PortEngineCounters OffloadPort::counters() const {
    PortEngineCounters c;
    for (const auto& q : queues_) {
        const QueueCounters& e = q->engine->counters();
        c.frames += e.frames.get();
        c.not_tcp += e.not_tcp.get();
        c.not_offloaded += e.not_offloaded.get();
        c.no_payload += e.no_payload.get();
        c.by_mark += e.by_mark.get();
        c.by_classifier += e.by_classifier.get();
        c.stale_mark += e.stale_mark.get();
        c.too_many_chunks += e.too_many_chunks.get() + q->too_many_chunks.get();
        c.bad_checksum += q->bad_checksum.get();
        c.with_metadata += q->with_metadata.get();
        c.tx_frames += e.tx_frames.get();
        c.tx_checksums_patched += e.tx_checksums_patched.get();
        c.tx_too_many_chunks += q->tx_too_many_chunks.get();
    }
    return c;
}

uint16_t OffloadPort::on_rx_burst(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n, uint16_t, void* arg) {
    auto* ctx = static_cast<QueueContext*>(arg);
    QueueEngine& engine = *ctx->engine;
    const uint64_t meta_flag = MbufMeta::flag();
    engine.begin_burst();
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        // Only what this burst's engine filled may carry the flag: a PMD that passes mbufs through
        // (net_ring, a loopback) can hand back one still flagged from an earlier life.
        m->ol_flags &= ~meta_flag;
        // A segment the port found corrupt is one the host's TCP drops: the engine is told so and
        // must not follow it (its retransmission will come in order).
        const L4Checksum l4 = l4_checksum_of(m->ol_flags);
        if (l4 == L4Checksum::Bad) ctx->bad_checksum.add();
        PayloadChunk more[QueueEngine::kMaxChunks];
        size_t count = 0;
        if (!chained_chunks(m, more, count)) {  // too long a chain: left to the host
            ctx->too_many_chunks.add();
            continue;
        }
        // A MARK is taken only from a port that agreed to deliver it; the classifier finds the
        // connection's frames without one (each offloaded connection has its classifier entry).
        const uint32_t mark = m->hash.fdir.hi;
        const bool marked = ctx->use_mark && (m->ol_flags & RTE_MBUF_F_RX_FDIR_ID) != 0;
        nvmeddp_pkt_meta meta;
        if (engine.process({rte_pktmbuf_mtod(m, const uint8_t*), m->data_len}, m->pkt_len, {more, count},
                           marked ? &mark : nullptr, l4, meta)) {
            MbufMeta::set(m, meta);
            ctx->with_metadata.add();
        }
    }
    engine.end_burst();
    return n;
}

// Frames about to be sent: the DDGST fields of connections whose digests the device writes get their
// values (tx_digest_stream.hpp). The tx side's commands are applied first, so a new connection is
// seen from its first frame on; this lcore need not be the one polling the rx queue.
uint16_t engine_tx_burst(QueueEngine& engine, rte_mbuf** pkts, uint16_t n) noexcept {
    engine.begin_tx_burst();
    uint16_t too_long = 0;
    if (!engine.has_tx_connections()) return too_long;
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        TxPayloadChunk more[kMaxTxChunks];
        size_t count = 0;
        for (rte_mbuf* seg = m->next; seg != nullptr && count < kMaxTxChunks; seg = seg->next) {
            more[count++] = TxPayloadChunk{rte_pktmbuf_mtod(seg, uint8_t*), seg->data_len};
        }
        if (count == kMaxTxChunks && m->nb_segs > kMaxTxChunks + 1) ++too_long;
        // No checksum asked of the port (neither TSO nor TCP checksum): the frame holds a
        // finished checksum, which must follow the bytes written.
        const bool checksum_in_frame = (m->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK)) == 0;
        engine.process_tx({rte_pktmbuf_mtod(m, uint8_t*), m->data_len}, m->pkt_len, {more, count}, checksum_in_frame);
    }
    return too_long;
}

uint16_t OffloadPort::on_tx_burst(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n, void* arg) {
    auto* ctx = static_cast<QueueContext*>(arg);
    if (const uint16_t too_long = engine_tx_burst(*ctx->engine, pkts, n); too_long != 0) ctx->tx_too_many_chunks.add(too_long);
    return n;
}

}  // namespace nvmeddp::pmd
