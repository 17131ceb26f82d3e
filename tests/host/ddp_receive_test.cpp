// The host queue with the receive offload (DdpReceive) over a scripted device (tests/ddp/fake_driver.hpp),
// entirely in memory: which claims the queue acts on, which digests it trusts, and that a read's buffer
// goes back to the application only once the device has let go of it (teardown, asynchronous
// teardown, removal of the connection, destruction of the DdpReceive).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "offload_harness.hpp"
#include "nvmeddp/ddp_mbuf.h"
#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/host/ddp_receive.hpp"

namespace nvmeddp::nvmetcp::host::test {
namespace {

using ddp_test::FakeDevice;
using ddp_test::TeardownMode;

constexpr uint32_t kC2HHeaderLen = sizeof(C2HDataPdu);

TEST(DdpReceiveQueue, ClaimedBytesAreTakenFromTheBufferOthersCopied) {
    OffloadHarness h;
    h.bring_up();
    std::vector<uint8_t> buffer(4096, 0);
    const IoVec iov{buffer.data(), 4096};
    const uint16_t cid = h.read({&iov, 1}, 4096);
    ASSERT_TRUE(h.rx->registered(cid));
    const auto data = pattern(4096, 3);
    // The device placed the first 1000 bytes (as a device does, before the host sees the packet).
    std::memcpy(buffer.data(), data.data(), 1000);
    const auto pdu = h.wire.c2h(cid, 0, data, pdu_flags::kLastPdu);
    const ::nvmeddp_pkt_meta m = h.claim(h.seq + kC2HHeaderLen, 1000, cid, 0);
    h.deliver(concat({pdu, h.wire.capsule_resp(cid)}), &m);
    ASSERT_NE(h.log.find(cid), nullptr);
    EXPECT_TRUE(h.log.find(cid)->completion.status.ok());
    EXPECT_EQ(buffer, data);
    EXPECT_EQ(h.queue->stats().bytes_placed, 1000u);
    EXPECT_EQ(h.queue->stats().bytes_copied, 3096u);
    EXPECT_EQ(h.rx->stats().bytes_claimed, 1000u);
}

TEST(DdpReceiveQueue, AClaimOfAnEarlierRegistrationOrAnotherOffsetIsCopied) {
    OffloadHarness h;
    h.bring_up();
    std::vector<uint8_t> buffer(4096, 0);
    const IoVec iov{buffer.data(), 4096};
    const uint16_t cid = h.read({&iov, 1}, 4096);
    const auto data = pattern(4096, 4);
    ::nvmeddp_pkt_meta stale = h.claim(h.seq + kC2HHeaderLen, 2048, cid, 0);
    ++stale.place_tag;
    h.deliver(h.wire.c2h(cid, 0, std::span<const uint8_t>(data).first(2048)), &stale);
    const ::nvmeddp_pkt_meta shifted = h.claim(h.seq + kC2HHeaderLen, 2048, cid, 2049);  // off by one
    h.deliver(h.wire.c2h(cid, 2048, std::span<const uint8_t>(data).subspan(2048), pdu_flags::kLastPdu), &shifted);
    h.deliver(h.wire.capsule_resp(cid));
    ASSERT_NE(h.log.find(cid), nullptr);
    EXPECT_EQ(buffer, data);
    EXPECT_EQ(h.queue->stats().bytes_placed, 0u);
    EXPECT_EQ(h.rx->stats().bytes_refused, 4096u);
}

// Run 2 of a claim (contract v3): the end of read A and the start of read B in one packet, with A's
// CapsuleResp between. The stream: A's C2HData [0, 4120), its CapsuleResp [4120, 4144), B's C2HData
// header [4144, 4168) and data [4168, 8264), B's CapsuleResp. The packet of interest carries stream
// bytes [3024, 6168): A's last 1096 data bytes (run 1) and B's first 2000 (run 2).
struct TwoReads {
    static constexpr uint32_t kLen = 4096;
    static constexpr uint32_t kPacketBegin = 3024;
    static constexpr uint32_t kPacketEnd = 6168;
    static constexpr uint32_t kRun1Len = 1096;
    static constexpr uint32_t kRun2Len = 2000;

    OffloadHarness h;
    std::vector<uint8_t> buf_a = std::vector<uint8_t>(kLen, 0);
    std::vector<uint8_t> buf_b = std::vector<uint8_t>(kLen, 0);
    IoVec iov_a{buf_a.data(), kLen};
    IoVec iov_b{buf_b.data(), kLen};
    std::vector<uint8_t> data_a = pattern(kLen, 11);
    std::vector<uint8_t> data_b = pattern(kLen, 12);
    uint16_t a = 0, b = 0;
    std::vector<uint8_t> stream;
    uint32_t base = 0;  // sequence number of stream byte 0

