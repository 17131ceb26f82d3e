// The driver-facing side of the DDP control plane: the operations an offload driver implements,
// for our software engine (pmd/) and a hardware NIC alike. The Linux ULP DDP ops, reshaped for a
// user-space, run-to-completion host:
//
//   limits, supported_caps, set_caps    what the device is and offers
//   sk_add, sk_del, sk_free             connection offload contexts
//   setup, teardown, done               per-I/O registrations; teardown may finish later
//   resync                              the host's answer to a resync request
//
// The library owns what is shared between host and device per connection and hands the driver a
// DriverConnection: the registration table (the engine reads it per packet, see
// registration_table.hpp), the resync mailboxes (resync_channel.hpp), and the engine counters.
// The upcalls of Linux (resync_request, ddp_teardown_done) are not calls back into the host: the
// engine posts resync requests in the channel, and the library asks done(ticket) when the host polls,
// so that nothing runs on the host's lcore except the host.
//
// Threading: every op is called on a host thread (the one that owns the connection for per-
// connection ops). An op must not block and, except sk_add, must not allocate.
#pragma once

#include <cstdint>

#include "ddp/connection_config.hpp"
#include "ddp/counters.hpp"
#include "ddp/device_caps.hpp"
#include "ddp/registration_table.hpp"
#include "ddp/resync_channel.hpp"
#include "ddp/status.hpp"

namespace nvmeddp::ddp {

using ConnectionHandle = uint64_t;  // nvmeddp_conn; 0 is never a valid handle

// What the driver sees of one offloaded connection. Owned by the library; valid from sk_add until
// sk_free.
struct DriverConnection {
    ConnectionHandle handle;
    const ConnectionConfig& config;
    RegistrationTable& registrations;
    ResyncChannel& resync;
    EngineCounters& counters;
    void* driver_context = nullptr;  // the driver's own per-connection state, set in sk_add
    // The id the device stamps into packet metadata (nvmeddp_pkt_meta::conn_id), set in sk_add.
    uint32_t device_id = UINT32_MAX;
};

class DdpDriver {
public:
    // A pending operation; 0 means already complete.
    using Ticket = uint64_t;

    virtual ~DdpDriver() = default;

    virtual const char* name() const noexcept = 0;
    virtual DeviceLimits limits() const noexcept = 0;
    virtual Caps supported_caps() const noexcept = 0;
    // A subset of supported_caps() (the library checks); takes effect for packets received after it.
    virtual Status set_caps(Caps enabled) noexcept = 0;

    // Start following the connection's receive stream at config.rcv_seq. Ok or a refusal.
    virtual Status sk_add(DriverConnection& conn) noexcept = 0;
    // Stop touching the connection (its registrations were all retired first). Complete when
    // done(conn, ticket); then sk_free().
    virtual Ticket sk_del(DriverConnection& conn) noexcept = 0;
    virtual void sk_free(DriverConnection& conn) noexcept { (void)conn; }

    // The registration of cid is filled in the table but not yet published: a hardware driver
    // programs it here. A refusal leaves it unpublished.
    virtual Status setup(DriverConnection& conn, uint16_t cid) noexcept = 0;
    // The registration of cid was retired (TornDown). Ticket 0: the device let go already.
    virtual Ticket teardown(DriverConnection& conn, uint16_t cid) noexcept = 0;
    // Tickets of one connection complete in the order they were issued.
    virtual bool done(DriverConnection& conn, Ticket ticket) noexcept = 0;

    // The host answered a resync request; the answer is already in conn.resync, where a software
    // engine reads it. A hardware driver forwards it to the NIC.
    virtual void resync(DriverConnection& conn, const ResyncAnswer& answer) noexcept = 0;
};

}  // namespace nvmeddp::ddp
