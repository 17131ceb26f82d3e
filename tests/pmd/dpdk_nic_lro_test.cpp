// net_nvmeddp's loopback LRO as a NIC offers it (rx_coalescing.hpp): in-order frames of one TCP
// flow within a burst arrive as one frame, chained, flagged RTE_MBUF_F_RX_LRO; whatever breaks the
// run (a gap, a bad checksum, a FIN, another flow, other options, a TSval going back, PSH) ends it at
// that frame; without RTE_ETH_RX_OFFLOAD_TCP_LRO frames arrive as they were sent.
#define ALLOW_EXPERIMENTAL_API  // rte_ipv4_udptcp_cksum_verify
#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include <functional>
#include <string>
#include <vector>

#include "dpdk_nic_offload_support.hpp"
#include "dpdk_test_support.hpp"
#include "pmd/net_nvmeddp/rx_coalescing.hpp"
#include "pmd/packet/be_int.hpp"
#include "testlib/frame_gen.hpp"

using namespace nvmeddp;
using namespace nvmeddp::dpdk_test;

namespace {

constexpr uint8_t kFin = 0x01, kPsh = 0x08, kAck = 0x10;
constexpr uint32_t kFirstSeq = 0xFFFFE000u;  // wraps inside a run

struct Segment {
    testlib::FlowSpec flow = testlib::ipv4_flow();
    testlib::TcpFields tcp;
    std::vector<uint8_t> payload;
};

// `n` in-order segments of one flow: payloads of 1000 bytes (every third 1200), timestamps rising,
// ACK rising, ACK flag only.
std::vector<Segment> run_of(size_t n, bool ipv6 = false) {
    std::vector<Segment> v(n);
    uint32_t seq = kFirstSeq;
    for (size_t i = 0; i < n; ++i) {
        v[i].flow = ipv6 ? testlib::ipv6_flow() : testlib::ipv4_flow();
        v[i].payload = pattern(i % 3 == 0 ? 1200 : 1000, static_cast<uint8_t>(i));
        v[i].tcp.seq = seq;
        v[i].tcp.ack = 5000 + static_cast<uint32_t>(i);
        v[i].tcp.flags = kAck;
        v[i].tcp.window = static_cast<uint16_t>(1000 + i);
        v[i].tcp.options = testlib::TcpOptions::Timestamps;
        v[i].tcp.tsval = 100 + static_cast<uint32_t>(i);
        seq += static_cast<uint32_t>(v[i].payload.size());
    }
    return v;
}

std::vector<std::vector<uint8_t>> frames_of(const std::vector<Segment>& segs) {
    std::vector<std::vector<uint8_t>> out;
    for (const Segment& s : segs) out.push_back(testlib::build_frame(s.flow, s.tcp, s.payload).bytes);
    return out;
}

// Sends the frames in one burst (each a chain of odd-sized segments) and returns what arrives.
std::vector<rte_mbuf*> send_and_receive(uint16_t port, const std::vector<std::vector<uint8_t>>& frames) {
    std::vector<rte_mbuf*> tx;
    for (const auto& f : frames) {
        tx.push_back(chain_of(f, {333, 777, 1}));
        EXPECT_NE(tx.back(), nullptr);
    }
    EXPECT_EQ(rte_eth_tx_burst(port, 0, tx.data(), static_cast<uint16_t>(tx.size())), tx.size());
    return receive(port, 0, frames.size() + 1);
}

// The payload bytes each arriving frame carries, as counts of payload bytes.
std::vector<size_t> payload_lengths(const std::vector<rte_mbuf*>& got, size_t header_len) {
    std::vector<size_t> v;
    for (rte_mbuf* m : got) v.push_back(m->pkt_len - header_len);
    return v;
}

void free_all(const std::vector<rte_mbuf*>& v) {
    for (rte_mbuf* m : v) rte_pktmbuf_free(m);
}

constexpr size_t kHeader4 = 14 + 20 + 32;

}  // namespace

