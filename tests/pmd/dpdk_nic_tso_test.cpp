// net_nvmeddp's loopback tx offloads as a NIC offers them: the IPv4 header and TCP checksums
// completed, TSO frames cut into MSS-sized frames on the "wire" (tx_segmentation.hpp), and requests
// the queue cannot do dropped and counted. Every frame that arrives is checked with DPDK's own
// checksum code on a linearised copy, not with the code under test.
#define ALLOW_EXPERIMENTAL_API  // rte_ipv4_udptcp_cksum_verify, rte_ipv6_udptcp_cksum_verify
#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "dpdk_nic_offload_support.hpp"
#include "dpdk_test_support.hpp"
#include "testlib/frame_gen.hpp"

using namespace nvmeddp;
using namespace nvmeddp::dpdk_test;

namespace {

constexpr uint64_t kTxAll = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
                            RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO;
constexpr uint8_t kFin = 0x01, kPsh = 0x08, kAck = 0x10, kCwr = 0x80;

// The frame as a TSO (or checksum offload) request: mbuf lengths, flags, the TCP checksum field
// holding DPDK's pseudo-header sum for those flags, the IPv4 header checksum garbage.
void ask(rte_mbuf* m, const testlib::BuiltFrame& f, bool ipv6, uint64_t flags, uint16_t mss = 0) {
    m->l2_len = f.layout.l3_offset;
    m->l3_len = f.layout.l4_offset - f.layout.l3_offset;
    m->l4_len = f.layout.payload_offset - f.layout.l4_offset;
    m->tso_segsz = mss;
    m->ol_flags = flags | (ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
    auto* ip = rte_pktmbuf_mtod_offset(m, uint8_t*, f.layout.l3_offset);
    auto* tcp = rte_pktmbuf_mtod_offset(m, rte_tcp_hdr*, f.layout.l4_offset);
    if (ipv6) {
        tcp->cksum = rte_ipv6_phdr_cksum(reinterpret_cast<rte_ipv6_hdr*>(ip), m->ol_flags);
    } else {
        reinterpret_cast<rte_ipv4_hdr*>(ip)->hdr_checksum = 0xBEEF;
        tcp->cksum = rte_ipv4_phdr_cksum(reinterpret_cast<rte_ipv4_hdr*>(ip), m->ol_flags);
    }
}

struct Sent {
    testlib::BuiltFrame frame;
    std::vector<uint8_t> payload;
};

Sent big_frame(bool ipv6, size_t payload_len, uint8_t flags, uint32_t seq = 0xFFFFF000u) {
    Sent s;
    s.payload = pattern(payload_len, 7);
    testlib::TcpFields t;
    t.seq = seq;  // wraps inside the frame
    t.ack = 0x01020304;
    t.flags = flags;
    t.options = testlib::TcpOptions::Timestamps;
    t.tsval = 0x11223344;
    s.frame = testlib::build_frame(ipv6 ? testlib::ipv6_flow() : testlib::ipv4_flow(), t, s.payload, false);
    return s;
}

// Sends a 60 KiB TSO frame in a chain of odd-sized segments and checks every frame it arrives as.
void check_tso(bool ipv6) {
    const OffloadNic nic(ipv6 ? "net_nvmeddp_tso6" : "net_nvmeddp_tso4", kTxAll, 0);
    const uint16_t port = nic.port();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = rte_mempool_avail_count(pool());
    constexpr uint16_t kMss = 1448;
    const Sent s = big_frame(ipv6, 60 * 1024, kAck | kPsh | kFin | kCwr);
    rte_mbuf* m = chain_of(s.frame.bytes, {101, 1001, 3, 1999, 777, 1});
    ASSERT_NE(m, nullptr);
    ASSERT_GT(m->nb_segs, 40);
    ask(m, s.frame, ipv6, RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | (ipv6 ? 0 : RTE_MBUF_F_TX_IP_CKSUM), kMss);
    ASSERT_EQ(rte_eth_tx_burst(port, 0, &m, 1), 1);

    const size_t expected = (s.payload.size() + kMss - 1) / kMss;
    const std::vector<rte_mbuf*> got = receive(port, 0, expected + 1);
    ASSERT_EQ(got.size(), expected);
    const testlib::FrameLayout& lay = s.frame.layout;
    const size_t hdr = lay.payload_offset;
    const std::vector<uint8_t> orig_hdr(s.frame.bytes.begin(), s.frame.bytes.begin() + static_cast<long>(hdr));
    std::vector<uint8_t> payload;
    for (size_t k = 0; k < got.size(); ++k) {
        const std::vector<uint8_t> f = payload_of(got[k], 0, got[k]->pkt_len);
        SCOPED_TRACE("segment " + std::to_string(k));
        ASSERT_GT(f.size(), hdr);
        const size_t len = f.size() - hdr;
        EXPECT_EQ(len, std::min<size_t>(kMss, s.payload.size() - k * kMss));
        const auto* ip = f.data() + lay.l3_offset;
        const auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(f.data() + lay.l4_offset);
        if (ipv6) {
            const auto* h = reinterpret_cast<const rte_ipv6_hdr*>(ip);
            EXPECT_EQ(rte_be_to_cpu_16(h->payload_len), f.size() - lay.l4_offset);
            EXPECT_EQ(rte_ipv6_udptcp_cksum_verify(h, tcp), 0) << "TCP checksum";
        } else {
            const auto* h = reinterpret_cast<const rte_ipv4_hdr*>(ip);
            EXPECT_EQ(rte_be_to_cpu_16(h->total_length), f.size() - lay.l3_offset);
            EXPECT_EQ(rte_ipv4_cksum(h), 0) << "IPv4 header checksum";
            EXPECT_EQ(rte_be_to_cpu_16(h->packet_id), static_cast<uint16_t>(0xF000 + k)) << "IPv4 id per segment";
            EXPECT_EQ(rte_ipv4_udptcp_cksum_verify(h, tcp), 0) << "TCP checksum";
        }
        EXPECT_EQ(rte_be_to_cpu_32(tcp->sent_seq), static_cast<uint32_t>(0xFFFFF000u + k * kMss));
        EXPECT_EQ(rte_be_to_cpu_32(tcp->recv_ack), 0x01020304u);
        const bool last = k + 1 == got.size();
        EXPECT_EQ(tcp->tcp_flags, kAck | (last ? kPsh | kFin : 0) | (k == 0 ? kCwr : 0));
        // Options (the timestamps) as they were, addresses and ports too.
        EXPECT_TRUE(std::equal(f.begin() + lay.l4_offset + 20, f.begin() + static_cast<long>(hdr),
                               orig_hdr.begin() + lay.l4_offset + 20));
        EXPECT_TRUE(std::equal(f.begin(), f.begin() + lay.l3_offset, orig_hdr.begin()));
        payload.insert(payload.end(), f.begin() + static_cast<long>(hdr), f.end());
        EXPECT_EQ(got[k]->ol_flags & (RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM), 0u) << "tx requests reach rx";
        rte_pktmbuf_free(got[k]);
    }
    EXPECT_EQ(payload, s.payload);
    EXPECT_EQ(xstat(port, "tx_tso_frames"), 1u);
    EXPECT_EQ(xstat(port, "tx_tso_segments"), expected);
    EXPECT_EQ(xstat(port, "tx_offload_errors"), 0u);
    EXPECT_EQ(rte_mempool_avail_count(pool()), before) << "mbufs leaked or freed twice";
}

// A checksum-only request (no TSO): the checksums are completed, from a shared first segment too,
// whose bytes the sender still sees as it left them.
void check_checksum_only(bool ipv6, bool shared) {
    const std::string name = std::string("net_nvmeddp_csum") + (ipv6 ? "6" : "4") + (shared ? "s" : "");
    const OffloadNic nic(name, kTxAll, 0);
    const uint16_t port = nic.port();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = rte_mempool_avail_count(pool());
    const Sent s = big_frame(ipv6, 3001, kAck | kPsh, 1000);
    rte_mbuf* m = chain_of(s.frame.bytes, {87, 999, 1, 1900});
    ASSERT_NE(m, nullptr);
    ask(m, s.frame, ipv6, RTE_MBUF_F_TX_TCP_CKSUM | (ipv6 ? 0 : RTE_MBUF_F_TX_IP_CKSUM));
    rte_mbuf* to_send = shared ? rte_pktmbuf_clone(m, pool()) : m;
    ASSERT_NE(to_send, nullptr);
    const std::vector<uint8_t> asked = payload_of(m, 0, m->pkt_len);
    ASSERT_EQ(rte_eth_tx_burst(port, 0, &to_send, 1), 1);
    const std::vector<rte_mbuf*> got = receive(port, 0, 2);
    ASSERT_EQ(got.size(), 1u);
    const std::vector<uint8_t> f = payload_of(got[0], 0, got[0]->pkt_len);
    ASSERT_EQ(f.size(), s.frame.bytes.size());
    const auto* tcp = f.data() + s.frame.layout.l4_offset;
    const auto* ip = f.data() + s.frame.layout.l3_offset;
    if (ipv6) {
        EXPECT_EQ(rte_ipv6_udptcp_cksum_verify(reinterpret_cast<const rte_ipv6_hdr*>(ip), tcp), 0);
    } else {
        EXPECT_EQ(rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(ip)), 0);
        EXPECT_EQ(rte_ipv4_udptcp_cksum_verify(reinterpret_cast<const rte_ipv4_hdr*>(ip), tcp), 0);
    }
    EXPECT_EQ(f, s.frame.bytes) << "the checksums are the ones build_frame computed, nothing else changed";
    rte_pktmbuf_free(got[0]);
    if (shared) {
        EXPECT_EQ(payload_of(m, 0, m->pkt_len), asked) << "the sender's shared buffer was written";
        rte_pktmbuf_free(m);
    }
    EXPECT_EQ(rte_mempool_avail_count(pool()), before);
}

}  // namespace

