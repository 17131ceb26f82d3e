// The poll-mode path on a real ethdev: a net_ring port looped back onto itself (tx goes into the ring
// that rx reads), the offload attached to it, generated NVMe/TCP read traffic sent through it as mbufs
// (some as chains of several segments), and the host model consuming what rte_eth_rx_burst returns.
// Needs the EAL; runs without hugepages or privileges beyond what EAL with --no-huge needs. If the EAL
// cannot start, every test here fails and says why.
#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_bus_vdev.h>
#include <rte_flow.h>

#include <cstring>
#include <string>
#include <thread>

#include "ddp/device_registry.hpp"
#include "pmd/dpdk_eal.hpp"
#include "pmd/dpdk_mbuf_meta.hpp"
#include "pmd/dpdk_offload_port.hpp"
#include "pmd/frame_parser.hpp"
#include "testlib/ddp_host_model.hpp"
#include "testlib/flow_config.hpp"
#include "testlib/frame_gen.hpp"
#include "testlib/read_stream_gen.hpp"

using namespace nvmeddp;

namespace {

std::string g_eal_error = "EAL not initialised";
rte_mempool* g_pool = nullptr;

class EalEnvironment : public testing::Environment {
public:
    void SetUp() override {
        pmd::EalOptions o;
        o.lcores = "0";
        o.program = "pmd_dpdk_tests";
        g_eal_error = pmd::init_eal(o);
        if (!g_eal_error.empty()) return;
        // 2 KiB data rooms: a jumbo frame arrives as a chain of segments.
        g_pool = rte_pktmbuf_pool_create("nvmeddp_test_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
        if (g_pool == nullptr) g_eal_error = std::string("rte_pktmbuf_pool_create: ") + rte_strerror(rte_errno);
    }
};
[[maybe_unused]] testing::Environment* const g_env = testing::AddGlobalTestEnvironment(new EalEnvironment);

#define REQUIRE_EAL() ASSERT_TRUE(g_eal_error.empty()) << "cannot run without the EAL: " << g_eal_error

// A ring port whose rx queue q reads the ring that tx queue q writes.
uint16_t loopback_ring_port(const std::string& name, uint16_t queues) {
    std::vector<rte_ring*> rings;
    for (uint16_t q = 0; q < queues; ++q) {
        rings.push_back(rte_ring_create((name + "_r" + std::to_string(q)).c_str(), 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ));
        if (rings.back() == nullptr) return UINT16_MAX;
    }
    const int port = rte_eth_from_rings(name.c_str(), rings.data(), queues, rings.data(), queues, 0);
    if (port < 0) return UINT16_MAX;
    pmd::PortSetup s;
    s.port_id = static_cast<uint16_t>(port);
    s.rx_queues = s.tx_queues = queues;
    s.pool = g_pool;
    const std::string err = pmd::configure_port(s);
    EXPECT_TRUE(err.empty()) << err;
    return static_cast<uint16_t>(port);
}

// Copies a frame into an mbuf chain of segments of at most `seg` bytes.
rte_mbuf* to_mbuf(const std::vector<uint8_t>& frame, size_t seg = 2048) {
    rte_mbuf* head = nullptr;
    for (size_t at = 0; at < frame.size(); at += seg) {
        rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
        if (m == nullptr) return nullptr;
        const size_t n = std::min(seg, frame.size() - at);
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(n)), frame.data() + at, n);
        if (head == nullptr) {
            head = m;
        } else if (rte_pktmbuf_chain(head, m) != 0) {
            return nullptr;
        }
    }
    return head;
}

std::vector<uint8_t> payload_of(rte_mbuf* m, uint32_t offset, uint32_t len) {
    std::vector<uint8_t> out(len);
    const void* p = rte_pktmbuf_read(m, offset, len, out.data());
    if (p != out.data()) std::memcpy(out.data(), p, len);
    return out;
}

