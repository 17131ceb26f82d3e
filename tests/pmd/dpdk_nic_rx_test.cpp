// net_nvmeddp's receive side as a NIC offers it to applications: rx metadata negotiation (it
// delivers USER_MARK, or not, as its rx_mark devarg says) and rx checksum offload (IPv4 header and
// TCP checksums verified per frame, single- and multi-segment, reported in ol_flags).
#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <string>
#include <vector>

#include "dpdk_test_support.hpp"
#include "pmd/dpdk/offload_port.hpp"
#include "testlib/frame_gen.hpp"

using namespace nvmeddp;
using namespace nvmeddp::dpdk_test;

namespace {

uint16_t unconfigured_nic(const std::string& name, const std::string& args) {
    if (rte_vdev_init(name.c_str(), args.c_str()) != 0) return UINT16_MAX;
    uint16_t port = 0;
    return rte_eth_dev_get_port_by_name(name.c_str(), &port) == 0 ? port : UINT16_MAX;
}

std::vector<uint8_t> tcp_frame(const testlib::FlowSpec& flow, size_t payload_len) {
    std::vector<uint8_t> payload(payload_len);
    for (size_t i = 0; i < payload_len; ++i) payload[i] = static_cast<uint8_t>(i * 13 + 5);
    testlib::TcpFields tcp;
    tcp.seq = 0x12345678;
    return testlib::build_frame(flow, tcp, payload).bytes;
}

constexpr uint64_t kCksumFlags = RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK;

// Sends one frame (as segments of at most `seg` bytes) through tx queue 0 and returns the checksum
// flags it arrives with on rx queue 0.
uint64_t cksum_flags_of(uint16_t port, const std::vector<uint8_t>& frame, size_t seg = 2048) {
    rte_mbuf* m = to_mbuf(frame, seg);
    EXPECT_NE(m, nullptr);
    if (m == nullptr) return ~uint64_t{0};
    m->ol_flags = kCksumFlags;  // whatever the sender had: the NIC must set its own verdict
    EXPECT_EQ(rte_eth_tx_burst(port, 0, &m, 1), 1);
    rte_mbuf* back = nullptr;
    EXPECT_EQ(rte_eth_rx_burst(port, 0, &back, 1), 1);
    if (back == nullptr) return ~uint64_t{0};
    const uint64_t flags = back->ol_flags & kCksumFlags;
    rte_pktmbuf_free(back);
    return flags;
}

}  // namespace

TEST(NicRx, NegotiatesUserMarkAndNothingElse) {
    REQUIRE_EAL();
    const uint16_t on = unconfigured_nic("net_nvmeddp_neg_on", "");
    const uint16_t off = unconfigured_nic("net_nvmeddp_neg_off", "rx_mark=off");
    const uint16_t silent = unconfigured_nic("net_nvmeddp_neg_silent", "rx_mark=silent");
    ASSERT_NE(on, UINT16_MAX);
    ASSERT_NE(off, UINT16_MAX);
    ASSERT_NE(silent, UINT16_MAX);
    const uint64_t all = RTE_ETH_RX_METADATA_USER_FLAG | RTE_ETH_RX_METADATA_USER_MARK | RTE_ETH_RX_METADATA_TUNNEL_ID;
    uint64_t f = all;
    EXPECT_EQ(rte_eth_rx_metadata_negotiate(on, &f), 0);
    EXPECT_EQ(f, RTE_ETH_RX_METADATA_USER_MARK);
    f = all;
    EXPECT_EQ(rte_eth_rx_metadata_negotiate(off, &f), 0);
    EXPECT_EQ(f, 0u);
    f = all;
    EXPECT_EQ(rte_eth_rx_metadata_negotiate(silent, &f), -ENOTSUP);
    // A devarg it does not know fails the probe.
    EXPECT_NE(rte_vdev_init("net_nvmeddp_neg_bad", "rx_mark=maybe"), 0);
    EXPECT_NE(rte_vdev_init("net_nvmeddp_neg_bad2", "colour=blue"), 0);
}

