// The endpoint's connection slots over a close: a slot in TIME-WAIT is taken for a new connection
// when no other is free, a connection closed before its peer's MAC is known gives its slot back
// without calling its (maybe gone) handler, and abort_all() resets what is still open. Two of our
// endpoints back to back over crossed ring ports, on a virtual clock.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "crossed_ports.hpp"
#include "tcp/clock.hpp"
#include "tcp/endpoint.hpp"
#include "tcp_test_support.hpp"

namespace nvmeddp::tcp_test {
namespace {

using tcp::TcpError;
using tcp::TcpState;

// Records what it hears; closes its side once connected (close_on_connect) or once the peer did
// (unless told to stay open).
class Recorder : public tcp::ConnectionHandler {
public:
    explicit Recorder(bool close_on_connect = false, bool close_after_peer = true)
        : close_on_connect_(close_on_connect), close_after_peer_(close_after_peer) {}
    void on_connected(tcp::Connection& c) override {
        ++calls;
        connected = true;
        if (close_on_connect_) c.close();
    }
    void on_data(tcp::Connection&, std::span<tcp::RxSegment>) override { ++calls; }
    void on_peer_closed(tcp::Connection& c) override {
        ++calls;
        if (close_after_peer_) c.close();
    }
    void on_closed(tcp::Connection&, TcpError e) override {
        ++calls;
        closed = true;
        error = e;
    }
    int calls = 0;
    bool connected = false, closed = false;
    TcpError error = TcpError::None;

private:
    bool close_on_connect_;
    bool close_after_peer_;
};

Recorder* g_accepted = nullptr;

class EndpointSlots : public testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(eal_error().empty()) << "cannot run without the EAL: " << eal_error();
        static int instance = 0;
        ports_ = crossed_ports("tcp_slots" + std::to_string(instance++));
        ASSERT_NE(ports_.a, UINT16_MAX);
        tcp::EndpointConfig ca;
        ca.port = ports_.a;
        ca.local_ip = tcp::IpAddress::v4(192, 0, 2, 2);
        ca.mac.bytes = {0x02, 0, 0, 0, 0, 2};
        ca.pool = pool();
        ca.max_connections = 1;  // the client has one slot: every test is about getting it back
        tcp::EndpointConfig cb = ca;
        cb.port = ports_.b;
        cb.local_ip = server_ip;
        cb.mac.bytes = {0x02, 0, 0, 0, 0, 1};
        cb.max_connections = 4;
        std::string err;
        client_ = tcp::Endpoint::create(ca, &err);
        ASSERT_TRUE(client_) << err;
        server_ = tcp::Endpoint::create(cb, &err);
        ASSERT_TRUE(server_) << err;
        ASSERT_TRUE(server_->listen(
            4420, [](void*, tcp::Connection&) -> tcp::ConnectionHandler* { return g_accepted; }, nullptr, &err));
        now_ = tcp::tsc_now_us();
    }
    void TearDown() override {
        client_.reset();
        server_.reset();
        if (ports_.a != UINT16_MAX) close_ports(ports_);
    }
    // Polls both for up to `us` of virtual time, until done() holds.
    template <typename Done>
    bool run(uint64_t us, Done done) {
        for (const uint64_t end = now_ + us; now_ < end; now_ += 100) {
            client_->poll(now_);
            server_->poll(now_);
            if (done()) return true;
        }
        return false;
    }

    const tcp::IpAddress server_ip = tcp::IpAddress::v4(192, 0, 2, 1);
    PortPair ports_;
    std::unique_ptr<tcp::Endpoint> client_, server_;
    uint64_t now_ = 0;
};

