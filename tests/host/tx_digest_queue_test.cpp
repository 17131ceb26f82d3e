// The host queue with the transmit digest offload: the data digests of what it sends go out zero
// for the device to write (the real TxDigestStream plays the device here, over the bytes the queue
// handed to its transport), at most N such PDUs are unacknowledged at once (the device remembers N),
// and a device that lost the send stream fails the queue before its next PDU.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "../ddp/fake_driver.hpp"
#include "host_test_util.hpp"
#include "nvmetcp/host/ddp_receive.hpp"
#include "nvmetcp/wire_int.hpp"
#include "pmd/engine/tx_digest_stream.hpp"

namespace nvmeddp::nvmetcp::host::test {
namespace {

using ddp_test::FakeDevice;

constexpr uint16_t kDepth = 8;
constexpr uint32_t kInFlight = 2;  // the device's memory of sent digests, as small as can be

// A transport whose peer acknowledges what the test says.
class AckedTransport : public MemoryTransport {
public:
    uint64_t acked = 0;
    uint64_t unacknowledged() const override { return sent.size() - acked; }
};

// Adds the connection with the transmit digests left to the device, as DdpOffload does.
class AddWithTxDigests : public QueueObserver {
public:
    explicit AddWithTxDigests(DdpReceive& rx) : rx_(rx) {}
    void on_ic_done(Queue& queue, uint64_t next_stream_offset, const RxPiece& next) override {
        ddp::ConnectionConfig config = ddp_test::ipv4_config(queue.depth());
        config.rcv_seq = next.seq;
        config.data_digest = true;
        config.tx_data_digest = true;
        ASSERT_EQ(rx_.add(config, next_stream_offset), ddp::Status::Ok);
        queue.set_offload(&rx_);
        queue.leave_data_digests_to_device(kInFlight);
    }

private:
    DdpReceive& rx_;
};

// The device's pass over what the queue sent after its ICReq: TxDigestStream from the first byte
// after it, then the controller's parser, which checks every data digest.
std::vector<CapturedPdu> as_the_controller_gets_it(const std::vector<uint8_t>& sent, size_t& zero_digests) {
    constexpr size_t kIcReqLen = sizeof(ICReqPdu);
    std::vector<uint8_t> wire = sent;
    PduCapture capture;
    auto ic = capture.feed(std::vector<uint8_t>(wire.begin(), wire.begin() + kIcReqLen));
    EXPECT_EQ(ic.size(), 1u);
    capture.set_params(false, true, 0);
    nvmetcp::ReceiveParams params{nvmetcp::Role::Controller, false, true, 0, {}};
    pmd::TxDigestStream device(pmd::TcpSeq(0), params, kInFlight);
    zero_digests = 0;
    pmd::TxPayloadChunk chunk{wire.data() + kIcReqLen, static_cast<uint32_t>(wire.size() - kIcReqLen)};
    device.on_segment(pmd::TcpSeq(0), {&chunk, 1});
    EXPECT_FALSE(device.lost()) << device.lost_reason();
    zero_digests = device.counters().digests_written;
    auto pdus = capture.feed(wire);
    for (const CapturedPdu& p : pdus) EXPECT_EQ(p.digest, DigestStatus::Verified) << int(p.type) << " flags " << int(p.flags) << " plen " << p.plen << " data " << p.data.size();
    return pdus;
}

struct TxDigestHarness {
    FakeDevice dev;
    std::unique_ptr<DdpReceive> rx = std::make_unique<DdpReceive>(*dev.device, kDepth);
    AddWithTxDigests observer{*rx};
    QueueConfig config = io_queue_config(kDepth);
    AckedTransport transport;
    std::unique_ptr<Queue> queue;
    ControllerWire wire;
    CompletionLog log;
    std::vector<std::vector<uint8_t>> buffers;
    std::vector<IoVec> iovs;  // reserved: the queue keeps pointers to them until the data went out
    uint32_t rx_seq = 1000;
    uint64_t device_wrote = 0;  // what the fake device's counters say the engine wrote

    TxDigestHarness() {
        config.data_digest = true;
        config.in_capsule_data = 4096;
        queue = std::make_unique<Queue>(config, &transport);
        queue->set_observer(&observer);
        wire.params = SendParams{false, true, 0};
        buffers.reserve(16);
        iovs.reserve(16);
    }
    ~TxDigestHarness() { queue.reset(); }

    // The device's pass over everything sent so far, as the controller then gets it; the digests it
    // wrote go into the connection's counters, as the engine's tx path carries them.
    std::vector<CapturedPdu> device_pass() {
        size_t written = 0;
        auto pdus = as_the_controller_gets_it(transport.sent, written);
        EXPECT_NE(dev.driver->last_connection, nullptr);
        if (dev.driver->last_connection != nullptr && written > device_wrote) {
            dev.driver->last_connection->counters.tx_ddgst_written.add(written - device_wrote);
            device_wrote = written;
        }
        return pdus;
    }

