// Our host against our built-in target in one process, over kernel sockets on 127.0.0.1: the target
// serving on its own thread (Target::run), a Controller over SocketTransportFactory driven on the
// test's thread, bounded waits, and I/O records that catch a completion lost or delivered twice.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "nvmetcp/byte_pattern.hpp"
#include "nvmetcp/host/controller.hpp"
#include "nvmetcp/host/socket_transport.hpp"
#include "nvmetcp/target/target.hpp"

namespace nvmeddp::nvmetcp::host::itest {

inline uint64_t now_ms() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

inline constexpr uint32_t kBringUpTimeoutMs = 3000;
inline constexpr uint32_t kIoTimeoutMs = 5000;

inline std::string status_text(nvme::Status status) {
    char buf[96];
    return nvme::describe(status, buf, sizeof buf);
}

inline target::TargetConfig small_target_config() {
    target::TargetConfig config;
    config.listen_address = "127.0.0.1";
    config.port = 0;
    config.namespace_bytes = 32ull << 20;
    return config;
}

// The target on its own thread until stop() (or destruction).
class TargetThread {
public:
    explicit TargetThread(const target::TargetConfig& config) : config_(config) {
        std::string error;
        target_ = target::Target::create(config, &error);
        if (!target_) throw std::runtime_error("the target did not start: " + error);
        thread_ = std::thread([this] { target_->run(stop_); });
    }
    ~TargetThread() { stop(); }
    TargetThread(const TargetThread&) = delete;
    TargetThread& operator=(const TargetThread&) = delete;

    // After stop() the namespace may be read (the serving thread is gone).
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    uint16_t port() const { return target_->port(); }
    target::TargetStats stats() const { return target_->stats(); }
    const target::TargetConfig& config() const { return config_; }
    std::span<const uint8_t> namespace_bytes() const {
        EXPECT_FALSE(thread_.joinable()) << "the namespace is read while the target still serves";
        return target_->namespace_bytes();
    }

private:
    target::TargetConfig config_;
    std::unique_ptr<target::Target> target_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

inline ControllerConfig host_config(const target::TargetConfig& target) {
    ControllerConfig c;
    c.subnqn = target.subnqn;
    c.hostid[0] = 0x17;
    c.hostid[15] = 0x71;
    c.kato_ms = 0;  // keep alive is its own test
    c.connect_timeout_ms = 2000;
    c.command_timeout_ms = kIoTimeoutMs;
    return c;
}

// The host side: its transports and a Controller, all polled from the test's thread.
class HostSession {
public:
    HostSession(const ControllerConfig& config, uint16_t port)
        : factory_("127.0.0.1", port), controller_(std::make_unique<Controller>(config, factory_)) {}

    Controller& controller() { return *controller_; }
    SocketTransportFactory& factory() { return factory_; }

    void pump() {
        factory_.poll(1);
        controller_->poll(now_ms());
    }

    // Pumps until done() or timeout_ms; false on timeout.
    template <typename Done>
    bool wait(Done done, uint32_t timeout_ms = kIoTimeoutMs) {
        const uint64_t deadline = now_ms() + timeout_ms;
        while (!done()) {
            if (now_ms() >= deadline) return false;
            pump();
        }
        return true;
    }

    // start() and pumping until Ready or Failed; true when Ready.
    bool bring_up() {
        std::string error;
        if (!controller_->start(&error)) {
            ADD_FAILURE() << "start: " << error;
            return false;
        }
        const bool settled = wait([&] { return controller_->state() != ControllerState::Connecting; }, kBringUpTimeoutMs);
        if (!settled) ADD_FAILURE() << "the controller neither became ready nor failed";
        return controller_->state() == ControllerState::Ready;
    }

private:
    SocketTransportFactory factory_;
    std::unique_ptr<Controller> controller_;
};

// One I/O: its buffer, where it is in the namespace, and what its completion said (and how often).
struct IoRecord {
    std::vector<uint8_t> buffer;
    IoVec iov{};
    uint64_t byte_address = 0;
    int completions = 0;
    Completion completion{};
    std::string reason;

    IoRecord(uint64_t address, uint32_t length) : buffer(length), iov{nullptr, length}, byte_address(address) {
        iov.addr = buffer.data();
    }
    std::span<const IoVec> data() const { return {&iov, 1}; }

    static void done(void* ctx, const Completion& completion) {
        auto* self = static_cast<IoRecord*>(ctx);
        ++self->completions;
        self->completion = completion;
        self->reason = completion.reason != nullptr ? completion.reason : "";
    }
};

// Records whose buffers stay put while they are in flight (the queue keeps pointers into them).
using IoRecords = std::vector<std::unique_ptr<IoRecord>>;

inline size_t completed(const IoRecords& records) {
    size_t n = 0;
    for (const auto& r : records) n += r->completions > 0 ? 1 : 0;
    return n;
}

// Reads `length` bytes at byte address `address` (block aligned) on I/O queue `queue` and waits.
inline bool read_and_wait(HostSession& host, uint16_t queue, IoRecord& io) {
    Controller& c = host.controller();
    const SubmitResult submitted = c.read(queue, io.byte_address / c.block_size(), io.iov.len / c.block_size(), io.data(),
                                          &IoRecord::done, &io);
    if (submitted != SubmitResult::Ok) {
        ADD_FAILURE() << "read not submitted: " << to_string(submitted);
        return false;
    }
    if (!host.wait([&] { return io.completions > 0; })) {
        ADD_FAILURE() << "the read of " << io.iov.len << " bytes at " << io.byte_address << " did not complete";
        return false;
    }
    return true;
}

inline bool write_and_wait(HostSession& host, uint16_t queue, IoRecord& io) {
    Controller& c = host.controller();
    const SubmitResult submitted = c.write(queue, io.byte_address / c.block_size(), io.iov.len / c.block_size(),
                                           io.data(), &IoRecord::done, &io);
    if (submitted != SubmitResult::Ok) {
        ADD_FAILURE() << "write not submitted: " << to_string(submitted);
        return false;
    }
    if (!host.wait([&] { return io.completions > 0; })) {
        ADD_FAILURE() << "the write of " << io.iov.len << " bytes at " << io.byte_address << " did not complete";
        return false;
    }
    return true;
}

// Where `bytes` (at namespace byte address `address`) first differ from pattern `direction`, as text;
// empty when every byte matches.
inline std::string pattern_mismatch(uint32_t direction, uint64_t address, std::span<const uint8_t> bytes) {
    const size_t at = first_mismatch(direction, address, bytes);
    if (at == bytes.size()) return {};
    return "byte " + std::to_string(at) + " of " + std::to_string(bytes.size()) + " (namespace address " +
           std::to_string(address + at) + ") is " + std::to_string(bytes[at]) + ", pattern " + std::to_string(direction) +
           " says " + std::to_string(pattern_byte(direction, address + at));
}

}  // namespace nvmeddp::nvmetcp::host::itest
