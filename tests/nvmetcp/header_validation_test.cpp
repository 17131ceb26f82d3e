// Every validation error, produced by a crafted PDU and reported with the right FES and FEI.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "testlib/pdu_stream_gen.hpp"

using namespace nvmeddp::nvmetcp;
using namespace nvmeddp::testlib;

namespace {

ReceiveParams params(Role role, bool hdgst, bool ddgst, uint32_t pda = 0) {
    ReceiveParams p;
    p.role = role;
    p.header_digest = hdgst;
    p.data_digest = ddgst;
    p.pda = pda;
    return p;
}

// Re-seals the header digest after a test edits header bytes, so the edit reaches the field checks
// instead of failing the digest.
void reseal_hdgst(std::vector<uint8_t>& pdu) {
    if (pdu[1] & pdu_flags::kHdgst) store_le32(pdu.data() + pdu[2], crc32c(pdu.data(), pdu[2]));
}

std::vector<uint8_t> c2h_data(bool hdgst, bool ddgst, uint32_t len = 64, uint8_t flags = 0, uint32_t pda = 0) {
    std::vector<uint8_t> bytes;
    std::vector<uint8_t> data(len, 0x5A);
    append_pdu(bytes, make_c2h_data(1, 0, len, flags), data, SendParams{hdgst, ddgst, pda});
    return bytes;
}

ParseOutcome parse(const ReceiveParams& p, const std::vector<uint8_t>& bytes, bool expect_ic = false,
                   TransferValidator* validator = nullptr) {
    StreamParser parser(p, expect_ic, validator);
    return parse_whole(parser, bytes);
}

void expect_error(const ParseOutcome& out, ErrorKind kind, Fes fes, uint32_t fei, uint64_t pdu_offset = 0) {
    ASSERT_TRUE(out.failed) << "expected " << to_string(kind);
    EXPECT_EQ(out.error.kind, kind) << to_string(out.error.kind);
    EXPECT_EQ(out.error.fes, fes) << to_string(out.error.fes);
    EXPECT_EQ(out.error.fei, fei);
    EXPECT_EQ(out.error.pdu_offset, pdu_offset);
    EXPECT_TRUE(out.error.fatal);
}

}  // namespace

TEST(HeaderValidation, UnknownTypeIsInvalidHeaderFieldAtType) {
    auto pdu = c2h_data(false, false);
    pdu[0] = 8;  // no PDU has type 8
    expect_error(parse(params(Role::Host, false, false), pdu), ErrorKind::UnknownPduType, Fes::InvalidHeaderField, 0);
    pdu[0] = 0x42;
    expect_error(parse(params(Role::Host, false, false), pdu), ErrorKind::UnknownPduType, Fes::InvalidHeaderField, 0);
}

TEST(HeaderValidation, PduOfTheOtherDirectionIsRefused) {
    auto pdu = c2h_data(false, false);
    expect_error(parse(params(Role::Controller, false, false), pdu), ErrorKind::UnknownPduType,
                 Fes::InvalidHeaderField, 0);
    std::vector<uint8_t> h2c;
    append_pdu(h2c, make_h2c_data(1, 1, 0, 8, 0), std::vector<uint8_t>(8), SendParams{});
    expect_error(parse(params(Role::Host, false, false), h2c), ErrorKind::UnknownPduType, Fes::InvalidHeaderField, 0);
}

TEST(HeaderValidation, HlenPerType) {
    auto pdu = c2h_data(false, false);
    pdu[2] = 28;
    expect_error(parse(params(Role::Host, false, false), pdu), ErrorKind::BadHlen, Fes::InvalidHeaderField, 2);
    std::vector<uint8_t> resp;
    append_pdu(resp, make_icresp(0, 0, 4096), {}, SendParams{});
    resp[2] = 127;
    expect_error(parse(params(Role::Host, false, false), resp, true), ErrorKind::BadHlen, Fes::InvalidHeaderField, 2);
}

