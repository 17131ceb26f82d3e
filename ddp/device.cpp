#include "ddp/device.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

#include "ddp/tcp_seq.hpp"

namespace nvmeddp::ddp {

namespace {
constexpr uint64_t kIndexMask = 0xFFFFFFFFu;
}

Device::Device(std::unique_ptr<DdpDriver> driver)
    : driver_(std::move(driver)),
      limits_(driver_->limits()),
      supported_(driver_->supported_caps() & cap::kAll),
      enabled_(supported_),
      slots_(std::make_unique<Slot[]>(limits_.max_connections)) {
    free_slots_.reserve(limits_.max_connections);
    for (uint32_t i = limits_.max_connections; i > 0; --i) free_slots_.push_back(i - 1);  // lowest first
    driver_->set_caps(enabled_.load());
}

Device::~Device() {
    std::vector<ConnectionHandle> live;
    {
        std::lock_guard lock(mutex_);
        for (uint32_t i = 0; i < limits_.max_connections; ++i) {
            if (Connection* c = slots_[i].connection.load(std::memory_order_acquire)) live.push_back(c->handle);
        }
    }
    for (ConnectionHandle h : live) {
        if (Connection* c = find(h); c && !c->deleting) remove_connection(h);
        // The engine leaves a burst within microseconds; a driver that never lets go is a bug, and
        // freeing memory it may still write would turn that bug into corruption: report and leak.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (find(h) != nullptr) {
            poll(h);
            if (find(h) == nullptr) break;
            if (std::chrono::steady_clock::now() > deadline) {
                std::fprintf(stderr, "nvmeddp: device %s: driver did not release connection %#llx; leaking it\n",
                             name(), static_cast<unsigned long long>(h));
                break;
            }
            std::this_thread::yield();
        }
    }
}

Status Device::set_caps(Caps enabled) {
    if ((enabled & ~supported_) != 0) return Status::Unsupported;
    std::lock_guard lock(mutex_);
    const Status s = driver_->set_caps(enabled);
    if (s == Status::Ok) enabled_.store(enabled, std::memory_order_relaxed);
    return s;
}

Connection* Device::find(ConnectionHandle handle) const noexcept {
    const uint64_t index_plus_one = handle & kIndexMask;
    if (index_plus_one == 0 || index_plus_one > limits_.max_connections) return nullptr;
    Connection* c = slots_[index_plus_one - 1].connection.load(std::memory_order_acquire);
    return c != nullptr && c->handle == handle ? c : nullptr;
}

Status Device::add_connection(const ConnectionConfig& config, ConnectionHandle& out) {
    out = 0;
    std::lock_guard lock(mutex_);
    Status s = validate(config, limits_);
    if (s == Status::Ok && free_slots_.empty()) s = Status::TooManyConnections;
    // Writing the digests of sent PDUs is decided per connection here, and kept for its life: the
    // host then leaves them to the device, so turning the capability off later spares connections
    // already added.
    if (s == Status::Ok && config.tx_data_digest && (enabled_caps() & cap::kTxDataDigest) == 0) s = Status::Unsupported;
    if (s != Status::Ok) {
        ++totals_.sk_add_fail;
        return s;
    }
    const uint32_t index = free_slots_.back();
    Slot& slot = slots_[index];
    const uint32_t generation = slot.generation + 1 == 0 ? 1 : slot.generation + 1;
    const ConnectionHandle handle = uint64_t{generation} << 32 | (index + 1);

    auto connection = std::make_unique<Connection>(handle, config, limits_);
    s = driver_->sk_add(connection->driver_view);
    if (s != Status::Ok) {
        ++totals_.sk_add_fail;
        return s;
    }
    free_slots_.pop_back();
    slot.generation = generation;
    slot.connection.store(connection.release(), std::memory_order_release);
    ++totals_.sk_add;
    ++live_;
    out = handle;
    return Status::Ok;
}

Status Device::remove_connection(ConnectionHandle handle, TeardownCallback callback, void* arg, uint32_t* forced) {
    if (forced != nullptr) *forced = 0;
    Connection* c = find(handle);
    if (c == nullptr) return Status::UnknownConnection;
    if (c->deleting) return Status::ConnectionDeleting;
    c->deleting = true;

    uint32_t n = 0;
    c->registrations.for_each_live([&](uint16_t cid) {
        c->registrations.retire(cid);
        const DdpDriver::Ticket ticket = driver_->teardown(c->driver_view, cid);
        c->pending.push({ticket, callback, arg, cid, Status::ConnectionDeleting});
        c->host_counters.forced_teardowns.add();
        ++n;
    });
    if (forced != nullptr) *forced = n;
    c->delete_ticket = driver_->sk_del(c->driver_view);

    unsigned completed = 0;
    complete_teardowns(*c, completed);
    try_finish_removal(*c);
    return find(handle) == nullptr ? Status::Ok : Status::InProgress;
}

