// Every PDU type encodes and parses back to the same fields and data, with and without digests and
// with padding.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <tuple>

#include "testlib/pdu_stream_gen.hpp"

using namespace nvmeddp::nvmetcp;
using namespace nvmeddp::testlib;

namespace {

struct Config {
    bool hdgst;
    bool ddgst;
    uint32_t pda;
};

class PduRoundTrip : public ::testing::TestWithParam<std::tuple<bool, bool, uint32_t>> {
protected:
    Config cfg() const { return {std::get<0>(GetParam()), std::get<1>(GetParam()), std::get<2>(GetParam())}; }
    SendParams send() const { return {cfg().hdgst, cfg().ddgst, cfg().pda}; }
    ReceiveParams receive(Role role) const {
        ReceiveParams p;
        p.role = role;
        p.header_digest = cfg().hdgst;
        p.data_digest = cfg().ddgst;
        p.pda = cfg().pda;
        return p;
    }
    // Parses one PDU (after the IC exchange) and returns it.
    ParsedPdu parse_one(Role role, const std::vector<uint8_t>& bytes) {
        StreamParser parser(receive(role), /*expect_ic=*/false);
        auto out = parse_whole(parser, bytes);
        EXPECT_FALSE(out.failed) << static_cast<int>(out.error.kind) << " fei " << out.error.fei;
        EXPECT_EQ(out.pdus.size(), 1u);
        EXPECT_TRUE(parser.at_pdu_boundary());
        EXPECT_EQ(parser.stream_offset(), bytes.size());
        return out.pdus.empty() ? ParsedPdu{} : out.pdus[0];
    }
    DigestStatus expected_digest(bool has_data) const {
        return (has_data && cfg().ddgst) ? DigestStatus::Verified : DigestStatus::None;
    }
};

}  // namespace

TEST_P(PduRoundTrip, C2HData) {
    std::mt19937_64 rng(1);
    for (uint32_t len : {1u, 3u, 4096u, 65536u + 7}) {
        const auto data = random_bytes(rng, len);
        std::vector<uint8_t> bytes;
        append_pdu(bytes, make_c2h_data(0x1234, 8192, len, pdu_flags::kLastPdu | pdu_flags::kSuccess), data, send());
        const auto pdu = parse_one(Role::Host, bytes);
        ASSERT_EQ(pdu.type, PduType::C2HData);
        C2HDataPdu h;
        std::memcpy(&h, pdu.header.data(), sizeof h);
        EXPECT_EQ(h.cccid.get(), 0x1234);
        EXPECT_EQ(h.datao.get(), 8192u);
        EXPECT_EQ(h.datal.get(), len);
        EXPECT_EQ(h.ch.flags & (pdu_flags::kLastPdu | pdu_flags::kSuccess), pdu_flags::kLastPdu | pdu_flags::kSuccess);
        EXPECT_EQ(h.ch.pdo, expected_pdo(24, cfg().hdgst, cfg().pda));
        EXPECT_EQ(pdu.data, data);
        EXPECT_EQ(pdu.digest, expected_digest(true));
    }
}

TEST_P(PduRoundTrip, H2CData) {
    std::mt19937_64 rng(2);
    const auto data = random_bytes(rng, 5000);
    std::vector<uint8_t> bytes;
    append_pdu(bytes, make_h2c_data(7, 0x55, 4096, 5000, pdu_flags::kLastPdu), data, send());
    const auto pdu = parse_one(Role::Controller, bytes);
    H2CDataPdu h;
    std::memcpy(&h, pdu.header.data(), sizeof h);
    EXPECT_EQ(pdu.type, PduType::H2CData);
    EXPECT_EQ(h.cccid.get(), 7);
    EXPECT_EQ(h.ttag.get(), 0x55);
    EXPECT_EQ(h.datao.get(), 4096u);
    EXPECT_EQ(pdu.data, data);
    EXPECT_EQ(pdu.digest, expected_digest(true));
}

TEST_P(PduRoundTrip, CapsuleCmdWithAndWithoutInCapsuleData) {
    std::mt19937_64 rng(3);
    NvmeSqe sqe{};
    sqe.opcode = 0x02;
    sqe.flags = 0x40;
    sqe.cid.set(99);
    sqe.nsid.set(1);
    sqe.cdw12.set(7);
    for (uint32_t len : {0u, 512u}) {
        const auto data = random_bytes(rng, len);
        std::vector<uint8_t> bytes;
        append_pdu(bytes, make_capsule_cmd(sqe), data, send());
        const auto pdu = parse_one(Role::Controller, bytes);
        CapsuleCmdPdu h;
        std::memcpy(&h, pdu.header.data(), sizeof h);
        EXPECT_EQ(pdu.type, PduType::CapsuleCmd);
        EXPECT_EQ(h.sqe.cid.get(), 99);
        EXPECT_EQ(h.sqe.opcode, 0x02);
        EXPECT_EQ(h.sqe.cdw12.get(), 7u);
        EXPECT_EQ(pdu.data, data);
        EXPECT_EQ(pdu.digest, expected_digest(len > 0));
    }
}

