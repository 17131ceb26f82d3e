// Shared by the DPDK test files (one binary, pmd_dpdk_tests): the EAL brought up once for the
// binary without hugepages, an mbuf pool, ports (a net_ring port looped back onto itself, our
// net_nvmeddp vdev), generated NVMe/TCP read flows with a verifying host, and pumping their frames
// through a port. If the EAL cannot start, every test fails (REQUIRE_EAL) and says why.
#pragma once

#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "ddp/device.hpp"
#include "pmd/dpdk/offload_port.hpp"
#include "testlib/ddp_host_model.hpp"
#include "testlib/frame_gen.hpp"
#include "testlib/read_stream_gen.hpp"

namespace nvmeddp::dpdk_test {

// Empty once the EAL and the pool are up, else why not.
const std::string& eal_error();
// 8191 mbufs of 2 KiB data room: a jumbo frame arrives as a chain of segments.
rte_mempool* pool();

#define REQUIRE_EAL()                                   \
    ASSERT_TRUE(::nvmeddp::dpdk_test::eal_error().empty()) \
        << "cannot run without the EAL: " << ::nvmeddp::dpdk_test::eal_error()

// A ring port whose rx queue q reads the ring that tx queue q writes; configured and started with
// pmd::configure_port. UINT16_MAX when it could not be made.
uint16_t loopback_ring_port(const std::string& name, uint16_t queues);

// Our vdev NIC (net_nvmeddp), with devargs `args`, configured and started with pmd::configure_port.
uint16_t nvmeddp_nic(const std::string& name, uint16_t queues, uint16_t rx_descriptors = 1024,
                     const std::string& args = "");

// Copies a frame into an mbuf chain of segments of at most `seg` bytes; null when the pool is empty.
rte_mbuf* to_mbuf(const std::vector<uint8_t>& frame, size_t seg = 2048);
// The same with segments of the sizes in `sizes`, cycled until the frame is in.
rte_mbuf* chain_of(const std::vector<uint8_t>& frame, std::initializer_list<uint16_t> sizes);
std::vector<uint8_t> payload_of(rte_mbuf* m, uint32_t offset, uint32_t len);

struct Flow {
    testlib::ReadStream stream;
    testlib::FrameSequence frames;
    std::unique_ptr<testlib::DdpHostModel> host;
    ddp::ConnectionHandle handle = 0;
};

// 20 reads of 2000..50000 bytes with data digests, offloaded on `dev` for rx queue `queue`, their
// buffers registered with the host model.
Flow make_flow(ddp::Device& dev, const testlib::FlowSpec& spec, uint32_t mss, uint64_t seed, uint16_t queue,
               const testlib::FaultPlan& faults = {});

// Sends a flow's frames through tx queue q (each as a chain of segments of at most `seg` bytes) and
// hands what rx queue rx_q (default q) returns to the host model.
void pump(uint16_t port, uint16_t q, Flow& f, size_t burst = 16, int rx_q = -1, size_t seg = 2048);

// The offload attached to a port, its log lines kept (or dropped when log is null).
std::unique_ptr<pmd::OffloadPort> attach(uint16_t port, uint16_t rx_queues = 1, std::vector<std::string>* log = nullptr);

// Every read's buffer holds exactly its data, guard bytes intact.
bool all_correct(const Flow& f);

}  // namespace nvmeddp::dpdk_test
