// net_nvmeddp stacked on a port without TSO, LRO or checksum offloads (a ring port whose tx ring is
// its rx ring, so what is sent comes back): the stacking port offers them and does them in software,
// TSO and checksums before the lower port's tx, LRO after its rx and before the rx callbacks.
#define ALLOW_EXPERIMENTAL_API  // rte_ipv4_udptcp_cksum_verify
#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include <string>
#include <vector>

#include "dpdk_nic_offload_support.hpp"
#include "dpdk_test_support.hpp"
#include "pmd/dpdk/offload_port.hpp"
#include "testlib/frame_gen.hpp"

using namespace nvmeddp;
using namespace nvmeddp::dpdk_test;

namespace {

constexpr uint8_t kPsh = 0x08, kAck = 0x10;
constexpr size_t kHeader4 = 14 + 20 + 32;
constexpr uint16_t kSegment = 1448;

// net_nvmeddp `name` stacked on a fresh looped ring port, configured by configure_port (TSO where
// offered; LRO when `lro`), started. UINT16_MAX when a step failed.
uint16_t stacked_on_a_ring(const std::string& name, bool lro, const std::string& extra = "") {
    // Ring and port names are short in DPDK (RTE_RING_NAMESIZE less a prefix): a suffix of the name.
    const std::string tag = "lo" + name.substr(name.size() - 3);
    rte_ring* ring = rte_ring_create(tag.c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ring == nullptr) {
        ADD_FAILURE() << "rte_ring_create: " << rte_strerror(rte_errno);
        return UINT16_MAX;
    }
    const int lower = rte_eth_from_rings(tag.c_str(), &ring, 1, &ring, 1, 0);
    if (lower < 0) {
        ADD_FAILURE() << "rte_eth_from_rings: " << rte_strerror(rte_errno);
        return UINT16_MAX;
    }
    char lower_name[RTE_ETH_NAME_MAX_LEN] = {};
    rte_eth_dev_get_name_by_port(static_cast<uint16_t>(lower), lower_name);
    if (const int rc = rte_vdev_init(name.c_str(), ("port=" + std::string(lower_name) + ",ddp=off" + extra).c_str()); rc != 0) {
        ADD_FAILURE() << "rte_vdev_init " << name << " on " << lower_name << ": " << rc;
        return UINT16_MAX;
    }
    uint16_t port = 0;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port) != 0) {
        ADD_FAILURE() << "no port " << name;
        return UINT16_MAX;
    }
    pmd::PortSetup s;
    s.port_id = port;
    s.pool = pool();
    s.lro = lro;
    const std::string e = pmd::configure_port(s);
    EXPECT_EQ(e, "");
    return e.empty() ? port : UINT16_MAX;
}

// A 60 KiB IPv4 TSO frame of kSegment segments, as our TCP sends it (a chain of 1500-byte mbufs).
rte_mbuf* tso_frame(const std::vector<uint8_t>& payload) {
    testlib::TcpFields t;
    t.seq = 0xFFFFE000u;
    t.flags = kAck | kPsh;
    t.options = testlib::TcpOptions::Timestamps;
    const auto built = testlib::build_frame(testlib::ipv4_flow(), t, payload, false);
    rte_mbuf* m = chain_of(built.bytes, {1500});
    if (m == nullptr) return nullptr;
    m->l2_len = 14;
    m->l3_len = 20;
    m->l4_len = 32;
    m->tso_segsz = kSegment;
    m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG;
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, 14);
    rte_pktmbuf_mtod_offset(m, rte_tcp_hdr*, 34)->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
    return m;
}

// Sends one TSO frame of `payload` and returns what comes back.
std::vector<rte_mbuf*> send_tso_and_receive(uint16_t port, const std::vector<uint8_t>& payload) {
    rte_mbuf* m = tso_frame(payload);
    EXPECT_NE(m, nullptr);
    if (m == nullptr) return {};
    EXPECT_EQ(rte_eth_tx_burst(port, 0, &m, 1), 1);
    return receive(port, 0, 100);
}

void free_all(const std::vector<rte_mbuf*>& v) {
    for (rte_mbuf* m : v) rte_pktmbuf_free(m);
}

