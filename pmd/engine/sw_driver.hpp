// The software offload device: a ddp::DdpDriver whose "NIC" is a QueueEngine per rx queue, run by
// the lcores that poll those queues (pmd/dpdk/offload_port.hpp wires it to a DPDK port).
//
// sk_add picks a connection id (the MARK value of its steering rule), asks the steering hook to
// install an rte_flow rule for it, and otherwise has the queue's software classifier find its
// frames by 5-tuple; each connection logs once which path it got. Teardown is a QuiescentGate ticket
// of the connection's queue; sk_del completes once the queue's lcore applied the removal.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ddp/driver.hpp"
#include "pmd/engine/connection_engine.hpp"
#include "pmd/packet/flow_key.hpp"
#include "pmd/engine/queue_engine.hpp"

namespace nvmeddp::pmd {

// Hardware steering of one connection's frames to its rx queue with a MARK (rte_flow). install()
// returns true when the port accepted the rule; otherwise it fills `why` and the software classifier
// is used. remove() undoes an accepted rule.
class SteeringHook {
public:
    virtual ~SteeringHook() = default;
    virtual bool install(const ddp::ConnectionConfig& config, uint32_t conn_id, std::string& why) = 0;
    virtual void remove(uint32_t conn_id) = 0;
};

struct SoftwareDriverConfig {
    std::string name = "nvmeddp-sw:0";
    uint16_t rx_queues = 1;
    ddp::DeviceLimits limits{};  // rx_queues is taken from above
    uint64_t classifier_seed = FlowClassifier::kDefaultSeed;
    SteeringHook* steering = nullptr;  // none: every connection uses the classifier
    // Whoever runs the queues also runs QueueEngine::process_tx() on every frame sent on them: the
    // device then offers cap::kTxDataDigest.
    bool tx_digests = false;
    // PDUs with holes each rx queue's connections share (gap_pdu_pool.hpp); 0: half as many as
    // limits.max_connections, at least one connection's eight.
    uint32_t gap_pdus = 0;
    // Where the one line per connection about its steering goes (default: stderr).
    std::function<void(const std::string&)> log;
};

struct SteeringCounters {
    uint64_t by_flow_rule = 0;
    uint64_t by_classifier = 0;
};

class SoftwareDriver final : public ddp::DdpDriver {
public:
    explicit SoftwareDriver(SoftwareDriverConfig config);
    ~SoftwareDriver() override;

    QueueEngine& queue(uint16_t q) noexcept { return *queues_[q]; }
    uint16_t queue_count() const noexcept { return static_cast<uint16_t>(queues_.size()); }
    SteeringCounters steering_counters() const;
    // No lcore polls the queues any more (or never will): the control path then runs the queues'
    // idle bursts itself when it waits for a removal, so removals complete without a poller.
    void set_poller_stopped(bool stopped) noexcept { poller_stopped_.store(stopped, std::memory_order_release); }
    // The engine of an offloaded connection (tests, diagnostics: read it only from the lcore that
    // polls its queue, or while none does); null when unknown.
    ConnectionEngine* engine(ddp::ConnectionHandle handle) const;
    uint32_t conn_id(ddp::ConnectionHandle handle) const;  // UINT32_MAX when unknown

    const char* name() const noexcept override { return config_.name.c_str(); }
    ddp::DeviceLimits limits() const noexcept override { return config_.limits; }
    ddp::Caps supported_caps() const noexcept override {
        return config_.tx_digests ? ddp::cap::kAll : ddp::cap::kAll & ~ddp::cap::kTxDataDigest;
    }
    ddp::Status set_caps(ddp::Caps enabled) noexcept override;
    ddp::Status sk_add(ddp::DriverConnection& conn) noexcept override;
    Ticket sk_del(ddp::DriverConnection& conn) noexcept override;
    void sk_free(ddp::DriverConnection& conn) noexcept override;
    ddp::Status setup(ddp::DriverConnection&, uint16_t) noexcept override { return ddp::Status::Ok; }
    Ticket teardown(ddp::DriverConnection& conn, uint16_t cid) noexcept override;
    bool done(ddp::DriverConnection& conn, Ticket ticket) noexcept override;
    void resync(ddp::DriverConnection&, const ddp::ResyncAnswer&) noexcept override {}

private:
    struct Offload;  // per-connection driver context
    const Offload* find_offload(ddp::ConnectionHandle handle) const;  // mutex_ held

    SoftwareDriverConfig config_;
    std::atomic<ddp::Caps> caps_{ddp::cap::kAll};
    std::atomic<bool> poller_stopped_{false};
    std::vector<std::unique_ptr<QueueEngine>> queues_;

    mutable std::mutex mutex_;  // control path: connection ids, command producers, counters
    // Free connection indices, reused oldest first (a ring), and each index's generation: a MARK or
    // metadata of a removed connection is then neither the next connection's index soon nor its id.
    std::vector<uint32_t> free_ids_;
    size_t free_head_ = 0, free_count_ = 0;
    std::vector<uint16_t> generations_;
    std::vector<Offload*> offloads_;  // by connection id (control side)
    SteeringCounters steering_{};
};

// The receive direction's flow key of a connection (src = the controller).
FlowKey receive_flow_key(const ddp::ConnectionTuple& tuple) noexcept;

}  // namespace nvmeddp::pmd
