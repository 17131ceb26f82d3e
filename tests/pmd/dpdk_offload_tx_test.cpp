// OffloadPort's tx callback: the device writes the data digests of the PDUs a host sends
// (cap::kTxDataDigest). Frames go out through a looped net_nvmeddp port as mbuf chains with their
// DDGST fields zero; what comes back must carry every digest right and a TCP checksum that still
// verifies, also for frames sent again, and a frame that bypassed the device loses the stream.
#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstring>
#include <random>
#include <vector>

#include "dpdk_test_support.hpp"
#include "pmd/dpdk/offload_port.hpp"
#include "testlib/frame_gen.hpp"
#include "testlib/host_send_stream.hpp"

using namespace nvmeddp;
using namespace nvmeddp::dpdk_test;

namespace {

constexpr uint32_t kSndSeq = 0xFFFFFF00u;  // wraps within the first frame
constexpr uint32_t kMss = 1448;

// The host's side of the flow: 192.0.2.2:40000 -> 192.0.2.1:4420 (ipv4_flow() reversed).
testlib::FlowSpec host_to_controller() {
    testlib::FlowSpec f = testlib::ipv4_flow();
    std::swap(f.src_ip, f.dst_ip);
    std::swap(f.src_port, f.dst_port);
    std::swap(f.src_mac, f.dst_mac);
    return f;
}

ddp::ConnectionConfig connection_config(uint32_t snd_seq) {
    const testlib::FlowSpec f = host_to_controller();
    ddp::ConnectionConfig c;
    c.tuple.family = ddp::IpFamily::Ipv4;
    std::memcpy(c.tuple.local_addr.data(), f.src_ip.data(), 4);
    std::memcpy(c.tuple.remote_addr.data(), f.dst_ip.data(), 4);
    c.tuple.local_port = f.src_port;
    c.tuple.remote_port = f.dst_port;
    c.data_digest = true;
    c.tx_data_digest = true;
    c.snd_seq = snd_seq;
    return c;
}

using HostStream = testlib::HostSendStream;

HostStream make_stream(uint32_t seed) {
    nvmetcp::SendParams params;
    params.data_digest = true;
    testlib::HostSendOptions o;
    o.max_h2c_data = 9000;
    o.seed = seed;
    return testlib::make_host_send_stream(params, o);
}

// Sends stream bytes [off, off+len) as one frame (an mbuf chain) through tx queue 0 and takes it back
// from rx queue 0: its payload, and whether its checksums verify.
struct Returned {
    std::vector<uint8_t> payload;
    bool checksums_ok = false;
};

Returned send_and_take_back(uint16_t port, const HostStream& s, uint32_t off, uint32_t len,
                            std::initializer_list<uint16_t> segments = {100, 333, 2048, 7}) {
    testlib::TcpFields tcp;
    tcp.seq = kSndSeq + off;
    const std::vector<uint8_t> payload(s.sent.begin() + off, s.sent.begin() + off + len);
    const testlib::BuiltFrame f = testlib::build_frame(host_to_controller(), tcp, payload);
    rte_mbuf* m = chain_of(f.bytes, segments);
    EXPECT_NE(m, nullptr);
    Returned r;
    if (m == nullptr) return r;
    EXPECT_EQ(rte_eth_tx_burst(port, 0, &m, 1), 1);
    rte_mbuf* back = nullptr;
    EXPECT_EQ(rte_eth_rx_burst(port, 0, &back, 1), 1);
    if (back == nullptr) return r;
    const std::vector<uint8_t> bytes = payload_of(back, 0, back->pkt_len);
    r.payload.assign(bytes.begin() + f.layout.payload_offset, bytes.begin() + f.layout.payload_offset + len);
    r.checksums_ok = testlib::checksums_ok(bytes, f.layout, false);
    rte_pktmbuf_free(back);
    return r;
}

// One looped port for every test here (a process has at most RTE_MAX_ETHPORTS ports, and the
// suite makes many): each test attaches its own offload to it and removes it again.
uint16_t tx_port() {
    static const uint16_t port = nvmeddp_nic("net_nvmeddp_tx", 1);
    return port;
}

struct TxRig {
    uint16_t port = UINT16_MAX;
    std::unique_ptr<pmd::OffloadPort> offload;
    ddp::ConnectionHandle handle = 0;

    TxRig() {
        port = tx_port();
        if (port == UINT16_MAX) return;
        offload = attach(port, 1);
        if (!offload) return;
        EXPECT_NE(offload->device().supported_caps() & ddp::cap::kTxDataDigest, 0u);
        EXPECT_EQ(offload->device().add_connection(connection_config(kSndSeq), handle), ddp::Status::Ok);
    }
    ~TxRig() {
        if (offload && handle != 0) offload->device().remove_connection(handle);
    }
    ddp::Stats stats() const {
        ddp::Stats s{};
        offload->device().connection_stats(handle, s);
        return s;
    }
};

}  // namespace