TEST_F(EndpointSlots, TimeWaitSlotIsTakenWhenNoOtherIsFree) {
    Recorder first(true), accepted;
    g_accepted = &accepted;
    std::string err;
    tcp::Connection* c = client_->connect(server_ip, 4420, &first, &err);
    ASSERT_NE(c, nullptr) << err;
    ASSERT_TRUE(run(5'000'000, [&] { return first.closed && accepted.closed; })) << client_->info();
    EXPECT_EQ(first.error, TcpError::None);
    ASSERT_EQ(c->state(), TcpState::TimeWait) << "we closed first: our side waits 2 MSL";
    EXPECT_EQ(client_->active_connections(), 0u) << "TIME-WAIT exchanges nothing more";

    const int first_calls = first.calls;
    Recorder second, accepted2;
    g_accepted = &accepted2;
    ASSERT_NE(client_->connect(server_ip, 4420, &second, &err), nullptr)
        << "the only slot is in TIME-WAIT; it must be taken for the new connection: " << err;
    EXPECT_EQ(client_->stats().time_wait_recycled, 1u);
    ASSERT_TRUE(run(5'000'000, [&] { return second.connected && accepted2.connected; })) << client_->info();
    EXPECT_EQ(client_->active_connections(), 1u);
    EXPECT_EQ(first.calls, first_calls) << "the recycled connection's handler heard nothing more";
}

TEST_F(EndpointSlots, AnOrphanStillClosingIsResetForANewConnection) {
    // The peer never closes its side: ours, closed by an application that let go of it (no
    // handler), waits in FIN-WAIT-2 holding the only slot.
    Recorder ours, stays_open(false, false);
    g_accepted = &stays_open;
    std::string err;
    tcp::Connection* c = client_->connect(server_ip, 4420, &ours, &err);
    ASSERT_NE(c, nullptr) << err;
    ASSERT_TRUE(run(5'000'000, [&] { return ours.connected && stays_open.connected; }));
    c->set_handler(nullptr);
    c->close();
    ASSERT_TRUE(run(1'000'000, [&] { return c->state() == TcpState::FinWait2; })) << client_->info();
    ASSERT_EQ(ours.calls, 1) << "only on_connected";

    Recorder next, accepted;
    g_accepted = &accepted;
    ASSERT_NE(client_->connect(server_ip, 4420, &next, &err), nullptr) << "the orphan's slot is taken: " << err;
    EXPECT_EQ(client_->stats().orphans_reset, 1u);
    ASSERT_TRUE(run(5'000'000, [&] { return next.connected && stays_open.closed; })) << server_->info();
    EXPECT_EQ(stays_open.error, TcpError::Reset) << "the peer hears the orphan's reset";
    EXPECT_EQ(ours.calls, 1) << "nothing reaches a handler the application let go of";
}

TEST_F(EndpointSlots, CloseBeforeTheMacIsKnownFreesTheSlotAndCallsNoHandler) {
    // Nobody answers ARP for this address: the connection waits in the resolving list.
    Recorder closed_early;
    std::string err;
    tcp::Connection* c = client_->connect(tcp::IpAddress::v4(192, 0, 2, 99), 4420, &closed_early, &err);
    ASSERT_NE(c, nullptr) << err;
    run(1000, [] { return false; });
    // What a host's transport does on close: no handler any more (it is about to be freed), close.
    c->set_handler(nullptr);
    c->close();
    // Past the point where the ARP attempts are given up: a handler kept in the resolving list
    // would hear "unreachable" now, after its owner let it go.
    run(5'000'000, [] { return false; });
    EXPECT_EQ(closed_early.calls, 0) << "a connection closed before it opened called its handler";

    Recorder next, accepted;
    g_accepted = &accepted;
    ASSERT_NE(client_->connect(server_ip, 4420, &next, &err), nullptr) << "the cancelled open's slot is free: " << err;
    ASSERT_TRUE(run(5'000'000, [&] { return next.connected; })) << client_->info();
}

TEST_F(EndpointSlots, AbortAllResetsWhatIsStillOpen) {
    Recorder ours, accepted;
    g_accepted = &accepted;
    std::string err;
    ASSERT_NE(client_->connect(server_ip, 4420, &ours, &err), nullptr) << err;
    ASSERT_TRUE(run(5'000'000, [&] { return ours.connected && accepted.connected; }));
    EXPECT_EQ(client_->active_connections(), 1u);
    EXPECT_EQ(server_->active_connections(), 1u);
    client_->abort_all();
    ASSERT_TRUE(run(1'000'000, [&] { return accepted.closed; })) << server_->info();
    EXPECT_EQ(accepted.error, TcpError::Reset);
    EXPECT_EQ(ours.error, TcpError::Aborted);
    EXPECT_EQ(client_->active_connections(), 0u);
    EXPECT_EQ(server_->active_connections(), 0u);
}

}  // namespace
}  // namespace nvmeddp::tcp_test