ddp::ConnectionConfig config_for(const testlib::FlowSpec& f, const testlib::ReadStreamOptions& so, uint32_t first_seq,
                                 uint16_t queue) {
    ddp::ConnectionConfig c;
    c.tuple = testlib::host_tuple(f);
    c.data_digest = so.data_digest;
    c.header_digest = so.header_digest;
    c.rcv_seq = first_seq;
    c.rx_queue = queue;
    return c;
}

struct Flow {
    testlib::ReadStream stream;
    testlib::FrameSequence frames;
    std::unique_ptr<testlib::DdpHostModel> host;
    ddp::ConnectionHandle handle = 0;
};

Flow make_flow(ddp::Device& dev, const testlib::FlowSpec& spec, uint32_t mss, uint64_t seed, uint16_t queue,
               const testlib::FaultPlan& faults = {}) {
    Flow f;
    testlib::ReadStreamOptions so;
    so.commands = 20;
    so.min_len = 2000;
    so.max_len = 50000;
    so.data_digest = true;
    so.other_pdu_rate = 0.2;
    so.seed = seed;
    testlib::FrameGenOptions fo;
    fo.flow = spec;
    fo.mss = mss;
    fo.first_seq = static_cast<uint32_t>(seed * 0x10000001u);
    f.stream = testlib::generate_read_stream(so);
    f.frames = testlib::generate_frames(f.stream.bytes, fo, faults);
    EXPECT_EQ(dev.add_connection(config_for(spec, so, fo.first_seq, queue), f.handle), ddp::Status::Ok);
    testlib::DdpHostModel::Options ho;
    ho.data_digest = true;
    ho.first_seq = fo.first_seq;
    ho.segments_per_buffer = 3;
    ho.ipv6 = spec.ipv6;
    f.host = std::make_unique<testlib::DdpHostModel>(&dev, f.handle, ho);
    for (const auto& r : f.stream.reads) f.host->register_read(r.cid, static_cast<uint32_t>(r.data.size()));
    return f;
}

// Sends a flow's frames through tx queue q and hands what rx queue rx_q (default q) returns to the
// host model.
void pump(uint16_t port, uint16_t q, Flow& f, size_t burst = 16, int rx_q = -1) {
    const auto rq = static_cast<uint16_t>(rx_q < 0 ? q : rx_q);
    const auto& frames = f.frames.frames;
    for (size_t i = 0; i < frames.size(); i += burst) {
        const size_t n = std::min(burst, frames.size() - i);
        rte_mbuf* tx[64];
        for (size_t k = 0; k < n; ++k) {
            tx[k] = to_mbuf(frames[i + k].bytes);
            ASSERT_NE(tx[k], nullptr) << "mbuf pool exhausted";
        }
        ASSERT_EQ(rte_eth_tx_burst(port, q, tx, static_cast<uint16_t>(n)), n);
        rte_mbuf* rx[64];
        size_t got = 0;
        for (int spins = 0; got < n && spins < 1000000; ++spins) {
            got += rte_eth_rx_burst(port, rq, rx + got, static_cast<uint16_t>(n - got));
        }
        ASSERT_EQ(got, n) << "frames sent on tx queue " << q << " did not come back on rx queue " << rq;
        for (size_t k = 0; k < n; ++k) {
            const auto& truth = frames[i + k].truth;
            const std::vector<uint8_t> frame = payload_of(rx[k], 0, rx[k]->pkt_len);
            f.host->on_frame(frame, truth.layout, pmd::MbufMeta::has(rx[k]) ? pmd::MbufMeta::get(rx[k]) : nullptr);
            rte_pktmbuf_free(rx[k]);
        }
        // A host polls its completions in its loop.
        // (teardowns are synchronous here: the engine ran inside rx_burst, on this thread)
    }
}

// The offload attached to a port, its log lines kept (or dropped when log is null).
std::unique_ptr<pmd::OffloadPort> attach(uint16_t port, uint16_t rx_queues = 1, std::vector<std::string>* log = nullptr) {
    pmd::OffloadPortOptions o;
    o.port_id = port;
    o.rx_queues = rx_queues;
    o.log = [log](const std::string& l) {
        if (log != nullptr) log->push_back(l);
    };
    std::string err;
    auto offload = pmd::OffloadPort::attach(o, err);
    EXPECT_NE(offload, nullptr) << err;
    return offload;
}