TEST(OffloadTx, TheDeviceWritesEveryDigestAndTheChecksumStillVerifies) {
    REQUIRE_EAL();
    TxRig rig;
    ASSERT_NE(rig.handle, 0u);
    const HostStream s = make_stream(3);
    std::vector<uint8_t> received;
    bool checksums_ok = true;
    for (uint32_t off = 0; off < s.sent.size(); off += kMss) {
        const uint32_t len = std::min<uint32_t>(kMss, static_cast<uint32_t>(s.sent.size()) - off);
        const Returned r = send_and_take_back(rig.port, s, off, len);
        received.insert(received.end(), r.payload.begin(), r.payload.end());
        checksums_ok = checksums_ok && r.checksums_ok;
    }
    EXPECT_TRUE(received == s.wire);
    EXPECT_TRUE(checksums_ok);
    const ddp::Stats st = rig.stats();
    EXPECT_EQ(st.tx_ddgst_written, s.digest_offsets.size());
    EXPECT_EQ(st.tx_stream_lost, 0u);
    EXPECT_FALSE(rig.offload->device().tx_stream_lost(rig.handle));
    const pmd::PortEngineCounters c = rig.offload->counters();
    EXPECT_EQ(c.tx_frames, (s.sent.size() + kMss - 1) / kMss);
    EXPECT_GT(c.tx_checksums_patched, 0u);
}

// A frame in more mbufs than the engine takes at once (QueueEngine::kMaxChunks) goes to the stream in
// batches; here the second starts at an odd payload offset, where the checksum's words straddle two
// batches. Every digest and the patched checksum must come out right all the same.
TEST(OffloadTx, AFrameInManySmallMbufsGetsItsDigestsAndChecksumRight) {
    REQUIRE_EAL();
    TxRig rig;
    ASSERT_NE(rig.handle, 0u);
    const HostStream s = make_stream(11);
    for (uint32_t off = 0; off < s.sent.size(); off += kMss) {
        const uint32_t len = std::min<uint32_t>(kMss, static_cast<uint32_t>(s.sent.size()) - off);
        // Ten mbufs hold 164 bytes: a full frame needs 91; the 65th starts at payload offset 1051.
        const Returned r = send_and_take_back(rig.port, s, off, len, {100, 7, 7, 7, 7, 7, 7, 7, 7, 8});
        ASSERT_TRUE(std::equal(r.payload.begin(), r.payload.end(), s.wire.begin() + off)) << "at " << off;
        ASSERT_TRUE(r.checksums_ok) << "at " << off;
    }
    EXPECT_EQ(rig.stats().tx_ddgst_written, s.digest_offsets.size());
    EXPECT_EQ(rig.offload->counters().tx_too_many_chunks, 0u);
}

// A retransmission is cut anew from the host's send queue, whose DDGST fields are zero: the device
// writes the digest again, from its memory of the last ones.
TEST(OffloadTx, AFrameSentAgainGetsItsDigestAgain) {
    REQUIRE_EAL();
    TxRig rig;
    ASSERT_NE(rig.handle, 0u);
    const HostStream s = make_stream(5);
    for (uint32_t off = 0; off < s.sent.size(); off += kMss) {
        send_and_take_back(rig.port, s, off, std::min<uint32_t>(kMss, static_cast<uint32_t>(s.sent.size()) - off));
    }
    // Again, cut differently (a retransmission after a path MTU change, or by SACK holes).
    for (uint32_t off = 7; off < s.sent.size(); off += 1000) {
        const uint32_t len = std::min<uint32_t>(1000, static_cast<uint32_t>(s.sent.size()) - off);
        const Returned r = send_and_take_back(rig.port, s, off, len);
        ASSERT_TRUE(std::equal(r.payload.begin(), r.payload.end(), s.wire.begin() + off)) << "at " << off;
        ASSERT_TRUE(r.checksums_ok) << "at " << off;
    }
    EXPECT_GE(rig.stats().tx_ddgst_rewritten, s.digest_offsets.size());
}

// A frame that left without passing the device (sent on another path): the next new bytes come after
// a gap, the device loses the stream and says so; it writes nothing from then on.
TEST(OffloadTx, NewBytesAfterAGapLoseTheStream) {
    REQUIRE_EAL();
    TxRig rig;
    ASSERT_NE(rig.handle, 0u);
    const HostStream s = make_stream(7);
    send_and_take_back(rig.port, s, 0, kMss);
    const Returned r = send_and_take_back(rig.port, s, 2 * kMss, kMss);  // [kMss, 2 kMss) never passed
    EXPECT_TRUE(rig.offload->device().tx_stream_lost(rig.handle));
    EXPECT_EQ(rig.stats().tx_stream_lost, 1u);
    EXPECT_TRUE(std::equal(r.payload.begin(), r.payload.end(), s.sent.begin() + 2 * kMss));
    EXPECT_TRUE(r.checksums_ok);
}

// Without the connection's tx_data_digest, its frames pass untouched.
TEST(OffloadTx, AConnectionWithoutTxDigestsIsLeftAlone) {
    REQUIRE_EAL();
    const uint16_t port = tx_port();
    ASSERT_NE(port, UINT16_MAX);
    auto offload = attach(port, 1);
    ASSERT_NE(offload, nullptr);
    ddp::ConnectionConfig c = connection_config(kSndSeq);
    c.tx_data_digest = false;
    ddp::ConnectionHandle h = 0;
    ASSERT_EQ(offload->device().add_connection(c, h), ddp::Status::Ok);
    const HostStream s = make_stream(9);
    const Returned r = send_and_take_back(port, s, 0, kMss);
    EXPECT_TRUE(std::equal(r.payload.begin(), r.payload.end(), s.sent.begin()));
    EXPECT_EQ(offload->counters().tx_frames, 0u);
    offload->device().remove_connection(h);
}
