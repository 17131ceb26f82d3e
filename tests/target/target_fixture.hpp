// The target on its own thread (Target::run) on 127.0.0.1 and a free port, and test clients set up
// as far as a test needs: IC, admin queue with the controller enabled, I/O queues.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "nvmetcp/byte_pattern.hpp"
#include "nvmetcp/target/target.hpp"
#include "test_client.hpp"

namespace nvmeddp::nvmetcp::target::testing {

inline TargetConfig test_config() {
    TargetConfig config;
    config.listen_address = "127.0.0.1";
    config.port = 0;
    config.namespace_bytes = 16ull << 20;
    return config;
}

class RunningTarget {
public:
    explicit RunningTarget(const TargetConfig& config = test_config()) : config_(config) {
        std::string error;
        target_ = Target::create(config, &error);
        if (!target_) throw std::runtime_error("target: " + error);
        thread_ = std::thread([this] { target_->run(stop_); });
    }
    ~RunningTarget() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    uint16_t port() const { return target_->port(); }
    const TargetConfig& config() const { return config_; }
    TargetStats stats() const { return target_->stats(); }
    Target& target() { return *target_; }

private:
    TargetConfig config_;
    std::unique_ptr<Target> target_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

struct QueueOptions {
    bool header_digest = false;
    bool data_digest = false;
    uint8_t hpda = 0;
    bool disable_sq_flow_control = false;
    uint16_t depth = 32;
};

// IC, admin Connect, CC.EN = 1; null (with a test failure) if any step fails.
inline std::unique_ptr<TestClient> admin_session(const RunningTarget& t, uint16_t* cntlid,
                                                 const QueueOptions& options = {}) {
    auto client = std::make_unique<TestClient>(t.port());
    if (!client->initialize(options.hpda, options.header_digest, options.data_digest)) {
        ADD_FAILURE() << "IC failed";
        return nullptr;
    }
    auto connected = client->connect(0, nvme::kDynamicCntlid, options.depth, options.disable_sq_flow_control,
                                     t.config().subnqn);
    if (!connected || !connected->status().ok()) {
        ADD_FAILURE() << "admin Connect failed";
        return nullptr;
    }
    *cntlid = static_cast<uint16_t>(connected->cqe.dw0.get());
    if (!client->enable_controller()) {
        ADD_FAILURE() << "the controller did not become ready";
        return nullptr;
    }
    return client;
}

// IC and Connect of I/O queue `qid` of controller `cntlid`.
inline std::unique_ptr<TestClient> io_session(const RunningTarget& t, uint16_t cntlid, uint16_t qid,
                                              const QueueOptions& options = {}) {
    auto client = std::make_unique<TestClient>(t.port());
    if (!client->initialize(options.hpda, options.header_digest, options.data_digest)) {
        ADD_FAILURE() << "IC failed";
        return nullptr;
    }
    auto connected = client->connect(qid, cntlid, options.depth, options.disable_sq_flow_control, t.config().subnqn);
    if (!connected || !connected->status().ok()) {
        ADD_FAILURE() << "I/O queue Connect failed";
        return nullptr;
    }
    return client;
}

// Index of the first byte of `data` that differs from the namespace pattern at `byte_address`.
inline size_t pattern_mismatch(const std::vector<uint8_t>& data, uint64_t byte_address) {
    return first_mismatch(kNamespacePattern, byte_address, data);
}

inline std::string status_text(nvme::Status s) {
    char buf[96];
    return nvme::describe(s, buf, sizeof buf);
}

}  // namespace nvmeddp::nvmetcp::target::testing
