// OffloadPort's rx callback against what ports really hand it: rule-steered frames that arrive
// without their MARK, mbufs still flagged from an earlier life, the port's checksum verdicts, and
// frames in many segments (a 64 KiB TSO-sized frame in 2 KiB mbufs).
#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <string>
#include <vector>

#include "dpdk_test_support.hpp"
#include "pmd/dpdk/mbuf_meta.hpp"
#include "pmd/dpdk/offload_port.hpp"
#include "pmd/dpdk/rx_checksum.hpp"
#include "testlib/frame_gen.hpp"

using namespace nvmeddp;

namespace {
// At most a packet's bytes per read copied although placed: where one packet carries the end of
// one read and the start of the next, a claim names one command (include/nvmeddp/ddp_mbuf.h).
constexpr uint64_t kClaimSlack = 65536;
}  // namespace
using namespace nvmeddp::dpdk_test;

namespace {

// Sends one mbuf through tx queue 0 and returns what rx queue 0 gives back.
rte_mbuf* round_trip(uint16_t port, rte_mbuf* m) {
    EXPECT_EQ(rte_eth_tx_burst(port, 0, &m, 1), 1);
    rte_mbuf* back = nullptr;
    EXPECT_EQ(rte_eth_rx_burst(port, 0, &back, 1), 1);
    return back;
}

bool log_says(const std::vector<std::string>& log, const std::string& what) {
    for (const auto& l : log) {
        if (l.find(what) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

// A NIC that accepts the steering rule but delivers no MARK (rx_mark=silent: it does not negotiate
// either, so nothing warned the offload): the connection's frames reach its queue unmarked, and the
// classifier entry every offloaded connection has finds them.
TEST(OffloadRx, RuleSteeredFramesWithoutTheirMarkAreStillOffloaded) {
    REQUIRE_EAL();
    for (const char* mode : {"rx_mark=silent", "rx_mark=off"}) {
        SCOPED_TRACE(mode);
        const uint16_t port = nvmeddp_nic(std::string("net_nvmeddp_nomark_") + (mode + 8), 2, 1024, mode);
        ASSERT_NE(port, UINT16_MAX);
        std::vector<std::string> log;
        auto offload = attach(port, 2, &log);
        ASSERT_NE(offload, nullptr);
        Flow f = make_flow(offload->device(), testlib::ipv4_flow(), 1448, 41, 1);
        ASSERT_TRUE(log_says(log, "steered by rte_flow to queue 1")) << (log.empty() ? "" : log[0]);
        EXPECT_EQ(offload->driver().steering_counters().by_flow_rule, 1u);
        pump(port, 0, f, 16, 1);  // sent on queue 0, steered to 1 by the rule
        EXPECT_TRUE(all_correct(f));
        EXPECT_EQ(f.host->totals().claims_refused, 0u);
        EXPECT_LE(f.host->totals().copied, f.stream.reads.size() * kClaimSlack);
        EXPECT_EQ(f.host->totals().wrong_claims, 0u);
        const pmd::PortEngineCounters c = offload->counters();
        EXPECT_EQ(c.by_mark, 0u);
        EXPECT_EQ(c.by_classifier, f.frames.frames.size());
        EXPECT_EQ(c.not_offloaded, 0u);
    }
}

// The classifier entry of a rule-steered connection goes with the connection: after removal its
// frames are nobody's, even once its connection id belongs to a new connection.
TEST(OffloadRx, RemovingARuleSteeredConnectionRemovesItsClassifierEntry) {
    REQUIRE_EAL();
    const uint16_t port = nvmeddp_nic("net_nvmeddp_nomark_reuse", 1, 1024, "rx_mark=silent");
    ASSERT_NE(port, UINT16_MAX);
    // One connection id only: ids are reused oldest first, so with one the next connection gets it.
    pmd::OffloadPortOptions po;
    po.port_id = port;
    po.limits.max_connections = 1;
    po.log = [](const std::string&) {};
    std::string err;
    auto offload = pmd::OffloadPort::attach(po, err);
    ASSERT_NE(offload, nullptr) << err;
    Flow a = make_flow(offload->device(), testlib::ipv4_flow(), 1448, 42, 0);
    const uint32_t id_a = offload->driver().conn_id(a.handle);
    ASSERT_EQ(offload->device().remove_connection(a.handle), ddp::Status::InProgress);
    rte_mbuf* none[1];
    rte_eth_rx_burst(port, 0, none, 0);  // the engine applies the removal at its next burst
    offload->device().poll(a.handle);
    ASSERT_EQ(offload->device().connection_count(), 0u);
    testlib::FlowSpec other = testlib::ipv4_flow();
    other.src_port = 4421;
    Flow b = make_flow(offload->device(), other, 1448, 43, 0);
    ASSERT_EQ(offload->driver().conn_id(b.handle), id_a) << "the test needs the id reused";
    const pmd::PortEngineCounters before = offload->counters();
    rte_mbuf* back = round_trip(port, to_mbuf(a.frames.frames[0].bytes));
    ASSERT_NE(back, nullptr);
    EXPECT_FALSE(pmd::MbufMeta::has(back));
    rte_pktmbuf_free(back);
    const pmd::PortEngineCounters after = offload->counters();
    EXPECT_EQ(after.by_classifier, before.by_classifier);
    EXPECT_EQ(after.not_offloaded, before.not_offloaded + 1);
}

// net_ring hands back the very mbufs it was given, ol_flags and all: one the engine leaves alone
// must not come out claiming metadata from its earlier life.
TEST(OffloadRx, MbufsTheEngineDidNotFillCarryNoStaleMetadataFlag) {
    REQUIRE_EAL();
    const uint16_t port = loopback_ring_port("net_ring_stale", 1);
    ASSERT_NE(port, UINT16_MAX);
    auto offload = attach(port, 1);
    ASSERT_NE(offload, nullptr);
    Flow f = make_flow(offload->device(), testlib::ipv4_flow(), 1448, 44, 0);
    testlib::FlowSpec stranger = testlib::ipv4_flow();
    stranger.dst_port = 40999;
    testlib::TcpFields tcp;
    std::vector<uint8_t> arp(60, 0);
    arp[12] = 0x08;
    arp[13] = 0x06;
    const std::vector<std::vector<uint8_t>> untouched = {
        testlib::build_frame(stranger, tcp, std::vector<uint8_t>(100, 1)).bytes,  // another flow
        arp,                                                                      // not TCP
    };
    nvmeddp_pkt_meta stale{};
    stale.conn_id = 77;
    for (const auto& frame : untouched) {
        rte_mbuf* m = to_mbuf(frame);
        ASSERT_NE(m, nullptr);
        pmd::MbufMeta::set(m, stale);
        ASSERT_TRUE(pmd::MbufMeta::has(m));
        rte_mbuf* back = round_trip(port, m);
        ASSERT_EQ(back, m) << "net_ring passes mbufs through";
        EXPECT_FALSE(pmd::MbufMeta::has(back));
        rte_pktmbuf_free(back);
    }
    // The connection's own frame, flagged stale too, comes back with fresh metadata.
    rte_mbuf* m = to_mbuf(f.frames.frames[0].bytes);
    ASSERT_NE(m, nullptr);
    pmd::MbufMeta::set(m, stale);
    rte_mbuf* back = round_trip(port, m);
    ASSERT_NE(back, nullptr);
    ASSERT_TRUE(pmd::MbufMeta::has(back));
    EXPECT_NE(pmd::MbufMeta::get(back)->conn_id, 77u);
    rte_pktmbuf_free(back);
}

TEST(OffloadRx, PortChecksumFlagsMapToTheEnginesView) {
    using pmd::L4Checksum;
    const uint64_t l4s[] = {RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN, RTE_MBUF_F_RX_L4_CKSUM_BAD, RTE_MBUF_F_RX_L4_CKSUM_GOOD,
                            RTE_MBUF_F_RX_L4_CKSUM_NONE};
    const uint64_t ips[] = {RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN, RTE_MBUF_F_RX_IP_CKSUM_BAD, RTE_MBUF_F_RX_IP_CKSUM_GOOD,
                            RTE_MBUF_F_RX_IP_CKSUM_NONE};
    for (uint64_t l4 : l4s) {
        for (uint64_t ip : ips) {
            const L4Checksum want = (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD || ip == RTE_MBUF_F_RX_IP_CKSUM_BAD) ? L4Checksum::Bad
                                    : l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD                                    ? L4Checksum::Good
                                                                                                           : L4Checksum::Unknown;
            // Other flags around them change nothing.
            for (uint64_t other : {uint64_t{0}, uint64_t{RTE_MBUF_F_RX_FDIR | RTE_MBUF_F_RX_FDIR_ID | RTE_MBUF_F_RX_VLAN}}) {
                EXPECT_EQ(pmd::l4_checksum_of(l4 | ip | other), want) << "l4 " << l4 << " ip " << ip;
            }
        }
    }
}

// A frame the port flagged bad goes to the engine as Bad (counted), no longer skipped before it:
// the engine keeps its stream position and decides itself.
TEST(OffloadRx, FramesThePortFlaggedBadReachTheEngineAsSuch) {
    REQUIRE_EAL();
    const uint16_t port = nvmeddp_nic("net_nvmeddp_badsum", 1);
    ASSERT_NE(port, UINT16_MAX);
    auto offload = attach(port, 1);
    ASSERT_NE(offload, nullptr);
    Flow f = make_flow(offload->device(), testlib::ipv6_flow(), 1448, 45, 0);
    auto bad = f.frames.frames[0].bytes;
    bad[f.frames.frames[0].truth.layout.payload_offset + 10] ^= 0x04;
    const pmd::PortEngineCounters before = offload->counters();
    rte_mbuf* back = round_trip(port, to_mbuf(bad));
    ASSERT_NE(back, nullptr);
    EXPECT_EQ(back->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_BAD);
    rte_pktmbuf_free(back);
    const pmd::PortEngineCounters after = offload->counters();
    EXPECT_EQ(after.bad_checksum, before.bad_checksum + 1);
    EXPECT_EQ(after.frames, before.frames + 1);
}

// A 64 KiB frame (what a sender's TSO or a receiver's LRO makes) in 2 KiB mbufs is ~40 segments:
// offloaded whole. Beyond what the engine takes it is left to the host, counted, never cut short.
TEST(OffloadRx, FramesInManySegmentsAreOffloadedUpToTheEnginesLimit) {
    REQUIRE_EAL();
    const uint16_t port = loopback_ring_port("net_ring_segs", 1);
    ASSERT_NE(port, UINT16_MAX);
    auto offload = attach(port, 1);
    ASSERT_NE(offload, nullptr);
    constexpr uint32_t kMss = 65000;
    {
        Flow f = make_flow(offload->device(), testlib::ipv4_flow(), kMss, 46, 0);
        ASSERT_GT(f.frames.frames.size(), 4u);
        ASSERT_GT(f.frames.frames[0].bytes.size() / 1700, 35u) << "not a frame of ~40 segments";
        pump(port, 0, f, 4, -1, 1700);
        EXPECT_TRUE(all_correct(f));
        EXPECT_EQ(f.host->totals().claims_refused, 0u);
        EXPECT_LE(f.host->totals().copied, f.stream.reads.size() * kClaimSlack);
        EXPECT_EQ(f.host->totals().wrong_claims, 0u);
        EXPECT_EQ(offload->counters().too_many_chunks, 0u);
        EXPECT_EQ(offload->device().remove_connection(f.handle), ddp::Status::InProgress);
        rte_mbuf* none[1];
        rte_eth_rx_burst(port, 0, none, 0);
        offload->device().poll(f.handle);
    }
    {
        // 900-byte segments: the full-size frames are in 73, more than QueueEngine::kMaxChunks.
        testlib::FlowSpec spec = testlib::ipv4_flow();
        spec.dst_port = 40002;
        Flow f = make_flow(offload->device(), spec, kMss, 47, 0);
        // Beyond 1 + kMaxChunks segments the port's gather stops; at exactly that many, the
        // payload in the first segment makes one chunk too many for the engine.
        size_t beyond = 0, at_limit = 0;
        for (const auto& fr : f.frames.frames) {
            const size_t segs = (fr.bytes.size() + 899) / 900;
            beyond += segs > 1 + pmd::QueueEngine::kMaxChunks ? 1 : 0;
            at_limit += segs == 1 + pmd::QueueEngine::kMaxChunks ? 1 : 0;
        }
        ASSERT_GT(beyond, 0u);
        const uint64_t before = offload->counters().too_many_chunks;
        pump(port, 0, f, 4, -1, 900);
        EXPECT_TRUE(all_correct(f));
        EXPECT_EQ(f.host->totals().wrong_claims, 0u);
        EXPECT_GT(f.host->totals().copied, 0u);
        EXPECT_GE(offload->counters().too_many_chunks - before, beyond);
        EXPECT_LE(offload->counters().too_many_chunks - before, beyond + at_limit);
    }
    // Whatever flow it is of: the port counts it and does not hand the engine a frame cut short.
    testlib::FlowSpec stranger = testlib::ipv4_flow();
    stranger.dst_port = 40999;
    const auto frame = testlib::build_frame(stranger, testlib::TcpFields{}, std::vector<uint8_t>(kMss, 3)).bytes;
    const pmd::PortEngineCounters before = offload->counters();
    rte_mbuf* back = round_trip(port, to_mbuf(frame, 900));
    ASSERT_NE(back, nullptr);
    EXPECT_GT(back->nb_segs, 1 + pmd::QueueEngine::kMaxChunks);
    EXPECT_EQ(back->pkt_len, frame.size());
    rte_pktmbuf_free(back);
    const pmd::PortEngineCounters after = offload->counters();
    EXPECT_EQ(after.too_many_chunks, before.too_many_chunks + 1);
    EXPECT_EQ(after.frames, before.frames);
}
