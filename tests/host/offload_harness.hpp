// A host queue with the receive offload (DdpReceive) over a scripted device (tests/ddp/fake_driver.hpp),
// in memory: brought up through the IC exchange and Connect, reads submitted, stream bytes delivered
// with the packet metadata a device would stamp (placement claims).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "../ddp/fake_driver.hpp"
#include "host_test_util.hpp"
#include "nvmeddp/ddp_mbuf.h"
#include "nvmetcp/host/ddp_receive.hpp"

namespace nvmeddp::nvmetcp::host::test {

constexpr uint32_t kConnId = 7;  // what the fake device stamps into the metadata of our packets
constexpr uint16_t kDepth = 16;

// Adds the queue's connection to the device when the IC exchange is done, as DdpOffload does.
class AddOnIcDone : public QueueObserver {
public:
    explicit AddOnIcDone(DdpReceive& rx) : rx_(rx) {}
    void on_ic_done(Queue& queue, uint64_t next_stream_offset, const RxPiece& next) override {
        ddp::ConnectionConfig config = ddp_test::ipv4_config(queue.depth());
        config.rcv_seq = next.seq;
        config.data_digest = queue.receive_params().data_digest;
        ASSERT_EQ(rx_.add(config, next_stream_offset), ddp::Status::Ok);
        queue.set_offload(&rx_);
    }

private:
    DdpReceive& rx_;
};

struct OffloadHarness {
    ddp_test::FakeDevice dev;
    std::unique_ptr<DdpReceive> rx;
    AddOnIcDone observer;
    QueueConfig config = io_queue_config(kDepth);
    MemoryTransport transport;
    std::unique_ptr<Queue> queue;
    PduCapture capture;
    ControllerWire wire;
    CompletionLog log;
    uint32_t seq = 0xFFFFF000u;  // the stream crosses the 2^32 wrap
    bool with_offload;

    // offload false: the queue never adds the offload (every byte copied, digests its parser's).
    // no_sq_flow_control: the host gives up SQ flow control in Connect (a C2HData may end a read
    // with SUCCESS).
    explicit OffloadHarness(bool data_digest = false, bool offload = true, bool no_sq_flow_control = false)
        : rx(make_rx(dev)), observer(*rx), with_offload(offload) {
        config.data_digest = data_digest;
        config.disable_sq_flow_control = no_sq_flow_control;
        queue = std::make_unique<Queue>(config, &transport);
        if (offload) queue->set_observer(&observer);
    }

    // A test may leave teardowns (and the removal) pending: the device lets go at once from here on,
    // or ~Device would wait for it.
    ~OffloadHarness() { dev.driver->teardown_mode = ddp_test::TeardownMode::Immediate; }

    static std::unique_ptr<DdpReceive> make_rx(ddp_test::FakeDevice& d) {
        d.driver->device_id = kConnId;
        return std::make_unique<DdpReceive>(*d.device, kDepth);
    }

    // Stream bytes as one piece (one packet, or one mbuf segment of it) with the packet's metadata.
    void deliver(const std::vector<uint8_t>& bytes, const ::nvmeddp_pkt_meta* meta = nullptr,
                 bool continues_packet = false) {
        queue->receive(bytes, RxPiece{seq, meta, continues_packet});
        seq += static_cast<uint32_t>(bytes.size());
    }

    void bring_up() {
        queue->on_transport_connected();
        deliver(ControllerWire{}.icresp(0, config.data_digest ? ic_digest::kData : 0, 8192));
        ASSERT_EQ(rx->active(), with_offload);
        ASSERT_EQ(queue->offload() != nullptr, with_offload);
        capture.set_params(false, config.data_digest, 0, 8192);
        wire.params = SendParams{false, config.data_digest, 0};
        auto pdus = capture.feed(transport.sent);
        ASSERT_EQ(pdus.size(), 2u);  // ICReq, Connect
        deliver(wire.capsule_resp(pdus[1].as<CapsuleCmdPdu>().sqe.cid.get(), {}, kTestCntlid));
        ASSERT_EQ(queue->state(), QueueState::Ready) << (queue->failure() ? queue->failure() : "");
    }

    uint16_t read(std::span<const IoVec> iovs, uint32_t len) {
        IoRequest r;
        r.sqe = nvme::make_read(0, 1, 0, 1, len);
        r.data = iovs;
        r.data_len = len;
        r.done = &CompletionLog::record;
        r.ctx = &log;
        uint16_t cid = 0xFFFF;
        EXPECT_EQ(queue->submit(r, &cid), SubmitResult::Ok);
        return cid;
    }

    // A placement claim for `len` data bytes at stream sequence number data_seq, for cid's current
    // registration, at buffer offset buf_off.
    ::nvmeddp_pkt_meta claim(uint32_t data_seq, uint16_t len, uint16_t cid, uint32_t buf_off) const {
        ::nvmeddp_pkt_meta m{};
        m.conn_id = kConnId;
        m.flags = NVMEDDP_PKT_PLACED | NVMEDDP_PKT_CRC;
        m.place_seq = data_seq;
        m.place_len = len;
        m.place_cccid = cid;
        m.place_tag = dev.device->registration_tag(rx->handle(), cid);
        m.place_buf_off = buf_off;
        return m;
    }
};

}  // namespace nvmeddp::nvmetcp::host::test