bool all_correct(const Flow& f) {
    for (const auto& r : f.stream.reads) {
        if (f.host->contents(r.cid) != r.data || !f.host->guards_intact(r.cid)) return false;
    }
    return true;
}

}  // namespace

TEST(DpdkPort, RingPortInOrderPlacesEverythingAndFallsBackToTheClassifier) {
    REQUIRE_EAL();
    const uint16_t port = loopback_ring_port("net_ring_inorder", 1);
    ASSERT_NE(port, UINT16_MAX);
    std::vector<std::string> log;
    auto offload = attach(port, 1, &log);
    ASSERT_NE(offload, nullptr);
    EXPECT_EQ(offload->name().rfind("nvmeddp-sw:", 0), 0u) << offload->name();
    EXPECT_NE(offload->name().find("net_ring_inorder"), std::string::npos) << offload->name();
    EXPECT_EQ(ddp::find_device(offload->name()), &offload->device());
    const std::string name = offload->name();

    for (uint32_t mss : {1448u, 8948u}) {
        SCOPED_TRACE(testing::Message() << "mss " << mss);
        Flow f = make_flow(offload->device(), testlib::ipv4_flow(), mss, mss, 0);
        pump(port, 0, f);
        const auto& t = f.host->totals();
        EXPECT_TRUE(all_correct(f));
        EXPECT_EQ(t.wrong_claims, 0u);
        // Placed all; claimed all but where one packet carries the end of one read and the start of
        // the next (a claim names one command): at most a packet per read.
        EXPECT_EQ(t.claims_refused, 0u);
        EXPECT_LE(t.copied, f.stream.reads.size() * mss);
        EXPECT_EQ(t.digests_recomputed, 0u);
        EXPECT_EQ(t.teardowns_sync, f.stream.reads.size());
        // The queue's engine applies the removal at its next burst (an empty poll is one).
        EXPECT_EQ(offload->device().remove_connection(f.handle), ddp::Status::InProgress);
        rte_mbuf* none[1];
        EXPECT_EQ(rte_eth_rx_burst(port, 0, none, 1), 0);
        offload->device().poll(f.handle);
        EXPECT_EQ(offload->device().connection_count(), 0u);
    }
    // net_ring has no rte_flow: each connection said so, once.
    ASSERT_EQ(log.size(), 2u);
    EXPECT_NE(log[0].find("software classifier"), std::string::npos) << log[0];
    EXPECT_NE(log[0].find("rte_flow"), std::string::npos) << log[0];
    EXPECT_EQ(offload->driver().steering_counters().by_classifier, 2u);
    const pmd::PortEngineCounters c = offload->counters();
    EXPECT_GT(c.with_metadata, 0u);
    EXPECT_EQ(c.with_metadata, c.by_classifier);
    offload.reset();
    EXPECT_EQ(ddp::find_device(name), nullptr);
}

TEST(DpdkPort, LossAndReorderThroughThePortNeverGiveAWrongByte) {
    REQUIRE_EAL();
    const uint16_t port = loopback_ring_port("net_ring_faults", 1);
    ASSERT_NE(port, UINT16_MAX);
    auto offload = attach(port, 1);
    ASSERT_NE(offload, nullptr);
    testlib::FaultPlan faults;
    faults.loss = 0.03;
    faults.reorder = 0.03;
    faults.duplicate = 0.03;
    Flow f = make_flow(offload->device(), testlib::ipv6_flow(), 1448, 3, 0, faults);
    pump(port, 0, f);
    EXPECT_TRUE(all_correct(f));
    EXPECT_EQ(f.host->totals().wrong_claims, 0u);
    EXPECT_EQ(f.host->totals().false_digest_claims, 0u);
    EXPECT_GT(f.host->totals().claimed_placed, 0u);
    ddp::Stats s{};
    offload->device().connection_stats(f.handle, s);
    EXPECT_GT(s.resync_requests, 0u);
    EXPECT_GT(s.resync_confirmations, 0u);
}