Status Device::setup(ConnectionHandle handle, uint16_t cid, std::span<const BufferSegment> segments,
                     uint64_t total_len) noexcept {
    Connection* c = find(handle);
    if (c == nullptr) return Status::UnknownConnection;
    const auto refuse = [c](Status s) {
        c->host_counters.setup_fail.add();
        return s;
    };
    if (c->deleting) return refuse(Status::ConnectionDeleting);
    if ((enabled_caps() & cap::kPlacement) == 0) return refuse(Status::PlacementDisabled);
    Status s = c->registrations.check_free(cid);
    if (s != Status::Ok) {
        if (s != Status::CommandIdOutOfRange) c->host_counters.bad_transitions.add();
        return refuse(s);
    }
    s = validate_buffer_list(segments, total_len, limits_);
    if (s != Status::Ok) return refuse(s);

    c->registrations.fill(cid, segments, total_len, c->last_header_seq);
    s = driver_->setup(c->driver_view, cid);
    if (s != Status::Ok) return refuse(s);
    c->registrations.publish(cid);
    c->host_counters.setup.add();
    return Status::Ok;
}

bool Device::tx_stream_lost(ConnectionHandle handle) const noexcept {
    const Connection* c = find(handle);
    return c != nullptr && c->engine_counters.tx_stream_lost.get() != 0;
}

uint64_t Device::tx_digests_written(ConnectionHandle handle) const noexcept {
    const Connection* c = find(handle);
    return c != nullptr ? c->engine_counters.tx_ddgst_written.get() : 0;
}

uint16_t Device::registration_tag(ConnectionHandle handle, uint16_t cid) const noexcept {
    const Connection* c = find(handle);
    if (c == nullptr) return 0;
    const RegState s = c->registrations.state(cid);
    return s == RegState::Registered || s == RegState::InUse ? c->registrations.tag(cid) : 0;
}

Status Device::filled(ConnectionHandle handle, uint16_t cid, uint64_t offset) noexcept {
    Connection* c = find(handle);
    if (c == nullptr) return Status::UnknownConnection;
    const RegState s = c->registrations.state(cid);
    if (s != RegState::Registered && s != RegState::InUse) return Status::NotRegistered;
    c->registrations.set_host_filled(cid, offset);
    return Status::Ok;
}

Status Device::offload_id(ConnectionHandle handle, uint32_t& out) const noexcept {
    const Connection* c = find(handle);
    if (c == nullptr) return Status::UnknownConnection;
    if (c->driver_view.device_id == UINT32_MAX) return Status::Unsupported;
    out = c->driver_view.device_id;
    return Status::Ok;
}

Status Device::teardown(ConnectionHandle handle, uint16_t cid, TeardownCallback callback, void* arg) noexcept {
    Connection* c = find(handle);
    if (c == nullptr) return Status::UnknownConnection;
    if (c->deleting) return Status::ConnectionDeleting;  // removal tears everything down itself
    const Status s = c->registrations.retire(cid);
    if (s != Status::Ok) {
        c->host_counters.bad_transitions.add();
        return s;
    }
    c->host_counters.teardown.add();
    const DdpDriver::Ticket ticket = driver_->teardown(c->driver_view, cid);
    if (ticket == 0) {
        c->registrations.release(cid);
        return Status::Ok;
    }
    c->pending.push({ticket, callback, arg, cid, Status::Ok});
    return Status::InProgress;
}

void Device::complete_teardowns(Connection& c, unsigned& completed) noexcept {
    ++c.completing;
    while (!c.pending.empty()) {
        const PendingTeardown t = c.pending.front();
        if (t.ticket != 0 && !driver_->done(c.driver_view, t.ticket)) break;
        c.registrations.release(t.cid);
        c.pending.pop();
        ++completed;
        // Last: the callback may call back into the library (set up the same command id again).
        if (t.callback != nullptr) t.callback(t.arg, c.handle, t.cid, static_cast<int>(t.status));
    }
    --c.completing;
}

