// The poll-mode path on a real ethdev: a net_ring port looped back onto itself (tx goes into the ring
// that rx reads), the offload attached to it, generated NVMe/TCP read traffic sent through it as mbufs
// (some as chains of several segments), and the host model consuming what rte_eth_rx_burst returns.
// Needs the EAL; runs without hugepages or privileges beyond what EAL with --no-huge needs. If the EAL
// cannot start, every test here fails and says why (dpdk_test_support.hpp).
#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_mbuf.h>

#include <cstring>
#include <string>
#include <thread>

#include "ddp/device_registry.hpp"
#include "dpdk_test_support.hpp"
#include "pmd/dpdk/mbuf_meta.hpp"
#include "pmd/dpdk/offload_port.hpp"
#include "pmd/packet/frame_parser.hpp"
#include "testlib/flow_config.hpp"
#include "testlib/frame_gen.hpp"

using namespace nvmeddp;
using namespace nvmeddp::dpdk_test;

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
    // The framing was lost and found again (from a retransmitted header, or by the host's resync),
    // and retransmitted bytes were placed.
    EXPECT_GT(s.framing_regained + s.resync_confirmations, 0u);
    EXPECT_GT(s.late_placed_bytes, 0u);
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
    EXPECT_STREQ(error.message, "pattern must be ETH / [VLAN / [VLAN /]] IPV4 or IPV6 / TCP / END");
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