TEST(HeaderValidation, PdoBelowHeaderPlusDigest) {
    auto pdu = c2h_data(true, false);
    pdu[3] = 24;  // header digest makes it 28
    expect_error(parse(params(Role::Host, true, false), pdu), ErrorKind::BadPdo, Fes::InvalidHeaderField, 3);
}

TEST(HeaderValidation, PdoMustRespectPda) {
    // pda 1 = 8-byte alignment: 24 + 4 header digest = 28 -> data at 32.
    auto pdu = c2h_data(true, false, 64, 0, 1);
    EXPECT_EQ(pdu[3], 32);
    EXPECT_FALSE(parse(params(Role::Host, true, false, 1), pdu).failed);
    // The same PDU is wrong for a receiver that asked for no padding...
    expect_error(parse(params(Role::Host, true, false, 0), pdu), ErrorKind::BadPdo, Fes::InvalidHeaderField, 3);
    // ...and padding that is not what the alignment gives is wrong too.
    auto odd = c2h_data(true, false, 64, 0, 1);
    odd[3] = 36;
    odd[4] = static_cast<uint8_t>(odd[4] + 4);  // keep plen consistent so pdo is the only fault
    reseal_hdgst(odd);
    expect_error(parse(params(Role::Host, true, false, 1), odd), ErrorKind::BadPdo, Fes::InvalidHeaderField, 3);
}

TEST(HeaderValidation, PdoPastPlenNeverWraps) {
    auto pdu = c2h_data(false, false, 4);
    // pdo 24 is fine; plen below pdo would make the data length negative.
    pdu[4] = 20;
    expect_error(parse(params(Role::Host, false, false), pdu), ErrorKind::BadPlen, Fes::InvalidHeaderField, 4);
    pdu[4] = 24;  // plen == pdo: a data PDU without data
    expect_error(parse(params(Role::Host, false, false), pdu), ErrorKind::DataLengthZero, Fes::InvalidHeaderField, 4);
}

TEST(HeaderValidation, PlenOfFixedSizePdus) {
    std::vector<uint8_t> resp;
    NvmeCqe cqe{};
    append_pdu(resp, make_capsule_resp(cqe), {}, SendParams{});
    resp[4] = 28;
    resp.resize(28);
    expect_error(parse(params(Role::Host, false, false), resp), ErrorKind::BadPlen, Fes::InvalidHeaderField, 4);

    std::vector<uint8_t> ic;
    append_pdu(ic, make_icresp(0, 0, 4096), {}, SendParams{});
    ic[4] = 129;
    expect_error(parse(params(Role::Host, false, false), ic, true), ErrorKind::BadPlen, Fes::InvalidHeaderField, 4);

    std::vector<uint8_t> r2t;
    append_pdu(r2t, make_r2t(1, 1, 0, 10), {}, SendParams{});
    r2t[4] = 23;
    expect_error(parse(params(Role::Host, false, false), r2t), ErrorKind::BadPlen, Fes::InvalidHeaderField, 4);
}

TEST(HeaderValidation, TermReqPlenBounds) {
    for (uint32_t plen : {23u, 153u, 1000u}) {
        std::vector<uint8_t> term;
        append_pdu(term, make_term_req(PduType::C2HTermReq, Fes::InvalidHeaderField, 0), {}, SendParams{});
        term[4] = static_cast<uint8_t>(plen);
        term[5] = static_cast<uint8_t>(plen >> 8);
        expect_error(parse(params(Role::Host, false, false), term), ErrorKind::BadPlen, Fes::InvalidHeaderField, 4);
    }
    std::vector<uint8_t> term;
    append_pdu(term, make_term_req(PduType::C2HTermReq, Fes::InvalidHeaderField, 0), std::vector<uint8_t>(128), SendParams{});
    EXPECT_FALSE(parse(params(Role::Host, false, false), term).failed) << "152 bytes is the maximum, and allowed";
}

