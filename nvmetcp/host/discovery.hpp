// Discovery: what subsystems a discovery controller offers, from its discovery log page (0x70).
//
// A DiscoveryClient is a Controller connected to the well-known discovery NQN (no I/O queues, no keep
// alive) plus the log page read: the header first (how many records), then header and records in one
// read; when the generation counter moved in between, it starts over (a bounded number of times).
// Asynchronous like the Controller: start(), then poll() until state() is Done or Failed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nvmetcp/host/controller.hpp"

namespace nvmeddp::nvmetcp::host {

struct DiscoveryEntry {
    uint8_t trtype = 0, adrfam = 0, subtype = 0, treq = 0;
    uint16_t portid = 0, cntlid = 0, asqsz = 0;
    std::string trsvcid, traddr, subnqn;
};

// Entries of a discovery log page (header + numrec records); records beyond `bytes` are not read.
std::vector<DiscoveryEntry> parse_discovery_log(std::span<const uint8_t> bytes);

class DiscoveryClient {
public:
    enum class State : uint8_t { Idle, Connecting, ReadingLog, Done, Failed };
    static constexpr uint32_t kMaxRecords = 4095;  // the log (header + records) stays within 4 MiB
    static constexpr int kMaxAttempts = 3;         // reads of a log whose generation keeps changing

    // config.subnqn is replaced by the discovery NQN; io_queues and kato_ms are set to 0.
    DiscoveryClient(ControllerConfig config, TransportFactory& factory);

    bool start(std::string* error);
    void poll(uint64_t now_ms);
    State state() const noexcept { return state_; }
    const std::string& failure() const noexcept { return failure_; }
    const std::vector<DiscoveryEntry>& entries() const noexcept { return entries_; }
    uint64_t generation() const noexcept { return genctr_; }
    Controller& controller() noexcept { return controller_; }

private:
    static ControllerConfig discovery_config(ControllerConfig config);
    void read_log(uint32_t len);
    static void on_log(void* ctx, const Completion& completion);
    void on_result();
    void fail(const std::string& why);

    Controller controller_;
    State state_ = State::Idle;
    std::string failure_;
    std::vector<uint8_t> log_;
    IoVec iov_{};
    bool reading_header_ = true;
    bool result_ready_ = false;
    nvme::Status status_{};
    std::string reason_;
    uint64_t genctr_ = 0;
    int attempts_ = 0;
    std::vector<DiscoveryEntry> entries_;
};

}  // namespace nvmeddp::nvmetcp::host
