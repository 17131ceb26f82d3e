// The host queue entirely in memory: a transport that records what the host sends (parsed back as the
// controller would) and controller PDUs fed whole, byte by byte and in odd-sized pieces.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <memory>

#include "failing_nothrow_new.hpp"
#include "host_test_util.hpp"
#include "nvmetcp/nvme_data.hpp"

namespace nvmeddp::nvmetcp::host::test {
namespace {

enum class Split { Whole, ByteByByte, Odd };

struct Harness {
    QueueConfig config;
    MemoryTransport transport;
    std::unique_ptr<Queue> queue;
    PduCapture capture;
    ControllerWire wire;
    CompletionLog log;
    Split split;
    uint32_t seq = 1000;

    explicit Harness(QueueConfig c, Split s = Split::Whole) : config(std::move(c)), split(s) {
        queue = std::make_unique<Queue>(config, &transport);
    }

    void deliver(const std::vector<uint8_t>& bytes) {
        static const size_t odd[] = {1, 7, 13, 2, 31, 64, 3, 129, 5};
        size_t at = 0, k = 0;
        while (at < bytes.size()) {
            size_t n = bytes.size() - at;
            if (split == Split::ByteByByte) n = 1;
            if (split == Split::Odd) n = std::min(n, odd[k++ % std::size(odd)]);
            queue->receive(std::span<const uint8_t>(bytes.data() + at, n), RxPiece{seq, nullptr});
            seq += static_cast<uint32_t>(n);
            at += n;
        }
    }

    std::vector<CapturedPdu> sent() { return capture.feed(transport.sent); }

    CapturedPdu one_sent(PduType type) {
        auto pdus = sent();
        EXPECT_EQ(pdus.size(), 1u);
        if (pdus.empty()) return {};
        EXPECT_EQ(pdus[0].type, type);
        return pdus[0];
    }

    uint8_t asked_digests() const {
        return static_cast<uint8_t>((config.header_digest ? ic_digest::kHeader : 0) | (config.data_digest ? ic_digest::kData : 0));
    }

    // IC, granting what was asked: the queue moves on to its Connect, and both ends of the test
    // wire now speak with the digests and alignments agreed.
    void exchange_ic(uint8_t cpda, uint32_t maxh2cdata) {
        queue->on_transport_connected();
        one_sent(PduType::ICReq);
        deliver(ControllerWire{}.icresp(cpda, asked_digests(), maxh2cdata));
        capture.set_params(config.header_digest, config.data_digest, cpda, maxh2cdata);
        wire.params = SendParams{config.header_digest, config.data_digest, config.hpda};
    }

    // IC and Connect.
    void bring_up(uint8_t cpda = 0, uint32_t maxh2cdata = 8192, uint16_t cntlid = kTestCntlid) {
        exchange_ic(cpda, maxh2cdata);
        const CapturedPdu connect = one_sent(PduType::CapsuleCmd);
        deliver(wire.capsule_resp(connect.as<CapsuleCmdPdu>().sqe.cid.get(), {}, cntlid));
        ASSERT_EQ(queue->state(), QueueState::Ready) << (queue->failure() ? queue->failure() : "");
    }

    uint16_t submit(IoRequest request) {
        request.done = &CompletionLog::record;
        request.ctx = &log;
        uint16_t cid = 0xFFFF;
        EXPECT_EQ(queue->submit(request, &cid), SubmitResult::Ok);
        return cid;
    }

    uint16_t read(std::span<const IoVec> iovs, uint32_t len) {
        IoRequest r;
        r.sqe = nvme::make_read(0, 1, 0, 1, len);
        r.data = iovs;
        r.data_len = len;
        return submit(r);
    }

    uint16_t write(std::span<const IoVec> iovs, uint32_t len) {
        IoRequest r;
        r.sqe = nvme::make_write(0, 1, 0, 1, len, false);
        r.data = iovs;
        r.data_len = len;
        r.to_controller = true;
        return submit(r);
    }