TEST(HeaderValidation, PlenOverTheReceiveLimitIsRefusedBeforeReading) {
    auto p = params(Role::Host, false, false);
    p.limits.max_data_len = 4096;
    auto pdu = c2h_data(false, false, 4097);
    expect_error(parse(p, pdu), ErrorKind::DataLimitExceeded, Fes::DataLimitExceeded, 4);
    // A lying plen of 4 GiB with just a header in hand is refused at once.
    std::vector<uint8_t> header(pdu.begin(), pdu.begin() + 8);
    header[4] = header[5] = header[6] = header[7] = 0xFF;
    StreamParser parser(p, false);
    auto step = parser.step(header);
    EXPECT_EQ(step.event.kind, EventKind::Error);
    EXPECT_EQ(step.event.error.fei, 4u);
}

TEST(HeaderValidation, DigestFlagsMustMatchNegotiation) {
    expect_error(parse(params(Role::Host, true, false), c2h_data(false, false)), ErrorKind::BadDigestFlags,
                 Fes::InvalidHeaderField, 1);
    expect_error(parse(params(Role::Host, false, false), c2h_data(true, false)), ErrorKind::BadDigestFlags,
                 Fes::InvalidHeaderField, 1);
    expect_error(parse(params(Role::Host, false, true), c2h_data(false, false)), ErrorKind::BadDigestFlags,
                 Fes::InvalidHeaderField, 1);
    expect_error(parse(params(Role::Host, false, false), c2h_data(false, true)), ErrorKind::BadDigestFlags,
                 Fes::InvalidHeaderField, 1);
    // A data digest flag on a PDU that carries no data.
    std::vector<uint8_t> resp;
    append_pdu(resp, make_capsule_resp(NvmeCqe{}), {}, SendParams{});
    resp[1] |= pdu_flags::kDdgst;
    expect_error(parse(params(Role::Host, false, true), resp), ErrorKind::BadDigestFlags, Fes::InvalidHeaderField, 1);
    // Digest flags on a TermReq (which never carries digests).
    std::vector<uint8_t> term;
    append_pdu(term, make_term_req(PduType::C2HTermReq, Fes::InvalidHeaderField, 0), {}, SendParams{});
    term[1] |= pdu_flags::kHdgst;
    expect_error(parse(params(Role::Host, true, false), term), ErrorKind::BadDigestFlags, Fes::InvalidHeaderField, 1);
}

TEST(HeaderValidation, HeaderDigestMismatch) {
    auto pdu = c2h_data(true, false);
    pdu[12] ^= 0x01;  // datao changes, digest no longer matches
    expect_error(parse(params(Role::Host, true, false), pdu), ErrorKind::HeaderDigestMismatch,
                 Fes::HeaderDigestError, 24);
}

// The two checks a receiver following a stream from its middle makes on its own (the offload engine,
// the resync header search): IC PDUs are a sequence error there, and the header digest is checked
// on a complete header.
TEST(HeaderValidation, StreamHeaderRefusesIcAndHeaderDigestIsChecked) {
    std::vector<uint8_t> ic;
    append_pdu(ic, make_icresp(0, 0, 128 * 1024), {}, SendParams{});
    CommonHeader ch;
    std::memcpy(&ch, ic.data(), sizeof ch);
    PduLayout layout;
    EXPECT_FALSE(check_common_header(ch, params(Role::Host, false, false), layout));  // fine at the start
    const ParseError e = check_stream_header(ch, params(Role::Host, false, false), layout);
    EXPECT_EQ(e.kind, ErrorKind::UnexpectedPdu);
    EXPECT_EQ(e.fes, Fes::PduSequenceError);
    EXPECT_EQ(e.fei, 0u);

    auto pdu = c2h_data(true, false);
    std::memcpy(&ch, pdu.data(), sizeof ch);
    ASSERT_FALSE(check_stream_header(ch, params(Role::Host, true, false), layout));
    EXPECT_FALSE(check_header_digest(pdu.data(), layout));
    pdu[12] ^= 0x01;
    const ParseError d = check_header_digest(pdu.data(), layout);
    EXPECT_EQ(d.kind, ErrorKind::HeaderDigestMismatch);
    EXPECT_EQ(d.fes, Fes::HeaderDigestError);
    EXPECT_EQ(d.fei, 24u);
    // Without a header digest in the layout there is nothing to check.
    auto plain = c2h_data(false, false);
    std::memcpy(&ch, plain.data(), sizeof ch);
    ASSERT_FALSE(check_stream_header(ch, params(Role::Host, false, false), layout));
    plain[12] ^= 0x01;
    EXPECT_FALSE(check_header_digest(plain.data(), layout));
}

