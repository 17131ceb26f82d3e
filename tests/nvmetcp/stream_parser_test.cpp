// Stream parser behaviour: events, zero-copy data, digests, state across calls.
#include <gtest/gtest.h>

#include <random>

#include "testlib/pdu_stream_gen.hpp"

using namespace nvmeddp::nvmetcp;
using namespace nvmeddp::testlib;

namespace {

ReceiveParams host(bool hdgst, bool ddgst) {
    ReceiveParams p;
    p.header_digest = hdgst;
    p.data_digest = ddgst;
    return p;
}

}  // namespace

TEST(StreamParser, EmptyInputNeedsMore) {
    StreamParser parser(host(false, false), false);
    auto s = parser.step({});
    EXPECT_EQ(s.consumed, 0u);
    EXPECT_EQ(s.event.kind, EventKind::NeedMore);
    EXPECT_TRUE(parser.at_pdu_boundary());
}

TEST(StreamParser, DataEventsPointIntoTheCallersBuffer) {
    std::mt19937_64 rng(5);
    const auto data = random_bytes(rng, 3000);
    std::vector<uint8_t> stream;
    append_pdu(stream, make_c2h_data(9, 0, 3000, 0), data, SendParams{true, true, 0});
    StreamParser parser(host(true, true), false);
    std::span<const uint8_t> in(stream);
    auto s = parser.step(in);
    ASSERT_EQ(s.event.kind, EventKind::Header);
    EXPECT_EQ(s.consumed, 28u);
    EXPECT_EQ(parser.header().as<C2HDataPdu>().cccid.get(), 9);
    in = in.subspan(s.consumed);
    s = parser.step(in);
    ASSERT_EQ(s.event.kind, EventKind::Data);
    EXPECT_EQ(s.event.data, stream.data() + 28) << "zero copy";
    EXPECT_EQ(s.event.data_len, 3000u);
    EXPECT_EQ(s.event.stream_offset, 28u);
    in = in.subspan(s.consumed);
    s = parser.step(in);
    ASSERT_EQ(s.event.kind, EventKind::PduEnd);
    EXPECT_EQ(s.consumed, 4u);
    EXPECT_EQ(s.event.digest, DigestStatus::Verified);
    EXPECT_EQ(s.event.stream_offset, 0u);
    in = in.subspan(s.consumed);
    EXPECT_TRUE(in.empty());
    EXPECT_EQ(parser.step(in).event.kind, EventKind::NeedMore);
    EXPECT_EQ(parser.stats().pdus, 1u);
    EXPECT_EQ(parser.stats().data_bytes, 3000u);
    EXPECT_EQ(parser.stats().digests_verified, 1u);
}

TEST(StreamParser, DataDigestMismatchFailsThePduNotTheConnection) {
    std::vector<uint8_t> stream;
    std::vector<uint8_t> data(100, 7);
    append_pdu(stream, make_c2h_data(1, 0, 100, 0), data, SendParams{false, true, 0});
    const size_t first_len = stream.size();
    stream[30] ^= 0x80;  // corrupt one data byte
    append_pdu(stream, make_c2h_data(2, 0, 100, 0), data, SendParams{false, true, 0});
    StreamParser parser(host(false, true), false);
    auto out = parse_whole(parser, stream);
    ASSERT_FALSE(out.failed);
    ASSERT_EQ(out.pdus.size(), 2u);
    EXPECT_EQ(out.pdus[0].digest, DigestStatus::Mismatch);
    EXPECT_EQ(out.pdus[1].digest, DigestStatus::Verified);
    EXPECT_EQ(out.pdus[1].offset, first_len);
    EXPECT_EQ(parser.stats().digest_mismatches, 1u);
}

TEST(StreamParser, DigestMismatchEventNamesThePdu) {
    std::vector<uint8_t> stream;
    append_pdu(stream, make_c2h_data(1, 0, 16, 0), std::vector<uint8_t>(16, 1), SendParams{false, true, 0});
    stream.back() ^= 1;  // corrupt the digest itself
    StreamParser parser(host(false, true), false);
    std::span<const uint8_t> in(stream);
    ParseEvent last;
    for (;;) {
        auto s = parser.step(in);
        in = in.subspan(s.consumed);
        if (s.event.kind == EventKind::NeedMore) break;
        last = s.event;
    }
    EXPECT_EQ(last.kind, EventKind::PduEnd);
    EXPECT_EQ(last.digest, DigestStatus::Mismatch);
    EXPECT_EQ(last.error.kind, ErrorKind::DataDigestMismatch);
    EXPECT_FALSE(last.error.fatal);
    EXPECT_EQ(last.error.fes, Fes::None);
}

