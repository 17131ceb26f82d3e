#include "pmd/engine/sw_driver.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>

namespace nvmeddp::pmd {

namespace {

// sk_del tickets are command sequence numbers with the top bit set; teardown tickets are gate
// tickets (never that large).
constexpr uint64_t kRemovalTicket = uint64_t{1} << 63;

std::string endpoint(const ddp::ConnectionTuple& t, bool remote) {
    char addr[INET6_ADDRSTRLEN] = "?";
    const auto& a = remote ? t.remote_addr : t.local_addr;
    inet_ntop(t.family == ddp::IpFamily::Ipv6 ? AF_INET6 : AF_INET, a.data(), addr, sizeof addr);
    const uint16_t port = remote ? t.remote_port : t.local_port;
    return t.family == ddp::IpFamily::Ipv6 ? "[" + std::string(addr) + "]:" + std::to_string(port)
                                            : std::string(addr) + ":" + std::to_string(port);
}

}  // namespace

struct SoftwareDriver::Offload {
    std::unique_ptr<ConnectionEngine> engine;
    std::unique_ptr<TxConnection> tx;  // the device writes the data digests it sends
    FlowKey key;
    uint32_t conn_id = 0;
    uint16_t queue = 0;
    bool by_rule = false;  // the port accepted an rte_flow rule (QUEUE + MARK) for it
    uint64_t removal = 0;  // removal command's sequence number
    uint64_t tx_removal = 0;  // ... on the tx side's ring, when it has a TxConnection
    ddp::ConnectionHandle handle = 0;
};

FlowKey receive_flow_key(const ddp::ConnectionTuple& t) noexcept {
    return t.family == ddp::IpFamily::Ipv6
               ? FlowKey::ipv6(t.remote_addr.data(), t.local_addr.data(), t.remote_port, t.local_port, t.vlan, t.outer_vlan)
               : FlowKey::ipv4(t.remote_addr.data(), t.local_addr.data(), t.remote_port, t.local_port, t.vlan, t.outer_vlan);
}

SoftwareDriver::SoftwareDriver(SoftwareDriverConfig config) : config_(std::move(config)) {
    if (config_.rx_queues == 0) config_.rx_queues = 1;
    config_.limits.rx_queues = config_.rx_queues;
    if (!config_.log) config_.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    // The metadata's conn_id keeps the index in NVMEDDP_CONN_INDEX_BITS bits; the queues' tables are
    // sized for no more.
    config_.limits.max_connections = std::min(config_.limits.max_connections, uint32_t{1} << NVMEDDP_CONN_INDEX_BITS);
    for (uint16_t q = 0; q < config_.rx_queues; ++q) {
        queues_.push_back(std::make_unique<QueueEngine>(q, config_.limits.max_connections, config_.classifier_seed + q,
                                                      config_.gap_pdus));
    }
    offloads_.assign(config_.limits.max_connections, nullptr);
    generations_.assign(config_.limits.max_connections, 0);
    free_ids_.resize(config_.limits.max_connections);
    for (uint32_t id = 0; id < config_.limits.max_connections; ++id) free_ids_[id] = id;
    free_count_ = free_ids_.size();
}

SoftwareDriver::~SoftwareDriver() = default;

SteeringCounters SoftwareDriver::steering_counters() const {
    std::lock_guard lock(mutex_);
    return steering_;
}

const SoftwareDriver::Offload* SoftwareDriver::find_offload(ddp::ConnectionHandle handle) const {
    for (const Offload* o : offloads_) {
        if (o != nullptr && o->handle == handle) return o;
    }
    return nullptr;
}

ConnectionEngine* SoftwareDriver::engine(ddp::ConnectionHandle handle) const {
    std::lock_guard lock(mutex_);
    const Offload* o = find_offload(handle);
    return o == nullptr ? nullptr : o->engine.get();
}

uint32_t SoftwareDriver::conn_id(ddp::ConnectionHandle handle) const {
    std::lock_guard lock(mutex_);
    const Offload* o = find_offload(handle);
    return o == nullptr ? UINT32_MAX : o->conn_id;
}

ddp::Status SoftwareDriver::set_caps(ddp::Caps enabled) noexcept {
    caps_.store(enabled, std::memory_order_relaxed);
    return ddp::Status::Ok;
}

ddp::Status SoftwareDriver::sk_add(ddp::DriverConnection& conn) noexcept {
    std::lock_guard lock(mutex_);
    if (free_count_ == 0) return ddp::Status::TooManyConnections;
    const uint32_t id = free_ids_[free_head_];
    const uint16_t generation = static_cast<uint16_t>((generations_[id] + 1) & ((1u << (32 - NVMEDDP_CONN_INDEX_BITS)) - 1));
    const uint32_t meta_id = id | uint32_t{generation} << NVMEDDP_CONN_INDEX_BITS;
    QueueEngine& q = *queues_[conn.config.rx_queue];  // checked against limits.rx_queues by ddp
    std::unique_ptr<Offload> o;
    try {
        o = std::make_unique<Offload>();
        o->engine = std::make_unique<ConnectionEngine>(conn, meta_id, caps_, q.gap_pool());
        if (conn.config.tx_data_digest) {
            nvmetcp::ReceiveParams sent;  // checked as the controller checks what it receives
            sent.role = nvmetcp::Role::Controller;
            sent.header_digest = conn.config.header_digest;
            sent.data_digest = conn.config.data_digest;
            sent.pda = conn.config.tx_pda;
            sent.limits.maxh2cdata = UINT32_MAX;  // the controller's own limits are its to enforce
            sent.limits.max_data_len = UINT32_MAX;
            o->tx = std::make_unique<TxConnection>(TcpSeq(conn.config.snd_seq), sent,
                                                   config_.limits.tx_digests_in_flight, conn.counters);
        }
    } catch (...) {
        return ddp::Status::DriverFailed;
    }
    o->conn_id = id;
    o->handle = conn.handle;
    o->queue = conn.config.rx_queue;
    o->key = receive_flow_key(conn.config.tuple);

    std::string why = "no flow steering on this port";
    o->by_rule = config_.steering != nullptr && config_.steering->install(conn.config, id, why);
    // The classifier entry is there even with a rule: a port that accepts the rule but delivers no
    // MARK (or a MARK the engine cannot trust) still gets its frames offloaded.
    if (q.add_connection(o->engine.get(), o->key, true, o->tx.get()) == 0) {
        if (o->by_rule) config_.steering->remove(id);
        // Cannot happen (each id has at most one add and one removal outstanding per ring). Were the
        // tx side's add in and the rx side's not, the sending lcore could still reach o->tx: kept.
        if (o->tx) (void)o.release();
        return ddp::Status::DriverFailed;
    }
    free_head_ = (free_head_ + 1) % free_ids_.size();
    --free_count_;
    generations_[id] = generation;
    conn.device_id = meta_id;
    (o->by_rule ? steering_.by_flow_rule : steering_.by_classifier)++;
    const std::string flow = endpoint(conn.config.tuple, true) + " -> " + endpoint(conn.config.tuple, false);
    config_.log(!o->by_rule ? "nvmeddp: " + config_.name + ": connection " + std::to_string(id) + " (" + flow +
                                  ") steered by the software classifier on queue " + std::to_string(o->queue) +
                                  " (" + why + ")"
                            : "nvmeddp: " + config_.name + ": connection " + std::to_string(id) + " (" + flow +
                                  ") steered by rte_flow to queue " + std::to_string(o->queue) + ", mark " +
                                  std::to_string(id));
    offloads_[id] = o.get();
    conn.driver_context = o.release();
    return ddp::Status::Ok;
}

ddp::DdpDriver::Ticket SoftwareDriver::sk_del(ddp::DriverConnection& conn) noexcept {
    std::lock_guard lock(mutex_);
    auto* o = static_cast<Offload*>(conn.driver_context);
    if (o->by_rule) config_.steering->remove(o->conn_id);
    // Cannot fail: the ring holds two commands per connection id, and an id is reused only after
    // its removal was consumed (sk_free).
    o->removal = queues_[o->queue]->remove_connection(o->conn_id, o->key, true);
    if (o->tx) o->tx_removal = queues_[o->queue]->remove_tx_connection(o->conn_id, o->key);
    return kRemovalTicket | o->removal;
}

void SoftwareDriver::sk_free(ddp::DriverConnection& conn) noexcept {
    std::lock_guard lock(mutex_);
    auto* o = static_cast<Offload*>(conn.driver_context);
    free_ids_[(free_head_ + free_count_) % free_ids_.size()] = o->conn_id;
    ++free_count_;
    offloads_[o->conn_id] = nullptr;
    delete o;
    conn.driver_context = nullptr;
}

ddp::DdpDriver::Ticket SoftwareDriver::teardown(ddp::DriverConnection& conn, uint16_t) noexcept {
    const auto* o = static_cast<const Offload*>(conn.driver_context);
    return queues_[o->queue]->gate().retire();
}

bool SoftwareDriver::done(ddp::DriverConnection& conn, Ticket ticket) noexcept {
    const auto* o = static_cast<const Offload*>(conn.driver_context);
    QueueEngine& q = *queues_[o->queue];
    if ((ticket & kRemovalTicket) != 0) {
        const uint64_t seq = ticket & ~kRemovalTicket;
        // Both sides let go: the rx side's lcore, and the sending one when the device writes the
        // connection's transmit digests.
        auto removed = [&] { return q.applied(seq) && (o->tx == nullptr || q.tx_applied(o->tx_removal)); };
        if (!removed() && poller_stopped_.load(std::memory_order_acquire)) {
            std::lock_guard lock(mutex_);  // this thread stands in for the stopped pollers
            q.poll_idle();
        }
        return removed();
    }
    return q.gate().passed(ticket);
}

}  // namespace nvmeddp::pmd