TEST(HeaderValidation, SuccessWithoutLastPdu) {
    auto pdu = c2h_data(false, false, 64, pdu_flags::kSuccess);
    expect_error(parse(params(Role::Host, false, false), pdu), ErrorKind::BadFlags, Fes::InvalidHeaderField, 1);
    auto ok = c2h_data(false, false, 64, pdu_flags::kSuccess | pdu_flags::kLastPdu);
    EXPECT_FALSE(parse(params(Role::Host, false, false), ok).failed);
}

TEST(HeaderValidation, DatalMustMatchPlen) {
    auto pdu = c2h_data(true, true, 64);
    pdu[16] = 65;
    reseal_hdgst(pdu);
    expect_error(parse(params(Role::Host, true, true), pdu), ErrorKind::DatalMismatch, Fes::InvalidHeaderField, 16);
    pdu[16] = 0;
    reseal_hdgst(pdu);
    expect_error(parse(params(Role::Host, true, true), pdu), ErrorKind::DataLengthZero, Fes::InvalidHeaderField, 16);
}

TEST(HeaderValidation, DataoPlusDatalMustNotWrap) {
    std::vector<uint8_t> pdu;
    append_pdu(pdu, make_c2h_data(1, 0xFFFFFFF0u, 64, 0), std::vector<uint8_t>(64), SendParams{});
    expect_error(parse(params(Role::Host, false, false), pdu), ErrorKind::DataOutOfRange, Fes::DataOutOfRange, 12);
}

TEST(HeaderValidation, H2CDataOverMaxh2cdata) {
    auto p = params(Role::Controller, false, false);
    p.limits.maxh2cdata = 4096;
    std::vector<uint8_t> pdu;
    append_pdu(pdu, make_h2c_data(1, 1, 0, 8192, 0), std::vector<uint8_t>(8192), SendParams{});
    expect_error(parse(p, pdu), ErrorKind::DataLimitExceeded, Fes::DataLimitExceeded, 16);
}

TEST(HeaderValidation, R2TWithoutLength) {
    std::vector<uint8_t> pdu;
    append_pdu(pdu, make_r2t(1, 1, 0, 0), {}, SendParams{});
    expect_error(parse(params(Role::Host, false, false), pdu), ErrorKind::DataLengthZero, Fes::InvalidHeaderField, 16);
}

TEST(HeaderValidation, IcRespParameters) {
    auto bad = [](auto edit) {
        std::vector<uint8_t> ic;
        append_pdu(ic, make_icresp(0, 0, 131072), {}, SendParams{});
        edit(ic);
        return parse(params(Role::Host, false, false), ic, true);
    };
    expect_error(bad([](auto& b) { b[8] = 1; }), ErrorKind::UnsupportedPfv, Fes::UnsupportedParameter, 8);
    expect_error(bad([](auto& b) { b[10] = 32; }), ErrorKind::BadIcParameter, Fes::InvalidHeaderField, 10);
    expect_error(bad([](auto& b) { store_le32(b.data() + 12, 4095); }), ErrorKind::BadIcParameter,
                 Fes::InvalidHeaderField, 12);
    expect_error(bad([](auto& b) { store_le32(b.data() + 12, 4098); }), ErrorKind::BadIcParameter,
                 Fes::InvalidHeaderField, 12);
    std::vector<uint8_t> req;
    append_pdu(req, make_icreq(40, 0, 0), {}, SendParams{});
    expect_error(parse(params(Role::Controller, false, false), req, true), ErrorKind::BadIcParameter,
                 Fes::InvalidHeaderField, 10);
}