TEST(DpdkPort, OneEnginePerQueueEachOnItsOwnThread) {
    REQUIRE_EAL();
    const uint16_t port = loopback_ring_port("net_ring_mq", 2);
    ASSERT_NE(port, UINT16_MAX);
    auto offload = attach(port, 2);
    ASSERT_NE(offload, nullptr);
    testlib::FlowSpec a = testlib::ipv4_flow();
    testlib::FlowSpec b = testlib::ipv4_flow();
    b.dst_port = 40001;
    Flow fa = make_flow(offload->device(), a, 1448, 11, 0);
    Flow fb = make_flow(offload->device(), b, 1448, 12, 1);
    std::thread ta([&] { pump(port, 0, fa); });
    std::thread tb([&] { pump(port, 1, fb); });
    ta.join();
    tb.join();
    EXPECT_TRUE(all_correct(fa));
    EXPECT_TRUE(all_correct(fb));
    EXPECT_EQ(fa.host->totals().claims_refused + fb.host->totals().claims_refused, 0u);
    EXPECT_LE(fa.host->totals().copied + fb.host->totals().copied, (fa.stream.reads.size() + fb.stream.reads.size()) * 1448);
    EXPECT_EQ(fa.host->totals().wrong_claims + fb.host->totals().wrong_claims, 0u);
}

TEST(DpdkPort, RemovalCompletesAfterThePollersStopped) {
    REQUIRE_EAL();
    const uint16_t port = loopback_ring_port("net_ring_stop", 1);
    ASSERT_NE(port, UINT16_MAX);
    auto offload = attach(port, 1);
    ASSERT_NE(offload, nullptr);
    Flow f = make_flow(offload->device(), testlib::ipv4_flow(), 1448, 5, 0);
    // Nothing has polled the queue: the removal waits for the engine...
    EXPECT_EQ(offload->device().remove_connection(f.handle), ddp::Status::InProgress);
    EXPECT_EQ(offload->device().connection_count(), 1u);
    // ...until the application says no lcore polls any more.
    offload->stop_polling();
    offload->device().poll(f.handle);
    EXPECT_EQ(offload->device().connection_count(), 0u);
    EXPECT_EQ(offload->device().stats().forced_teardowns, f.stream.reads.size());
}

TEST(DpdkPort, AttachRefusesPortsAndQueuesThatDoNotExist) {
    REQUIRE_EAL();
    pmd::OffloadPortOptions o;
    o.port_id = 999;
    std::string err;
    EXPECT_EQ(pmd::OffloadPort::attach(o, err), nullptr);
    EXPECT_NE(err.find("does not exist"), std::string::npos) << err;
    const uint16_t port = loopback_ring_port("net_ring_refuse", 1);
    ASSERT_NE(port, UINT16_MAX);
    o.port_id = port;
    o.rx_queues = 4;
    EXPECT_EQ(pmd::OffloadPort::attach(o, err), nullptr);
    EXPECT_NE(err.find("rx queues"), std::string::npos) << err;
}

// --- our vdev NIC with rte_flow --------------------------------------------------------------------

namespace {

uint16_t nvmeddp_nic(const std::string& name, uint16_t queues, uint16_t rx_descriptors = 1024) {
    if (rte_vdev_init(name.c_str(), "") != 0) return UINT16_MAX;
    uint16_t port = 0;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port) != 0) return UINT16_MAX;
    pmd::PortSetup s;
    s.port_id = port;
    s.rx_queues = s.tx_queues = queues;
    s.rx_descriptors = rx_descriptors;
    s.pool = g_pool;
    const std::string err = pmd::configure_port(s);
    EXPECT_TRUE(err.empty()) << err;
    return port;
}

}  // namespace

