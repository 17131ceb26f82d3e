// A scripted NVMe/TCP target for host tests: a loopback listener whose connections the test drives
// PDU by PDU. It reads what the host sent with PduCapture (StreamParser, Role::Controller) and writes
// PDUs built with pdu_encoder. Single-threaded: every wait pumps the host (the `pump` callback) and is
// bounded by kWaitMs.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>

#include "host_test_util.hpp"

namespace nvmeddp::nvmetcp::host::test {

inline uint64_t now_ms() {
    using namespace std::chrono;
    return static_cast<uint64_t>(duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

class FakeTarget {
public:
    static constexpr uint64_t kWaitMs = 3000;
    using Pump = std::function<void()>;

    struct Conn {
        int fd = -1;
        std::vector<uint8_t> received;
        PduCapture capture;
        std::deque<CapturedPdu> pdus;
        ControllerWire wire;
        bool eof = false;
        ~Conn() {
            if (fd >= 0) ::close(fd);
        }
    };

    explicit FakeTarget(Pump pump) : pump_(std::move(pump)) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        EXPECT_EQ(::listen(listen_fd_, 16), 0);
        socklen_t len = sizeof addr;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
    }
    ~FakeTarget() { ::close(listen_fd_); }

    uint16_t port() const { return port_; }
    void close_listener() {
        ::close(listen_fd_);
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    }

    // Pumps the host until `done` holds; false (and a test failure) after kWaitMs.
    bool wait(const std::function<bool()>& done, const char* what) {
        const uint64_t end = now_ms() + kWaitMs;
        while (!done()) {
            if (now_ms() > end) {
                ADD_FAILURE() << "timed out waiting for " << what;
                return false;
            }
            pump_();
        }
        return true;
    }

    Conn* accept() {
        int fd = -1;
        wait([&] {
            fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK);
            return fd >= 0;
        }, "a connection from the host");
        if (fd < 0) return nullptr;
        conns_.push_back(std::make_unique<Conn>());
        conns_.back()->fd = fd;
        return conns_.back().get();
    }

    // The next PDU the host sends on `c`; it must be of `type`.
    CapturedPdu expect(Conn& c, PduType type) {
        wait([&] {
            read_some(c);
            return !c.pdus.empty() || c.eof;
        }, to_string(type));
        if (c.pdus.empty()) return {};
        CapturedPdu pdu = c.pdus.front();
        c.pdus.pop_front();
        EXPECT_EQ(pdu.type, type) << "got " << to_string(pdu.type);
        return pdu;
    }

    void send(Conn& c, const std::vector<uint8_t>& bytes) {
        size_t at = 0;
        wait([&] {
            const ssize_t n = ::send(c.fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) at += static_cast<size_t>(n);
            return at == bytes.size();
        }, "room to send to the host");
    }

    // Waits until the host closes `c`.
    bool wait_closed(Conn& c) {
        return wait([&] {
            read_some(c);
            return c.eof;
        }, "the host to close the connection");
    }

private:
    void read_some(Conn& c) {
        uint8_t buf[65536];
        const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0) c.eof = true;
        if (n <= 0) return;
        c.received.insert(c.received.end(), buf, buf + n);
        for (auto& p : c.capture.feed(c.received)) c.pdus.push_back(std::move(p));
    }

    Pump pump_;
    int listen_fd_ = -1;
    uint16_t port_ = 0;
    std::vector<std::unique_ptr<Conn>> conns_;
};

}  // namespace nvmeddp::nvmetcp::host::test
