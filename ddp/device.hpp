// The host-facing DDP API: one Device per port that offers the offload, wrapping its driver.
//
// Per connection (sk_add / sk_del):   add_connection(), remove_connection()
// Per I/O, before the READ is sent:   setup(handle, cid, buffer list, total length)
// Per I/O, before it completes:       teardown(handle, cid[, callback]); Ok = the buffers are the
//                                     host's again; InProgress = the callback says so from poll()
// At every PDU header it parses:      on_pdu_header(handle, tcp_seq) answers resync requests and
//                                     dates the setups after it (Registration::may_carry_pdu_at)
// Whenever convenient (each loop):    poll(handle) finishes teardowns and connection removal
//
// Errors are Status values; nothing on the I/O path throws, locks or allocates. Threading: calls
// for one connection come from one thread; different connections may be driven from different
// threads. The control path (add/remove connection, caps, device statistics) takes a mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ddp/buffer_list.hpp"
#include "ddp/connection.hpp"
#include "ddp/connection_config.hpp"
#include "ddp/counters.hpp"
#include "ddp/device_caps.hpp"
#include "ddp/driver.hpp"
#include "ddp/registration_table.hpp"
#include "ddp/resync_channel.hpp"
#include "ddp/status.hpp"
#include "ddp/teardown_queue.hpp"

namespace nvmeddp::ddp {

enum class ResyncOutcome : uint8_t {
    None = 0,       // nothing pending, or the request lies further ahead in the stream
    Confirmed = 1,  // a header starts at the requested sequence number: the device resumes
    Refused = 2,    // the host passed the requested sequence number without a header there
};

class Device {
public:
    explicit Device(std::unique_ptr<DdpDriver> driver);
    // Removes any connection still offloaded (as remove_connection without callbacks) and waits
    // for the driver to let go.
    ~Device();

    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    const char* name() const noexcept { return driver_->name(); }
    const DeviceLimits& limits() const noexcept { return limits_; }
    Caps supported_caps() const noexcept { return supported_; }
    Caps enabled_caps() const noexcept { return enabled_.load(std::memory_order_relaxed); }
    // Unsupported when asking for a capability the device does not offer.
    Status set_caps(Caps enabled);

    // --- connections (control path) ---
    Status add_connection(const ConnectionConfig& config, ConnectionHandle& out);
    // Tears down every registered I/O (callback(arg, handle, cid, ConnectionDeleting) once the device
    // let go of each) and removes the connection: Ok when done, InProgress when poll() finishes it.
    // The handle stays valid for poll() until then. forced: number of I/Os torn down here.
    Status remove_connection(ConnectionHandle handle, TeardownCallback callback = nullptr, void* arg = nullptr,
                             uint32_t* forced = nullptr);

    // --- I/O path ---
    Status setup(ConnectionHandle handle, uint16_t cid, std::span<const BufferSegment> segments,
                 uint64_t total_len) noexcept;
    Status teardown(ConnectionHandle handle, uint16_t cid, TeardownCallback callback = nullptr,
                    void* arg = nullptr) noexcept;
    // Completes the connection's teardowns the device has let go of (calling their callbacks, in
    // order) and finishes its removal; returns the number of teardowns completed.
    unsigned poll(ConnectionHandle handle) noexcept;
    // Contract v2 (include/nvmeddp/ddp_mbuf.h). The tag a placement claim for cid's current
    // registration carries (0 when cid is not registered); and the host's word that the buffer of
    // cid is final below `offset` (copied or taken from a claim), so the device writes there no more.
    // Call filled() as the host's parser consumes each piece of a command's data.
    uint16_t registration_tag(ConnectionHandle handle, uint16_t cid) const noexcept;
    Status filled(ConnectionHandle handle, uint16_t cid, uint64_t offset) noexcept;
    // The id the device stamps into the metadata of this connection's packets (nvmeddp_pkt_meta
    // conn_id: index and generation). UnknownConnection, or Unsupported when the driver stamps none.
    Status offload_id(ConnectionHandle handle, uint32_t& out) const noexcept;
    // The device lost the connection's send stream (cap::kTxDataDigest, tx_digest_stream.hpp): the
    // digests the host left to it are not written any more, so the host must fail the connection.
    // Cheap and lock-free: the host asks before each PDU it sends.
    bool tx_stream_lost(ConnectionHandle handle) const noexcept;
    // The data digests of sent PDUs the device wrote on the connection so far (lock-free, as above).
    uint64_t tx_digests_written(ConnectionHandle handle) const noexcept;
    // poll() of every connection; for hosts that do not track which ones have work.
    unsigned poll_all() noexcept;

    // --- resync ---
    std::optional<ResyncRequest> resync_pending(ConnectionHandle handle) const noexcept;
    Status resync_answer(ConnectionHandle handle, const ResyncRequest& request, bool confirm) noexcept;
    // For a host whose parser reached a PDU header starting at tcp_seq: confirms a pending request
    // for exactly that sequence number, refuses one the host has passed (serial arithmetic, so
    // across the 2^32 wrap). One relaxed load when nothing is pending. Every setup from now on
    // keeps tcp_seq: no data of a PDU up to this one is placed in its buffers.
    ResyncOutcome on_pdu_header(ConnectionHandle handle, uint32_t tcp_seq) noexcept;

    // --- statistics and introspection ---
    Status connection_stats(ConnectionHandle handle, Stats& out) const noexcept;
    Stats stats() const;  // the device: every connection, present and removed
    RegState registration_state(ConnectionHandle handle, uint16_t cid) const noexcept;
    size_t connection_memory(ConnectionHandle handle) const noexcept;
    size_t connection_count() const;
    DdpDriver& driver() noexcept { return *driver_; }

private:
    struct Slot {
        std::atomic<Connection*> connection{nullptr};
        uint32_t generation = 0;  // guarded by mutex_
    };

    Connection* find(ConnectionHandle handle) const noexcept;
    void complete_teardowns(Connection& c, unsigned& completed) noexcept;
    void try_finish_removal(Connection& c);
    void free_connection(Connection& c);  // mutex_ held

    std::unique_ptr<DdpDriver> driver_;
    const DeviceLimits limits_;
    const Caps supported_;
    std::atomic<Caps> enabled_;

    mutable std::mutex mutex_;
    std::unique_ptr<Slot[]> slots_;     // limits_.max_connections, allocated once
    std::vector<uint32_t> free_slots_;  // indices, reserved once
    size_t live_ = 0;
    Stats totals_{};  // sk_add, sk_add_fail, sk_del, and the counters of removed connections
};

}  // namespace nvmeddp::ddp
