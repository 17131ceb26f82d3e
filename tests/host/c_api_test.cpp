// The host's C API (include/nvmeddp/host.h) in kernel-sockets mode against the built-in target,
// which runs in this process on its own thread on 127.0.0.1: the C99 smoke test (c_api_smoke.c), and
// from C++ what C cannot set up: a connection cut in the middle of a read, the target going away, a
// controller that never answers, disconnect with commands outstanding, a DPDK host that cannot start.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "nvmeddp/host.h"
#include "nvmetcp/byte_pattern.hpp"
#include "nvmetcp/target/target.hpp"

extern "C" size_t nvmeddp_test_namespace_mismatch(const void* buf, size_t len, uint64_t address) {
    return nvmeddp::nvmetcp::first_mismatch(nvmeddp::nvmetcp::kNamespacePattern, address,
                                            std::span<const uint8_t>(static_cast<const uint8_t*>(buf), len));
}
extern "C" int nvmeddp_c_api_host_smoke(uint16_t target_port, uint16_t refused_port, const char* subnqn, char* err,
                                        size_t errlen);

namespace {

using nvmeddp::nvmetcp::target::Target;
using nvmeddp::nvmetcp::target::TargetConfig;
using Clock = std::chrono::steady_clock;

// The built-in target serving on its own thread until destroyed.
class RunningTarget {
public:
    explicit RunningTarget(TargetConfig config = {}) {
        config.listen_address = "127.0.0.1";
        config.port = 0;
        config.block_size = 512;
        std::string err;
        target_ = Target::create(config, &err);
        EXPECT_NE(target_, nullptr) << err;
        if (target_) thread_ = std::thread([this] { target_->run(stop_); });
    }
    ~RunningTarget() { stop(); }
    void stop() {  // closes every connection and the listener
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        target_.reset();
    }
    uint16_t port() const { return target_ ? target_->port() : 0; }
    const Target& target() const { return *target_; }
    std::string trid() const {
        return "trtype=tcp adrfam=ipv4 traddr=127.0.0.1 trsvcid=" + std::to_string(port()) + " subnqn=" + TargetConfig{}.subnqn;
    }

private:
    std::unique_ptr<Target> target_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// A socket on 127.0.0.1 bound to a free port: listening (connections complete, nobody answers) or not.
class LocalSocket {
public:
    explicit LocalSocket(bool listening) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
        port_ = ntohs(a.sin_port);
        if (listening) {
            EXPECT_EQ(::listen(fd_, 4), 0);
        }
    }
    ~LocalSocket() { ::close(fd_); }
    uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    uint16_t port_ = 0;
};

struct Log {
    std::vector<nvmeddp_io_completion> completions;
    std::vector<std::string> reasons;
    static void record(void* arg, const nvmeddp_io_completion* c) {
        auto* log = static_cast<Log*>(arg);
        log->completions.push_back(*c);
        log->reasons.emplace_back(c->reason != nullptr ? c->reason : "");
    }
};

struct Host {
    nvmeddp_host* host = nullptr;
    Host() {
        nvmeddp_host_opts o;
        nvmeddp_host_opts_default(&o);
        o.kernel_tcp = 1;
        char err[256] = "";
        EXPECT_EQ(nvmeddp_host_create(&o, &host, err, sizeof err), NVMEDDP_HOST_OK) << err;
    }
    ~Host() { nvmeddp_host_destroy(host); }
    // Polls until done() or 3 s passed.
    template <typename F>
    bool poll_until(F done) {
        const auto end = Clock::now() + std::chrono::seconds(3);
        while (!done() && Clock::now() < end) nvmeddp_host_poll(host);
        return done();
    }
};

TEST(HostCApi, SmokeFromC) {
    RunningTarget target;
    LocalSocket closed(false);  // bound, not listening: connecting is refused
    char err[512] = "";
    EXPECT_EQ(nvmeddp_c_api_host_smoke(target.port(), closed.port(), TargetConfig{}.subnqn.c_str(), err, sizeof err), 0)
        << err;
}

TEST(HostCApi, ConnectionCutInAReadFailsItAndLaterIoIsRefused) {
    TargetConfig tc;
    // Per connection: the admin queue reads 12 KiB (three Identify), the I/O queue's second 16 KiB read is cut.
    tc.faults.disconnect_after_data_bytes = 16384 + 1000;
    RunningTarget target(tc);
    Host h;
    nvmeddp_ctrlr* c = nullptr;
    char err[256] = "";
    ASSERT_EQ(nvmeddp_ctrlr_connect(h.host, target.trid().c_str(), nullptr, &c, err, sizeof err), NVMEDDP_HOST_OK) << err;
    std::vector<uint8_t> buf(16384);
    nvmeddp_iov iov{buf.data(), buf.size()};
    Log log;
    ASSERT_EQ(nvmeddp_ctrlr_read(c, 0, 0, 32, &iov, 1, Log::record, &log), NVMEDDP_HOST_OK);
    ASSERT_TRUE(h.poll_until([&] { return log.completions.size() == 1; }));
    EXPECT_EQ(log.completions[0].sct, 0);
    EXPECT_EQ(nvmeddp_test_namespace_mismatch(buf.data(), buf.size(), 0), buf.size());
    ASSERT_EQ(nvmeddp_ctrlr_read(c, 0, 32, 32, &iov, 1, Log::record, &log), NVMEDDP_HOST_OK);
    ASSERT_TRUE(h.poll_until([&] { return log.completions.size() == 2; }));
    EXPECT_EQ(log.completions[1].sct, 3) << "a path error: " << log.reasons[1];
    EXPECT_FALSE(log.reasons[1].empty());
    ASSERT_NE(nvmeddp_ctrlr_failure(c), nullptr);
    EXPECT_EQ(nvmeddp_ctrlr_read(c, 0, 0, 8, &iov, 1, Log::record, &log), NVMEDDP_HOST_E_NOT_READY);
    EXPECT_EQ(nvmeddp_ctrlr_flush(c, 0, Log::record, &log), NVMEDDP_HOST_E_NOT_READY);
    const auto t0 = Clock::now();
    nvmeddp_ctrlr_disconnect(c);
    EXPECT_LT(Clock::now() - t0, std::chrono::seconds(1));
    EXPECT_EQ(log.completions.size(), 2u);
}

// The same cut with recovery asked for: the controller reconnects (new connections, the bring-up
// again) and the read that was cut is sent again and completes with the right bytes.
TEST(HostCApi, ConnectionCutInAReadWithRecoveryReconnectsAndTheReadSucceeds) {
    TargetConfig tc;
    tc.faults.disconnect_after_data_bytes = 16384 + 1000;
    RunningTarget target(tc);
    Host h;
    nvmeddp_ctrlr_opts o;
    nvmeddp_ctrlr_opts_default(&o);
    o.reconnect_delay_ms = 50;
    o.ctrl_loss_tmo_ms = 2000;
    nvmeddp_ctrlr* c = nullptr;
    char err[256] = "";
    ASSERT_EQ(nvmeddp_ctrlr_connect(h.host, target.trid().c_str(), &o, &c, err, sizeof err), NVMEDDP_HOST_OK) << err;
    std::vector<uint8_t> buf(16384);
    nvmeddp_iov iov{buf.data(), buf.size()};
    Log log;
    ASSERT_EQ(nvmeddp_ctrlr_read(c, 0, 0, 32, &iov, 1, Log::record, &log), NVMEDDP_HOST_OK);
    ASSERT_TRUE(h.poll_until([&] { return log.completions.size() == 1; }));
    std::fill(buf.begin(), buf.end(), uint8_t{0});
    ASSERT_EQ(nvmeddp_ctrlr_read(c, 0, 32, 32, &iov, 1, Log::record, &log), NVMEDDP_HOST_OK);
    ASSERT_TRUE(h.poll_until([&] { return log.completions.size() == 2; }));
    EXPECT_EQ(log.completions[1].sct, 0) << "sent again after the reconnect: " << log.reasons[1];
    EXPECT_EQ(log.completions[1].sc, 0);
    EXPECT_EQ(nvmeddp_test_namespace_mismatch(buf.data(), buf.size(), 32 * 512), buf.size());
    EXPECT_EQ(nvmeddp_ctrlr_failure(c), nullptr);
    EXPECT_EQ(target.target().stats().controllers, 2u) << "a second controller: the reconnect";
    nvmeddp_ctrlr_disconnect(c);
}

TEST(HostCApi, TargetGoneFailsTheControllerAndRefusesIo) {
    RunningTarget target;
    Host h;
    nvmeddp_ctrlr* c = nullptr;
    char err[256] = "";
    ASSERT_EQ(nvmeddp_ctrlr_connect(h.host, target.trid().c_str(), nullptr, &c, err, sizeof err), NVMEDDP_HOST_OK) << err;
    EXPECT_EQ(nvmeddp_ctrlr_failure(c), nullptr);
    target.stop();
    ASSERT_TRUE(h.poll_until([&] { return nvmeddp_ctrlr_failure(c) != nullptr; }));
    std::vector<uint8_t> buf(512);
    nvmeddp_iov iov{buf.data(), buf.size()};
    Log log;
    EXPECT_EQ(nvmeddp_ctrlr_read(c, 0, 0, 1, &iov, 1, Log::record, &log), NVMEDDP_HOST_E_NOT_READY);
    EXPECT_EQ(nvmeddp_ctrlr_write(c, 0, 0, 1, &iov, 1, Log::record, &log), NVMEDDP_HOST_E_NOT_READY);
    EXPECT_TRUE(log.completions.empty());
    nvmeddp_ctrlr_disconnect(c);
}

TEST(HostCApi, DisconnectCompletesOutstandingCommands) {
    RunningTarget target;
    Host h;
    nvmeddp_ctrlr_opts o;
    nvmeddp_ctrlr_opts_default(&o);
    o.queue_depth = 4;
    nvmeddp_ctrlr* c = nullptr;
    char err[256] = "";
    ASSERT_EQ(nvmeddp_ctrlr_connect(h.host, target.trid().c_str(), &o, &c, err, sizeof err), NVMEDDP_HOST_OK) << err;
    std::vector<uint8_t> buf(4 * 4096);
    Log log;
    for (int i = 0; i < 4; ++i) {
        nvmeddp_iov iov{buf.data() + i * 4096, 4096};
        ASSERT_EQ(nvmeddp_ctrlr_read(c, 0, 8u * i, 8, &iov, 1, Log::record, &log), NVMEDDP_HOST_OK);
    }
    nvmeddp_ctrlr_disconnect(c);  // no poll in between: nothing completed yet
    ASSERT_EQ(log.completions.size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(log.completions[i].sct, 3) << i;  // path related
        EXPECT_FALSE(log.reasons[i].empty()) << i;
    }
    EXPECT_EQ(nvmeddp_host_poll(h.host), 0);  // no controller left
}

TEST(HostCApi, ControllerThatNeverAnswersTimesOut) {
    LocalSocket silent(true);  // the kernel completes the connection; nobody answers the ICReq
    Host h;
    nvmeddp_ctrlr_opts o;
    nvmeddp_ctrlr_opts_default(&o);
    o.timeout_ms = 300;
    nvmeddp_ctrlr* c = nullptr;
    char err[256] = "";
    const std::string trid = "traddr=127.0.0.1 trsvcid=" + std::to_string(silent.port()) + " subnqn=nqn.x";
    const auto t0 = Clock::now();
    EXPECT_EQ(nvmeddp_ctrlr_connect(h.host, trid.c_str(), &o, &c, err, sizeof err), NVMEDDP_HOST_E_TIMEOUT) << err;
    EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(1500));
    EXPECT_EQ(c, nullptr);
    EXPECT_NE(std::string(err).find("300 ms"), std::string::npos) << err;
}

