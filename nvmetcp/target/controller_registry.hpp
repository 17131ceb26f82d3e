// The controllers a target has: one per admin queue Connect (dynamic controller model), found by
// CNTLID when the host connects its I/O queues. Holds what the queues of one controller share: the
// host's identity, the CC/CSTS registers, keep alive, the number of I/O queues granted, and which
// connection serves each queue (so that losing the admin queue closes the I/O queues, as Linux does).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nvmeddp::nvmetcp::target {

struct Controller {
    uint16_t cntlid = 0;
    bool discovery = false;  // connected to the discovery NQN: no I/O queues, discovery log only
    std::string hostnqn;
    std::array<uint8_t, 16> hostid{};
    uint32_t cc = 0;
    uint32_t csts = 0;
    uint32_t kato_ms = 0;  // 0: no keep alive timeout
    std::chrono::steady_clock::time_point last_command{};
    uint16_t granted_io_queues = 0;  // Set Features Number of Queues; until then the target's maximum
    bool queues_granted = false;
    uint32_t async_event_config = 0;
    uint64_t admin_connection = 0;                 // connection ids (Target's), 0 = none
    std::map<uint16_t, uint64_t> io_connections;  // qid -> connection id

    bool ready() const noexcept;  // CC.EN = 1 and CSTS.RDY = 1: I/O may flow
};

class ControllerRegistry {
public:
    // A new controller with a free CNTLID in 1..0xFFEF; null when all are in use.
    Controller* create(bool discovery, std::string hostnqn, const std::array<uint8_t, 16>& hostid,
                       uint64_t admin_connection);
    Controller* find(uint16_t cntlid) noexcept;
    // Removes the controller; returns the connections of its I/O queues (to be closed).
    std::vector<uint64_t> destroy(uint16_t cntlid);
    // Controllers whose keep alive timer ran out at `now`.
    std::vector<uint16_t> expired(std::chrono::steady_clock::time_point now) const;
    size_t size() const noexcept { return controllers_.size(); }

private:
    std::map<uint16_t, Controller> controllers_;
    uint16_t next_cntlid_ = 1;
};

}  // namespace nvmeddp::nvmetcp::target