    void start() {
        h.bring_up();
        a = h.read({&iov_a, 1}, kLen);
        b = h.read({&iov_b, 1}, kLen);
        ASSERT_TRUE(h.rx->registered(a) && h.rx->registered(b));
        stream = concat({h.wire.c2h(a, 0, data_a, pdu_flags::kLastPdu), h.wire.capsule_resp(a),
                         h.wire.c2h(b, 0, data_b, pdu_flags::kLastPdu), h.wire.capsule_resp(b)});
        ASSERT_EQ(stream.size(), 8264u + 24u);
        base = h.seq;
    }
    // The claim the device makes for the packet, with what it placed written into the buffers.
    ::nvmeddp_pkt_meta placed_pair() {
        std::memcpy(buf_a.data() + (kLen - kRun1Len), data_a.data() + (kLen - kRun1Len), kRun1Len);
        std::memcpy(buf_b.data(), data_b.data(), kRun2Len);
        ::nvmeddp_pkt_meta m = h.claim(base + kPacketBegin, kRun1Len, a, kLen - kRun1Len);
        m.place2_tag = h.dev.device->registration_tag(h.rx->handle(), b);
        m.place2_len = kRun2Len;
        return m;
    }
    void deliver(uint32_t from, uint32_t to, const ::nvmeddp_pkt_meta* m = nullptr, bool continues_packet = false) {
        h.deliver(std::vector<uint8_t>(stream.begin() + from, stream.begin() + to), m, continues_packet);
    }
    void finish() {
        deliver(kPacketEnd, static_cast<uint32_t>(stream.size()));
        ASSERT_NE(h.log.find(a), nullptr);
        ASSERT_NE(h.log.find(b), nullptr);
        EXPECT_EQ(buf_a, data_a);
        EXPECT_EQ(buf_b, data_b);
    }
};

// Bytes past the end of a claim's run 1, asked about on their own (as when one packet's data comes
// to the writer in more than one piece), at the buffer offsets the same PDU's data would have there:
// never claimed, by claims_whole() nor by next_run(), however the offsets line up; the bytes inside
// run 1 are. wrap_at: the data byte (offset from the C2HData's first) whose sequence number is 0,
// so that run 1, its end, or the bytes past it cross the 2^32 wrap; none: the stream stays below it.
void expect_bytes_past_run_one_unclaimed(std::optional<uint32_t> wrap_at) {
    uint32_t bring_up_len = 0;
    {
        OffloadHarness probe;
        const uint32_t first = probe.seq;
        probe.bring_up();
        bring_up_len = probe.seq - first;
    }
    OffloadHarness h;
    const uint32_t first_seq = wrap_at ? 0u - (bring_up_len + kC2HHeaderLen + *wrap_at) : h.seq;
    h.seq = first_seq;  // stream offset 0
    h.bring_up();
    std::vector<uint8_t> buffer(4096, 0);
    const IoVec iov{buffer.data(), 4096};
    const uint16_t cid = h.read({&iov, 1}, 4096);
    const uint32_t data_seq = h.seq + kC2HHeaderLen;  // where the next C2HData's data would begin
    if (wrap_at) {
        ASSERT_EQ(data_seq + *wrap_at, 0u);
    }
    const uint64_t data_offset = static_cast<uint32_t>(data_seq - first_seq);
    const ::nvmeddp_pkt_meta m = h.claim(data_seq, 1000, cid, 0);
    const RxPiece piece{h.seq, &m, false};
    EXPECT_TRUE(h.rx->claims_whole(piece, data_offset, cid, 0, 1000));
    EXPECT_TRUE(h.rx->claims_whole(piece, data_offset + 400, cid, 400, 600));
    EXPECT_TRUE(h.rx->next_run(piece, data_offset + 999, cid, 999, 1).claimed);
    const DdpReceive::Run whole = h.rx->next_run(piece, data_offset, cid, 0, 1000);
    EXPECT_TRUE(whole.claimed);
    EXPECT_EQ(whole.len, 1000u);
    for (const uint32_t from : {1000u, 1001u, 1500u, 3000u}) {
        EXPECT_FALSE(h.rx->claims_whole(piece, data_offset + from, cid, from, 100)) << "from " << from;
        const DdpReceive::Run run = h.rx->next_run(piece, data_offset + from, cid, from, 100);
        EXPECT_FALSE(run.claimed) << "from " << from;
        EXPECT_EQ(run.len, 100u) << "from " << from;
    }
}

TEST(DdpReceive, BytesPastTheEndOfRunOneAreNeverClaimed) {
    expect_bytes_past_run_one_unclaimed(std::nullopt);
}

TEST(DdpReceive, BytesPastTheEndOfRunOneAreNeverClaimedAcrossTheSequenceWrap) {
    // Inside run 1, at its last byte, at its end, just past it, among the bytes asked about past it.
    for (const uint32_t wrap_at : {1u, 500u, 999u, 1000u, 1001u, 1050u, 1550u, 3050u}) {
        SCOPED_TRACE(testing::Message() << "sequence number 0 at data byte " << wrap_at);
        expect_bytes_past_run_one_unclaimed(wrap_at);
    }
}

// A claim that breaks the contract (PLACED, run 1 empty, starting at a data byte): every byte is
// copied and the read completes. Before, such a claim answered "0 bytes" forever and the host spun.
TEST(DdpReceiveQueue, APlacedClaimWithAnEmptyRunIsCopiedNotSpunOn) {
    OffloadHarness h;
    h.bring_up();
    std::vector<uint8_t> buffer(4096, 0);
    const IoVec iov{buffer.data(), 4096};
    const uint16_t cid = h.read({&iov, 1}, 4096);
    const auto data = pattern(4096, 9);
    const auto pdu = h.wire.c2h(cid, 0, data, pdu_flags::kLastPdu);
    ::nvmeddp_pkt_meta m = h.claim(h.seq + kC2HHeaderLen, 0, cid, 0);
    m.place2_len = 100;
    h.deliver(concat({pdu, h.wire.capsule_resp(cid)}), &m);
    ASSERT_NE(h.log.find(cid), nullptr);
    EXPECT_TRUE(h.log.find(cid)->completion.status.ok());
    EXPECT_EQ(buffer, data);
    EXPECT_EQ(h.queue->stats().bytes_copied, 4096u);
    EXPECT_EQ(h.queue->stats().bytes_placed, 0u);
}

TEST(DdpReceiveQueue, RunTwoIsTheNextC2HDataOfAnotherCommandWhenItsHeaderIsInThePiece) {
    TwoReads t;
    t.start();
    t.deliver(0, TwoReads::kPacketBegin);
    const ::nvmeddp_pkt_meta m = t.placed_pair();
    t.deliver(TwoReads::kPacketBegin, TwoReads::kPacketEnd, &m);
    t.finish();
    EXPECT_EQ(t.h.queue->stats().bytes_placed, TwoReads::kRun1Len + TwoReads::kRun2Len);
    EXPECT_EQ(t.h.rx->stats().bytes_claimed, TwoReads::kRun1Len + TwoReads::kRun2Len);
    EXPECT_EQ(t.h.rx->stats().bytes_refused, 0u);
}

TEST(DdpReceiveQueue, RunTwoIsCopiedWhenThePieceBeginsAfterTheEndOfRunOnesPdu) {
    // The host's TCP kept the packet's bytes from 4130 on only (a trimmed retransmission): the bytes
    // from the end of A's PDU (4120) to B's data were not all taken from this packet.
    TwoReads t;
    t.start();
    t.deliver(0, 4130);
    const ::nvmeddp_pkt_meta m = t.placed_pair();
    std::memset(t.buf_b.data(), 0, TwoReads::kRun2Len);  // as if the device had not written it: must be copied
    t.deliver(4130, TwoReads::kPacketEnd, &m);
    t.finish();
    EXPECT_EQ(t.h.rx->stats().bytes_claimed, 0u);
    EXPECT_EQ(t.h.rx->stats().bytes_refused, TwoReads::kRun2Len);
    EXPECT_EQ(t.h.queue->stats().bytes_placed, 0u);
}

// The packet arrives as an mbuf chain (a jumbo or LRO frame) cut after A's CapsuleResp: the
// spans after the first continue its packet, so the bytes from the end of A's PDU on were still
// taken from the packet the device claimed for, and run 2 is placed. Spans that are packets of
// their own (the same cut, without continues_packet) are the trimmed case above: B's data copied.
TEST(DdpReceiveQueue, RunTwoIsPlacedWhenThePacketArrivesAsAChainOfSpans) {
    for (const bool chain : {true, false}) {
        SCOPED_TRACE(chain ? "one packet in two spans" : "two packets");
        TwoReads t;
        t.start();
        t.deliver(0, TwoReads::kPacketBegin);
        const ::nvmeddp_pkt_meta m = t.placed_pair();
        if (!chain) std::memset(t.buf_b.data(), 0, TwoReads::kRun2Len);  // must then be copied
        constexpr uint32_t kCut = 4130;  // inside B's C2HData header, after A's PDU end (4120)
        t.deliver(TwoReads::kPacketBegin, kCut, &m);
        t.deliver(kCut, TwoReads::kPacketEnd, &m, chain);
        t.finish();
        EXPECT_EQ(t.h.rx->stats().bytes_claimed, TwoReads::kRun1Len + (chain ? TwoReads::kRun2Len : 0));
        EXPECT_EQ(t.h.rx->stats().bytes_refused, chain ? 0 : TwoReads::kRun2Len);
    }
}

TEST(DdpReceiveQueue, RunTwoIsCopiedWhenTheTagDiffers) {
    TwoReads t;
    t.start();
    t.deliver(0, TwoReads::kPacketBegin);
    ::nvmeddp_pkt_meta m = t.placed_pair();
    ++m.place2_tag;
    std::memset(t.buf_b.data(), 0, TwoReads::kRun2Len);
    t.deliver(TwoReads::kPacketBegin, TwoReads::kPacketEnd, &m);
    t.finish();
    EXPECT_EQ(t.h.rx->stats().bytes_claimed, TwoReads::kRun1Len);
    EXPECT_EQ(t.h.rx->stats().bytes_refused, TwoReads::kRun2Len);
}

TEST(DdpReceiveQueue, RunTwoIsCopiedWhenTheHostFramesRunOnesEndElsewhere) {
    // Run 1 claimed one byte short of A's data end: in the host's framing the C2HData before B does
    // not end where run 1 does, so run 2 would be the data of some other PDU than B.
    TwoReads t;
    t.start();
    t.deliver(0, TwoReads::kPacketBegin);
    ::nvmeddp_pkt_meta m = t.placed_pair();
    m.place_len = TwoReads::kRun1Len - 1;
    std::memset(t.buf_b.data(), 0, TwoReads::kRun2Len);
    t.deliver(TwoReads::kPacketBegin, TwoReads::kPacketEnd, &m);
    t.finish();
    EXPECT_EQ(t.h.rx->stats().bytes_claimed, TwoReads::kRun1Len - 1);
    EXPECT_EQ(t.h.rx->stats().bytes_refused, TwoReads::kRun2Len);
}

// Two C2HData PDUs in one packet; the device's verdict names the first. Delivered as one piece, or
// as two mbuf segments of that packet (the second continuing it), both digests are the device's.
// Delivered as two packets with the same metadata (split, not a continuation), the second PDU is
// the first to end in its packet and is not the one named: computed.
TEST(DdpReceiveQueue, DigestVerdictCoversOnlyPdusFramedFromTheNamedOne) {
    for (const int variant : {0, 1, 2}) {
        const bool split = variant != 0;
        const bool continues = variant == 2;
        SCOPED_TRACE(variant == 0 ? "one segment" : continues ? "two segments of one packet" : "two packets");
        OffloadHarness h(true);
        h.bring_up();
        std::vector<uint8_t> buffer(2048, 0);
        const IoVec iov{buffer.data(), 2048};
        const uint16_t cid = h.read({&iov, 1}, 2048);
        const auto data = pattern(2048, 5);
        const auto first = h.wire.c2h(cid, 0, std::span<const uint8_t>(data).first(1024));
        const auto second = h.wire.c2h(cid, 1024, std::span<const uint8_t>(data).subspan(1024), pdu_flags::kLastPdu);
        ::nvmeddp_pkt_meta m{};
        m.conn_id = kConnId;
        m.flags = NVMEDDP_PKT_CRC | NVMEDDP_PKT_DIGEST_OK;
        m.digest_pdu_seq = h.seq;
        if (split) {
            const auto packet = concat({first, second});
            const size_t cut = first.size() + 10;  // inside the second PDU's header
            h.deliver(std::vector<uint8_t>(packet.begin(), packet.begin() + static_cast<ptrdiff_t>(cut)), &m);
            h.deliver(std::vector<uint8_t>(packet.begin() + static_cast<ptrdiff_t>(cut), packet.end()), &m, continues);
        } else {
            h.deliver(concat({first, second}), &m);
        }
        h.deliver(h.wire.capsule_resp(cid));
        ASSERT_NE(h.log.find(cid), nullptr);
        EXPECT_TRUE(h.log.find(cid)->completion.status.ok());
        EXPECT_EQ(buffer, data);
        const bool apart = split && !continues;
        EXPECT_EQ(h.queue->stats().digests_offloaded, apart ? 1u : 2u);
        EXPECT_EQ(h.queue->stats().digests_computed, apart ? 1u : 0u);
    }
}

// A verdict ahead (NVMEDDP_PKT_DIGEST_AHEAD): the piece that filled the PDU's last hole, inside it,
// vouches for the PDU named; the queue applies it at the PDU's end, and only when every piece of the
// PDU had NVMEDDP_PKT_CRC, the named header is the one it parsed, the verdict came from inside the
// PDU, and the piece where the PDU ends does not say DIGEST_BAD.
TEST(DdpReceiveQueue, AVerdictAheadIsAppliedAtThePdusEndOnlyWhenEveryRuleHolds) {
    enum class Variant { Trusted, EndPieceNotCrc, NamesAnotherPdu, EndPieceSaysBad, GivenOnTheHeaderPiece };
    for (const Variant v : {Variant::Trusted, Variant::EndPieceNotCrc, Variant::NamesAnotherPdu, Variant::EndPieceSaysBad,
                            Variant::GivenOnTheHeaderPiece}) {
        SCOPED_TRACE(static_cast<int>(v));
        OffloadHarness h(true);
        h.bring_up();
        std::vector<uint8_t> buffer(2048, 0);
        const IoVec iov{buffer.data(), 2048};
        const uint16_t cid = h.read({&iov, 1}, 2048);
        const auto data = pattern(2048, 9);
        const auto pdu = h.wire.c2h(cid, 0, data, pdu_flags::kLastPdu);
        const uint32_t header_seq = h.seq;
        ::nvmeddp_pkt_meta in_order{};
        in_order.conn_id = kConnId;
        in_order.flags = NVMEDDP_PKT_CRC;
        ::nvmeddp_pkt_meta ahead = in_order;
        ahead.flags |= NVMEDDP_PKT_DIGEST_AHEAD | NVMEDDP_PKT_DIGEST_OK;
        ahead.digest_pdu_seq = v == Variant::NamesAnotherPdu ? header_seq + 8 : header_seq;
        ::nvmeddp_pkt_meta end = in_order;
        if (v == Variant::EndPieceNotCrc) end.flags = 0;
        if (v == Variant::EndPieceSaysBad) end.flags |= NVMEDDP_PKT_DIGEST_BAD;
        const auto cut = [&](size_t from, size_t to) {
            return std::vector<uint8_t>(pdu.begin() + static_cast<ptrdiff_t>(from), pdu.begin() + static_cast<ptrdiff_t>(to));
        };
        const size_t a = kC2HHeaderLen + 600, b = a + 600;
        h.deliver(cut(0, a), v == Variant::GivenOnTheHeaderPiece ? &ahead : &in_order);
        h.deliver(cut(a, b), v == Variant::GivenOnTheHeaderPiece ? &in_order : &ahead);
        h.deliver(cut(b, pdu.size()), &end);
        h.deliver(h.wire.capsule_resp(cid));
        ASSERT_NE(h.log.find(cid), nullptr);
        EXPECT_TRUE(h.log.find(cid)->completion.status.ok());
        EXPECT_EQ(buffer, data);
        const bool trusted = v == Variant::Trusted;
        EXPECT_EQ(h.queue->stats().digests_offloaded, trusted ? 1u : 0u);
        EXPECT_EQ(h.queue->stats().digests_computed, trusted ? 0u : 1u);
    }
}

// Not trusted (no verdict), the digest is computed over the buffer: a wrong DDGST fails the read.
TEST(DdpReceiveQueue, AnUntrustedDigestIsComputedAndAMismatchFailsTheRead) {
    OffloadHarness h(true);
    h.bring_up();
    std::vector<uint8_t> buffer(1024, 0);
    const IoVec iov{buffer.data(), 1024};
    const uint16_t cid = h.read({&iov, 1}, 1024);
    auto pdu = h.wire.c2h(cid, 0, pattern(1024, 6), pdu_flags::kLastPdu);
    pdu.back() ^= 1;  // the DDGST
    ::nvmeddp_pkt_meta m{};
    m.conn_id = kConnId;
    m.flags = NVMEDDP_PKT_CRC;  // in order, but no verdict
    h.deliver(concat({pdu, h.wire.capsule_resp(cid)}), &m);
    ASSERT_NE(h.log.find(cid), nullptr);
    EXPECT_EQ(h.log.find(cid)->completion.status, nvme::status::kTransientTransportError);
    EXPECT_EQ(h.queue->stats().digest_errors, 1u);
}

// A queue brought up over a device that lets go of a buffer only when told (complete_all()), with
// one 4 KiB read registered: the set-up of the tests of asynchronous teardowns.
struct HeldRead {
    OffloadHarness h;
    std::vector<uint8_t> buffer = std::vector<uint8_t>(4096, 0);
    IoVec iov{buffer.data(), 4096};
    uint16_t cid = 0;

