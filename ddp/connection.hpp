// One offloaded connection as the library keeps it: everything the host and the device share for
// it, allocated at once when it is added (sk_add) and never resized.
#pragma once

#include <cstddef>
#include <optional>

#include "ddp/connection_config.hpp"
#include "ddp/counters.hpp"
#include "ddp/driver.hpp"
#include "ddp/registration_table.hpp"
#include "ddp/resync_channel.hpp"
#include "ddp/teardown_queue.hpp"

namespace nvmeddp::ddp {

struct Connection {
    Connection(ConnectionHandle h, const ConnectionConfig& c, const DeviceLimits& limits)
        : handle(h),
          config(c),
          registrations(c.queue_depth, limits.full_cid_range),
          pending(registrations.capacity()),
          driver_view{h, config, registrations, resync, engine_counters} {}

    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Everything this connection holds, for the memory-per-connection figure.
    size_t memory_bytes() const noexcept {
        return sizeof(*this) + registrations.memory_bytes() + pending.memory_bytes();
    }

    const ConnectionHandle handle;
    const ConnectionConfig config;
    RegistrationTable registrations;
    TeardownQueue pending;
    ResyncChannel resync;
    alignas(64) EngineCounters engine_counters;  // written by the engine's lcore
    // Written by the host's lcore, on lines of their own so the two lcores do not share one.
    alignas(64) HostCounters host_counters;
    DriverConnection driver_view;
    bool deleting = false;
    // Host side: the last PDU header the host's parser reached (nvmeddp_pdu_header), which every
    // registration set up from now on keeps (Registration::may_carry_pdu_at).
    std::optional<uint32_t> last_header_seq;
    DdpDriver::Ticket delete_ticket = 0;
    // Teardown callbacks may call back into the library, even remove the connection: it is freed
    // only by the outermost call, when no loop over its queue is running.
    unsigned completing = 0;
};

}  // namespace nvmeddp::ddp