TEST(HostCApi, DpdkHostThatCannotStartSaysWhy) {
    nvmeddp_host_opts o;
    nvmeddp_host_opts_default(&o);
    nvmeddp_host* h = nullptr;
    char err[256] = "";
    EXPECT_EQ(nvmeddp_host_create(&o, &h, err, sizeof err), NVMEDDP_HOST_E_INVALID_ARGUMENT);
    EXPECT_NE(std::string(err).find("port and local_ip"), std::string::npos) << err;
    o.port = "net_null0";
    o.local_ip = "192.0.2.300";  // refused before the EAL is touched
    EXPECT_EQ(nvmeddp_host_create(&o, &h, err, sizeof err), NVMEDDP_HOST_E_STACK);
    EXPECT_EQ(h, nullptr);
    EXPECT_NE(std::string(err).find("192.0.2.300"), std::string::npos) << err;
}

}  // namespace

namespace {

// One lane's thread: reads at depth 8 on its own controller, polling only its lane, every byte
// checked; completions counted on the thread that polled.
struct LaneReader {
    nvmeddp_host* host = nullptr;
    nvmeddp_ctrlr* ctrlr = nullptr;
    uint16_t lane = 0;
    uint64_t base = 0;  // first byte address
    int reads = 300;
    int completed = 0, wrong = 0, failed = 0, elsewhere = 0;
    std::thread::id thread;
    struct Slot {
        LaneReader* owner = nullptr;
        std::vector<uint8_t> buf = std::vector<uint8_t>(8192);
        uint64_t address = 0;
        bool busy = false;
    };
    Slot slots[8];