TEST(StreamParser, SkippedDigestIsReportedOffloadedAndNotComputed) {
    std::vector<uint8_t> stream;
    append_pdu(stream, make_c2h_data(1, 0, 16, 0), std::vector<uint8_t>(16, 1), SendParams{false, true, 0});
    stream.back() ^= 1;  // a wrong digest goes unnoticed when the device said it verified it
    StreamParser parser(host(false, true), false);
    std::span<const uint8_t> in(stream);
    auto s = parser.step(in);
    ASSERT_EQ(s.event.kind, EventKind::Header);
    parser.skip_data_digest();
    in = in.subspan(s.consumed);
    DigestStatus status = DigestStatus::None;
    uint32_t received = 0;
    for (;;) {
        s = parser.step(in);
        in = in.subspan(s.consumed);
        if (s.event.kind == EventKind::PduEnd) {
            status = s.event.digest;
            received = s.event.received_digest;
        }
        if (s.event.kind == EventKind::NeedMore) break;
    }
    EXPECT_EQ(status, DigestStatus::Offloaded);
    EXPECT_EQ(received, load_le32(stream.data() + stream.size() - 4)) << "the host can recompute and compare";
    EXPECT_EQ(parser.stats().digests_offloaded, 1u);
    EXPECT_EQ(parser.stats().digests_verified, 0u);
}

TEST(StreamParser, PaddingIsSkippedNotDelivered) {
    std::vector<uint8_t> stream;
    std::vector<uint8_t> data(40, 0xCD);
    append_pdu(stream, make_c2h_data(1, 0, 40, 0), data, SendParams{false, false, 31});  // 128-byte alignment
    EXPECT_EQ(stream[3], 128) << "pdo";
    ReceiveParams p = host(false, false);
    p.pda = 31;
    StreamParser parser(p, false);
    std::vector<size_t> every_byte(stream.size());
    for (size_t i = 0; i < stream.size(); ++i) every_byte[i] = i + 1;
    auto out = parse_with_cuts(parser, stream, every_byte);
    ASSERT_FALSE(out.failed);
    ASSERT_EQ(out.pdus.size(), 1u);
    EXPECT_EQ(out.pdus[0].data, data);
    EXPECT_TRUE(out.data_offsets_consistent);
}

TEST(StreamParser, ErrorIsSticky) {
    std::vector<uint8_t> stream(8, 0);
    stream[0] = 0x42;
    StreamParser parser(host(false, false), false);
    auto s = parser.step(stream);
    ASSERT_EQ(s.event.kind, EventKind::Error);
    EXPECT_EQ(s.consumed, 8u) << "the offending header was consumed";
    auto again = parser.step(stream);
    EXPECT_EQ(again.event.kind, EventKind::Error);
    EXPECT_EQ(again.consumed, 0u);
    EXPECT_EQ(parser.error().kind, ErrorKind::UnknownPduType);
}

TEST(StreamParser, HeaderSplitAtEveryBytePosition) {
    std::mt19937_64 rng(11);
    std::vector<uint8_t> stream;
    const auto data = random_bytes(rng, 64);
    append_pdu(stream, make_c2h_data(3, 0, 64, pdu_flags::kLastPdu), data, SendParams{true, true, 0});
    append_pdu(stream, make_capsule_resp(NvmeCqe{}), {}, SendParams{true, true, 0});
    StreamParser reference(host(true, true), false);
    const auto whole = parse_whole(reference, stream);
    ASSERT_FALSE(whole.failed);
    for (size_t cut = 1; cut < stream.size(); ++cut) {
        StreamParser parser(host(true, true), false);
        EXPECT_EQ(parse_with_cuts(parser, stream, {cut}), whole) << "cut at " << cut;
    }
}

TEST(StreamParser, SetParamsAfterIcExchange) {
    std::vector<uint8_t> stream;
    append_pdu(stream, make_icresp(0, ic_digest::kHeader | ic_digest::kData, 4096), {}, SendParams{});
    const size_t ic_len = stream.size();
    append_pdu(stream, make_c2h_data(1, 0, 10, 0), std::vector<uint8_t>(10, 2), SendParams{true, true, 0});
    StreamParser parser(host(false, false), true);
    std::span<const uint8_t> in(stream);
    for (;;) {
        auto s = parser.step(in);
        in = in.subspan(s.consumed);
        ASSERT_NE(s.event.kind, EventKind::Error);
        if (s.event.kind == EventKind::PduEnd) break;
    }
    EXPECT_EQ(stream.size() - in.size(), ic_len) << "the parser stops at the IC boundary for the caller";
    parser.set_params(host(true, true));
    auto out = parse_whole(parser, in);
    ASSERT_FALSE(out.failed);
    ASSERT_EQ(out.pdus.size(), 1u);
    EXPECT_EQ(out.pdus[0].digest, DigestStatus::Verified);
}