TEST(NicRx, ConfigurePortNegotiatesMarkDeliveryAndTheOffloadFollowsIt) {
    REQUIRE_EAL();
    struct Case {
        uint16_t port;
        pmd::MarkDelivery delivery;
        bool uses_mark;
    };
    const Case cases[] = {
        {nvmeddp_nic("net_nvmeddp_cfg_on", 1), pmd::MarkDelivery::Negotiated, true},
        {nvmeddp_nic("net_nvmeddp_cfg_off", 1, 1024, "rx_mark=off"), pmd::MarkDelivery::Refused, false},
        {nvmeddp_nic("net_nvmeddp_cfg_silent", 1, 1024, "rx_mark=silent"), pmd::MarkDelivery::Unsupported, true},
        {loopback_ring_port("net_ring_cfg", 1), pmd::MarkDelivery::Unsupported, true},
    };
    for (const Case& c : cases) {
        ASSERT_NE(c.port, UINT16_MAX);
        EXPECT_EQ(pmd::rx_mark_delivery(c.port), c.delivery) << "port " << c.port;
        auto offload = attach(c.port);
        ASSERT_NE(offload, nullptr);
        EXPECT_EQ(offload->uses_mark(), c.uses_mark) << "port " << c.port;
    }
    // Configured again (stopped first): ethdev no longer negotiates; what was learnt stays.
    ASSERT_EQ(rte_eth_dev_stop(cases[1].port), 0);
    pmd::PortSetup s;
    s.port_id = cases[1].port;
    s.pool = pool();
    EXPECT_EQ(pmd::configure_port(s), "");
    EXPECT_EQ(pmd::rx_mark_delivery(cases[1].port), pmd::MarkDelivery::Refused);
}

TEST(NicRx, ChecksumOffloadReportsGoodAndBadPerFrame) {
    REQUIRE_EAL();
    const uint16_t port = nvmeddp_nic("net_nvmeddp_cksum", 1);
    ASSERT_NE(port, UINT16_MAX);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port, &info), 0);
    EXPECT_NE(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM, 0u);
    EXPECT_NE(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_CKSUM, 0u);
    const uint64_t good4 = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;

    const auto v4 = tcp_frame(testlib::ipv4_flow(), 1001);
    const auto v6 = tcp_frame(testlib::ipv6_flow(), 999);
    EXPECT_EQ(cksum_flags_of(port, v4), good4);
    EXPECT_EQ(cksum_flags_of(port, v6), RTE_MBUF_F_RX_L4_CKSUM_GOOD);  // no IP header checksum in IPv6
    EXPECT_EQ(cksum_flags_of(port, tcp_frame(testlib::ipv4_flow(), 0)), good4);  // pure ACK, padded

    // Chains: headers in the first segment, the payload cut at odd and even places.
    for (size_t seg : {55u, 61u, 64u, 101u, 500u}) {
        EXPECT_EQ(cksum_flags_of(port, v4, seg), good4) << "segments of " << seg;
        EXPECT_EQ(cksum_flags_of(port, v6, seg + 40), RTE_MBUF_F_RX_L4_CKSUM_GOOD) << "segments of " << seg + 40;
    }

    // A payload byte changed on the way (in the first segment, or in a later one).
    auto bad_payload = v4;
    bad_payload[bad_payload.size() - 3] ^= 0x01;
    EXPECT_EQ(cksum_flags_of(port, bad_payload), RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_BAD);
    EXPECT_EQ(cksum_flags_of(port, bad_payload, 61), RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_BAD);
    auto bad6 = v6;
    bad6[bad6.size() - 1] ^= 0x80;
    EXPECT_EQ(cksum_flags_of(port, bad6, 100), RTE_MBUF_F_RX_L4_CKSUM_BAD);
    // The IPv4 TTL changed (not in the TCP pseudo-header): only the IP checksum is bad.
    auto bad_ttl = v4;
    bad_ttl[14 + 8] ^= 0x01;
    EXPECT_EQ(cksum_flags_of(port, bad_ttl), RTE_MBUF_F_RX_IP_CKSUM_BAD | RTE_MBUF_F_RX_L4_CKSUM_GOOD);

    // Not a TCP segment the NIC parses: no verdict.
    auto udp = v4;
    udp[14 + 9] = 17;
    EXPECT_EQ(cksum_flags_of(port, udp), 0u);
    std::vector<uint8_t> arp(60, 0);
    arp[12] = 0x08;
    arp[13] = 0x06;
    EXPECT_EQ(cksum_flags_of(port, arp), 0u);
}

TEST(NicRx, NoChecksumVerdictsWhenTheApplicationLeavesTheOffloadOff) {
    REQUIRE_EAL();
    const uint16_t port = unconfigured_nic("net_nvmeddp_nocksum", "");
    ASSERT_NE(port, UINT16_MAX);
    rte_eth_conf conf{};
    ASSERT_EQ(rte_eth_dev_configure(port, 1, 1, &conf), 0);
    ASSERT_EQ(rte_eth_rx_queue_setup(port, 0, 256, 0, nullptr, pool()), 0);
    ASSERT_EQ(rte_eth_tx_queue_setup(port, 0, 256, 0, nullptr), 0);
    ASSERT_EQ(rte_eth_dev_start(port), 0);
    auto bad = tcp_frame(testlib::ipv4_flow(), 100);
    bad[bad.size() - 1] ^= 0xFF;
    EXPECT_EQ(cksum_flags_of(port, tcp_frame(testlib::ipv4_flow(), 100)), 0u);
    EXPECT_EQ(cksum_flags_of(port, bad), 0u);
}