TEST(NicTso, IsOfferedInLoopbackModeAndNotWithTsoOff) {
    REQUIRE_EAL();
    const OffloadNic nic_on("net_nvmeddp_tso_capa", kTxAll, 0);
    const uint16_t on = nic_on.port();
    const OffloadNic nic_off("net_nvmeddp_tso_off", kTxAll & ~RTE_ETH_TX_OFFLOAD_TCP_TSO, 0, "tso=off");
    const uint16_t off = nic_off.port();
    ASSERT_NE(on, UINT16_MAX);
    ASSERT_NE(off, UINT16_MAX);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(on, &info), 0);
    EXPECT_EQ(info.tx_offload_capa & kTxAll, kTxAll);
    ASSERT_EQ(rte_eth_dev_info_get(off, &info), 0);
    EXPECT_EQ(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO, 0u);
    EXPECT_NE(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM, 0u);
}

TEST(NicTso, CutsA60KiBIpv4FrameIntoMssFramesWithEveryChecksumRight) {
    REQUIRE_EAL();
    check_tso(false);
}

TEST(NicTso, CutsA60KiBIpv6FrameIntoMssFramesWithEveryChecksumRight) {
    REQUIRE_EAL();
    check_tso(true);
}

TEST(NicTso, ChecksumOnlyRequestsArriveWithTheRightChecksums) {
    REQUIRE_EAL();
    check_checksum_only(false, false);
    check_checksum_only(true, false);
    check_checksum_only(false, true);
    check_checksum_only(true, true);
}