    void expect_term_req(Fes fes, uint32_t fei, size_t error_data_len) {
        const CapturedPdu term = one_sent(PduType::H2CTermReq);
        const auto pdu = term.as<TermReqPdu>();
        EXPECT_EQ(pdu.fes.get(), static_cast<uint16_t>(fes));
        EXPECT_EQ(pdu.fei.get(), fei);
        EXPECT_EQ(term.data.size(), error_data_len);
        EXPECT_TRUE(transport.closed);
        EXPECT_EQ(queue->state(), QueueState::Failed);
        EXPECT_EQ(queue->stats().term_reqs_sent, 1u);
    }
};

QueueConfig io_config() {
    QueueConfig c = io_queue_config(16);
    c.command_timeout_ms = 1000;
    return c;
}

class QueueSplit : public ::testing::TestWithParam<Split> {};

TEST_P(QueueSplit, IcAndConnectCarryTheAskedParametersAndDigestsApply) {
    QueueConfig c = io_config();
    c.header_digest = c.data_digest = true;
    c.hpda = 2;
    c.maxr2t = 3;
    c.kato_ms = 0;
    c.disable_sq_flow_control = true;
    c.hostid[0] = 0xAB;
    Harness h(c, GetParam());
    h.queue->on_transport_connected();
    EXPECT_EQ(h.queue->state(), QueueState::IcSent);
    const auto icreq = h.one_sent(PduType::ICReq).as<ICReqPdu>();
    EXPECT_EQ(icreq.pfv.get(), kPfv10);
    EXPECT_EQ(icreq.hpda, 2);
    EXPECT_EQ(icreq.dgst, ic_digest::kHeader | ic_digest::kData);
    EXPECT_EQ(icreq.maxr2t.get(), 3u);

    h.deliver(ControllerWire{}.icresp(1, ic_digest::kHeader | ic_digest::kData, 16384));
    EXPECT_EQ(h.queue->state(), QueueState::Connecting);
    EXPECT_TRUE(h.queue->send_params().header_digest && h.queue->send_params().data_digest);
    EXPECT_EQ(h.queue->send_params().pda, 1u);
    EXPECT_EQ(h.queue->receive_params().pda, 2u);
    EXPECT_EQ(h.queue->maxh2cdata(), 16384u);

    h.capture.set_params(true, true, 1);
    const CapturedPdu connect = h.one_sent(PduType::CapsuleCmd);
    EXPECT_EQ(connect.flags & (pdu_flags::kHdgst | pdu_flags::kDdgst), pdu_flags::kHdgst | pdu_flags::kDdgst);
    EXPECT_EQ(connect.pdo, 80);  // 72 + HDGST, rounded up to CPDA 1 (8 bytes)
    EXPECT_EQ(connect.digest, DigestStatus::Verified);
    const auto cmd = connect.as<CapsuleCmdPdu>().sqe;
    nvme::ConnectCommand cc;
    std::memcpy(&cc, &cmd, sizeof cc);
    EXPECT_EQ(cc.opcode, nvme::admin_opcode::kFabrics);
    EXPECT_EQ(cc.flags, nvme::kSqeFlagsSgl);
    EXPECT_EQ(cc.fctype, nvme::fctype::kConnect);
    EXPECT_EQ(cc.qid.get(), 1);
    EXPECT_EQ(cc.sqsize.get(), 15);
    EXPECT_EQ(cc.cattr, nvme::kCattrDisableSqFlowControl);
    EXPECT_EQ(cc.sgl.identifier, nvme::sgl::kInCapsuleDataBlock);
    EXPECT_EQ(cc.sgl.length.get(), 1024u);
    ASSERT_EQ(connect.data.size(), sizeof(nvme::ConnectData));
    nvme::ConnectData data;
    std::memcpy(&data, connect.data.data(), sizeof data);
    EXPECT_EQ(data.cntlid.get(), 5);
    EXPECT_EQ(data.hostid[0], 0xAB);
    EXPECT_STREQ(data.subnqn, c.subnqn.c_str());
    EXPECT_STREQ(data.hostnqn, c.hostnqn.c_str());

    h.wire.params = SendParams{true, true, 2};
    h.deliver(h.wire.capsule_resp(cc.cid.get(), {}, 0x77));
    EXPECT_EQ(h.queue->state(), QueueState::Ready);
    EXPECT_EQ(h.queue->cntlid(), 0x77);
    EXPECT_EQ(h.queue->outstanding(), 0u);
}

// The Connect's data is the queue's only while the Connect is under way: a transport that takes
// the capsule a few bytes at a time, long after submission, still sends every byte of it as built.
TEST(Queue, ConnectDataSentLaterInSmallPiecesArrivesWhole) {
    QueueConfig c = io_config();
    c.data_digest = true;  // and its digest checked over what arrived
    Harness h(c);
    h.transport.space = kHlenIc;  // room for the ICReq, none for the Connect after it
    h.exchange_ic(0, 8192);
    ASSERT_EQ(h.queue->state(), QueueState::Connecting);
    std::vector<CapturedPdu> pdus = h.sent();
    EXPECT_TRUE(pdus.empty());
    for (int i = 0; i < 400 && pdus.empty(); ++i) {
        h.transport.space = 7;
        h.queue->on_transport_writable();
        pdus = h.sent();
    }
    ASSERT_EQ(pdus.size(), 1u);
    const CapturedPdu& connect = pdus[0];
    ASSERT_EQ(connect.type, PduType::CapsuleCmd);
    EXPECT_EQ(connect.digest, DigestStatus::Verified);
    ASSERT_EQ(connect.data.size(), sizeof(nvme::ConnectData));
    nvme::ConnectData data;
    std::memcpy(&data, connect.data.data(), sizeof data);
    EXPECT_EQ(data.cntlid.get(), kTestCntlid);
    EXPECT_STREQ(data.subnqn, c.subnqn.c_str());
    EXPECT_STREQ(data.hostnqn, c.hostnqn.c_str());
    h.transport.space = std::numeric_limits<size_t>::max();
    h.deliver(h.wire.capsule_resp(connect.as<CapsuleCmdPdu>().sqe.cid.get(), {}, 0x77));
    EXPECT_EQ(h.queue->state(), QueueState::Ready) << (h.queue->failure() ? h.queue->failure() : "");
    EXPECT_EQ(h.queue->cntlid(), 0x77);
}

// A Connect that cannot be built fails its queue at once, with the reason, before anything of it
// goes out: the transport is closed and nothing can be submitted.
void expect_connect_not_built(Harness& h, const std::string& reason) {
    EXPECT_EQ(h.queue->state(), QueueState::Failed);
    ASSERT_NE(h.queue->failure(), nullptr);
    EXPECT_EQ(std::string(h.queue->failure()), reason);
    EXPECT_TRUE(h.sent().empty());
    EXPECT_TRUE(h.transport.closed);
    std::vector<uint8_t> buffer(512);
    const IoVec iov{buffer.data(), 512};
    IoRequest r;
    r.sqe = nvme::make_read(0, 1, 0, 1, 512);
    r.data = {&iov, 1};
    r.data_len = 512;
    uint16_t cid = 0;
    EXPECT_NE(h.queue->submit(r, &cid), SubmitResult::Ok);
}

TEST(Queue, ConnectWithoutMemoryForItsDataFailsTheQueue) {
    Harness h(io_config());
    const uint64_t failures = nothrow_new_failures();
    fail_next_nothrow_new();
    h.exchange_ic(0, 8192);
    EXPECT_EQ(nothrow_new_failures(), failures + 1) << "the Connect's data was not the allocation that failed";
    expect_connect_not_built(h, "Connect (qid 1): no memory for its data");
}

TEST(Queue, ConnectWithAnNqnLongerThanTheFieldFailsTheQueue) {
    QueueConfig c = io_config();
    c.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:" + std::string(256, 'a');  // the field holds 255 and a NUL
    Harness h(c);
    h.exchange_ic(0, 8192);
    expect_connect_not_built(h, "Connect (qid 1): subsystem or host NQN longer than 255 characters");
}

TEST_P(QueueSplit, ReadsWithOneAndSeveralC2HDataLandInTheIoVecs) {
    QueueConfig c = io_config();
    c.hpda = 1;  // the controller pads C2HData data to 8 bytes
    c.data_digest = true;
    Harness h(c, GetParam());
    h.bring_up();

    const std::vector<uint8_t> expect = pattern(12288, 1);
    std::vector<uint8_t> a(5000), b(7288);
    // Empty entries, first and between: the receive position skips the first when it is taken up
    // from the slot (which keeps only the position, not a cursor), the other as it advances.
    const IoVec iovs[] = {{nullptr, 0}, {a.data(), 5000}, {nullptr, 0}, {b.data(), 7288}};
    const uint16_t cid = h.read(iovs, 12288);
    const auto cmd = h.one_sent(PduType::CapsuleCmd).as<CapsuleCmdPdu>().sqe;
    EXPECT_EQ(nvme::sgl_of(cmd).identifier, nvme::sgl::kTransportDataBlock);
    EXPECT_EQ(nvme::sgl_of(cmd).length.get(), 12288u);
    EXPECT_EQ(cmd.cid.get(), cid);

    std::span<const uint8_t> e(expect);
    h.deliver(concat({h.wire.c2h(cid, 0, e.first(4096)), h.wire.c2h(cid, 4096, e.subspan(4096, 6000)),
                      h.wire.c2h(cid, 10096, e.subspan(10096), pdu_flags::kLastPdu)}));
    EXPECT_TRUE(h.log.entries.empty());
    h.deliver(h.wire.capsule_resp(cid));
    ASSERT_EQ(h.log.entries.size(), 1u);
    EXPECT_TRUE(h.log.entries[0].completion.status.ok());
    EXPECT_EQ(h.log.entries[0].completion.bytes, 12288u);
    EXPECT_EQ(h.log.entries[0].completion.reason, nullptr);
    EXPECT_TRUE(std::equal(a.begin(), a.end(), expect.begin()));
    EXPECT_TRUE(std::equal(b.begin(), b.end(), expect.begin() + 5000));
    EXPECT_EQ(h.queue->stats().c2h_pdus, 3u);
    EXPECT_EQ(h.queue->stats().bytes_copied, 12288u);
    EXPECT_EQ(h.queue->stats().digests_computed, 3u);

    // And one C2HData for a whole read.
    std::vector<uint8_t> whole(4096);
    const IoVec one[] = {{whole.data(), 4096}};
    const uint16_t cid2 = h.read(one, 4096);
    h.sent();
    h.deliver(concat({h.wire.c2h(cid2, 0, e.first(4096), pdu_flags::kLastPdu), h.wire.capsule_resp(cid2)}));
    ASSERT_EQ(h.log.entries.size(), 2u);
    EXPECT_TRUE(std::equal(whole.begin(), whole.end(), expect.begin()));
}

INSTANTIATE_TEST_SUITE_P(Pieces, QueueSplit, ::testing::Values(Split::Whole, Split::ByteByByte, Split::Odd));

TEST(Queue, SuccessFlagCompletesOnlyWhenFlowControlWasDisabled) {
    for (bool disabled : {true, false}) {
        QueueConfig c = io_config();
        c.disable_sq_flow_control = disabled;
        Harness h(c);
        h.bring_up();
        std::vector<uint8_t> buf(512);
        const IoVec iov[] = {{buf.data(), 512}};
        const uint16_t cid = h.read(iov, 512);
        h.sent();
        const auto data = pattern(512, 2);
        h.deliver(h.wire.c2h(cid, 0, data, pdu_flags::kLastPdu | pdu_flags::kSuccess));
        ASSERT_EQ(h.log.entries.size(), 1u) << "disabled=" << disabled;
        if (disabled) {
            EXPECT_TRUE(h.log.entries[0].completion.status.ok());
            EXPECT_EQ(h.queue->state(), QueueState::Ready);
            EXPECT_EQ(h.queue->stats().success_flags, 1u);
            EXPECT_EQ(buf, data);
        } else {
            EXPECT_EQ(h.log.entries[0].completion.status, nvme::status::kHostPathError);
            h.expect_term_req(Fes::InvalidHeaderField, ch_offset::kFlags, sizeof(C2HDataPdu));
        }
    }
}

// A read whose controller says success before sending all of its data fails: the buffer's missing
// bytes were never written. By the response, and by a C2HData with SUCCESS (flow control given
// up); a controller's own error status stays as it came.
TEST(Queue, SuccessBeforeAllOfAReadsDataFailsTheRead) {
    enum class End { Response, SuccessFlag, ErrorResponse };
    for (const End end : {End::Response, End::SuccessFlag, End::ErrorResponse}) {
        SCOPED_TRACE(static_cast<int>(end));
        QueueConfig c = io_config();
        c.disable_sq_flow_control = end == End::SuccessFlag;
        Harness h(c);
        h.bring_up();
        std::vector<uint8_t> buf(4096, 0xEE);
        const IoVec iov[] = {{buf.data(), 4096}};
        const uint16_t cid = h.read(iov, 4096);
        const auto data = pattern(3000, 4);
        if (end == End::SuccessFlag) {
            h.deliver(h.wire.c2h(cid, 0, data, pdu_flags::kLastPdu | pdu_flags::kSuccess));
        } else {
            h.deliver(h.wire.c2h(cid, 0, data, pdu_flags::kLastPdu));
            h.deliver(h.wire.capsule_resp(cid, end == End::ErrorResponse ? nvme::status::kInternalError : nvme::status::kSuccess));
        }
        ASSERT_EQ(h.log.entries.size(), 1u);
        const CompletionLog::Entry& e = h.log.entries[0];
        EXPECT_EQ(e.completion.bytes, 3000u);
        if (end == End::ErrorResponse) {
            EXPECT_EQ(e.completion.status, nvme::status::kInternalError);
            EXPECT_EQ(e.reason, "");
        } else {
            EXPECT_EQ(e.completion.status, nvme::status::kDataTransferError);
            EXPECT_EQ(e.reason, "success after 3000 of its 4096 bytes of data");
        }
        EXPECT_EQ(h.queue->state(), QueueState::Ready) << "one command's failure, not the queue's";
        EXPECT_EQ(h.queue->stats().errors, 1u);
        // The next read of the whole length succeeds: the flag is the command's, not the slot's.
        const uint16_t next = h.read(iov, 4096);
        const auto whole = pattern(4096, 5);
        h.deliver(h.wire.c2h(next, 0, whole, pdu_flags::kLastPdu));
        h.deliver(h.wire.capsule_resp(next));
        ASSERT_EQ(h.log.entries.size(), 2u);
        EXPECT_EQ(h.log.entries[1].completion.cid, next);
        EXPECT_TRUE(h.log.entries[1].completion.status.ok()) << h.log.entries[1].reason;
        EXPECT_EQ(buf, whole);
    }
}

// A write the controller answers with success having asked for only part of its data fails: the
// rest never left the host. Asked for whole, the same write succeeds.
TEST(Queue, SuccessBeforeAllOfAWritesDataWasAskedForFailsTheWrite) {
    for (const bool whole : {false, true}) {
        SCOPED_TRACE(whole ? "asked for whole" : "asked for half");
        Harness h(io_config());
        h.bring_up();
        const std::vector<uint8_t> data = pattern(8192, 6);
        const IoVec iov[] = {{const_cast<uint8_t*>(data.data()), 8192}};
        const uint16_t cid = h.write(iov, 8192);
        h.one_sent(PduType::CapsuleCmd);
        h.deliver(h.wire.r2t(cid, 1, 0, whole ? 8192 : 4096));
        h.deliver(h.wire.capsule_resp(cid));
        ASSERT_EQ(h.log.entries.size(), 1u);
        const CompletionLog::Entry& e = h.log.entries[0];
        EXPECT_EQ(e.completion.bytes, whole ? 8192u : 4096u);
        if (whole) {
            EXPECT_TRUE(e.completion.status.ok()) << e.reason;
        } else {
            EXPECT_EQ(e.completion.status, nvme::status::kDataTransferError);
            EXPECT_EQ(e.reason, "success after 4096 of its 8192 bytes of data");
        }
        EXPECT_EQ(h.queue->state(), QueueState::Ready);
    }
}

TEST(Queue, R2TIsAnsweredWithH2CDataSplitAtMaxH2CDataWithPaddingAndDigest) {
    QueueConfig c = io_config();
    c.data_digest = true;
    c.maxr2t = 1;
    Harness h(c);
    h.bring_up(/*cpda=*/3, /*maxh2cdata=*/8192);  // 16-byte alignment
    const std::vector<uint8_t> data = pattern(20000, 3);
    const IoVec iovs[] = {{const_cast<uint8_t*>(data.data()), 3000}, {const_cast<uint8_t*>(data.data()) + 3000, 17000}};
    const uint16_t cid = h.write(iovs, 20000);
    const auto cmd = h.one_sent(PduType::CapsuleCmd);
    EXPECT_EQ(nvme::sgl_of(cmd.as<CapsuleCmdPdu>().sqe).identifier, nvme::sgl::kTransportDataBlock);
    EXPECT_TRUE(cmd.data.empty());

    // Two R2Ts (MAXR2T 1 allows two at once): each one's data ends with LAST_PDU.
    h.deliver(concat({h.wire.r2t(cid, 7, 0, 10000), h.wire.r2t(cid, 8, 10000, 10000)}));
    const auto pdus = h.sent();
    ASSERT_EQ(pdus.size(), 4u);
    const uint32_t want_off[] = {0, 8192, 10000, 18192}, want_len[] = {8192, 1808, 8192, 1808};
    std::vector<uint8_t> got;
    for (size_t i = 0; i < 4; ++i) {
        const auto hdr = pdus[i].as<H2CDataPdu>();
        EXPECT_EQ(pdus[i].type, PduType::H2CData);
        EXPECT_EQ(hdr.cccid.get(), cid);
        EXPECT_EQ(hdr.ttag.get(), i < 2 ? 7 : 8);
        EXPECT_EQ(hdr.datao.get(), want_off[i]);
        EXPECT_EQ(hdr.datal.get(), want_len[i]);
        EXPECT_EQ((pdus[i].flags & pdu_flags::kLastPdu) != 0, i % 2 == 1) << i;
        EXPECT_EQ(pdus[i].pdo, 32) << "24-byte header padded to CPDA 3 (16 bytes)";
        EXPECT_EQ(pdus[i].digest, DigestStatus::Verified);
        got.insert(got.end(), pdus[i].data.begin(), pdus[i].data.end());
    }
    EXPECT_EQ(got, data);
    h.deliver(h.wire.capsule_resp(cid));
    ASSERT_EQ(h.log.entries.size(), 1u);
    EXPECT_TRUE(h.log.entries[0].completion.status.ok());
    EXPECT_EQ(h.log.entries[0].completion.bytes, 20000u);
    EXPECT_EQ(h.queue->stats().h2c_pdus, 4u);
    EXPECT_EQ(h.queue->stats().r2ts, 2u);
}

TEST(Queue, MoreR2TsThanMaxR2TIsFatal) {
    Harness h(io_config());  // MAXR2T 0: one R2T at a time
    h.bring_up();
    h.transport.space = 100;  // keep the first R2T's data from going out
    const std::vector<uint8_t> data = pattern(8192, 4);
    const IoVec iov[] = {{const_cast<uint8_t*>(data.data()), 8192}};
    const uint16_t cid = h.write(iov, 8192);
    h.deliver(concat({h.wire.r2t(cid, 1, 0, 4096), h.wire.r2t(cid, 2, 4096, 4096)}));
    EXPECT_EQ(h.queue->state(), QueueState::Failed);
    ASSERT_EQ(h.log.entries.size(), 1u);
    EXPECT_EQ(h.log.entries[0].completion.status, nvme::status::kHostPathError);
    EXPECT_NE(std::string(h.queue->failure()).find("FES 5"), std::string::npos) << h.queue->failure();
}

TEST(Queue, SmallWritesGoInCapsule) {
    QueueConfig c = io_config();
    c.in_capsule_data = 8192;
    c.data_digest = true;
    Harness h(c);
    h.bring_up(1);
    const std::vector<uint8_t> data = pattern(4096, 5);
    const IoVec iovs[] = {{const_cast<uint8_t*>(data.data()), 100}, {const_cast<uint8_t*>(data.data()) + 100, 3996}};
    const uint16_t cid = h.write(iovs, 4096);
    const CapturedPdu cmd = h.one_sent(PduType::CapsuleCmd);
    const auto sgl = nvme::sgl_of(cmd.as<CapsuleCmdPdu>().sqe);
    EXPECT_EQ(sgl.identifier, nvme::sgl::kInCapsuleDataBlock);
    EXPECT_EQ(sgl.length.get(), 4096u);
    EXPECT_EQ(cmd.data, data);
    EXPECT_EQ(cmd.pdo, 72);  // 72 is a multiple of CPDA 1's 8 bytes
    h.deliver(h.wire.capsule_resp(cid));
    ASSERT_EQ(h.log.entries.size(), 1u);
    EXPECT_TRUE(h.log.entries[0].completion.status.ok());

    // An R2T for an in-capsule write is out of range.
    const uint16_t cid2 = h.write(iovs, 4096);
    h.sent();
    h.deliver(h.wire.r2t(cid2, 1, 0, 4096));
    h.expect_term_req(Fes::DataOutOfRange, offsetof(R2TPdu, r2to), sizeof(R2TPdu));
}

TEST(Queue, FlushHasNoData) {
    Harness h(io_config());
    h.bring_up();
    IoRequest r;
    r.sqe = nvme::make_flush(0, 1);
    const uint16_t cid = h.submit(r);
    const auto sqe = h.one_sent(PduType::CapsuleCmd).as<CapsuleCmdPdu>().sqe;
    EXPECT_EQ(sqe.opcode, nvme::io_opcode::kFlush);
    EXPECT_EQ(nvme::sgl_of(sqe).length.get(), 0u);
    h.deliver(h.wire.capsule_resp(cid, nvme::status::kInvalidOpcode));
    ASSERT_EQ(h.log.entries.size(), 1u);
    EXPECT_EQ(h.log.entries[0].completion.status, nvme::status::kInvalidOpcode);
    EXPECT_EQ(h.queue->state(), QueueState::Ready);
}

// The slot keeps the SQE without its cid and data pointer (KeptSqe): every other byte the
// application gave goes out as given, the cid is the one assigned, the data pointer the queue's own.
TEST(Queue, CapsuleCarriesEverySqeByteAsSubmitted) {
    Harness h(io_config());
    h.bring_up();
    IoRequest r;
    auto* raw = reinterpret_cast<uint8_t*>(&r.sqe);
    for (size_t i = 0; i < sizeof(NvmeSqe); ++i) raw[i] = static_cast<uint8_t>(0xA0 + i);
    r.sqe.flags = 0xBA;  // PSDT 10b: the queue makes it 01b (SGL), the other bits as given
    std::vector<uint8_t> buf(8192);
    const IoVec iov[] = {{buf.data(), 8192}};
    r.data = iov;
    r.data_len = 8192;
    const uint16_t cid = h.submit(r);
    const NvmeSqe sent = h.one_sent(PduType::CapsuleCmd).as<CapsuleCmdPdu>().sqe;
    const auto* wire = reinterpret_cast<const uint8_t*>(&sent);
    for (size_t i = 0; i < sizeof(NvmeSqe); ++i) {
        if (i == offsetof(NvmeSqe, flags) || i == offsetof(NvmeSqe, cid) || i == offsetof(NvmeSqe, cid) + 1) continue;
        if (i >= offsetof(NvmeSqe, dptr) && i < offsetof(NvmeSqe, dptr) + sizeof sent.dptr) continue;
        EXPECT_EQ(wire[i], raw[i]) << "SQE byte " << i;
    }
    EXPECT_EQ(sent.flags, 0x3A | nvme::kSqeFlagsSgl) << "PSDT 01b, the other bits as given";
    EXPECT_EQ(sent.cid.get(), cid);
    nvme::SglDescriptor expected{};
    expected.length.set(8192);
    expected.identifier = nvme::sgl::kTransportDataBlock;
    EXPECT_EQ(std::memcmp(sent.dptr, &expected, sizeof expected), 0);
}

TEST(Queue, OutOfRangeC2HDataSendsTermReqFes4AndFailsTheCommand) {
    Harness h(io_config());
    h.bring_up();
    std::vector<uint8_t> buf(4096);
    const IoVec iov[] = {{buf.data(), 4096}};
    const uint16_t cid = h.read(iov, 4096);
    h.sent();
    h.deliver(h.wire.c2h(cid, 0, pattern(3584, 6)));
    h.deliver(h.wire.c2h(cid, 3584, pattern(1024, 6)));  // in order, but ends at 4608 > 4096
    h.expect_term_req(Fes::DataOutOfRange, offsetof(C2HDataPdu, datal), sizeof(C2HDataPdu));
    ASSERT_EQ(h.log.entries.size(), 1u);
    EXPECT_EQ(h.log.entries[0].completion.status, nvme::status::kHostPathError);
    EXPECT_NE(h.log.entries[0].reason.find("out of range"), std::string::npos) << h.log.entries[0].reason;
    EXPECT_EQ(h.queue->outstanding(), 0u);
    EXPECT_EQ(h.queue->submit(IoRequest{}), SubmitResult::NotReady);
}

TEST(Queue, C2HDataOutOfOrderOrForAnUnknownCommandIsFatal) {
    {
        Harness h(io_config());
        h.bring_up();
        std::vector<uint8_t> buf(8192);
        const IoVec iov[] = {{buf.data(), 8192}};
        const uint16_t cid = h.read(iov, 8192);
        h.sent();
        h.deliver(h.wire.c2h(cid, 4096, pattern(4096, 1)));  // the first 4096 bytes were skipped
        h.expect_term_req(Fes::DataOutOfRange, offsetof(C2HDataPdu, datao), sizeof(C2HDataPdu));
    }
    {
        Harness h(io_config());
        h.bring_up();
        h.deliver(h.wire.c2h(9, 0, pattern(16, 1)));
        h.expect_term_req(Fes::InvalidHeaderField, offsetof(C2HDataPdu, cccid), sizeof(C2HDataPdu));
    }
    {
        Harness h(io_config());
        h.bring_up();
        h.deliver(h.wire.capsule_resp(3));
        h.expect_term_req(Fes::InvalidHeaderField, 20, sizeof(CapsuleRespPdu));
    }
}

TEST(Queue, BadHeaderDigestSendsTermReqFes3WithTheHeader) {
    QueueConfig c = io_config();
    c.header_digest = true;
    Harness h(c, Split::Odd);
    h.bring_up();
    std::vector<uint8_t> buf(4096);
    const IoVec iov[] = {{buf.data(), 4096}};
    const uint16_t cid = h.read(iov, 4096);
    h.sent();
    auto resp = h.wire.capsule_resp(cid);
    resp[kHlenCapsuleResp] ^= 0x01;  // the HDGST
    h.deliver(resp);
    const CapturedPdu term = h.one_sent(PduType::H2CTermReq);
    EXPECT_EQ(term.as<TermReqPdu>().fes.get(), static_cast<uint16_t>(Fes::HeaderDigestError));
    EXPECT_EQ(term.as<TermReqPdu>().fei.get(), kHlenCapsuleResp);
    EXPECT_EQ(term.data, resp) << "error data: the offending header and its digest";
    ASSERT_EQ(h.log.entries.size(), 1u);
    EXPECT_EQ(h.log.entries[0].completion.status, nvme::status::kHostPathError);
    EXPECT_TRUE(h.transport.closed);
}

TEST(Queue, C2HTermReqFailsTheQueueWithItsFes) {
    Harness h(io_config());
    h.bring_up();
    std::vector<uint8_t> buf(4096);
    const IoVec iov[] = {{buf.data(), 4096}};
    h.read(iov, 4096);
    h.sent();
    h.deliver(h.wire.term_req(Fes::PduSequenceError, 0));
    EXPECT_EQ(h.queue->state(), QueueState::Failed);
    ASSERT_NE(h.queue->failure(), nullptr);
    EXPECT_NE(std::string(h.queue->failure()).find("FES 2"), std::string::npos) << h.queue->failure();
    EXPECT_TRUE(h.sent().empty()) << "no TermReq answers a TermReq";
    EXPECT_TRUE(h.transport.closed);
    ASSERT_EQ(h.log.entries.size(), 1u);
    EXPECT_EQ(h.log.entries[0].completion.status, nvme::status::kHostPathError);
    EXPECT_EQ(h.queue->stats().term_reqs_received, 1u);
}

TEST(Queue, DataDigestMismatchFailsOnlyThatCommand) {
    QueueConfig c = io_config();
    c.data_digest = true;
    Harness h(c);
    h.bring_up();
    std::vector<uint8_t> a(4096), b(4096);
    const IoVec ia[] = {{a.data(), 4096}}, ib[] = {{b.data(), 4096}};
    const uint16_t ca = h.read(ia, 4096), cb = h.read(ib, 4096);
    h.sent();
    // The read's second C2HData is the bad one: the reason names where it began.
    const std::vector<uint8_t> data_a = pattern(4096, 7);
    const auto good = h.wire.c2h(ca, 0, std::vector<uint8_t>(data_a.begin(), data_a.begin() + 2048), 0);
    auto bad = h.wire.c2h(ca, 2048, std::vector<uint8_t>(data_a.begin() + 2048, data_a.end()), pdu_flags::kLastPdu);
    bad[bad.size() - 1] ^= 0xFF;  // the DDGST
    h.deliver(concat({good, bad, h.wire.c2h(cb, 0, pattern(4096, 8), pdu_flags::kLastPdu), h.wire.capsule_resp(ca),
                      h.wire.capsule_resp(cb)}));
    ASSERT_EQ(h.log.entries.size(), 2u);
    const auto* ea = h.log.find(ca);
    const auto* eb = h.log.find(cb);
    ASSERT_TRUE(ea && eb);
    EXPECT_EQ(ea->completion.status, nvme::status::kTransientTransportError);
    EXPECT_EQ(ea->reason, "data digest mismatch in C2HData at datao 2048");
    EXPECT_TRUE(eb->completion.status.ok());
    EXPECT_EQ(b, pattern(4096, 8));
    EXPECT_EQ(h.queue->state(), QueueState::Ready);
    EXPECT_EQ(h.queue->stats().digest_errors, 1u);
    EXPECT_TRUE(h.sent().empty());
}

TEST(Queue, TimeoutAbortsTheCommandAndFailsTheQueue) {
    Harness h(io_config());
    h.bring_up();
    std::vector<uint8_t> buf(4096);
    const IoVec iov[] = {{buf.data(), 4096}};
    const uint16_t slow = h.read(iov, 4096);
    h.queue->poll(100);  // stamps the deadline: 100 + 1000
    // Half of its data arrives and the stream stalls there (a lost segment): the failure says so.
    const auto c2h = h.wire.c2h(slow, 0, pattern(4096, 3), pdu_flags::kLastPdu);
    const size_t header_len = c2h.size() - 4096;  // io_config(): no digests
    h.deliver(std::vector<uint8_t>(c2h.begin(), c2h.begin() + header_len + 2048));
    IoRequest r;
    r.sqe = nvme::make_flush(0, 1);
    r.timeout_ms = 5000;
    const uint16_t other = h.submit(r);
    h.queue->poll(1099);
    EXPECT_TRUE(h.log.entries.empty());
    h.queue->poll(1100);
    ASSERT_EQ(h.log.entries.size(), 2u);
    EXPECT_EQ(h.log.find(slow)->completion.status, nvme::status::kHostAbortedCommand);
    EXPECT_NE(h.log.find(slow)->reason.find("timed out after 1000 ms"), std::string::npos);
    ASSERT_NE(h.queue->failure(), nullptr);
    const std::string failure = h.queue->failure();
    EXPECT_NE(failure.find("(the command: sent, 2048 of 4096 data bytes, no response; the stream:"), std::string::npos)
        << failure;
    EXPECT_NE(failure.find("mid-PDU"), std::string::npos) << failure;
    EXPECT_EQ(h.log.find(other)->completion.status, nvme::status::kHostPathError);
    EXPECT_EQ(h.queue->state(), QueueState::Failed);
    EXPECT_EQ(h.queue->stats().timeouts, 1u);
    EXPECT_TRUE(h.transport.closed);
}

TEST(Queue, NoICRespWithinTheTimeoutFails) {
    Harness h(io_config());
    h.queue->on_transport_connected();
    h.queue->poll(0);
    h.queue->poll(999);
    EXPECT_EQ(h.queue->state(), QueueState::IcSent);
    h.queue->poll(1000);
    EXPECT_EQ(h.queue->state(), QueueState::Failed);
    EXPECT_NE(std::string(h.queue->failure()).find("ICResp"), std::string::npos);
}

TEST(Queue, IcRespGrantingADigestNotAskedIsFatal) {
    Harness h(io_config());
    h.queue->on_transport_connected();
    h.sent();
    h.deliver(ControllerWire{}.icresp(0, ic_digest::kHeader, 8192));
    h.expect_term_req(Fes::InvalidHeaderField, offsetof(ICRespPdu, dgst), kHlenIc);
}

// Linux nvmet-tcp closes the connection without an ICResp or a TermReq when it refuses the ICReq
// (HPDA != 0, found by tests/interop): the failure says it happened in the IC exchange and what was asked.
TEST(Queue, ClosedBeforeTheICRespSaysTheICReqWasRefused) {
    QueueConfig c = io_config();
    c.hpda = 2;
    Harness h(c);
    h.queue->on_transport_connected();
    h.one_sent(PduType::ICReq);
    h.queue->on_transport_closed("the controller closed the connection");
    EXPECT_EQ(h.queue->state(), QueueState::Failed);
    const std::string failure = h.queue->failure();
    EXPECT_NE(failure.find("before the ICResp"), std::string::npos) << failure;
    EXPECT_NE(failure.find("HPDA 2"), std::string::npos) << failure;
    EXPECT_NE(failure.find("the controller closed the connection"), std::string::npos) << failure;
}

TEST(Queue, TransportClosedFailsOutstandingWithHostPathError) {
    Harness h(io_config());
    h.bring_up();
    std::vector<uint8_t> buf(4096);
    const IoVec iov[] = {{buf.data(), 4096}};
    h.read(iov, 4096);
    h.read(iov, 4096);
    h.queue->on_transport_closed("Connection reset by peer");
    ASSERT_EQ(h.log.entries.size(), 2u);
    for (const auto& e : h.log.entries) {
        EXPECT_EQ(e.completion.status, nvme::status::kHostPathError);
        EXPECT_NE(e.reason.find("Connection reset by peer"), std::string::npos) << e.reason;
    }
    EXPECT_EQ(h.queue->state(), QueueState::Failed);
    EXPECT_EQ(h.queue->outstanding(), 0u);
}

TEST(Queue, SendsThatDoNotFitResumeWhenWritable) {
    Harness h(io_config());
    h.bring_up(0, 4096);
    const std::vector<uint8_t> data = pattern(10000, 9);
    const IoVec iov[] = {{const_cast<uint8_t*>(data.data()), 10000}};
    const uint16_t cid = h.write(iov, 10000);
    h.sent();
    h.transport.space = 0;
    h.deliver(h.wire.r2t(cid, 3, 0, 10000));
    EXPECT_TRUE(h.sent().empty());
    for (size_t step : {10, 0, 1000, 5, 3000}) {  // dribbles of room, each followed by the event
        h.transport.space = step;
        h.queue->on_transport_writable();
    }
    h.transport.space = 777;
    h.queue->poll(1);  // poll continues pending sends too
    h.transport.space = std::numeric_limits<size_t>::max();
    h.queue->on_transport_writable();
    const auto pdus = h.sent();
    ASSERT_EQ(pdus.size(), 3u);
    std::vector<uint8_t> got;
    for (const auto& p : pdus) got.insert(got.end(), p.data.begin(), p.data.end());
    EXPECT_EQ(got, data);
    EXPECT_TRUE(pdus[2].flags & pdu_flags::kLastPdu);
}

// A 10000-byte write whose capsule is out, which the controller then fails before taking its data.
class WriteFailedEarly : public ::testing::Test {
protected:
    void SetUp() override {
        h.bring_up();
        cid = h.write(iov, 10000);
        h.sent();
    }
    Harness h{io_config()};
    const std::vector<uint8_t> data = pattern(10000, 9);
    const IoVec iov[1] = {{const_cast<uint8_t*>(data.data()), 10000}};
    uint16_t cid = 0;
};

TEST_F(WriteFailedEarly, BeforeItsDataWentOutItCompletesAtOnce) {
    h.transport.space = 0;
    h.deliver(concat({h.wire.r2t(cid, 3, 0, 10000), h.wire.capsule_resp(cid, nvme::status::kDataTransferError)}));
    ASSERT_EQ(h.log.entries.size(), 1u);
    EXPECT_EQ(h.log.entries[0].completion.status, nvme::status::kDataTransferError);
    h.transport.space = std::numeric_limits<size_t>::max();
    h.queue->on_transport_writable();
    EXPECT_TRUE(h.sent().empty()) << "no H2CData for a completed command";
    EXPECT_EQ(h.queue->state(), QueueState::Ready);
}

// The response is held while the H2CData already begun goes out, then delivered as the controller
// sent it: status, DW0 and DW1 (the slot keeps them in the record an asynchronous teardown uses too).
TEST_F(WriteFailedEarly, WhileItsDataIsOnTheWireItCompletesWithTheResponseOnceItIsOut) {
    h.transport.space = 100;  // the H2CData's header and some of its data: begun, not finished
    h.deliver(h.wire.r2t(cid, 3, 0, 10000));
    h.deliver(h.wire.capsule_resp(cid, nvme::status::kDataTransferError, 0x11223344u, 0x55667788u));
    EXPECT_TRUE(h.log.entries.empty()) << "completed with a PDU of it half sent";
    h.transport.space = std::numeric_limits<size_t>::max();
    h.queue->on_transport_writable();
    ASSERT_EQ(h.log.entries.size(), 1u);
    const Completion& c = h.log.entries[0].completion;
    EXPECT_EQ(c.status, nvme::status::kDataTransferError);
    EXPECT_EQ(c.dw0, 0x11223344u);
    EXPECT_EQ(c.dw1, 0x55667788u);
    EXPECT_EQ(c.reason, nullptr);
    EXPECT_EQ(h.queue->state(), QueueState::Ready);
}

TEST(Queue, Depth128AllOutstandingCompleteOutOfOrder) {
    QueueConfig c = io_config();
    c.depth = 128;
    Harness h(c, Split::Odd);
    h.bring_up();
    std::vector<std::vector<uint8_t>> bufs(128, std::vector<uint8_t>(1024));
    std::vector<IoVec> iovs(128);
    std::vector<uint16_t> cids;
    for (size_t i = 0; i < 128; ++i) {
        iovs[i] = IoVec{bufs[i].data(), 1024};
        cids.push_back(h.read(std::span<const IoVec>(&iovs[i], 1), 1024));
    }
    EXPECT_EQ(h.queue->outstanding(), 128u);
    std::vector<uint8_t> extra(16);
    const IoVec extra_iov[] = {{extra.data(), 16}};
    IoRequest r;
    r.sqe = nvme::make_read(0, 1, 0, 1, 16);
    r.data = extra_iov;
    r.data_len = 16;
    r.done = &CompletionLog::record;
    r.ctx = &h.log;
    EXPECT_EQ(h.queue->submit(r), SubmitResult::QueueFull);
    EXPECT_EQ(h.sent().size(), 128u);
    std::vector<uint8_t> script;
    for (size_t i = 128; i-- > 0;) {
        const auto part = concat({h.wire.c2h(cids[i], 0, pattern(1024, static_cast<uint32_t>(i)), pdu_flags::kLastPdu),
                                  h.wire.capsule_resp(cids[i])});
        script.insert(script.end(), part.begin(), part.end());
    }
    h.deliver(script);
    ASSERT_EQ(h.log.entries.size(), 128u);
    for (size_t i = 0; i < 128; ++i) {
        EXPECT_TRUE(h.log.find(cids[i])->completion.status.ok());
        EXPECT_EQ(bufs[i], pattern(1024, static_cast<uint32_t>(i))) << i;
    }
    EXPECT_EQ(h.queue->outstanding(), 0u);
    EXPECT_EQ(h.queue->state(), QueueState::Ready);
}

TEST(Queue, SubmitRefusals) {
    QueueConfig c = io_config();
    c.max_data_len = 8192;
    Harness h(c);
    IoRequest r;
    r.done = &CompletionLog::record;
    EXPECT_EQ(h.queue->submit(r), SubmitResult::NotReady);
    h.bring_up();
    std::vector<uint8_t> buf(16384);
    const IoVec iov[] = {{buf.data(), 16384}};
    r.data = iov;
    r.data_len = 16384;
    EXPECT_EQ(h.queue->submit(r), SubmitResult::TooLarge);
    const IoVec short_iov[] = {{buf.data(), 100}};
    r.data = short_iov;
    r.data_len = 200;
    EXPECT_EQ(h.queue->submit(r), SubmitResult::Failed) << "buffers shorter than data_len";
    EXPECT_STREQ(to_string(SubmitResult::QueueFull), "queue full");
}

// The offload hooks: called before a read goes out and before completion; a refusal fails the submit.
struct RecordingObserver : QueueObserver {
    uint64_t ic_offset = 0;
    uint32_t ic_seq = 0;
    std::vector<uint16_t> reads, completes;
    bool refuse = false;
    void on_ic_done(Queue&, uint64_t next, const RxPiece& piece) override {
        ic_offset = next;
        ic_seq = piece.seq;
    }
    bool before_send_read(Queue&, uint16_t cid, const IoRequest&) override {
        reads.push_back(cid);
        return !refuse;
    }
    void before_complete(Queue&, uint16_t cid) override { completes.push_back(cid); }
};

TEST(Queue, ObserverHooks) {
    Harness h(io_config());
    RecordingObserver observer;
    h.queue->set_observer(&observer);
    h.bring_up();
    EXPECT_EQ(observer.ic_offset, 128u);
    EXPECT_EQ(observer.ic_seq, 1000u + 128u) << "the sequence number of the first byte after the ICResp";
    std::vector<uint8_t> buf(512);
    const IoVec iov[] = {{buf.data(), 512}};
    const uint16_t cid = h.read(iov, 512);
    ASSERT_EQ(observer.reads.size(), 1u);
    EXPECT_EQ(observer.reads[0], cid);
    h.sent();
    h.deliver(concat({h.wire.c2h(cid, 0, pattern(512, 1), pdu_flags::kLastPdu), h.wire.capsule_resp(cid)}));
    ASSERT_FALSE(observer.completes.empty());
    EXPECT_EQ(observer.completes.back(), cid);
    observer.refuse = true;
    IoRequest r;
    r.sqe = nvme::make_read(0, 1, 0, 1, 512);
    r.data = iov;
    r.data_len = 512;
    r.done = &CompletionLog::record;
    EXPECT_EQ(h.queue->submit(r), SubmitResult::Failed);
    EXPECT_EQ(h.queue->outstanding(), 0u);
    EXPECT_TRUE(h.sent().empty());
}

}  // namespace
}  // namespace nvmeddp::nvmetcp::host::test
