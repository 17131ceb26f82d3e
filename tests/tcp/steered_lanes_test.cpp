// Two of our endpoints on one port, one per rx queue (as a host with one lcore per queue runs
// them), each connection steered to its endpoint's queue by an rte_flow rule (steer_connections).
// The port is net_nvmeddp stacked on a ring port whose rx queue 0 alone receives (as af_packet with
// one queue pair): what queue 1 gets, the rule sent it. The peer is a third endpoint on a ring port
// crossed with it. Without steering, the other endpoint answers the connection's SYN-ACK with a RST
// and the connection never opens.
#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "pmd/dpdk/offload_port.hpp"
#include "tcp/clock.hpp"
#include "tcp/endpoint.hpp"
#include "tcp_test_support.hpp"

namespace nvmeddp::tcp_test {
namespace {

using tcp::TcpError;

// Sends `to_send` bytes once connected, counts what arrives, closes when the peer does.
class Talker : public tcp::ConnectionHandler {
public:
    explicit Talker(size_t to_send = 0) : to_send_(to_send) {}
    void on_connected(tcp::Connection& c) override {
        connected = true;
        push(c);
    }
    void on_data(tcp::Connection&, std::span<tcp::RxSegment> segments) override {
        for (const tcp::RxSegment& s : segments) received += s.len;
    }
    void on_acked(tcp::Connection& c, uint64_t) override { push(c); }
    void on_peer_closed(tcp::Connection& c) override { c.close(); }
    void on_closed(tcp::Connection&, TcpError e) override {
        closed = true;
        error = e;
    }
    bool connected = false, closed = false;
    TcpError error = TcpError::None;
    uint64_t received = 0, sent = 0;

private:
    void push(tcp::Connection& c) {
        std::vector<uint8_t> chunk(16384, 0x5A);
        while (sent < to_send_) {
            const size_t n = c.send({chunk.data(), std::min<size_t>(chunk.size(), to_send_ - sent)});
            if (n == 0) break;
            sent += n;
        }
    }
    size_t to_send_;
};

std::vector<std::unique_ptr<Talker>> g_accepted;

class SteeredLanes : public testing::Test {
protected:
    void SetUp() override {
        REQUIRE_TCP_EAL();
        static int instance = 0;
        const std::string tag = "lanes" + std::to_string(instance++);
        // Our side's lower port: both tx queues into one ring (multi-producer), rx only on queue 0.
        rte_ring* ab = rte_ring_create((tag + "_ab").c_str(), 4096, 0, RING_F_SC_DEQ);
        rte_ring* ba = rte_ring_create((tag + "_ba").c_str(), 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        rte_ring* none = rte_ring_create((tag + "_none").c_str(), 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        ASSERT_TRUE(ab != nullptr && ba != nullptr && none != nullptr);
        rte_ring* lower_rx[2] = {ba, none};
        rte_ring* lower_tx[2] = {ab, ab};
        const int lower = rte_eth_from_rings((tag + "_lower").c_str(), lower_rx, 2, lower_tx, 2, 0);
        const int peer = rte_eth_from_rings((tag + "_peer").c_str(), &ab, 1, &ba, 1, 0);
        ASSERT_GE(lower, 0);
        ASSERT_GE(peer, 0);
        char lower_name[RTE_ETH_NAME_MAX_LEN] = {};
        rte_eth_dev_get_name_by_port(static_cast<uint16_t>(lower), lower_name);
        vdev_ = "net_nvmeddp_" + tag;
        ASSERT_EQ(rte_vdev_init(vdev_.c_str(), (std::string("ddp=off,port=") + lower_name).c_str()), 0);
        ASSERT_EQ(rte_eth_dev_get_port_by_name(vdev_.c_str(), &port_), 0);
        peer_port_ = static_cast<uint16_t>(peer);
        pmd::PortSetup s;
        s.port_id = port_;
        s.rx_queues = s.tx_queues = 2;
        s.pool = pool();
        ASSERT_EQ(pmd::configure_port(s), "");
        s = pmd::PortSetup{};
        s.port_id = peer_port_;
        s.pool = pool();
        ASSERT_EQ(pmd::configure_port(s), "");
    }
    void TearDown() override {
        lanes_[0].reset();
        lanes_[1].reset();
        peer_.reset();
        g_accepted.clear();
        for (uint16_t p : {port_, peer_port_}) {
            if (p == UINT16_MAX) continue;
            rte_eth_dev_stop(p);
            rte_eth_dev_close(p);
        }
        if (!vdev_.empty()) rte_vdev_uninit(vdev_.c_str());
    }
    void make_endpoints(bool steer, tcp::NeighbourBoard* board = nullptr) {
        tcp::EndpointConfig c;
        c.neighbour_board = board;
        c.port = port_;
        c.local_ip = tcp::IpAddress::v4(192, 0, 2, 2);
        c.mac.bytes = {0x02, 0, 0, 0, 0, 2};
        c.pool = pool();
        c.steer_connections = steer;
        std::string err;
        for (uint16_t q = 0; q < 2; ++q) {
            c.rx_queue = c.tx_queue = q;
            // Disjoint local ports: two lanes never pick the same four-tuple.
            c.first_local_port = static_cast<uint16_t>(33000 + q * 1000);
            c.last_local_port = static_cast<uint16_t>(33999 + q * 1000);
            lanes_[q] = tcp::Endpoint::create(c, &err);
            ASSERT_TRUE(lanes_[q]) << err;
        }
        tcp::EndpointConfig p;
        p.port = peer_port_;
        p.local_ip = peer_ip;
        p.mac.bytes = {0x02, 0, 0, 0, 0, 1};
        p.pool = pool();
        peer_ = tcp::Endpoint::create(p, &err);
        ASSERT_TRUE(peer_) << err;
        ASSERT_TRUE(peer_->listen(
            4420,
            [](void*, tcp::Connection&) -> tcp::ConnectionHandler* {
                g_accepted.push_back(std::make_unique<Talker>(100000));
                return g_accepted.back().get();
            },
            nullptr, &err));
        now_ = tcp::tsc_now_us();
    }
    template <typename Done>
    bool run(uint64_t us, Done done) {
        for (const uint64_t end = now_ + us; now_ < end; now_ += 100) {
            lanes_[0]->poll(now_);
            lanes_[1]->poll(now_);
            peer_->poll(now_);
            if (done()) return true;
        }
        return false;
    }
    // Lane 0 learns the peer's MAC (its ARP reply arrives on queue 0) and hands it to lane 1.
    void resolve_on_lane0_for_lane1(Talker& first) {
        std::string err;
        ASSERT_NE(lanes_[0]->connect(peer_ip, 4420, &first, &err), nullptr) << err;
        ASSERT_TRUE(run(2'000'000, [&] { return first.connected; })) << lanes_[0]->info();
        tcp::MacAddress mac;
        ASSERT_TRUE(lanes_[0]->neighbour(peer_ip, &mac));
        EXPECT_FALSE(lanes_[1]->neighbour(peer_ip, nullptr));
        lanes_[1]->learn_neighbour(peer_ip, mac);
        ASSERT_TRUE(lanes_[1]->neighbour(peer_ip, nullptr));
    }

    const tcp::IpAddress peer_ip = tcp::IpAddress::v4(192, 0, 2, 1);
    std::string vdev_;
    uint16_t port_ = UINT16_MAX, peer_port_ = UINT16_MAX;
    std::unique_ptr<tcp::Endpoint> lanes_[2];
    std::unique_ptr<tcp::Endpoint> peer_;
    uint64_t now_ = 0;
};

TEST_F(SteeredLanes, EachLaneReceivesExactlyItsOwnConnections) {
    make_endpoints(true);
    Talker first(50000), second(70000);
    resolve_on_lane0_for_lane1(first);
    std::string err;
    ASSERT_NE(lanes_[1]->connect(peer_ip, 4420, &second, &err), nullptr) << err;
    EXPECT_EQ(lanes_[1]->steered_connections(), 1u);
    ASSERT_TRUE(run(20'000'000, [&] {
        return g_accepted.size() == 2 && first.received == 100000 && second.received == 100000 &&
               g_accepted[0]->received == 50000 && g_accepted[1]->received == 70000;
    })) << lanes_[0]->info() << "\n" << lanes_[1]->info() << "\n" << peer_->info();
    EXPECT_EQ(lanes_[0]->stats().rx_no_connection, 0u) << "lane 0 saw lane 1's segments";
    EXPECT_EQ(lanes_[1]->stats().rx_no_connection, 0u);
    EXPECT_GT(lanes_[1]->stats().rx_tcp, 50u) << "everything lane 1 received, the rule sent to queue 1";

    // Closed: the slots are free again (TIME-WAIT recycled on demand), the rules go with them.
    first.closed = second.closed = false;
    for (auto& lane : lanes_) lane->abort_all();
    ASSERT_TRUE(run(1'000'000, [&] { return first.closed && second.closed; }));
    EXPECT_EQ(lanes_[0]->steered_connections(), 0u);
    EXPECT_EQ(lanes_[1]->steered_connections(), 0u);
}

// The peer's ARP answer arrives on queue 0 only: lane 1, which asked, never sees it. With a board the
// lanes share, lane 0 posts what it learned and lane 1 connects; without one, lane 1 gives up.
TEST_F(SteeredLanes, AnArpAnswerOnAnotherLanesQueueReachesTheLaneThatAsked) {
    tcp::NeighbourBoard board;
    make_endpoints(true, &board);
    Talker second(1000);
    std::string err;
    ASSERT_NE(lanes_[1]->connect(peer_ip, 4420, &second, &err), nullptr) << err;
    ASSERT_TRUE(run(2'000'000, [&] { return second.connected; })) << lanes_[1]->info();
    EXPECT_EQ(lanes_[1]->stats().rx_arp, 0u) << "the answer came through queue 1 after all";
    EXPECT_EQ(lanes_[0]->stats().rx_arp, 1u);
    EXPECT_EQ(lanes_[0]->stats().arp_requests_sent, 0u);
    EXPECT_TRUE(lanes_[0]->neighbour(peer_ip, nullptr));
}

TEST_F(SteeredLanes, WithoutABoardTheLaneThatAskedNeverHearsTheAnswer) {
    make_endpoints(true);
    Talker second(1000);
    std::string err;
    ASSERT_NE(lanes_[1]->connect(peer_ip, 4420, &second, &err), nullptr) << err;
    EXPECT_TRUE(run(5'000'000, [&] { return second.closed; })) << lanes_[1]->info();
    EXPECT_FALSE(second.connected);
    EXPECT_GE(lanes_[1]->stats().arp_requests_sent, 3u);
}

TEST_F(SteeredLanes, WithoutSteeringTheOtherLaneResetsTheConnection) {
    make_endpoints(false);
    Talker first, second;
    resolve_on_lane0_for_lane1(first);
    std::string err;
    ASSERT_NE(lanes_[1]->connect(peer_ip, 4420, &second, &err), nullptr) << err;
    // Every SYN-ACK for lane 1 arrives on queue 0, where lane 0 knows no such connection and resets
    // it at the peer: lane 1 retransmits its SYN and never connects.
    EXPECT_FALSE(run(3'000'000, [&] { return second.connected; })) << lanes_[1]->info();
    EXPECT_GT(lanes_[0]->stats().rx_no_connection, 0u) << "the SYN-ACK for lane 1 arrived on queue 0";
    EXPECT_GT(lanes_[0]->stats().rsts_sent, 0u);
    EXPECT_EQ(lanes_[1]->stats().rx_tcp, 0u);
}

TEST_F(SteeredLanes, APortThatCannotSteerRefusesTheConnection) {
    make_endpoints(false);
    tcp::EndpointConfig c;
    c.port = peer_port_;  // a net_ring port: no rte_flow
    c.local_ip = tcp::IpAddress::v4(192, 0, 2, 9);
    c.pool = pool();
    c.steer_connections = true;
    std::string err;
    auto steered = tcp::Endpoint::create(c, &err);
    ASSERT_TRUE(steered) << err;
    Talker t;
    EXPECT_EQ(steered->connect(peer_ip, 4420, &t, &err), nullptr);
    EXPECT_NE(err.find("cannot steer the connection to rx queue 0"), std::string::npos) << err;
    EXPECT_EQ(steered->stats().steer_refused, 1u);
    EXPECT_EQ(steered->open_connections(), 0u) << "the refused connection's slot is free again";
}

}  // namespace
}  // namespace nvmeddp::tcp_test