void close_stacked(uint16_t port, const std::string& name) {
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    rte_vdev_uninit(name.c_str());
}

}  // namespace

TEST(NicStackedOffloads, AreOfferedOverALowerPortWithoutThem) {
    REQUIRE_EAL();
    const uint16_t port = stacked_on_a_ring("net_nvmeddp_so0", false);
    ASSERT_NE(port, UINT16_MAX);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port, &info), 0);
    EXPECT_NE(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO, 0u);
    EXPECT_NE(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM, 0u);
    EXPECT_NE(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_LRO, 0u);
    EXPECT_NE(pmd::configured_tx_offloads(port) & RTE_ETH_TX_OFFLOAD_TCP_TSO, 0u) << "configure_port enables what is offered";
    close_stacked(port, "net_nvmeddp_so0");

    const uint16_t off = stacked_on_a_ring("net_nvmeddp_so1", false, ",tso=off,lro=off");
    ASSERT_NE(off, UINT16_MAX);
    ASSERT_EQ(rte_eth_dev_info_get(off, &info), 0);
    EXPECT_EQ(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO, 0u);
    EXPECT_EQ(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_LRO, 0u);
    close_stacked(off, "net_nvmeddp_so1");
}

// Without LRO the segments come back as the lower port carried them: each a whole frame with
// right checksums, the payload in order.
TEST(NicStackedOffloads, ATsoFrameLeavesAsSegmentsWithTheirChecksums) {
    REQUIRE_EAL();
    const uint16_t port = stacked_on_a_ring("net_nvmeddp_so2", false);
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = rte_mempool_avail_count(pool());
    const std::vector<uint8_t> payload = pattern(60 * 1024, 5);
    const std::vector<rte_mbuf*> got = send_tso_and_receive(port, payload);
    const size_t expected = (payload.size() + kSegment - 1) / kSegment;
    ASSERT_EQ(got.size(), expected);
    std::vector<uint8_t> joined;
    for (rte_mbuf* g : got) {
        const std::vector<uint8_t> f = payload_of(g, 0, g->pkt_len);
        ASSERT_GT(f.size(), kHeader4);
        const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(f.data() + 14);
        EXPECT_EQ(rte_ipv4_cksum(ip), 0) << "IPv4 header checksum";
        EXPECT_EQ(rte_ipv4_udptcp_cksum_verify(ip, f.data() + 34), 0) << "TCP checksum";
        EXPECT_LE(f.size() - kHeader4, kSegment);
        joined.insert(joined.end(), f.begin() + kHeader4, f.end());
    }
    EXPECT_EQ(joined, payload);
    EXPECT_EQ(xstat(port, "tx_tso_frames"), 1u);
    EXPECT_EQ(xstat(port, "tx_tso_segments"), expected);
    free_all(got);
    EXPECT_EQ(rte_mempool_avail_count(pool()), before);
    close_stacked(port, "net_nvmeddp_so2");
}

// With LRO the segments polled together are merged again after the lower port's rx.
TEST(NicStackedOffloads, LroMergesWhatTheLowerPortReceives) {
    REQUIRE_EAL();
    const uint16_t port = stacked_on_a_ring("net_nvmeddp_so3", true);
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = rte_mempool_avail_count(pool());
    const std::vector<uint8_t> payload = pattern(60 * 1024, 6);
    const std::vector<rte_mbuf*> got = send_tso_and_receive(port, payload);
    ASSERT_GE(got.size(), 1u);
    EXPECT_LT(got.size(), 5u) << "the lower port's bursts of 32 come back as a frame each";
    std::vector<uint8_t> joined;
    for (rte_mbuf* g : got) {
        EXPECT_NE(g->ol_flags & RTE_MBUF_F_RX_LRO, 0u);
        EXPECT_EQ(g->tso_segsz, kSegment);
        const std::vector<uint8_t> f = payload_of(g, 0, g->pkt_len);
        joined.insert(joined.end(), f.begin() + kHeader4, f.end());
    }
    EXPECT_EQ(joined, payload);
    EXPECT_EQ(xstat(port, "rx_lro_frames"), got.size());
    free_all(got);
    EXPECT_EQ(rte_mempool_avail_count(pool()), before);
    close_stacked(port, "net_nvmeddp_so3");
}