void Device::try_finish_removal(Connection& c) {
    if (!c.deleting || c.completing != 0 || !c.pending.empty()) return;
    if (c.delete_ticket != 0 && !driver_->done(c.driver_view, c.delete_ticket)) return;
    std::lock_guard lock(mutex_);
    free_connection(c);
}

void Device::free_connection(Connection& c) {
    add_host_counters(totals_, c.host_counters);
    add_engine_counters(totals_, c.engine_counters);
    ++totals_.sk_del;
    const uint32_t index = static_cast<uint32_t>((c.handle & kIndexMask) - 1);
    slots_[index].connection.store(nullptr, std::memory_order_release);
    free_slots_.push_back(index);
    --live_;
    driver_->sk_free(c.driver_view);
    delete &c;
}

unsigned Device::poll(ConnectionHandle handle) noexcept {
    Connection* c = find(handle);
    if (c == nullptr) return 0;
    unsigned completed = 0;
    complete_teardowns(*c, completed);
    if (c->deleting) try_finish_removal(*c);  // also when a callback asked for the removal
    return completed;
}

unsigned Device::poll_all() noexcept {
    unsigned completed = 0;
    for (uint32_t i = 0; i < limits_.max_connections; ++i) {
        if (Connection* c = slots_[i].connection.load(std::memory_order_acquire)) completed += poll(c->handle);
    }
    return completed;
}

std::optional<ResyncRequest> Device::resync_pending(ConnectionHandle handle) const noexcept {
    const Connection* c = find(handle);
    return c == nullptr ? std::nullopt : c->resync.pending();
}

namespace {

// Delivers an answer and counts it; the one place both answer paths go through.
Status deliver_answer(DdpDriver& driver, Connection& c, const ResyncRequest& r, bool confirm) noexcept {
    const Status s = c.resync.answer(r, confirm);
    if (s == Status::StaleResync) c.host_counters.resync_stale.add();
    if (s != Status::Ok) return s;
    c.host_counters.resync.add();
    (confirm ? c.host_counters.resync_confirmations : c.host_counters.resync_refusals).add();
    driver.resync(c.driver_view, ResyncAnswer{r, confirm});
    return Status::Ok;
}

}  // namespace

Status Device::resync_answer(ConnectionHandle handle, const ResyncRequest& request, bool confirm) noexcept {
    Connection* c = find(handle);
    if (c == nullptr) return Status::UnknownConnection;
    return deliver_answer(*driver_, *c, request, confirm);
}

ResyncOutcome Device::on_pdu_header(ConnectionHandle handle, uint32_t tcp_seq) noexcept {
    Connection* c = find(handle);
    if (c == nullptr) return ResyncOutcome::None;
    c->last_header_seq = tcp_seq;
    const std::optional<ResyncRequest> r = c->resync.pending();
    if (!r) return ResyncOutcome::None;
    if (r->seq == tcp_seq) {
        return deliver_answer(*driver_, *c, *r, true) == Status::Ok ? ResyncOutcome::Confirmed : ResyncOutcome::None;
    }
    if (seq_lt(r->seq, tcp_seq)) {
        return deliver_answer(*driver_, *c, *r, false) == Status::Ok ? ResyncOutcome::Refused : ResyncOutcome::None;
    }
    return ResyncOutcome::None;
}

Status Device::connection_stats(ConnectionHandle handle, Stats& out) const noexcept {
    out = Stats{};
    const Connection* c = find(handle);
    if (c == nullptr) return Status::UnknownConnection;
    add_host_counters(out, c->host_counters);
    add_engine_counters(out, c->engine_counters);
    return Status::Ok;
}

Stats Device::stats() const {
    std::lock_guard lock(mutex_);
    Stats out = totals_;
    for (uint32_t i = 0; i < limits_.max_connections; ++i) {
        if (const Connection* c = slots_[i].connection.load(std::memory_order_acquire)) {
            add_host_counters(out, c->host_counters);
            add_engine_counters(out, c->engine_counters);
        }
    }
    return out;
}

RegState Device::registration_state(ConnectionHandle handle, uint16_t cid) const noexcept {
    const Connection* c = find(handle);
    return c == nullptr ? RegState::Free : c->registrations.state(cid);
}

size_t Device::connection_memory(ConnectionHandle handle) const noexcept {
    const Connection* c = find(handle);
    return c == nullptr ? 0 : c->memory_bytes();
}

size_t Device::connection_count() const {
    std::lock_guard lock(mutex_);
    return live_;
}

}  // namespace nvmeddp::ddp