TEST_P(PduRoundTrip, CapsuleResp) {
    NvmeCqe cqe{};
    cqe.cid.set(0xFFFF);
    cqe.status.set(0x0002);
    cqe.sqhd.set(17);
    std::vector<uint8_t> bytes;
    append_pdu(bytes, make_capsule_resp(cqe), {}, send());
    EXPECT_EQ(bytes.size(), 24u + (cfg().hdgst ? 4 : 0)) << "no padding or data digest without data";
    const auto pdu = parse_one(Role::Host, bytes);
    CapsuleRespPdu h;
    std::memcpy(&h, pdu.header.data(), sizeof h);
    EXPECT_EQ(h.cqe.cid.get(), 0xFFFF);
    EXPECT_EQ(h.cqe.status.get(), 0x0002);
    EXPECT_EQ(h.cqe.sqhd.get(), 17);
    EXPECT_EQ(pdu.digest, DigestStatus::None);
}

TEST_P(PduRoundTrip, R2T) {
    std::vector<uint8_t> bytes;
    append_pdu(bytes, make_r2t(3, 4, 65536, 131072), {}, send());
    const auto pdu = parse_one(Role::Host, bytes);
    R2TPdu h;
    std::memcpy(&h, pdu.header.data(), sizeof h);
    EXPECT_EQ(pdu.type, PduType::R2T);
    EXPECT_EQ(h.cccid.get(), 3);
    EXPECT_EQ(h.ttag.get(), 4);
    EXPECT_EQ(h.r2to.get(), 65536u);
    EXPECT_EQ(h.r2tl.get(), 131072u);
}

TEST_P(PduRoundTrip, TermReqCarriesErrorDataAndNoDigests) {
    std::vector<uint8_t> offending(24, 0xAB);
    for (auto type : {PduType::C2HTermReq, PduType::H2CTermReq}) {
        std::vector<uint8_t> bytes;
        append_pdu(bytes, make_term_req(type, Fes::HeaderDigestError, 24), offending, send());
        EXPECT_EQ(bytes.size(), 48u) << "TermReq never carries digests or padding";
        const auto pdu = parse_one(type == PduType::C2HTermReq ? Role::Host : Role::Controller, bytes);
        TermReqPdu h;
        std::memcpy(&h, pdu.header.data(), sizeof h);
        EXPECT_EQ(h.fes.get(), 3);
        EXPECT_EQ(h.fei.get(), 24u);
        EXPECT_EQ(pdu.data, offending);
        EXPECT_EQ(pdu.digest, DigestStatus::None);
    }
}

TEST_P(PduRoundTrip, IcExchange) {
    std::vector<uint8_t> resp;
    append_pdu(resp, make_icresp(2, ic_digest::kHeader | ic_digest::kData, 131072), {}, send());
    ASSERT_EQ(resp.size(), 128u) << "IC PDUs never carry digests";
    StreamParser host(receive(Role::Host), /*expect_ic=*/true);
    auto out = parse_whole(host, resp);
    ASSERT_FALSE(out.failed);
    ICRespPdu r;
    std::memcpy(&r, out.pdus.at(0).header.data(), sizeof r);
    EXPECT_EQ(r.cpda, 2);
    EXPECT_EQ(r.dgst, 3);
    EXPECT_EQ(r.maxh2cdata.get(), 131072u);

    std::vector<uint8_t> req;
    append_pdu(req, make_icreq(0, ic_digest::kData, 3), {}, send());
    StreamParser ctrl(receive(Role::Controller), /*expect_ic=*/true);
    out = parse_whole(ctrl, req);
    ASSERT_FALSE(out.failed);
    ICReqPdu q;
    std::memcpy(&q, out.pdus.at(0).header.data(), sizeof q);
    EXPECT_EQ(q.dgst, ic_digest::kData);
    EXPECT_EQ(q.maxr2t.get(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Digests, PduRoundTrip,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(), ::testing::Values(0u, 1u, 31u)));