TEST(NicLro, TwentyInOrderSegmentsArriveAsOneFrame) {
    REQUIRE_EAL();
    const OffloadNic nic("net_nvmeddp_lro20", 0, RTE_ETH_RX_OFFLOAD_TCP_LRO | RTE_ETH_RX_OFFLOAD_SCATTER);
    const uint16_t port = nic.port();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = rte_mempool_avail_count(pool());
    std::vector<Segment> segs = run_of(20);
    segs.back().tcp.flags |= kPsh;  // may be merged, as the last
    const std::vector<rte_mbuf*> got = send_and_receive(port, frames_of(segs));
    ASSERT_EQ(got.size(), 1u);
    rte_mbuf* m = got[0];
    EXPECT_NE(m->ol_flags & RTE_MBUF_F_RX_LRO, 0u);
    EXPECT_EQ(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
    EXPECT_EQ(m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
    EXPECT_EQ(m->tso_segsz, 1200) << "the largest payload merged";
    std::vector<uint8_t> payload;
    for (const Segment& s : segs) payload.insert(payload.end(), s.payload.begin(), s.payload.end());
    ASSERT_EQ(m->pkt_len, kHeader4 + payload.size());
    const std::vector<uint8_t> f = payload_of(m, 0, m->pkt_len);
    EXPECT_EQ(std::vector<uint8_t>(f.begin() + kHeader4, f.end()), payload);
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(f.data() + 14);
    const auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(f.data() + 34);
    EXPECT_EQ(rte_be_to_cpu_16(ip->total_length), f.size() - 14);
    EXPECT_EQ(rte_ipv4_cksum(ip), 0) << "IPv4 header checksum recomputed";
    EXPECT_EQ(rte_be_to_cpu_32(tcp->sent_seq), kFirstSeq);
    EXPECT_EQ(rte_be_to_cpu_32(tcp->recv_ack), segs.back().tcp.ack);
    EXPECT_EQ(rte_be_to_cpu_16(tcp->rx_win), segs.back().tcp.window);
    EXPECT_EQ(tcp->tcp_flags, kAck | kPsh);
    const uint8_t* ts = f.data() + 34 + 20 + 2;  // NOP NOP, then kind 8 length 10
    EXPECT_EQ(ts[0], 8);
    EXPECT_EQ(pmd::load_be32(ts + 2), segs.back().tcp.tsval);
    EXPECT_EQ(pmd::load_be32(ts + 6), segs.back().tcp.tsval ^ 0xA5A5u);
    EXPECT_EQ(xstat(port, "rx_lro_frames"), 1u);
    EXPECT_EQ(xstat(port, "rx_lro_segments_merged"), 20u);
    free_all(got);
    EXPECT_EQ(rte_mempool_avail_count(pool()), before) << "mbufs leaked or freed twice";
}

TEST(NicLro, Ipv6SegmentsMergeToo) {
    REQUIRE_EAL();
    const OffloadNic nic("net_nvmeddp_lro6", 0, RTE_ETH_RX_OFFLOAD_TCP_LRO | RTE_ETH_RX_OFFLOAD_TCP_CKSUM);
    const uint16_t port = nic.port();
    ASSERT_NE(port, UINT16_MAX);
    const std::vector<Segment> segs = run_of(5, true);
    const std::vector<rte_mbuf*> got = send_and_receive(port, frames_of(segs));
    ASSERT_EQ(got.size(), 1u);
    const std::vector<uint8_t> f = payload_of(got[0], 0, got[0]->pkt_len);
    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(f.data() + 14);
    EXPECT_EQ(rte_be_to_cpu_16(ip->payload_len), f.size() - 14 - 40);
    EXPECT_EQ(f.size(), 14 + 40 + 32 + 2 * 1200 + 3 * 1000u);
    EXPECT_EQ(got[0]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
    free_all(got);
}

// Six in-order segments with one thing changed in the fourth: where the merging stops.
TEST(NicLro, WhatBreaksTheRunEndsItThere) {
    REQUIRE_EAL();
    const OffloadNic nic("net_nvmeddp_lro_stop", 0, RTE_ETH_RX_OFFLOAD_TCP_LRO);
    const uint16_t port = nic.port();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = rte_mempool_avail_count(pool());
    struct Case {
        const char* what;
        std::function<void(std::vector<Segment>&, std::vector<std::vector<uint8_t>>&)> change;
        std::vector<size_t> payloads;  // of the frames that arrive
    };
    const auto at3 = [](auto f) {
        return [f](std::vector<Segment>& s, std::vector<std::vector<uint8_t>>& frames) {
            f(s[3]);
            frames = frames_of(s);
        };
    };
    const Case cases[] = {
        {"nothing", [](auto&, auto&) {}, {6400}},
        {"a gap", at3([](Segment& s) { s.tcp.seq += 1; }), {3200, 1200, 2000}},
        {"a FIN", at3([](Segment& s) { s.tcp.flags |= kFin; }), {3200, 1200, 2000}},
        {"another flow", at3([](Segment& s) { s.flow.src_port = 4421; }), {3200, 1200, 2000}},
        {"other options", at3([](Segment& s) { s.tcp.options = testlib::TcpOptions::TimestampsAndSack; }), {3200, 1200, 2000}},
        {"TSval back", at3([](Segment& s) { s.tcp.tsval = 1; }), {3200, 3200}},
        {"PSH", [](auto& s, auto& frames) { s[2].tcp.flags |= kPsh; frames = frames_of(s); }, {3200, 3200}},
        {"a VLAN", at3([](Segment& s) { s.flow.c_vlan = 7; }), {3200, 1200, 2000}},
        {"no payload", at3([](Segment& s) { s.payload.clear(); }), {3200, 0, 2000}},
        {"a bad checksum",
         [](auto& s, auto& frames) {
             frames = frames_of(s);
             frames[3][kHeader4 + 10] ^= 1;
         },
         {3200, 1200, 2000}},
    };
    for (const Case& c : cases) {
        std::vector<Segment> segs = run_of(6);
        std::vector<std::vector<uint8_t>> frames = frames_of(segs);
        c.change(segs, frames);
        const std::vector<rte_mbuf*> got = send_and_receive(port, frames);
        std::vector<size_t> payloads;
        for (rte_mbuf* m : got) {
            const std::vector<uint8_t> f = payload_of(m, 0, m->pkt_len);
            const size_t l4 = (f[12] == 0x81 ? 18 : 14) + 20;  // IPv4 without options
            payloads.push_back(m->pkt_len - l4 - (f[l4 + 12] >> 4) * 4u);
        }
        EXPECT_EQ(payloads, c.payloads) << c.what;
        free_all(got);
    }
    EXPECT_EQ(rte_mempool_avail_count(pool()), before);
}

TEST(NicLro, ABadChecksumIsDeliveredAsItCameFlaggedBadWithChecksumOffload) {
    REQUIRE_EAL();
    const OffloadNic nic("net_nvmeddp_lro_bad", 0,
                                      RTE_ETH_RX_OFFLOAD_TCP_LRO | RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM);
    const uint16_t port = nic.port();
    ASSERT_NE(port, UINT16_MAX);
    auto frames = frames_of(run_of(3));
    frames[1][kHeader4 + 10] ^= 1;
    const std::vector<rte_mbuf*> got = send_and_receive(port, frames);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(payload_of(got[1], 0, got[1]->pkt_len), frames[1]);
    EXPECT_EQ(got[1]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_BAD);
    EXPECT_EQ(got[0]->ol_flags & RTE_MBUF_F_RX_LRO, 0u) << "a frame alone is not an LRO frame";
    free_all(got);
}

TEST(NicLro, MaxLroPktSizeBoundsTheFrame) {
    REQUIRE_EAL();
    const OffloadNic nic("net_nvmeddp_lro_max", 0, RTE_ETH_RX_OFFLOAD_TCP_LRO, "", 5000);
    const uint16_t port = nic.port();
    ASSERT_NE(port, UINT16_MAX);
    const std::vector<rte_mbuf*> got = send_and_receive(port, frames_of(run_of(6)));
    ASSERT_EQ(payload_lengths(got, kHeader4), (std::vector<size_t>{4400, 2000}));  // 4466 + 1000 > 5000
    for (rte_mbuf* m : got) EXPECT_LE(m->pkt_len, 5000u);
    free_all(got);
}

TEST(NicLro, WithoutLroEnabledFramesArriveAsSent) {
    REQUIRE_EAL();
    const OffloadNic nic("net_nvmeddp_lro_off", 0, 0);
    const uint16_t port = nic.port();
    ASSERT_NE(port, UINT16_MAX);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port, &info), 0);
    EXPECT_NE(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_LRO, 0u) << "offered, not enabled";
    const auto frames = frames_of(run_of(20));
    const std::vector<rte_mbuf*> got = send_and_receive(port, frames);
    ASSERT_EQ(got.size(), frames.size());
    for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(payload_of(got[i], 0, got[i]->pkt_len), frames[i]);
        EXPECT_EQ(got[i]->ol_flags & RTE_MBUF_F_RX_LRO, 0u);
    }
    free_all(got);
    // lro=off: not offered at all, so ethdev refuses to enable it.
    uint16_t off = 0;
    ASSERT_EQ(rte_vdev_init("net_nvmeddp_lro_noffer", "lro=off"), 0);
    ASSERT_EQ(rte_eth_dev_get_port_by_name("net_nvmeddp_lro_noffer", &off), 0);
    ASSERT_EQ(rte_eth_dev_info_get(off, &info), 0);
    EXPECT_EQ(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_LRO, 0u);
    rte_eth_conf conf{};
    conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_TCP_LRO;
    EXPECT_NE(rte_eth_dev_configure(off, 1, 1, &conf), 0);
    EXPECT_EQ(rte_vdev_uninit("net_nvmeddp_lro_noffer"), 0);
}