TEST(HeaderValidation, PduSequence) {
    // Data before the IC exchange.
    expect_error(parse(params(Role::Host, false, false), c2h_data(false, false), true), ErrorKind::UnexpectedPdu,
                 Fes::PduSequenceError, 0);
    // A second ICResp.
    std::vector<uint8_t> two;
    append_pdu(two, make_icresp(0, 0, 4096), {}, SendParams{});
    append_pdu(two, make_icresp(0, 0, 4096), {}, SendParams{});
    expect_error(parse(params(Role::Host, false, false), two, true), ErrorKind::UnexpectedPdu, Fes::PduSequenceError,
                 0, 128);
    // Anything after a TermReq.
    std::vector<uint8_t> after;
    append_pdu(after, make_term_req(PduType::C2HTermReq, Fes::InvalidHeaderField, 4), {}, SendParams{});
    append_pdu(after, make_capsule_resp(NvmeCqe{}), {}, SendParams{});
    auto out = parse(params(Role::Host, false, false), after);
    EXPECT_EQ(out.pdus.size(), 1u);
    expect_error(out, ErrorKind::UnexpectedPdu, Fes::PduSequenceError, 0, 24);
}

namespace {

// A receiver with one outstanding READ of 8 KiB as command id 5, expecting data in order.
class OneRead : public TransferValidator {
public:
    Verdict check_transfer(PduType, uint16_t cccid, uint16_t, uint32_t offset, uint32_t length) override {
        if (cccid != 5) return Verdict::UnknownCommand;
        if (offset != next_) return Verdict::OffsetOutOfRange;
        if (uint64_t{offset} + length > 8192) return Verdict::LengthOutOfRange;
        next_ = offset + length;
        return Verdict::Ok;
    }
    uint32_t next_ = 0;
};

std::vector<uint8_t> data_for(uint16_t cid, uint32_t datao, uint32_t datal) {
    std::vector<uint8_t> pdu;
    append_pdu(pdu, make_c2h_data(cid, datao, datal, 0), std::vector<uint8_t>(datal, 1), SendParams{});
    return pdu;
}

}  // namespace

TEST(HeaderValidation, TransferValidatorVerdicts) {
    const auto p = params(Role::Host, false, false);
    {
        OneRead v;
        expect_error(parse(p, data_for(6, 0, 4096), false, &v), ErrorKind::UnknownCommand, Fes::InvalidHeaderField, 8);
    }
    {
        OneRead v;
        expect_error(parse(p, data_for(5, 4096, 4096), false, &v), ErrorKind::DataOutOfRange, Fes::DataOutOfRange, 12);
    }
    {
        OneRead v;
        expect_error(parse(p, data_for(5, 0, 8193), false, &v), ErrorKind::DataOutOfRange, Fes::DataOutOfRange, 16);
    }
    {
        OneRead v;
        auto two = data_for(5, 0, 4096);
        auto second = data_for(5, 4096, 4096);
        two.insert(two.end(), second.begin(), second.end());
        auto out = parse(p, two, false, &v);
        EXPECT_FALSE(out.failed);
        EXPECT_EQ(out.pdus.size(), 2u);
    }
}

TEST(HeaderValidation, DescribeNamesFesAndField) {
    auto out = parse(params(Role::Host, true, false), c2h_data(false, false));
    char buf[256];
    const std::string text = describe(out.error, buf, sizeof buf);
    EXPECT_NE(text.find("FES 1"), std::string::npos) << text;
    EXPECT_NE(text.find("FEI 1"), std::string::npos) << text;
    EXPECT_NE(text.find("HDGSTF"), std::string::npos) << text;
}
