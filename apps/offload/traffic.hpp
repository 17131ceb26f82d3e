// One offloaded connection of the demo: its generated traffic, its verifying host, and the pump that
// sends a queue's connections through the port and hands what comes back to their hosts.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ddp/device.hpp"
#include "options.hpp"
#include "testlib/ddp_host_model.hpp"
#include "testlib/frame_gen.hpp"
#include "testlib/read_stream_gen.hpp"

namespace nvmeddp::offload_app {

struct Connection {
    ddp::Device* device = nullptr;
    uint16_t queue = 0;
    testlib::ReadStream stream;
    testlib::FrameSequence frames;
    std::unique_ptr<testlib::DdpHostModel> host;
    ddp::ConnectionHandle handle = 0;
    size_t next_frame = 0;
    uint64_t frames_lost_in_port = 0;  // sent but never received back
};

// Generates a connection's traffic (index picks its ports and seed) and offloads it on `queue`.
std::unique_ptr<Connection> make_connection(ddp::Device& device, const Options& o, uint16_t queue, uint32_t index,
                                            std::string& error);

// Sends the frames of the connections steered to `queue` through tx queue `queue` of tx_port, in
// bursts that interleave connections, and gives every frame received on rx queue `queue` of `port`
// (the offloaded one; often tx_port itself) to its connection's host. Returns an empty string, or
// what went wrong (pool exhausted).
std::string pump_queue(uint16_t tx_port, uint16_t port, uint16_t queue, rte_mempool* pool, std::vector<Connection*>& connections);


}  // namespace nvmeddp::offload_app