// TSO on one end, LRO on the other: a 60 KiB frame is cut and put back together (in two).
TEST(NicLro, ATsoFrameComesBackWhole) {
    REQUIRE_EAL();
    const OffloadNic nic("net_nvmeddp_tso_lro",
                                      RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
                                          RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO,
                                      RTE_ETH_RX_OFFLOAD_TCP_LRO);
    const uint16_t port = nic.port();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = rte_mempool_avail_count(pool());
    testlib::TcpFields t;
    t.seq = kFirstSeq;
    t.flags = kAck | kPsh;
    t.options = testlib::TcpOptions::Timestamps;
    const std::vector<uint8_t> payload = pattern(60 * 1024, 3);
    const auto built = testlib::build_frame(testlib::ipv4_flow(), t, payload, false);
    rte_mbuf* m = chain_of(built.bytes, {1500});
    ASSERT_NE(m, nullptr);
    m->l2_len = 14;
    m->l3_len = 20;
    m->l4_len = 32;
    m->tso_segsz = 1448;
    m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG;
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, 14);
    rte_pktmbuf_mtod_offset(m, rte_tcp_hdr*, 34)->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
    ASSERT_EQ(rte_eth_tx_burst(port, 0, &m, 1), 1);
    const std::vector<rte_mbuf*> got = receive(port, 0, 64);
    // Each segment is a header mbuf and one or two payload pieces: a merged frame stops at
    // kMaxLroSegments mbufs (what the offload's engine follows), so 43 segments make two frames.
    ASSERT_EQ(got.size(), 2u);
    std::vector<uint8_t> joined;
    for (rte_mbuf* g : got) {
        EXPECT_NE(g->ol_flags & RTE_MBUF_F_RX_LRO, 0u);
        EXPECT_EQ(g->tso_segsz, 1448);
        EXPECT_LE(g->nb_segs, pmd::nic::kMaxLroSegments);
        const std::vector<uint8_t> f = payload_of(g, 0, g->pkt_len);
        EXPECT_EQ(rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(f.data() + 14)), 0);
        joined.insert(joined.end(), f.begin() + kHeader4, f.end());
    }
    EXPECT_EQ(joined, payload);
    free_all(got);
    EXPECT_EQ(rte_mempool_avail_count(pool()), before);
}
