// Two of our endpoints back to back over a pair of net_ring ports (what one sends, the other
// receives), in one thread on a virtual clock: ARP, the handshake, bulk transfers both ways and
// request/response, with the fault shim dropping, reordering, duplicating, delaying and
// corrupting frames in both directions. Every byte must arrive exactly once and in order, and
// both connections must close in order.
#include <gtest/gtest.h>
#include <rte_ethdev.h>

#include <memory>
#include <string>

#include "pmd/dpdk/mbuf_meta.hpp"
#include "pmd/dpdk/offload_port.hpp"
#include "pmd/packet/frame_parser.hpp"
#include "pmd/fault/fault_shim.hpp"
#include "tcp/clock.hpp"
#include "tcp/endpoint.hpp"
#include "tcp_test_support.hpp"
#include "crossed_ports.hpp"
#include "testlib/pattern_transfer.hpp"

namespace nvmeddp::tcp_test {
namespace {

using testlib::PatternTransfer;

struct Scenario {
    std::string name;
    pmd::FaultRates faults;   // on both ports, both directions
    uint64_t bytes = 4u << 20;
    uint64_t rr_rounds = 0;
    bool ipv6 = false;    // neighbour discovery instead of ARP, IPv6 headers, MSS 1440
    bool vlan = false;    // both ends tag with VLAN 100
};

class EndpointPair : public testing::TestWithParam<Scenario> {};

// Frames longer than an Ethernet link with a 1500-byte MTU carries. Ring ports take any length,
// where a NIC or veth drops what is over: this makes the ring as strict as the link.
struct OversizeCount {
    uint32_t max_frame = 1514;
    uint64_t over = 0;
    uint32_t longest = 0;
};

// An rx callback for the length of a scope (its user data lives in that scope, and draining the
// rings afterwards must not call it).
class RxCallback {
public:
    RxCallback(uint16_t port, rte_rx_callback_fn fn, void* user)
        : port_(port), cb_(rte_eth_add_rx_callback(port, 0, fn, user)) {}
    ~RxCallback() {
        if (cb_ != nullptr) rte_eth_remove_rx_callback(port_, 0, cb_);
    }
    RxCallback(const RxCallback&) = delete;
    RxCallback& operator=(const RxCallback&) = delete;
    bool added() const noexcept { return cb_ != nullptr; }

private:
    uint16_t port_;
    const rte_eth_rxtx_callback* cb_;
};

uint16_t count_oversize(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n, uint16_t, void* user) {
    auto* c = static_cast<OversizeCount*>(user);
    for (uint16_t i = 0; i < n; ++i) {
        if (pkts[i]->pkt_len > c->max_frame) ++c->over;
        if (pkts[i]->pkt_len > c->longest) c->longest = pkts[i]->pkt_len;
    }
    return n;
}

PatternTransfer* g_server = nullptr;

TEST_P(EndpointPair, EveryByteExactlyOnceBothWays) {
    REQUIRE_TCP_EAL();
    const Scenario& sc = GetParam();
    const unsigned in_use = mbufs_in_use();
    static int instance = 0;
    const PortPair ports = crossed_ports("tcp_pair" + std::to_string(instance++));
    ASSERT_NE(ports.a, UINT16_MAX) << "cannot make the ring ports";
    {
        // Ahead of the shims: what went on the "wire", before any of it is dropped.
        OversizeCount oversize;
        oversize.max_frame = sc.vlan ? 1518 : 1514;
        const RxCallback size_a(ports.a, &count_oversize, &oversize), size_b(ports.b, &count_oversize, &oversize);
        ASSERT_TRUE(size_a.added() && size_b.added());
        std::unique_ptr<pmd::FaultShim> shim_a, shim_b;
        if (sc.faults.any()) {
            std::string err;
            pmd::FaultShimOptions fo;
            fo.rx = sc.faults;
            fo.tx = sc.faults;
            fo.pool = pool();
            fo.seed = 11;
            shim_a = pmd::FaultShim::attach(ports.a, 1, 1, fo, &err);
            ASSERT_TRUE(shim_a) << err;
            fo.seed = 12;
            shim_b = pmd::FaultShim::attach(ports.b, 1, 1, fo, &err);
            ASSERT_TRUE(shim_b) << err;
        }
        tcp::EndpointConfig ca;
        ca.port = ports.a;
        ca.local_ip = sc.ipv6 ? *tcp::IpAddress::parse("2001:db8::2") : tcp::IpAddress::v4(192, 0, 2, 2);
        ca.mac.bytes = {0x02, 0, 0, 0, 0, 2};  // ring ports share one MAC; ARP needs two
        ca.has_vlan = sc.vlan;
        ca.vlan_tci = 100;
        ca.pool = pool();
        ca.connection.rcv_buf = 256 * 1024;  // keeps the mbufs in flight within the test pool
        ca.connection.snd_buf = 256 * 1024;
        ca.connection.ooo_segments = 256;
        tcp::EndpointConfig cb = ca;
        cb.port = ports.b;
        cb.local_ip = sc.ipv6 ? *tcp::IpAddress::parse("2001:db8::1") : tcp::IpAddress::v4(192, 0, 2, 1);
        cb.mac.bytes = {0x02, 0, 0, 0, 0, 1};
        std::string err;
        auto a = tcp::Endpoint::create(ca, &err);
        ASSERT_TRUE(a) << err;
        auto b = tcp::Endpoint::create(cb, &err);
        ASSERT_TRUE(b) << err;

        const bool rr = sc.rr_rounds > 0;
        const auto client_plan = rr ? PatternTransfer::request_response(sc.rr_rounds, 300, 5000, true)
                                    : PatternTransfer::bulk(sc.bytes, sc.bytes);
        const auto server_plan = rr ? PatternTransfer::request_response(sc.rr_rounds, 300, 5000, false)
                                    : PatternTransfer::bulk(sc.bytes, sc.bytes);
        PatternTransfer client(client_plan, 0, 1);
        PatternTransfer server(server_plan, 1, 0);
        g_server = &server;
        ASSERT_TRUE(b->listen(
            4420, [](void*, tcp::Connection&) -> tcp::ConnectionHandler* { return std::exchange(g_server, nullptr); },
            nullptr, &err))
            << err;
        ASSERT_NE(a->connect(cb.local_ip, 4420, &client, &err), nullptr) << err;

        // A virtual clock: 20 us per round, so timeouts cost loop turns, not seconds.
        uint64_t now = tcp::tsc_now_us();
        const uint64_t end = now + 600'000'000;
        while (!(client.closed() && server.closed()) && now < end) {
            now += 20;
            a->poll(now);
            b->poll(now);
            if (shim_a) shim_a->flush_tx(0);
            if (shim_b) shim_b->flush_tx(0);
        }
        EXPECT_TRUE(client.complete()) << "client: received " << client.received() << " sent " << client.sent()
                                       << " error " << tcp::to_string(client.error()) << " " << client.why() << "\n"
                                       << a->info();
        EXPECT_TRUE(server.complete()) << "server: received " << server.received() << " sent " << server.sent()
                                       << " error " << tcp::to_string(server.error()) << " " << server.why() << "\n"
                                       << b->info();
        std::printf("%s\n%s\n", a->info().c_str(), b->info().c_str());
        // One connection each, and several queues: never refused; all given back once closed.
        for (const tcp::Endpoint* e : {a.get(), b.get()}) {
            EXPECT_EQ(e->ooo_reserve_stats().refused, 0u);
            EXPECT_EQ(e->ooo_reserve_stats().lent, 0u);
        }
        EXPECT_EQ(oversize.over, 0u) << "frames longer than the link carries (longest " << oversize.longest
                                     << " bytes): a real port would drop them";
        // The MSS we announce fits the MTU: 1500 less 40 (IPv4 + TCP) or 60 (IPv6 + TCP).
        EXPECT_NE(client.final_info().find(sc.ipv6 ? "advmss:1440" : "advmss:1460"), std::string::npos)
            << client.final_info();
        if (sc.ipv6) {
            EXPECT_GT(a->stats().rx_nd, 0u);
        }
        if (shim_a) {
            std::printf("%s\n%s\n", shim_a->summary().c_str(), shim_b->summary().c_str());
            // The faults happened: a clean run here would prove nothing about recovery.
            const pmd::FaultCounters f = shim_a->tx_counters();
            if (sc.faults.drop > 0) {
                EXPECT_GT(f.dropped, 0u);
                // Holes in a bulk transfer held more segments behind them than a connection's
                // inline entries: the receivers borrowed the endpoint's shared queues. (Request and
                // response messages of a few segments fit the inline entries.)
                if (!rr) {
                    EXPECT_GT(a->ooo_reserve_stats().loans + b->ooo_reserve_stats().loans, 0u) << a->info() << "\n" << b->info();
                }
            }
            if (sc.faults.reorder > 0) {
                EXPECT_GT(f.reordered, 0u);
            }
            if (sc.faults.corrupt > 0) {
                EXPECT_GT(f.corrupted, 0u);
                EXPECT_GT(b->stats().rx_bad_checksum, 0u) << "corrupted frames must be dropped by checksum";
            }
        }
    }
    close_ports(ports);
    EXPECT_EQ(mbufs_in_use(), in_use) << "mbufs leaked";
}

pmd::FaultRates rates(double drop, double reorder, double dup, double delay, double corrupt);

// What the offload engine does in a port's rx path, reduced to its mark: every TCP frame gets DDP
// metadata naming its own first sequence number and length (as a placement claim names sequence
// numbers), so the receiver can tell which packet each delivered mbuf came from.
uint16_t stamp_metadata(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n, uint16_t, void*) {
    for (uint16_t i = 0; i < n; ++i) {
        const pmd::FrameParse p = pmd::parse_frame({rte_pktmbuf_mtod(pkts[i], const uint8_t*), pkts[i]->data_len},
                                                   pkts[i]->pkt_len);
        if (!p.ok()) continue;
        nvmeddp_pkt_meta meta{};
        meta.place_seq = p.segment.seq;
        meta.place_len = p.segment.payload_len;
        pmd::MbufMeta::set(pkts[i], meta);
    }
    return n;
}

// Checks every delivered mbuf: it carries the metadata of the packet it came from, and its bytes
// lie inside that packet's sequence range (trimming a retransmission keeps the claims exact).
class MetadataChecker : public PatternTransfer {
public:
    using PatternTransfer::PatternTransfer;
    void on_data(tcp::Connection& c, std::span<tcp::RxSegment> segments) override {
        for (const tcp::RxSegment& s : segments) {
            ++segments_;
            if (!pmd::MbufMeta::has(s.m)) {
                ++missing_;
                continue;
            }
            const nvmeddp_pkt_meta* m = pmd::MbufMeta::get(s.m);
            const tcp::Seq first(m->place_seq);
            if (s.seq < first || s.seq + s.len > first + m->place_len) ++outside_;
        }
        PatternTransfer::on_data(c, segments);
    }
    uint64_t segments_ = 0, missing_ = 0, outside_ = 0;
};

MetadataChecker* g_meta_server = nullptr;

// Each connection borrows at most one shared out-of-order queue: more than max_connections is a
// mistake, refused saying why rather than allocated for nothing.
TEST(EndpointConfigCheck, MoreSharedOutOfOrderQueuesThanConnectionsIsRefusedSayingWhy) {
    REQUIRE_TCP_EAL();
    const PortPair ports = crossed_ports("tcp_ooo_cfg");
    ASSERT_NE(ports.a, UINT16_MAX);
    {
        tcp::EndpointConfig c;
        c.port = ports.a;
        c.local_ip = tcp::IpAddress::v4(192, 0, 2, 2);
        c.pool = pool();
        c.max_connections = 4;
        c.ooo_queues = 5;
        std::string err;
        EXPECT_FALSE(tcp::Endpoint::create(c, &err));
        EXPECT_EQ(err, "ooo_queues (5) exceeds max_connections (4): each connection needs at most one");
        c.ooo_queues = 4;
        auto every = tcp::Endpoint::create(c, &err);
        ASSERT_TRUE(every) << err;
        EXPECT_EQ(every->ooo_reserve_stats().items, 4u);
        every.reset();
        c.ooo_queues = 0;  // the default: a quarter, at least one
        c.max_connections = 3;
        auto fewer = tcp::Endpoint::create(c, &err);
        ASSERT_TRUE(fewer) << err;
        EXPECT_EQ(fewer->ooo_reserve_stats().items, 1u);
        EXPECT_NE(fewer->info().find("ooo_queues_lent:0/1"), std::string::npos) << fewer->info();
    }
    close_ports(ports);
}

TEST(EndpointMetadata, EveryDeliveredMbufKeepsItsPacketsDdpMetadata) {
    REQUIRE_TCP_EAL();
    const unsigned in_use = mbufs_in_use();
    const PortPair ports = crossed_ports("tcp_meta");
    ASSERT_NE(ports.a, UINT16_MAX);
    {
        // Loss, reordering and duplicates make retransmissions that overlap what arrived: trimmed
        // copies and out-of-order queueing must keep each packet's metadata with its own bytes.
        pmd::FaultShimOptions fo;
        fo.tx = rates(0.02, 0.02, 0.02, 0, 0);
        fo.pool = pool();
        std::string err;
        auto shim = pmd::FaultShim::attach(ports.a, 1, 1, fo, &err);
        ASSERT_TRUE(shim) << err;
        // After the shim's callback: the engine sees what the wire delivered.
        const rte_eth_rxtx_callback* cb = rte_eth_add_rx_callback(ports.b, 0, &stamp_metadata, nullptr);
        ASSERT_NE(cb, nullptr);
        tcp::EndpointConfig ca;
        ca.port = ports.a;
        ca.local_ip = tcp::IpAddress::v4(192, 0, 2, 2);
        ca.mac.bytes = {0x02, 0, 0, 0, 0, 2};
        ca.pool = pool();
        ca.connection.rcv_buf = 256 * 1024;
        ca.connection.ooo_segments = 256;
        tcp::EndpointConfig cb_cfg = ca;
        cb_cfg.port = ports.b;
        cb_cfg.local_ip = tcp::IpAddress::v4(192, 0, 2, 1);
        cb_cfg.mac.bytes = {0x02, 0, 0, 0, 0, 1};
        auto a = tcp::Endpoint::create(ca, &err);
        ASSERT_TRUE(a) << err;
        auto b = tcp::Endpoint::create(cb_cfg, &err);
        ASSERT_TRUE(b) << err;
        PatternTransfer client(PatternTransfer::bulk(2u << 20, 0), 0, 1);
        MetadataChecker server(PatternTransfer::bulk(0, 2u << 20), 1, 0);
        g_meta_server = &server;
        ASSERT_TRUE(b->listen(
            4420, [](void*, tcp::Connection&) -> tcp::ConnectionHandler* { return std::exchange(g_meta_server, nullptr); },
            nullptr, &err));
        ASSERT_NE(a->connect(cb_cfg.local_ip, 4420, &client, &err), nullptr) << err;
        uint64_t now = tcp::tsc_now_us();
        const uint64_t end = now + 300'000'000;
        while (!(client.closed() && server.closed()) && now < end) {
            now += 20;
            a->poll(now);
            b->poll(now);
            shim->flush_tx(0);
        }
        EXPECT_TRUE(server.complete()) << b->info();
        EXPECT_GT(server.segments_, 1000u);
        EXPECT_EQ(server.missing_, 0u) << "delivered mbufs without their packet's metadata";
        EXPECT_EQ(server.outside_, 0u) << "delivered bytes outside the packet their metadata names";
        EXPECT_GT(shim->tx_counters().duplicated + shim->tx_counters().reordered, 0u);
        rte_eth_remove_rx_callback(ports.b, 0, cb);
    }
    close_ports(ports);
    EXPECT_EQ(mbufs_in_use(), in_use);
}

pmd::FaultRates rates(double drop, double reorder, double dup, double delay, double corrupt) {
    pmd::FaultRates r;
    r.drop = drop;
    r.reorder = reorder;
    r.duplicate = dup;
    r.delay = delay;
    r.corrupt = corrupt;
    r.delay_us = 300;
    return r;
}

INSTANTIATE_TEST_SUITE_P(
    Faults, EndpointPair,
    testing::Values(Scenario{"clean", {}, 8u << 20, 0}, Scenario{"loss1pct", rates(0.01, 0, 0, 0, 0), 4u << 20, 0},
                    Scenario{"reorder1pct", rates(0, 0.01, 0, 0, 0), 4u << 20, 0},
                    Scenario{"dup_delay", rates(0, 0, 0.01, 0.01, 0), 4u << 20, 0},
                    Scenario{"corrupt", rates(0, 0, 0, 0, 0.01), 4u << 20, 0},
                    Scenario{"everything", rates(0.01, 0.01, 0.01, 0.01, 0.005), 4u << 20, 0},
                    Scenario{"heavy_loss", rates(0.05, 0.02, 0, 0, 0), 1u << 20, 0},
                    Scenario{"request_response", rates(0.01, 0.01, 0.01, 0, 0), 0, 300},
                    Scenario{"ipv6", rates(0.01, 0.01, 0, 0, 0.002), 4u << 20, 0, true, false},
                    Scenario{"vlan", rates(0.01, 0, 0, 0, 0), 2u << 20, 0, false, true},
                    Scenario{"ipv6_vlan_rr", {}, 0, 200, true, true}),
    [](const testing::TestParamInfo<Scenario>& i) { return i.param.name; });

}  // namespace
}  // namespace nvmeddp::tcp_test