    static void done(void* arg, const nvmeddp_io_completion* c) {
        auto* s = static_cast<Slot*>(arg);
        LaneReader& r = *s->owner;
        s->busy = false;
        ++r.completed;
        if (std::this_thread::get_id() != r.thread) ++r.elsewhere;
        if (c->sct != 0 || c->sc != 0) ++r.failed;
        else if (nvmeddp_test_namespace_mismatch(s->buf.data(), s->buf.size(), s->address) != s->buf.size()) ++r.wrong;
    }
    void run() {
        thread = std::this_thread::get_id();
        int next = 0;
        const auto end = Clock::now() + std::chrono::seconds(20);
        while (completed < reads && Clock::now() < end) {
            for (Slot& s : slots) {
                if (s.busy || next >= reads) continue;
                s.owner = this;
                s.address = base + uint64_t(next % 256) * s.buf.size();
                std::memset(s.buf.data(), 0xEE, s.buf.size());
                nvmeddp_iov iov{s.buf.data(), s.buf.size()};
                const int rc = nvmeddp_ctrlr_read(ctrlr, 0, s.address / 512, 16, &iov, 1, done, &s);
                if (rc != NVMEDDP_HOST_OK) {
                    ++failed;
                    ++completed;
                } else {
                    s.busy = true;
                }
                ++next;
            }
            nvmeddp_host_poll_lane(host, lane);
        }
    }
};

}  // namespace