TEST(NicTso, MalformedOrNotEnabledRequestsAreDroppedAndCounted) {
    REQUIRE_EAL();
    const OffloadNic nic("net_nvmeddp_tso_bad", kTxAll, 0);
    const uint16_t port = nic.port();
    const OffloadNic nic_plain("net_nvmeddp_tso_plain", RTE_ETH_TX_OFFLOAD_MULTI_SEGS, 0);
    const uint16_t plain = nic_plain.port();
    ASSERT_NE(port, UINT16_MAX);
    ASSERT_NE(plain, UINT16_MAX);
    const unsigned before = rte_mempool_avail_count(pool());
    const Sent s = big_frame(false, 5000, kAck);
    const uint64_t tso = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IP_CKSUM;
    struct Case {
        const char* what;
        void (*spoil)(rte_mbuf*);
        uint16_t first = 80;  // bytes in the first segment (the headers are 66)
    };
    const Case cases[] = {
        {"tso_segsz 0", [](rte_mbuf* m) { m->tso_segsz = 0; }},
        {"l4_len not the TCP header's", [](rte_mbuf* m) { m->l4_len = 20; }},
        {"l3_len not the IPv4 header's", [](rte_mbuf* m) { m->l3_len = 24; }},
        {"l2_len past the EtherType", [](rte_mbuf* m) { m->l2_len = 18; }},
        {"not TCP", [](rte_mbuf* m) { rte_pktmbuf_mtod_offset(m, uint8_t*, 14 + 9)[0] = 17; }},
        {"IPv6 flag on IPv4", [](rte_mbuf* m) { m->ol_flags ^= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6; }},
        {"UDP checksum asked",
         [](rte_mbuf* m) { m->ol_flags = (m->ol_flags & ~(RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK)) | RTE_MBUF_F_TX_UDP_CKSUM; }},
        {"headers beyond the first segment", [](rte_mbuf*) {}, 60},
    };
    for (const Case& c : cases) {
        rte_mbuf* m = chain_of(s.frame.bytes, {c.first, 1500});
        ASSERT_NE(m, nullptr);
        ask(m, s.frame, false, tso, 1000);
        c.spoil(m);
        EXPECT_EQ(rte_eth_tx_burst(port, 0, &m, 1), 1) << c.what;
        EXPECT_TRUE(receive(port, 0, 1).empty()) << c.what << ": delivered";
    }
    EXPECT_EQ(xstat(port, "tx_offload_errors"), std::size(cases));
    rte_eth_stats st{};
    ASSERT_EQ(rte_eth_stats_get(port, &st), 0);
    EXPECT_EQ(st.oerrors, std::size(cases));
    EXPECT_EQ(xstat(port, "tx_tso_frames"), 0u);

    // Offloads the queue was not configured with: TSO, and the checksums alone.
    for (uint64_t flags : {tso, uint64_t{RTE_MBUF_F_TX_TCP_CKSUM}, uint64_t{RTE_MBUF_F_TX_IP_CKSUM}}) {
        rte_mbuf* m = chain_of(s.frame.bytes, {1900, 1500});
        ASSERT_NE(m, nullptr);
        ask(m, s.frame, false, flags, 1000);
        EXPECT_EQ(rte_eth_tx_burst(plain, 0, &m, 1), 1);
        EXPECT_TRUE(receive(plain, 0, 1).empty()) << "a request not enabled was done";
    }
    EXPECT_EQ(xstat(plain, "tx_offload_errors"), 3u);
    EXPECT_EQ(rte_mempool_avail_count(pool()), before);
}
