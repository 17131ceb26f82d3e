// net_nvmeddp across its life: what a reconfigure with fewer rx queues, a close, a bad port= and a
// loopback of someone else's buffer must leave behind. These read ethdev's own per-port state
// (rte_eth_devices, from the driver SDK) where the public API cannot show it: the rx callbacks a port
// keeps after it is closed outlive it, and the next port with its id would run them.
#include <ethdev_driver.h>
#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstring>
#include <string>
#include <vector>

#include "ddp/device_registry.hpp"
#include "dpdk_test_support.hpp"
#include "testlib/frame_gen.hpp"

using namespace nvmeddp;
using namespace nvmeddp::dpdk_test;

namespace {

// Configures `port` with `queues` queue pairs and sets them up; does not start it.
void configure(uint16_t port, uint16_t queues) {
    rte_eth_conf conf{};
    ASSERT_EQ(rte_eth_dev_configure(port, queues, queues, &conf), 0);
    for (uint16_t q = 0; q < queues; ++q) {
        ASSERT_EQ(rte_eth_rx_queue_setup(port, q, 256, 0, nullptr, pool()), 0);
        ASSERT_EQ(rte_eth_tx_queue_setup(port, q, 256, 0, nullptr), 0);
    }
}

bool no_rx_callbacks(uint16_t port, uint16_t queues) {
    for (uint16_t q = 0; q < queues; ++q) {
        if (rte_eth_devices[port].post_rx_burst_cbs[q] != nullptr) return false;
    }
    return true;
}

}  // namespace

// The offload's engines run in rx callbacks on the port's queues. ethdev refuses to remove a callback
// from a queue beyond the configured count and never clears them itself, so an offload made for 4
// queues and let go after a reconfigure to 2 must still take its callbacks off queues 2 and 3: left
// there, they point at freed engines, run by the next rx_burst on those queues (this port's, after
// a reconfigure back to 4, or a later port's with the same id).
TEST(NicLifecycle, TheOffloadLeavesNoRxCallbackAfterFewerQueues) {
    REQUIRE_EAL();
    ASSERT_EQ(rte_vdev_init("net_nvmeddp_life0", "ddp=on"), 0);
    uint16_t port = 0;
    ASSERT_EQ(rte_eth_dev_get_port_by_name("net_nvmeddp_life0", &port), 0);
    configure(port, 4);
    ASSERT_EQ(rte_eth_dev_start(port), 0);
    ASSERT_NE(ddp::find_device("nvmeddp-sw:net_nvmeddp_life0"), nullptr);
    ASSERT_EQ(rte_eth_dev_stop(port), 0);

    // Started again on 2 queues: the offload is replaced by one for 2.
    configure(port, 2);
    ASSERT_EQ(rte_eth_dev_start(port), 0);
    ASSERT_NE(ddp::find_device("nvmeddp-sw:net_nvmeddp_life0"), nullptr);
    ASSERT_EQ(rte_eth_dev_stop(port), 0);
    EXPECT_EQ(rte_eth_devices[port].post_rx_burst_cbs[2], nullptr) << "the replaced offload's callback is left on queue 2";
    EXPECT_EQ(rte_eth_devices[port].post_rx_burst_cbs[3], nullptr) << "the replaced offload's callback is left on queue 3";

    // Reconfigured to 1 and closed without a start: the close lets go of the offload for 2.
    configure(port, 1);
    ASSERT_EQ(rte_eth_dev_close(port), 0);
    EXPECT_TRUE(no_rx_callbacks(port, 4)) << "a closed port kept rx callbacks";
    EXPECT_EQ(ddp::find_device("nvmeddp-sw:net_nvmeddp_life0"), nullptr);
    EXPECT_EQ(rte_vdev_uninit("net_nvmeddp_life0"), 0);
}

// port= naming the vdev itself: its ethdev exists by then (made first, to get the lower id), not yet
// probed, so the name must not resolve to it. Stacked on itself, every configure or info call would
// call itself forever.
TEST(NicLifecycle, StackingOnItselfIsRefused) {
    REQUIRE_EAL();
    const int rc = rte_vdev_init("net_nvmeddp_life1", "port=net_nvmeddp_life1");
    // Not cleaned up when it was accepted: closing a port stacked on itself closes it twice.
    ASSERT_NE(rc, 0) << "a port stacked on itself was accepted";
    uint16_t port = 0;
    EXPECT_NE(rte_eth_dev_get_port_by_name("net_nvmeddp_life1", &port), 0) << "a refused vdev left a port behind";
}

// Loopback mode passes the sender's mbuf to the receiver. An indirect mbuf (rte_pktmbuf_clone, as a
// TCP stack's retransmission copy is made) must stay indirect: without the flag, freeing it would put
// it back in its pool still pointing into the direct mbuf's buffer, whose reference it never drops.
TEST(NicLifecycle, LoopbackKeepsAnIndirectMbufIndirect) {
    REQUIRE_EAL();
    const uint16_t port = nvmeddp_nic("net_nvmeddp_life2", 1);
    ASSERT_NE(port, UINT16_MAX);
    testlib::TcpFields tcp;
    tcp.seq = 1;
    const std::vector<uint8_t> frame = testlib::build_frame(testlib::ipv4_flow(), tcp, std::vector<uint8_t>(200, 0x5A)).bytes;
    rte_mbuf* direct = to_mbuf(frame);
    ASSERT_NE(direct, nullptr);
    rte_mbuf* clone = rte_pktmbuf_clone(direct, pool());
    ASSERT_NE(clone, nullptr);
    ASSERT_EQ(rte_mbuf_refcnt_read(direct), 2);
    ASSERT_EQ(rte_eth_tx_burst(port, 0, &clone, 1), 1);
    rte_mbuf* got = nullptr;
    ASSERT_EQ(rte_eth_rx_burst(port, 0, &got, 1), 1);
    ASSERT_EQ(got, clone);
    EXPECT_TRUE(RTE_MBUF_CLONED(got)) << "the indirect flag was lost on the way";
    EXPECT_EQ(payload_of(got, 0, static_cast<uint32_t>(frame.size())), frame);
    rte_pktmbuf_free(got);
    EXPECT_EQ(rte_mbuf_refcnt_read(direct), 1) << "freeing the received clone did not drop its reference";
    rte_pktmbuf_free(direct);
    ASSERT_EQ(rte_eth_dev_stop(port), 0);
    ASSERT_EQ(rte_eth_dev_close(port), 0);
    EXPECT_EQ(rte_vdev_uninit("net_nvmeddp_life2"), 0);
}