// Two lanes, a controller on each, a thread per lane: each thread polls only its lane and submits
// only to its controller, with no lock; every read right, each completion on its own lane's thread.
TEST(HostCApi, ControllersOnTwoLanesRunOnTwoThreads) {
    RunningTarget target;
    nvmeddp_host_opts o;
    nvmeddp_host_opts_default(&o);
    o.kernel_tcp = 1;
    o.lanes = 2;
    nvmeddp_host* host = nullptr;
    char err[256] = "";
    ASSERT_EQ(nvmeddp_host_create(&o, &host, err, sizeof err), NVMEDDP_HOST_OK) << err;
    EXPECT_EQ(nvmeddp_host_lanes(host), 2);
    LaneReader readers[2];
    for (uint16_t k = 0; k < 2; ++k) {
        nvmeddp_ctrlr_opts co;
        nvmeddp_ctrlr_opts_default(&co);
        co.lane = k;
        co.queue_depth = 8;
        ASSERT_EQ(nvmeddp_ctrlr_connect(host, target.trid().c_str(), &co, &readers[k].ctrlr, err, sizeof err),
                  NVMEDDP_HOST_OK) << err;
        readers[k].host = host;
        readers[k].lane = k;
        readers[k].base = uint64_t{k} << 22;
    }
    std::thread second([&] { readers[1].run(); });
    readers[0].run();
    second.join();
    for (const LaneReader& r : readers) {
        EXPECT_EQ(r.completed, r.reads) << "lane " << r.lane;
        EXPECT_EQ(r.failed, 0) << "lane " << r.lane;
        EXPECT_EQ(r.wrong, 0) << "lane " << r.lane;
        EXPECT_EQ(r.elsewhere, 0) << "lane " << r.lane << ": a completion ran on another lane's thread";
    }
    std::thread disconnect_second([&] { nvmeddp_ctrlr_disconnect(readers[1].ctrlr); });  // from its lane's thread
    nvmeddp_ctrlr_disconnect(readers[0].ctrlr);
    disconnect_second.join();
    nvmeddp_host_destroy(host);
}

TEST(HostCApi, LanesOutOfRangeAreRefused) {
    nvmeddp_host_opts o;
    nvmeddp_host_opts_default(&o);
    o.kernel_tcp = 1;
    o.lanes = 17;
    nvmeddp_host* host = nullptr;
    char err[256] = "";
    EXPECT_EQ(nvmeddp_host_create(&o, &host, err, sizeof err), NVMEDDP_HOST_E_INVALID_ARGUMENT);
    EXPECT_STREQ(err, "lanes must be 1..16");
    o.lanes = 2;
    ASSERT_EQ(nvmeddp_host_create(&o, &host, err, sizeof err), NVMEDDP_HOST_OK) << err;
    EXPECT_LT(nvmeddp_host_poll_lane(host, 2), 0);
    // A host over kernel sockets has no port whose time a lane could report.
    nvmeddp_lane_stats ls;
    EXPECT_EQ(nvmeddp_host_lane_stats(host, 0, &ls), NVMEDDP_HOST_E_INVALID_ARGUMENT);
    EXPECT_EQ(nvmeddp_host_lane_stats(host, 0, nullptr), NVMEDDP_HOST_E_INVALID_ARGUMENT);
    EXPECT_EQ(nvmeddp_host_lane_stats(nullptr, 0, &ls), NVMEDDP_HOST_E_INVALID_ARGUMENT);
    nvmeddp_ctrlr_opts co;
    nvmeddp_ctrlr_opts_default(&co);
    co.lane = 2;
    nvmeddp_ctrlr* c = nullptr;
    EXPECT_EQ(nvmeddp_ctrlr_connect(host, "trtype=tcp traddr=127.0.0.1 subnqn=x", &co, &c, err, sizeof err),
              NVMEDDP_HOST_E_INVALID_ARGUMENT);
    EXPECT_STREQ(err, "lane must be below the host's lanes");
    nvmeddp_host_destroy(host);
}
