// The NVMe/TCP connection level of the built-in target: the IC exchange (digests, alignment both
// ways), fatal protocol errors answered with a C2HTermReq naming the field, data digest errors that
// fail one command, the host's H2CTermReq, and the send-side fault injection.
#include <gtest/gtest.h>

#include <cstring>

#include "target_fixture.hpp"

namespace nvmeddp::nvmetcp::target::testing {
namespace {

using namespace nvme;

struct IcCase {
    bool header_digest, data_digest;
    uint8_t hpda, cpda;
};

class TargetIc : public ::testing::TestWithParam<IcCase> {};

// Every digest combination with and without alignment: the ICResp grants what was asked, C2HData
// is padded to the host's HPDA, and H2CData padded to the CPDA is taken.
TEST_P(TargetIc, DigestsAndPadding) {
    const IcCase p = GetParam();
    TargetConfig config = test_config();
    config.cpda = p.cpda;
    RunningTarget t(config);
    QueueOptions options{p.header_digest, p.data_digest, p.hpda, false, 32};
    uint16_t cntlid = 0;
    auto admin = admin_session(t, &cntlid, options);
    ASSERT_TRUE(admin);
    auto q = io_session(t, cntlid, 1, options);
    ASSERT_TRUE(q);
    const uint8_t expected_dgst = (p.header_digest ? ic_digest::kHeader : 0) | (p.data_digest ? ic_digest::kData : 0);
    EXPECT_EQ(q->icresp().dgst, expected_dgst);
    EXPECT_EQ(q->icresp().cpda, p.cpda);
    EXPECT_EQ(q->icresp().maxh2cdata.get(), config.maxh2cdata);

    std::vector<uint8_t> data(8192);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 13);
    const uint16_t cid = q->next_cid();
    q->send_command(make_write(cid, 1, 64, 16, 8192, false));
    auto r2t = q->wait_r2t();
    ASSERT_TRUE(r2t);
    q->send_pdu(make_h2c_data(cid, r2t->ttag.get(), 0, 8192, pdu_flags::kLastPdu), data);
    auto written = q->wait_completion(cid);
    ASSERT_TRUE(written);
    ASSERT_TRUE(written->status().ok()) << status_text(written->status());