    // ICReq out, ICResp (data digests) in, the Connect out and answered, everything acknowledged.
    void bring_up() {
        queue->on_transport_connected();
        deliver(wire.icresp(0, ic_digest::kData, 8192));
        ASSERT_TRUE(queue->data_digests_left_to_device());
        // The Connect capsule carries 1024 bytes of connect data: its digest is the device's too.
        EXPECT_EQ(nvmetcp::load_le32(&transport.sent[transport.sent.size() - 4]), 0u);
        const auto pdus = device_pass();
        ASSERT_EQ(pdus.size(), 1u);
        EXPECT_EQ(device_wrote, 1u);
        transport.acked = transport.sent.size();
        deliver(wire.capsule_resp(pdus[0].as<CapsuleCmdPdu>().sqe.cid.get(), {}, kTestCntlid));
        ASSERT_EQ(queue->state(), QueueState::Ready) << (queue->failure() ? queue->failure() : "");
    }

    void deliver(const std::vector<uint8_t>& bytes) {
        queue->receive(bytes, RxPiece{rx_seq, nullptr, false});
        rx_seq += static_cast<uint32_t>(bytes.size());
    }

    uint16_t write(uint32_t len, uint8_t fill) {
        buffers.emplace_back(len, fill);
        iovs.push_back(IoVec{buffers.back().data(), len});
        IoRequest r;
        r.sqe = nvme::make_write(0, 1, 0, 1, len, true);
        r.data = {&iovs.back(), 1};
        r.data_len = len;
        r.to_controller = true;
        r.done = &CompletionLog::record;
        r.ctx = &log;
        uint16_t cid = 0xFFFF;
        EXPECT_EQ(queue->submit(r, &cid), SubmitResult::Ok);
        return cid;
    }
};

}  // namespace

TEST(TxDigestQueue, DigestsGoOutZeroAndAtMostNUnacknowledged) {
    TxDigestHarness h;
    ASSERT_NO_FATAL_FAILURE(h.bring_up());

    for (uint8_t i = 0; i < 4; ++i) h.write(512, static_cast<uint8_t>(0xA0 + i));
    // Nothing acknowledged: two capsules went, two wait.
    auto pdus = h.device_pass();
    ASSERT_EQ(pdus.size(), 1u + 2u);  // Connect, two writes
    EXPECT_EQ(h.queue->stats().device_digest_waits, 1u);
    h.queue->poll(0);  // still waiting: not another wait
    EXPECT_EQ(h.queue->stats().device_digest_waits, 1u);
    EXPECT_EQ(nvmetcp::load_le32(&h.transport.sent[h.transport.sent.size() - 4]), 0u);
    // Acknowledged: the rest go.
    h.transport.acked = h.transport.sent.size();
    h.queue->on_transport_writable();
    pdus = h.device_pass();
    ASSERT_EQ(pdus.size(), 1u + 4u);
    EXPECT_EQ(h.device_wrote, 5u);  // every digest was the device's to write
    for (size_t i = 1; i < pdus.size(); ++i) {
        EXPECT_EQ(pdus[i].type, PduType::CapsuleCmd);
        EXPECT_EQ(pdus[i].data, std::vector<uint8_t>(512, static_cast<uint8_t>(0xA0 + i - 1)));
    }
    EXPECT_EQ(h.queue->stats().digests_left_to_device, 5u);
}

TEST(TxDigestQueue, ADeviceThatLostTheSendStreamFailsTheQueue) {
    TxDigestHarness h;
    ASSERT_NO_FATAL_FAILURE(h.bring_up());
    ASSERT_NE(h.dev.driver->last_connection, nullptr);
    h.dev.driver->last_connection->counters.tx_stream_lost.add();  // as the engine says it
    const size_t before = h.transport.sent.size();
    h.write(512, 0x11);
    EXPECT_EQ(h.queue->state(), QueueState::Failed);
    ASSERT_NE(h.queue->failure(), nullptr);
    EXPECT_NE(std::string(h.queue->failure()).find("lost the send stream"), std::string::npos) << h.queue->failure();
    EXPECT_EQ(h.transport.sent.size(), before);  // the write's capsule never went out
}

// Frames that left by a path the device does not see (another tx queue, a tag the port inserts): the
// controller acknowledges PDUs whose digests nobody wrote. The queue fails before its next one,
// rather than have the controller fail every write and the host reconnect for ever.
TEST(TxDigestQueue, PdusAcknowledgedBeyondWhatTheDeviceWroteFailTheQueue) {
    TxDigestHarness h;
    ASSERT_NO_FATAL_FAILURE(h.bring_up());
    h.write(512, 0x22);  // out, and not seen by the device
    h.transport.acked = h.transport.sent.size();
    h.queue->on_transport_writable();
    h.write(512, 0x33);
    EXPECT_EQ(h.queue->state(), QueueState::Failed);
    ASSERT_NE(h.queue->failure(), nullptr);
    EXPECT_NE(std::string(h.queue->failure()).find("a path the device does not see"), std::string::npos)
        << h.queue->failure();
}

}  // namespace nvmeddp::nvmetcp::host::test