    HeldRead() {
        h.dev.driver->teardown_mode = TeardownMode::Manual;
        h.bring_up();
        cid = h.read({&iov, 1}, 4096);
    }
};

// The completion held for the device's teardown is the controller's, field for field: a success
// and an error status, each with DW0 and DW1, come out as they came in.
TEST(DdpReceiveQueue, AnAsynchronousTeardownDelaysTheCompletionUntilTheDeviceLetsGo) {
    for (const nvme::Status sent : {nvme::status::kSuccess, nvme::status::kInternalError}) {
        SCOPED_TRACE(sent.ok() ? "success" : "internal error");
        HeldRead t;
        auto& [h, buffer, iov, cid] = t;
        h.deliver(concat({h.wire.c2h(cid, 0, pattern(4096, 1), pdu_flags::kLastPdu),
                          h.wire.capsule_resp(cid, sent, 0xA1B2C3D4u, 0x0F1E2D3Cu)}));
        h.queue->poll(1);
        EXPECT_EQ(h.log.find(cid), nullptr);
        h.dev.driver->complete_all();
        h.queue->poll(2);
        ASSERT_NE(h.log.find(cid), nullptr);
        const Completion& c = h.log.find(cid)->completion;
        EXPECT_EQ(c.status, sent);
        EXPECT_EQ(c.dw0, 0xA1B2C3D4u);
        EXPECT_EQ(c.dw1, 0x0F1E2D3Cu);
        EXPECT_EQ(h.rx->stats().teardowns_async, 1u);
    }
}

// sk_del while a registered read is outstanding: the device tears it down itself, but until it has
// let go the buffer is still the device's; the read must not complete (hand the buffer back) before.
TEST(DdpReceiveQueue, RemovedWithAReadOutstandingItCompletesOnlyOnceTheDeviceLetsGo) {
    HeldRead t;
    auto& [h, buffer, iov, cid] = t;
    ASSERT_TRUE(h.rx->registered(cid));
    h.rx->remove();
    const auto data = pattern(4096, 2);
    h.deliver(concat({h.wire.c2h(cid, 0, data, pdu_flags::kLastPdu), h.wire.capsule_resp(cid)}));
    h.queue->poll(1);
    EXPECT_EQ(h.log.find(cid), nullptr) << "completed while the device may still write into the buffer";
    h.dev.driver->complete_all();
    h.queue->poll(2);
    ASSERT_NE(h.log.find(cid), nullptr);
    EXPECT_TRUE(h.log.find(cid)->completion.status.ok());
    EXPECT_EQ(buffer, data);
}

// sk_del while a read's asynchronous teardown is pending: the read still completes when it is done.
TEST(DdpReceiveQueue, RemovedWithATeardownPendingTheReadStillCompletes) {
    HeldRead t;
    auto& [h, buffer, iov, cid] = t;
    h.deliver(concat({h.wire.c2h(cid, 0, pattern(4096, 1), pdu_flags::kLastPdu), h.wire.capsule_resp(cid)}));
    EXPECT_EQ(h.log.find(cid), nullptr);
    h.rx->remove();
    h.dev.driver->complete_all();
    h.queue->poll(1);
    ASSERT_NE(h.log.find(cid), nullptr) << "the read never completes";
    EXPECT_TRUE(h.log.find(cid)->completion.status.ok());
}

// The queue fails with a registered read outstanding: it completes (failed) only once torn down.
TEST(DdpReceiveQueue, AFailedQueueCompletesItsReadsOnlyOnceTheDeviceLetsGo) {
    HeldRead t;
    auto& [h, buffer, iov, cid] = t;
    h.queue->on_transport_closed("test");
    EXPECT_EQ(h.log.find(cid), nullptr);
    h.dev.driver->complete_all();
    h.queue->poll(1);
    ASSERT_NE(h.log.find(cid), nullptr);
    EXPECT_EQ(h.log.find(cid)->completion.status, nvme::status::kHostPathError);
}

// The owner of the DdpReceive goes after the queues (DdpOffload outlives the Controller): a teardown
// the device completes while the DdpReceive is destroyed must not call the destroyed queue (run
// under valgrind to see it otherwise).
TEST(DdpReceiveQueue, DestroyedAfterItsQueueItCallsNoQueue) {
    HeldRead t;
    auto& [h, buffer, iov, cid] = t;
    h.deliver(concat({h.wire.c2h(cid, 0, pattern(4096, 1), pdu_flags::kLastPdu), h.wire.capsule_resp(cid)}));
    ASSERT_EQ(h.log.find(cid), nullptr);
    h.queue.reset();
    h.dev.driver->complete_all();
    h.rx.reset();  // the pending teardown completes inside the removal
    EXPECT_EQ(h.log.find(cid), nullptr);
    h.dev.driver->complete_all();  // the removal itself
    h.dev.device->poll_all();
    EXPECT_EQ(h.dev.device->connection_count(), 0u);
}

struct DoneCount {
    int calls = 0;
    static void done(void* arg, uint16_t) { ++static_cast<DoneCount*>(arg)->calls; }
};

// Destroyed while the device still owes a teardown callback: the device calls back later (here from
// poll_all), which must neither reach the freed DdpReceive nor the `done` of its (gone) queue.
TEST(DdpReceive, DestroyedWithATeardownPendingTheDeviceCallsBackNothingFreed) {
    FakeDevice dev;
    dev.driver->teardown_mode = TeardownMode::Manual;
    auto rx = std::make_unique<DdpReceive>(*dev.device, kDepth);
    ASSERT_EQ(rx->add(ddp_test::ipv4_config(kDepth), 0), ddp::Status::Ok);
    std::vector<uint8_t> buffer(8192);
    const IoVec iov{buffer.data(), 8192};
    DoneCount count;
    rx->set_teardown_done(&DoneCount::done, &count);
    for (uint16_t cid : {3, 9}) {
        ASSERT_TRUE(rx->setup(cid, {&iov, 1}, 8192));
    }
    ASSERT_EQ(rx->teardown(3), ddp::Status::InProgress);
    rx.reset();  // 3 pending; 9 forced by the removal, pending too
    dev.driver->complete_all();
    dev.device->poll_all();
    EXPECT_EQ(count.calls, 0);
    EXPECT_EQ(dev.device->connection_count(), 0u);
}

// The teardown callback is told of the commands whose teardown() answered InProgress, each once,
// also of one asked after remove() forced it; not of a registration only remove() tore down (its
// queue never asked, and completes no command for it).
TEST(DdpReceive, TheTeardownCallbackTellsOfTheTeardownsAskedForAndNoOthers) {
    FakeDevice dev;
    dev.driver->teardown_mode = TeardownMode::Manual;
    auto rx = std::make_unique<DdpReceive>(*dev.device, kDepth);
    ASSERT_EQ(rx->add(ddp_test::ipv4_config(kDepth), 0), ddp::Status::Ok);
    struct Told {
        std::vector<uint16_t> cids;
        static void done(void* arg, uint16_t cid) { static_cast<Told*>(arg)->cids.push_back(cid); }
    } told;
    rx->set_teardown_done(&Told::done, &told);
    std::vector<uint8_t> buffer(8192);
    const IoVec iov{buffer.data(), 8192};
    for (uint16_t cid : {1, 2, 3}) ASSERT_TRUE(rx->setup(cid, {&iov, 1}, 8192));
    ASSERT_EQ(rx->teardown(1), ddp::Status::InProgress);
    rx->remove();  // forces 2 and 3
    EXPECT_EQ(rx->teardown(2), ddp::Status::InProgress) << "forced, not let go of yet";
    EXPECT_EQ(rx->teardown(2), ddp::Status::InProgress) << "asked twice, told once";
    EXPECT_TRUE(told.cids.empty());
    dev.driver->complete_all();
    rx->poll();
    std::sort(told.cids.begin(), told.cids.end());
    EXPECT_EQ(told.cids, (std::vector<uint16_t>{1, 2}));
    EXPECT_TRUE(rx->quiescent());
    EXPECT_EQ(rx->teardown(3), ddp::Status::Ok) << "let go of: the buffer is the host's";
    EXPECT_EQ(told.cids.size(), 2u);
}

// What the device reads for cid's registration (as the engine does, by claiming it): the list
// DdpReceive handed it.
std::vector<std::pair<uint8_t*, uint64_t>> device_list(FakeDevice& dev, uint16_t cid) {
    std::vector<std::pair<uint8_t*, uint64_t>> out;
    const ddp::RegistrationTable::Claim c = dev.driver->last_connection->registrations.claim(cid);
    EXPECT_TRUE(c) << "cid " << cid << " is not registered";
    if (!c) return out;
    for (const ddp::BufferSegment& s : c.registration->segments()) out.emplace_back(static_cast<uint8_t*>(s.addr), s.len);
    return out;
}

// The list the device reads for a registered cid.
const ddp::BufferSegment* device_list_at(FakeDevice& dev, uint16_t cid) {
    const ddp::RegistrationTable::Claim c = dev.driver->last_connection->registrations.claim(cid);
    return c ? c.registration->segments().data() : nullptr;
}

// A list whose read ends where an entry does is registered as it stands (its entries up to there),
// however long: the device reads the caller's own array and no spare block is taken. One whose read
// ends inside an entry is registered as a copy cut there, in adjacent spare blocks of 8, which come
// back when the registration ends (at once, or when an asynchronous teardown completes); a copy
// that finds no room is not registered, and counted. Every live registration keeps reading exactly
// its own list while others come and go.
TEST(DdpReceive, ListsAreRegisteredAsTheyStandUnlessTheReadEndsInsideAnEntry) {
    FakeDevice dev;
    dev.driver->teardown_mode = TeardownMode::Manual;
    auto rx = std::make_unique<DdpReceive>(*dev.device, kDepth, 32, 16);  // two spare blocks
    ASSERT_EQ(rx->add(ddp_test::ipv4_config(kDepth), 0), ddp::Status::Ok);
    std::vector<uint8_t> buffer(64 * 1024);
    auto list = [&](uint32_t n, uint32_t each, uint32_t at) {
        std::vector<IoVec> v;
        for (uint32_t i = 0; i < n; ++i) v.push_back(IoVec{buffer.data() + at + i * each, each});
        return v;
    };
    auto expect_device_reads = [&](uint16_t cid, const std::vector<IoVec>& v, uint32_t len) {
        auto got = device_list(dev, cid);
        uint64_t left = len;
        size_t i = 0;
        for (; i < v.size() && left > 0; ++i) {
            ASSERT_LT(i, got.size()) << "cid " << cid;
            EXPECT_EQ(got[i].first, v[i].addr) << "cid " << cid << " entry " << i;
            EXPECT_EQ(got[i].second, std::min<uint64_t>(v[i].len, left)) << "cid " << cid << " entry " << i;
            left -= std::min<uint64_t>(v[i].len, left);
        }
        EXPECT_EQ(got.size(), i) << "cid " << cid;
    };

    const auto three = list(3, 512, 0);
    ASSERT_TRUE(rx->setup(1, three, 1500)) << "its last buffer is cut: one spare block";
    const auto nine = list(9, 512, 4096);
    EXPECT_FALSE(rx->setup(2, nine, 9 * 512 - 1)) << "a cut copy of nine needs two adjacent blocks, one is left";
    EXPECT_EQ(rx->stats().setups_no_room, 1u);
    const auto eight = list(8, 512, 16384);
    ASSERT_TRUE(rx->setup(3, eight, 8 * 512 - 100));  // the other block
    const auto two = list(2, 1024, 32768);
    ASSERT_TRUE(rx->setup(4, two, 2048)) << "covers its read exactly: no block needed";
    const auto nine_exact = list(9, 512, 40960);
    ASSERT_TRUE(rx->setup(5, nine_exact, 9 * 512)) << "covers its read exactly: no block needed, however long";
    const auto five = list(5, 1024, 49152);
    EXPECT_FALSE(rx->setup(9, five, 1500)) << "the two entries that hold the read, the second cut: a copy";
    EXPECT_EQ(rx->stats().setups_no_room, 2u);
    const auto four = list(4, 512, 57344);
    ASSERT_TRUE(rx->setup(10, four, 1024)) << "ends where an entry does: no block needed";
    EXPECT_EQ(device_list_at(dev, 10), four.data()) << "the caller's own array, its first two entries";
    expect_device_reads(10, four, 1024);
    EXPECT_EQ(device_list_at(dev, 4), two.data()) << "the caller's own array";
    EXPECT_EQ(device_list_at(dev, 5), nine_exact.data()) << "the caller's own array";
    EXPECT_NE(device_list_at(dev, 1), three.data()) << "a copy";
    EXPECT_NE(device_list_at(dev, 3), eight.data()) << "a copy";
    expect_device_reads(1, three, 1500);
    expect_device_reads(3, eight, 8 * 512 - 100);
    expect_device_reads(4, two, 2048);
    expect_device_reads(5, nine_exact, 9 * 512);

    DoneCount count;
    rx->set_teardown_done(&DoneCount::done, &count);
    ASSERT_EQ(rx->teardown(1), ddp::Status::InProgress);
    EXPECT_FALSE(rx->setup(6, three, 1500)) << "the block is the device's until the teardown completes";
    dev.driver->complete_all();
    dev.device->poll_all();
    EXPECT_EQ(count.calls, 1);
    ASSERT_TRUE(rx->setup(6, three, 1500)) << "given back by the teardown's callback";
    EXPECT_FALSE(rx->setup(2, nine, 9 * 512 - 1)) << "block 0 again taken, block 1 still cid 3's";
    ASSERT_EQ(rx->teardown(6), ddp::Status::InProgress);
    ASSERT_EQ(rx->teardown(3), ddp::Status::InProgress);
    dev.driver->complete_all();
    dev.device->poll_all();
    ASSERT_TRUE(rx->setup(2, nine, 9 * 512 - 1));
    expect_device_reads(2, nine, 9 * 512 - 1);
    expect_device_reads(4, two, 2048);
    expect_device_reads(5, nine_exact, 9 * 512);
    EXPECT_EQ(rx->stats().setups_no_room, 4u);
    EXPECT_FALSE(rx->setup(7, list(33, 64, 0), 33 * 64)) << "longer than max_segments";
    EXPECT_EQ(rx->stats().setups_no_room, 4u) << "not a matter of room";
    dev.driver->teardown_mode = TeardownMode::Immediate;
}

// The connection removed behind DdpReceive's back (Device::remove_connection by someone else): the
// device's forced teardown may still write the buffers and read the lists, and calls the remover
// back, not the host. So a teardown the queue asks for answers InProgress until the device has let
// go of the command id (seen from poll()), a cut copy's spare block stays taken meanwhile, and the
// queue is told then; a read the device let go of already answers Ok. Before the fix, teardown()
// said Ok at once: the queue completed the read and handed the application a buffer the device
// could still write.
TEST(DdpReceive, AConnectionRemovedElsewhereKeepsItsReadsUntilTheDeviceLetsGo) {
    FakeDevice dev;
    dev.driver->teardown_mode = TeardownMode::Manual;
    auto rx = std::make_unique<DdpReceive>(*dev.device, kDepth, 32, 8);  // one spare block
    const ddp::ConnectionConfig config = ddp_test::ipv4_config(kDepth);
    ASSERT_EQ(rx->add(config, 0), ddp::Status::Ok);
    std::vector<uint8_t> buffer(16384);
    const IoVec three[3] = {{buffer.data(), 1024}, {buffer.data() + 2048, 1024}, {buffer.data() + 4096, 1024}};
    ASSERT_TRUE(rx->setup(1, three, 3000));  // a cut copy: in the spare block
    const IoVec two[2] = {{buffer.data() + 8192, 1024}, {buffer.data() + 9216, 1024}};
    ASSERT_TRUE(rx->setup(3, two, 2048));  // the list as it stands
    const IoVec one[1] = {{buffer.data() + 12288, 1024}};
    ASSERT_TRUE(rx->setup(5, one, 1024));
    ASSERT_EQ(dev.device->remove_connection(rx->handle()), ddp::Status::InProgress);  // nobody to call back

    std::vector<uint16_t> done;
    rx->set_teardown_done(
        [](void* arg, uint16_t cid) { static_cast<std::vector<uint16_t>*>(arg)->push_back(cid); }, &done);
    EXPECT_EQ(rx->teardown(1), ddp::Status::InProgress) << "the device may still write cid 1's buffers";
    EXPECT_EQ(rx->teardown(3), ddp::Status::InProgress) << "the device may still write cid 3's buffers";
    rx->poll();
    rx->poll();
    EXPECT_TRUE(done.empty()) << "told before the device let go";
    EXPECT_FALSE(rx->quiescent()) << "a closing queue would let go of it with reads still to complete";
    const IoVec other[3] = {{buffer.data() + 13312, 512}, {buffer.data() + 14336, 512}, {buffer.data() + 15360, 512}};
    EXPECT_FALSE(rx->setup(2, other, 1500));
    EXPECT_EQ(rx->stats().setups_no_room, 1u) << "the block was still taken: nothing was written over the list";

    dev.driver->complete_all();
    rx->poll();
    EXPECT_EQ(done, (std::vector<uint16_t>{1, 3})) << "told once each, when the device let go";
    EXPECT_TRUE(rx->quiescent());
    // The host's own removal after the connection is gone altogether: cid 5, never torn down by the
    // queue, was let go of with it; its teardown answers Ok, and nobody is told twice.
    rx->remove();
    EXPECT_EQ(rx->teardown(5), ddp::Status::Ok);
    EXPECT_EQ(rx->teardown(1), ddp::Status::Ok) << "over already";
    EXPECT_EQ(done.size(), 2u);
    EXPECT_EQ(rx->stats().teardowns_async, 2u);
    ASSERT_EQ(rx->add(config, 0), ddp::Status::Ok) << "everything given back";
    ASSERT_TRUE(rx->setup(2, other, 1500)) << "the spare block is free again";
    dev.driver->teardown_mode = TeardownMode::Immediate;
    rx.reset();
    dev.device->poll_all();
}

// The same, with the host's own remove() (or its destruction) coming after someone else's removal
// and before the queue tears its commands down: the forced teardowns still call the remover, so
// remove() marks those reads as the device's and poll() finishes them when it lets go.
TEST(DdpReceive, RemovedElsewhereThenByTheHostTheReadsStayTheDevicesUntilItLetsGo) {
    FakeDevice dev;
    dev.driver->teardown_mode = TeardownMode::Manual;
    auto rx = std::make_unique<DdpReceive>(*dev.device, kDepth, 32, 8);
    ASSERT_EQ(rx->add(ddp_test::ipv4_config(kDepth), 0), ddp::Status::Ok);
    std::vector<uint8_t> buffer(4096);
    const IoVec one[1] = {{buffer.data(), 2048}};
    ASSERT_TRUE(rx->setup(4, one, 2048));
    ASSERT_EQ(dev.device->remove_connection(rx->handle()), ddp::Status::InProgress);
    rx->remove();
    EXPECT_EQ(rx->add(ddp_test::ipv4_config(kDepth), 0), ddp::Status::InProgress) << "cid 4 is still the device's";
    DoneCount count;
    rx->set_teardown_done(&DoneCount::done, &count);
    EXPECT_EQ(rx->teardown(4), ddp::Status::InProgress);
    rx->poll();
    EXPECT_EQ(count.calls, 0);
    dev.driver->complete_all();
    rx->poll();
    EXPECT_EQ(count.calls, 1);
    EXPECT_EQ(rx->teardown(4), ddp::Status::Ok);
    dev.driver->teardown_mode = TeardownMode::Immediate;
}

// Runs of adjacent blocks at the edges of the word: the whole 64, none past the end, the lowest fit.
TEST(SegmentBlocks, RunsOfAdjacentBlocksUpToAllSixtyFour) {
    SegmentBlocks all(1'000);  // rounded to whole blocks, capped at 64
    EXPECT_EQ(all.blocks(), 64u);
    EXPECT_EQ(all.take(64), 0u);
    EXPECT_EQ(all.take(1), SegmentBlocks::kNone);
    all.give_back(0, 64);
    EXPECT_EQ(all.free_blocks(), 64u);
    EXPECT_EQ(all.take(65), SegmentBlocks::kNone);

    SegmentBlocks five(5 * SegmentBlocks::kBlockSegments + 7);
    EXPECT_EQ(five.blocks(), 5u);
    EXPECT_EQ(five.take(2), 0u);  // blocks 0 1
    EXPECT_EQ(five.take(1), 2u);  // 2
    EXPECT_EQ(five.take(3), SegmentBlocks::kNone) << "only 3 and 4 are left: a run may not run past the end";
    EXPECT_EQ(five.take(2), 3u);
    five.give_back(0, 2);
    five.give_back(3, 2);
    EXPECT_EQ(five.take(3), SegmentBlocks::kNone) << "0 1 and 3 4 are free, 2 is not";
    five.give_back(2, 1);
    EXPECT_EQ(five.take(5), 0u);
    five.reset();
    EXPECT_EQ(five.free_blocks(), 5u);
    EXPECT_EQ(SegmentBlocks(7).take(1), SegmentBlocks::kNone) << "fewer slots than a block: no room at all";
}

}  // namespace
}  // namespace nvmeddp::nvmetcp::host::test