    auto read = q->execute(make_read(q->next_cid(), 1, 64, 16, 8192));
    ASSERT_TRUE(read && read->status().ok());
    EXPECT_EQ(read->data, data);
    ASSERT_EQ(read->c2h_pdos.size(), 1u);
    EXPECT_EQ(read->c2h_pdos[0], expected_pdo(kHlenData, p.header_digest, p.hpda));
    EXPECT_FALSE(read->digest_mismatch);
}

INSTANTIATE_TEST_SUITE_P(Combinations, TargetIc,
                         ::testing::Values(IcCase{false, false, 0, 0}, IcCase{true, false, 0, 0},
                                           IcCase{false, true, 0, 0}, IcCase{true, true, 0, 0},
                                           IcCase{false, false, 3, 1}, IcCase{true, true, 7, 15},
                                           IcCase{true, false, 31, 31}, IcCase{false, true, 15, 3}));

TEST(TargetConnection, DigestsNotAllowedAreNotGranted) {
    TargetConfig config = test_config();
    config.allow_header_digest = false;
    RunningTarget t(config);
    TestClient c(t.port());
    ASSERT_TRUE(c.initialize(0, true, true));
    EXPECT_EQ(c.icresp().dgst, ic_digest::kData);
}

// The C2HTermReq the target sends for a fatal error: FES, FEI, and the offending header as error data.
void expect_term_req(TestClient& c, Fes fes, uint32_t fei, std::span<const uint8_t> sent_header) {
    auto term = c.wait_term_req();
    ASSERT_TRUE(term) << "no C2HTermReq";
    TermReqPdu t;
    std::memcpy(&t, term->data(), sizeof t);
    EXPECT_EQ(t.ch.pdu_type(), PduType::C2HTermReq);
    EXPECT_EQ(t.fes.get(), static_cast<uint16_t>(fes));
    EXPECT_EQ(t.fei.get(), fei);
    ASSERT_GE(term->size(), kHlenTermReq + std::min<size_t>(sent_header.size(), 8));
    const size_t error_len = term->size() - kHlenTermReq;
    EXPECT_LE(error_len, kTermReqMaxErrorData);
    EXPECT_EQ(std::memcmp(term->data() + kHlenTermReq, sent_header.data(), std::min(error_len, sent_header.size())), 0);
    EXPECT_TRUE(c.wait_closed());
}

TEST(TargetConnection, IcReqErrors) {
    RunningTarget t;
    {
        TestClient c(t.port());
        ICReqPdu icreq = make_icreq(32, 0, 0);  // HPDA above 31
        uint8_t bytes[kHlenIc];
        encode_pdu(bytes, icreq, {}, SendParams{});
        c.send_bytes(bytes);
        expect_term_req(c, Fes::InvalidHeaderField, offsetof(ICReqPdu, hpda), bytes);
    }
    {
        TestClient c(t.port());
        ICReqPdu icreq = make_icreq(0, 0, 0);
        icreq.pfv.set(1);
        uint8_t bytes[kHlenIc];
        encode_pdu(bytes, icreq, {}, SendParams{});
        c.send_bytes(bytes);
        expect_term_req(c, Fes::UnsupportedParameter, offsetof(ICReqPdu, pfv), bytes);
    }
    {
        TestClient c(t.port());  // a command before the IC exchange
        CapsuleCmdPdu capsule = make_capsule_cmd(make_keep_alive(1));
        uint8_t bytes[kHlenCapsuleCmd];
        encode_pdu(bytes, capsule, {}, SendParams{});
        c.send_bytes(bytes);
        expect_term_req(c, Fes::PduSequenceError, ch_offset::kType, {bytes, 8});
    }
    EXPECT_EQ(t.stats().errors_sent, 3u);
}

TEST(TargetConnection, BadHlenAndPdo) {
    RunningTarget t;
    uint16_t cntlid = 0;
    auto admin = admin_session(t, &cntlid);
    ASSERT_TRUE(admin);
    {
        auto q = io_session(t, cntlid, 1);
        ASSERT_TRUE(q);
        uint8_t bytes[kHlenCapsuleCmd];
        encode_pdu(bytes, make_capsule_cmd(make_flush(9, 1)), {}, q->send_params());
        bytes[ch_offset::kHlen] = 70;
        q->send_bytes(bytes);
        expect_term_req(*q, Fes::InvalidHeaderField, ch_offset::kHlen, {bytes, 8});
    }
    {
        auto q = io_session(t, cntlid, 1);
        ASSERT_TRUE(q);
        const uint16_t cid = q->next_cid();
        q->send_command(make_write(cid, 1, 0, 1, 512, false));
        auto r2t = q->wait_r2t();
        ASSERT_TRUE(r2t);
        std::vector<uint8_t> pdu(kHlenData + 8 + 512);
        const uint8_t data[512] = {};
        encode_pdu(pdu, make_h2c_data(cid, r2t->ttag.get(), 0, 512, pdu_flags::kLastPdu), data, q->send_params());
        // PDO 32 where CPDA 0 wants the data right after the header (24); plen grows to match.
        pdu[ch_offset::kPdo] = 32;
        store_le32(pdu.data() + ch_offset::kPlen, 32 + 512);
        pdu.insert(pdu.begin() + kHlenData, 8, 0);
        pdu.resize(32 + 512);
        q->send_bytes(pdu);
        expect_term_req(*q, Fes::InvalidHeaderField, ch_offset::kPdo, {pdu.data(), 8});
    }
}

// Sends H2CData for the write's R2T after `edit` changed its header (cccid, ttag, datao, datal, flags).
template <typename Edit>
void h2c_error_case(const RunningTarget& t, uint16_t cntlid, Edit edit, Fes fes, uint32_t fei) {
    auto q = io_session(t, cntlid, 1);
    ASSERT_TRUE(q);
    const uint16_t cid = q->next_cid();
    q->send_command(make_write(cid, 1, 0, 64, 64 * 512, false));
    auto r2t = q->wait_r2t();
    ASSERT_TRUE(r2t);
    H2CDataPdu h = make_h2c_data(cid, r2t->ttag.get(), 0, 4096, 0);
    edit(h);
    std::vector<uint8_t> data(h.datal.get());
    std::vector<uint8_t> pdu(plan_pdu(PduType::H2CData, h.datal.get(), q->send_params()).plen);
    encode_pdu(pdu, h, data, q->send_params());
    q->send_bytes(pdu);
    expect_term_req(*q, fes, fei, {pdu.data(), kHlenData});
}

TEST(TargetConnection, H2CDataRefused) {
    TargetConfig config = test_config();
    config.maxh2cdata = 8192;
    RunningTarget t(config);
    uint16_t cntlid = 0;
    auto admin = admin_session(t, &cntlid);
    ASSERT_TRUE(admin);
    // An unknown TTAG / a cccid that is not the R2T's: no such transfer.
    h2c_error_case(t, cntlid, [](H2CDataPdu& h) { h.ttag.set(77); }, Fes::InvalidHeaderField, 8);
    h2c_error_case(t, cntlid, [](H2CDataPdu& h) { h.cccid.set(4242); }, Fes::InvalidHeaderField, 8);
    // Not where the data stands (out of order), or past the R2T's end.
    h2c_error_case(t, cntlid, [](H2CDataPdu& h) { h.datao.set(4096); }, Fes::DataOutOfRange, 12);
    // Larger than MAXH2CDATA: refused from its PLEN, before any of it is read.
    h2c_error_case(t, cntlid, [](H2CDataPdu& h) { h.datal.set(12288); }, Fes::DataLimitExceeded, ch_offset::kPlen);
    // LAST_PDU on a PDU that does not end the R2T's window.
    h2c_error_case(t, cntlid, [](H2CDataPdu& h) { h.ch.flags = pdu_flags::kLastPdu; }, Fes::InvalidHeaderField,
                   ch_offset::kFlags);
}

TEST(TargetConnection, H2CDataPastTheWindow) {
    TargetConfig config = test_config();
    config.r2t_split = 4096;
    RunningTarget t(config);
    uint16_t cntlid = 0;
    auto admin = admin_session(t, &cntlid);
    ASSERT_TRUE(admin);
    h2c_error_case(t, cntlid, [](H2CDataPdu& h) { h.datal.set(8192); h.ch.flags = pdu_flags::kLastPdu; },
                   Fes::DataOutOfRange, 16);
}

TEST(TargetConnection, DataDigestErrorFailsOnlyThatCommand) {
    RunningTarget t;
    uint16_t cntlid = 0;
    QueueOptions options;
    options.data_digest = true;
    auto admin = admin_session(t, &cntlid, options);
    ASSERT_TRUE(admin);
    auto q = io_session(t, cntlid, 1, options);
    ASSERT_TRUE(q);
    std::vector<uint8_t> data(4096, 0xA5);
    const uint16_t cid = q->next_cid();
    q->send_command(make_write(cid, 1, 8, 8, 4096, false));
    auto r2t = q->wait_r2t();
    ASSERT_TRUE(r2t);
    std::vector<uint8_t> pdu(plan_pdu(PduType::H2CData, 4096, q->send_params()).plen);
    encode_pdu(pdu, make_h2c_data(cid, r2t->ttag.get(), 0, 4096, pdu_flags::kLastPdu), data, q->send_params());
    pdu.back() ^= 0x01;  // the DDGST
    q->send_bytes(pdu);
    auto failed = q->wait_completion(cid);
    ASSERT_TRUE(failed);
    EXPECT_EQ(failed->status(), status::kTransientTransportError);

    // The connection carries on: an in-capsule write with a bad digest fails too, the next works.
    std::vector<uint8_t> capsule(plan_pdu(PduType::CapsuleCmd, 512, q->send_params()).plen);
    const uint16_t cid2 = q->next_cid();
    encode_pdu(capsule, make_capsule_cmd(make_write(cid2, 1, 0, 1, 512, true)), std::span(data).first(512),
               q->send_params());
    capsule.back() ^= 0x80;
    q->send_bytes(capsule);
    auto failed2 = q->wait_completion(cid2);
    ASSERT_TRUE(failed2);
    EXPECT_EQ(failed2->status(), status::kTransientTransportError);
    auto read = q->execute(make_read(q->next_cid(), 1, 100, 1, 512));
    ASSERT_TRUE(read && read->status().ok());
    EXPECT_EQ(pattern_mismatch(read->data, 100 * 512), 512u);
    EXPECT_EQ(t.stats().digest_errors, 2u);
}

TEST(TargetConnection, HostTermReqCloses) {
    RunningTarget t;
    uint16_t cntlid = 0;
    auto admin = admin_session(t, &cntlid);
    ASSERT_TRUE(admin);
    auto q = io_session(t, cntlid, 1);
    ASSERT_TRUE(q);
    const uint8_t error_data[8] = {4, 0, 72, 0, 72, 0, 0, 0};
    q->send_pdu(make_term_req(PduType::H2CTermReq, Fes::InvalidHeaderField, 2), error_data);
    EXPECT_TRUE(q->wait_closed());
    EXPECT_TRUE(q->closed_by_target());
    // The admin queue is not affected.
    auto ka = admin->execute(make_keep_alive(admin->next_cid()));
    ASSERT_TRUE(ka && ka->status().ok());
    EXPECT_EQ(t.stats().errors_received, 1u);
}

// --- faults ---------------------------------------------------------------------------------------

TEST(TargetFaults, TermReqAfterDataBytes) {
    TargetConfig config = test_config();
    config.faults.term_after_data_bytes = 10000;
    RunningTarget t(config);
    uint16_t cntlid = 0;
    auto admin = admin_session(t, &cntlid);
    ASSERT_TRUE(admin);
    auto q = io_session(t, cntlid, 1);
    ASSERT_TRUE(q);
    auto first = q->execute(make_read(q->next_cid(), 1, 0, 8, 4096));
    ASSERT_TRUE(first && first->status().ok());  // 4096 bytes: below the threshold
    const uint16_t cid = q->next_cid();
    q->send_command(make_read(cid, 1, 16, 32, 16384));
    auto term = q->wait_term_req();
    ASSERT_TRUE(term);
    TermReqPdu tr;
    std::memcpy(&tr, term->data(), sizeof tr);
    EXPECT_EQ(tr.fes.get(), static_cast<uint16_t>(Fes::PduSequenceError));
    EXPECT_TRUE(q->wait_closed());
    EXPECT_FALSE(q->wait_completion(cid));
    EXPECT_EQ(t.stats().faults_injected, 1u);
}

TEST(TargetFaults, TermReqCutsTheDataPdu) {
    TargetConfig config = test_config();
    config.faults.term_after_data_bytes = 5000;
    RunningTarget t(config);
    uint16_t cntlid = 0;
    auto admin = admin_session(t, &cntlid);
    ASSERT_TRUE(admin);
    auto q = io_session(t, cntlid, 1, QueueOptions{true, true, 0, false, 32});
    ASSERT_TRUE(q);
    // The C2HData says 5000 bytes (without LAST_PDU) and carries them; the TermReq follows it.
    q->send_command(make_read(3, 1, 0, 16, 8192));
    ASSERT_TRUE(q->wait_term_req());
    EXPECT_TRUE(q->parse_error().kind == ErrorKind::None);  // every PDU was well formed
    const Completion* partial = q->partial(3);
    ASSERT_NE(partial, nullptr);
    ASSERT_EQ(partial->c2h_headers.size(), 1u);
    EXPECT_EQ(partial->c2h_headers[0].datal.get(), 5000u);
    EXPECT_EQ(partial->c2h_headers[0].ch.flags & (pdu_flags::kLastPdu | pdu_flags::kSuccess), 0);
    EXPECT_FALSE(partial->digest_mismatch);
    EXPECT_EQ(pattern_mismatch(partial->data, 0), 5000u);
    EXPECT_EQ(t.stats().c2h_pdus, 1u);
    EXPECT_EQ(t.stats().errors_sent, 1u);
}

TEST(TargetFaults, DisconnectInTheMiddleOfAPdu) {
    TargetConfig config = test_config();
    config.faults.disconnect_after_data_bytes = 6000;
    RunningTarget t(config);
    uint16_t cntlid = 0;
    auto admin = admin_session(t, &cntlid);
    ASSERT_TRUE(admin);
    auto q = io_session(t, cntlid, 1);
    ASSERT_TRUE(q);
    const uint16_t cid = q->next_cid();
    q->send_command(make_read(cid, 1, 0, 32, 16384));
    EXPECT_FALSE(q->wait_completion(cid));
    EXPECT_TRUE(q->closed_by_target());
    EXPECT_FALSE(q->timed_out());
    EXPECT_EQ(q->partial(cid), nullptr);  // the C2HData never ended: the stream stopped inside it
    EXPECT_EQ(t.stats().faults_injected, 1u);
}

TEST(TargetFaults, CorruptedDataDigestEveryNth) {
    TargetConfig config = test_config();
    config.faults.corrupt_data_digest_every = 3;
    config.c2h_split = 4096;
    RunningTarget t(config);
    uint16_t cntlid = 0;
    QueueOptions options;
    options.data_digest = true;
    auto admin = admin_session(t, &cntlid);
    ASSERT_TRUE(admin);
    auto q = io_session(t, cntlid, 1, options);
    ASSERT_TRUE(q);
    // 6 reads of one PDU each: the 3rd and the 6th carry a wrong digest, the data itself is right.
    for (int i = 1; i <= 6; ++i) {
        auto r = q->execute(make_read(q->next_cid(), 1, i * 8, 8, 4096));
        ASSERT_TRUE(r && r->status().ok());
        EXPECT_EQ(r->digest_mismatch, i % 3 == 0) << i;
        EXPECT_EQ(pattern_mismatch(r->data, i * 8 * 512), 4096u);
    }
    EXPECT_EQ(t.stats().faults_injected, 2u);
}

}  // namespace
}  // namespace nvmeddp::nvmetcp::target::testing