TEST(DpdkPort, RteFlowRulesSteerAndMarkOnOurNic) {
    REQUIRE_EAL();
    const uint16_t port = nvmeddp_nic("net_nvmeddp_flow", 2);
    ASSERT_NE(port, UINT16_MAX) << "net_nvmeddp vdev not available";
    std::vector<std::string> log;
    auto offload = attach(port, 2, &log);
    ASSERT_NE(offload, nullptr);
    // Steered to queue 1 by its rule, though sent on tx queue 0.
    Flow f = make_flow(offload->device(), testlib::ipv6_flow(), 1448, 21, 1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_NE(log[0].find("steered by rte_flow to queue 1"), std::string::npos) << log[0];
    EXPECT_EQ(offload->driver().steering_counters().by_flow_rule, 1u);
    pump(port, 0, f, 16, 1);
    EXPECT_TRUE(all_correct(f));
    EXPECT_EQ(f.host->totals().claims_refused, 0u);
    EXPECT_LE(f.host->totals().copied, f.stream.reads.size() * 1448);
    const pmd::PortEngineCounters c = offload->counters();
    EXPECT_EQ(c.by_mark, f.frames.frames.size());
    EXPECT_EQ(c.by_classifier, 0u);
    // Removing the connection destroys its rule: frames now arrive unmarked on the queue they were
    // sent on, and the engine leaves them alone.
    EXPECT_EQ(offload->device().remove_connection(f.handle), ddp::Status::InProgress);
    rte_mbuf* none[1];
    rte_eth_rx_burst(port, 1, none, 0);
    offload->device().poll(f.handle);
    EXPECT_EQ(offload->device().connection_count(), 0u);
    rte_mbuf* m = to_mbuf(f.frames.frames[0].bytes);
    ASSERT_EQ(rte_eth_tx_burst(port, 0, &m, 1), 1);
    rte_mbuf* back = nullptr;
    ASSERT_EQ(rte_eth_rx_burst(port, 0, &back, 1), 1);
    EXPECT_EQ(back->ol_flags & RTE_MBUF_F_RX_FDIR_ID, 0u);
    EXPECT_FALSE(pmd::MbufMeta::has(back));
    rte_pktmbuf_free(back);
}

TEST(DpdkPort, OurNicRefusesRulesItCannotHonourWithAReason) {
    REQUIRE_EAL();
    const uint16_t port = nvmeddp_nic("net_nvmeddp_refuse", 1);
    ASSERT_NE(port, UINT16_MAX);
    rte_flow_attr attr{};
    attr.ingress = 1;
    rte_flow_item_ipv4 ip{}, ip_mask{};
    ip_mask.hdr.src_addr = 0xFFFFFFFF;
    ip_mask.hdr.dst_addr = 0x00FFFFFF;  // a prefix: not an exact 5-tuple
    rte_flow_item_tcp tcp{}, tcp_mask{};
    tcp_mask.hdr.src_port = tcp_mask.hdr.dst_port = 0xFFFF;
    rte_flow_item pattern[4]{};
    pattern[0].type = RTE_FLOW_ITEM_TYPE_ETH;
    pattern[1] = {RTE_FLOW_ITEM_TYPE_IPV4, &ip, nullptr, &ip_mask};
    pattern[2] = {RTE_FLOW_ITEM_TYPE_TCP, &tcp, nullptr, &tcp_mask};
    pattern[3].type = RTE_FLOW_ITEM_TYPE_END;
    rte_flow_action_queue queue{5};
    rte_flow_action actions[2]{{RTE_FLOW_ACTION_TYPE_QUEUE, &queue}, {RTE_FLOW_ACTION_TYPE_END, nullptr}};
    rte_flow_error error{};
    EXPECT_NE(rte_flow_validate(port, &attr, pattern, actions, &error), 0);
    EXPECT_STREQ(error.message, "IPv4 addresses must be matched exactly");
    ip_mask.hdr.dst_addr = 0xFFFFFFFF;
    EXPECT_NE(rte_flow_validate(port, &attr, pattern, actions, &error), 0);
    EXPECT_STREQ(error.message, "queue index beyond the rx queues");
    queue.index = 0;
    EXPECT_EQ(rte_flow_validate(port, &attr, pattern, actions, &error), 0);
    pattern[2].type = RTE_FLOW_ITEM_TYPE_UDP;
    EXPECT_NE(rte_flow_validate(port, &attr, pattern, actions, &error), 0);
    EXPECT_STREQ(error.message, "pattern must be ETH / IPV4 or IPV6 / TCP / END");
}

// The port runs out of rx descriptors (its lcore fell behind): frames are dropped at the port and
// never retransmitted here. The engine sees the gaps, the host never gets those reads complete and
// aborts them: no wrong byte anywhere, every registration released, the drops counted by the port.
TEST(DpdkPort, RxDescriptorExhaustionDropsFramesAndFailsOnlyTheAffectedReads) {
    REQUIRE_EAL();
    const uint16_t port = nvmeddp_nic("net_nvmeddp_tiny", 1, 64);
    ASSERT_NE(port, UINT16_MAX);
    auto offload = attach(port, 1);
    ASSERT_NE(offload, nullptr);
    Flow f = make_flow(offload->device(), testlib::ipv4_flow(), 1448, 31, 0);
    // Bursts of 200 frames before the lcore polls: the 64-entry ring overflows.
    std::vector<std::vector<uint8_t>> sent;
    for (size_t i = 0; i < f.frames.frames.size(); i += 200) {
        const size_t n = std::min<size_t>(200, f.frames.frames.size() - i);
        for (size_t k = 0; k < n; ++k) {
            rte_mbuf* m = to_mbuf(f.frames.frames[i + k].bytes);
            ASSERT_NE(m, nullptr);
            ASSERT_EQ(rte_eth_tx_burst(port, 0, &m, 1), 1);
        }
        rte_mbuf* rx[64];
        uint16_t got = 0;
        while ((got = rte_eth_rx_burst(port, 0, rx, 64)) > 0) {
            for (uint16_t k = 0; k < got; ++k) {
                // Which generated frame is it? Its TCP sequence number says.
                const auto parsed = pmd::parse_frame({rte_pktmbuf_mtod(rx[k], const uint8_t*), rx[k]->data_len}, rx[k]->pkt_len);
                ASSERT_TRUE(parsed.ok());
                const auto& seg = parsed.segment;
                const testlib::FrameLayout layout{seg.l3_offset, seg.l4_offset, seg.payload_offset, seg.payload_len,
                                                  static_cast<uint16_t>(seg.payload_offset + seg.payload_len)};
                const std::vector<uint8_t> frame = payload_of(rx[k], 0, rx[k]->pkt_len);
                f.host->on_frame(frame, layout, pmd::MbufMeta::has(rx[k]) ? pmd::MbufMeta::get(rx[k]) : nullptr);
                rte_pktmbuf_free(rx[k]);
            }
        }
    }
    rte_eth_stats st{};
    ASSERT_EQ(rte_eth_stats_get(port, &st), 0);
    EXPECT_GT(st.imissed, 0u) << "the port dropped nothing: the test did not exhaust it";
    // The host gives up on every read that did not complete.
    uint64_t aborted = 0;
    for (const auto& r : f.stream.reads) {
        if (!f.host->read(r.cid).completed) {
            EXPECT_EQ(f.host->abort_read(r.cid), ddp::Status::Ok);
            ++aborted;
        } else {
            EXPECT_EQ(f.host->contents(r.cid), r.data) << "cid " << r.cid;
        }
        EXPECT_TRUE(f.host->guards_intact(r.cid));
    }
    EXPECT_GT(aborted, 0u);
    EXPECT_EQ(f.host->totals().wrong_claims, 0u);
    EXPECT_EQ(f.host->totals().false_digest_claims, 0u);
    ddp::Stats s{};
    offload->device().connection_stats(f.handle, s);
    EXPECT_EQ(s.setup, s.teardown) << "a registration leaked";
}
