// One offloaded connection of the demo: its generated traffic, its verifying host, and the pump that
// sends a queue's connections through the port and hands what comes back to their hosts.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "copy_floor.hpp"
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
    std::unique_ptr<CopyFloor> copy_floor;  // what no device could place, from the frames' arrival order
    ddp::ConnectionHandle handle = 0;
    size_t next_frame = 0;
    uint64_t frames_lost_in_port = 0;  // sent undamaged but never received back
    uint64_t frames_steered_away = 0;  // damaged on the wire (fault::kWireCorrupt), never received here
    uint64_t stray_frames = 0;         // received on this connection's queue, sent on none of its connections
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
