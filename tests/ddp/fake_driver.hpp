// A scriptable offload driver for control-plane tests: it records every op, can be told to refuse
// sk_add or setup, and completes teardowns either at once, when the test says so (manual tickets),
// or through a QuiescentGate that a test thread drives as an engine would.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ddp/device.hpp"
#include "ddp/driver.hpp"
#include "ddp/quiescent_gate.hpp"

namespace nvmeddp::ddp_test {

using namespace nvmeddp::ddp;

enum class TeardownMode { Immediate, Manual, Gate };

class FakeDriver final : public DdpDriver {
public:
    explicit FakeDriver(DeviceLimits limits = {}, Caps caps = cap::kAll, std::string name = "fake0")
        : limits_(limits), caps_(caps), name_(std::move(name)) {}

    // --- scripting ---
    TeardownMode teardown_mode = TeardownMode::Immediate;
    Status sk_add_result = Status::Ok;
    Status setup_result = Status::Ok;
    uint32_t device_id = UINT32_MAX;        // stamped into each connection (Device::offload_id); none by default
    QuiescentGate gate;                     // TeardownMode::Gate
    std::set<Ticket> completed;             // TeardownMode::Manual: tickets the test completed
    Ticket next_ticket = 1;
    void complete(Ticket t) { completed.insert(t); }
    void complete_all() {
        for (Ticket t = 1; t < next_ticket; ++t) completed.insert(t);
    }

    // --- what happened ---
    std::vector<std::string> log;
    Caps enabled = 0;
    std::vector<ResyncAnswer> resync_answers;
    DriverConnection* last_connection = nullptr;
    int sk_free_calls = 0;

    const char* name() const noexcept override { return name_.c_str(); }
    DeviceLimits limits() const noexcept override { return limits_; }
    Caps supported_caps() const noexcept override { return caps_; }
    Status set_caps(Caps e) noexcept override {
        enabled = e;
        log.push_back("set_caps " + std::to_string(e));
        return Status::Ok;
    }
    Status sk_add(DriverConnection& conn) noexcept override {
        log.push_back("sk_add");
        if (sk_add_result == Status::Ok) last_connection = &conn;
        conn.device_id = device_id;
        return sk_add_result;
    }
    Ticket sk_del(DriverConnection&) noexcept override {
        log.push_back("sk_del");
        return issue();
    }
    void sk_free(DriverConnection&) noexcept override {
        log.push_back("sk_free");
        ++sk_free_calls;
    }
    Status setup(DriverConnection&, uint16_t cid) noexcept override {
        log.push_back("setup " + std::to_string(cid));
        return setup_result;
    }
    Ticket teardown(DriverConnection&, uint16_t cid) noexcept override {
        log.push_back("teardown " + std::to_string(cid));
        return issue();
    }
    bool done(DriverConnection&, Ticket t) noexcept override {
        switch (teardown_mode) {
            case TeardownMode::Immediate: return true;
            case TeardownMode::Manual: return completed.count(t) != 0;
            case TeardownMode::Gate: return gate.passed(t);
        }
        return false;
    }
    void resync(DriverConnection&, const ResyncAnswer& a) noexcept override { resync_answers.push_back(a); }

private:
    Ticket issue() {
        switch (teardown_mode) {
            case TeardownMode::Immediate: return 0;
            case TeardownMode::Manual: return next_ticket++;
            case TeardownMode::Gate: return gate.retire();
        }
        return 0;
    }

    DeviceLimits limits_;
    Caps caps_;
    std::string name_;
};

// A device over a FakeDriver, with the driver kept reachable.
struct FakeDevice {
    explicit FakeDevice(DeviceLimits limits = {}, Caps caps = cap::kAll, std::string name = "fake0") {
        auto d = std::make_unique<FakeDriver>(limits, caps, std::move(name));
        driver = d.get();
        device = std::make_unique<Device>(std::move(d));
    }
    FakeDriver* driver;
    std::unique_ptr<Device> device;
};

inline ConnectionConfig ipv4_config(uint16_t queue_depth = 128, uint16_t local_port = 40000) {
    ConnectionConfig c;
    c.tuple.family = IpFamily::Ipv4;
    c.tuple.local_addr = {192, 0, 2, 2};
    c.tuple.remote_addr = {192, 0, 2, 1};
    c.tuple.local_port = local_port;
    c.tuple.remote_port = 4420;
    c.queue_depth = queue_depth;
    return c;
}

}  // namespace nvmeddp::ddp_test
