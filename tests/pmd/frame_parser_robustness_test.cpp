// The frame parser never reads outside the frame and never accepts a frame whose payload would lie
// outside it: every truncation of valid frames is refused, and random header corruption gives either
// an error or a segment that is consistent with the bytes present. Frames are parsed from heap
// buffers of their exact size, so an out-of-bounds read is an AddressSanitizer report in the
// sanitizer build, not a silent pass.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>

#include "pmd/packet/frame_parser.hpp"
#include "pmd_test_support.hpp"
#include "testlib/frame_gen.hpp"

using namespace nvmeddp::pmd;
using namespace nvmeddp::testlib;
using nvmeddp::pmd_test::parse_exact;

namespace {

struct Shape {
    const char* name;
    FlowSpec flow;
    TcpOptions options;
    size_t payload;
};

std::vector<Shape> shapes() {
    FlowSpec v4 = ipv4_flow();
    FlowSpec v4_opts = ipv4_flow();
    v4_opts.ipv4_option_words = 3;
    v4_opts.c_vlan = 7;
    FlowSpec v6 = ipv6_flow();
    FlowSpec v6_qinq = ipv6_flow();
    v6_qinq.s_vlan = 100;
    v6_qinq.c_vlan = 200;
    FlowSpec v4_qinq = ipv4_flow();
    v4_qinq.s_vlan = 1;
    v4_qinq.c_vlan = 2;
    v4_qinq.ipv4_option_words = 10;
    return {
        {"ipv4", v4, TcpOptions::None, 64},
        {"ipv4 vlan ip-options ts", v4_opts, TcpOptions::Timestamps, 100},
        {"ipv4 qinq max ip-options sack", v4_qinq, TcpOptions::TimestampsAndSack, 33},
        {"ipv6", v6, TcpOptions::None, 64},
        {"ipv6 qinq sack", v6_qinq, TcpOptions::TimestampsAndSack, 7},
        {"ipv6 pure ack", v6, TcpOptions::Timestamps, 0},
    };
}

BuiltFrame build(const Shape& s, bool pad) {
    std::vector<uint8_t> payload(s.payload);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i);
    TcpFields tcp;
    tcp.seq = 0xFFFFFFF0u;
    tcp.options = s.options;
    return build_frame(s.flow, tcp, payload, pad);
}

}  // namespace

TEST(FrameParserRobustness, EveryTruncationIsRefused) {
    for (const auto& shape : shapes()) {
        SCOPED_TRACE(shape.name);
        const auto f = build(shape, false);
        for (size_t n = 0; n < f.bytes.size(); ++n) {
            const auto r = parse_exact(f.bytes, n);
            EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
        }
        const auto whole = parse_exact(f.bytes);
        ASSERT_TRUE(whole.ok()) << to_string(whole.error);
        EXPECT_EQ(whole.segment.payload_len, shape.payload);
    }
}

TEST(FrameParserRobustness, TruncatingOnlyPaddingIsAccepted) {
    for (const auto& shape : shapes()) {
        SCOPED_TRACE(shape.name);
        auto f = build(shape, true);
        f.bytes.resize(f.bytes.size() + 20, 0xEE);  // trailing bytes (FCS, junk) after any padding
        const size_t ip_end = f.layout.ip_end;
        ASSERT_LT(ip_end, f.bytes.size());
        for (size_t n = 0; n <= f.bytes.size(); ++n) {
            const auto r = parse_exact(f.bytes, n);
            if (n < ip_end) {
                EXPECT_FALSE(r.ok()) << n;
            } else {
                ASSERT_TRUE(r.ok()) << n << ": " << to_string(r.error);
                EXPECT_EQ(r.segment.payload_len, shape.payload) << n;
                EXPECT_EQ(r.segment.payload_offset + r.segment.payload_len, ip_end) << n;
            }
        }
    }
}

TEST(FrameParserRobustness, RandomHeaderCorruptionGivesErrorsOrConsistentSegments) {
    std::mt19937_64 rng(7);
    size_t accepted = 0;
    size_t refused = 0;
    const auto all = shapes();
    for (int round = 0; round < 60000; ++round) {
        const Shape& shape = all[rng() % all.size()];
        auto f = build(shape, rng() % 2 == 0);
        // Corrupt 1..4 bytes of the headers (where the length fields are), sometimes cut the frame.
        const size_t header_end = f.layout.payload_offset;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < flips; ++i) f.bytes[rng() % header_end] = static_cast<uint8_t>(rng());
        size_t n = f.bytes.size();
        if (rng() % 4 == 0) n = rng() % (n + 1);
        const auto r = parse_exact(f.bytes, n);
        if (!r.ok()) {
            ++refused;
            continue;
        }
        ++accepted;
        const TcpSegment& s = r.segment;
        ASSERT_LE(size_t{s.payload_offset} + s.payload_len, n) << "round " << round;
        ASSERT_LT(s.l3_offset, s.l4_offset);
        ASSERT_GE(s.l4_offset - s.l3_offset, 20);
        ASSERT_GE(s.payload_offset - s.l4_offset, 20);
        ASSERT_LE(s.payload_offset - s.l4_offset, 60);
        ASSERT_EQ((s.payload_offset - s.l4_offset) % 4, 0);
        ASSERT_LE(s.vlan_count, kMaxVlanTags);
        ASSERT_TRUE(s.flow.family == IpFamily::Ipv4 || s.flow.family == IpFamily::Ipv6);
    }
    // Both outcomes occur, so neither branch above is vacuous.
    EXPECT_GT(accepted, 1000u);
    EXPECT_GT(refused, 1000u);
}

TEST(FrameParserRobustness, RandomBytesNeverCrash) {
    std::mt19937_64 rng(11);
    for (int round = 0; round < 20000; ++round) {
        std::vector<uint8_t> junk(rng() % 200);
        for (auto& b : junk) b = static_cast<uint8_t>(rng());
        if (junk.size() >= 14 && rng() % 2) {  // steer half of them past the EtherType check
            const uint16_t types[] = {0x0800, 0x86DD, 0x8100, 0x88A8};
            const uint16_t t = types[rng() % 4];
            junk[12] = static_cast<uint8_t>(t >> 8);
            junk[13] = static_cast<uint8_t>(t);
        }
        const auto r = parse_exact(junk);
        if (r.ok()) {
            ASSERT_LE(size_t{r.segment.payload_offset} + r.segment.payload_len, junk.size());
        }
    }
}

namespace {

// parse_frame() and parse_frame_general() say the same of `first` (the frame's first `first.size()`
// bytes) as a frame of frame_len bytes: the same error, or the same segment field by field.
::testing::AssertionResult same_as_general(std::span<const uint8_t> first, size_t frame_len) {
    std::unique_ptr<uint8_t[]> copy(new uint8_t[first.size() + 1]);  // exact size for ASan (+1: never empty)
    if (!first.empty()) std::memcpy(copy.get(), first.data(), first.size());
    const std::span<const uint8_t> bytes(copy.get(), first.size());
    const FrameParse a = parse_frame(bytes, frame_len);
    const FrameParse b = detail::parse_frame_general(bytes, frame_len);
    if (a.error != b.error) {
        return ::testing::AssertionFailure() << to_string(a.error) << " vs the general path's " << to_string(b.error);
    }
    if (!a.ok()) return ::testing::AssertionSuccess();
    const TcpSegment& x = a.segment;
    const TcpSegment& y = b.segment;
    if (!(x == y)) {
        return ::testing::AssertionFailure() << "segments differ: payload " << x.payload_len << "@" << x.payload_offset
                                             << " vs " << y.payload_len << "@" << y.payload_offset;
    }
    return ::testing::AssertionSuccess();
}

}  // namespace

// parse_frame() takes a straight line for untagged IPv4 with a 20-byte header; every other frame
// goes the general way. Whatever a frame's bytes, both must say the same: every byte of the headers
// set to values that sit on the straight line's checks (versions, IHLs, EtherTypes, protocols, data
// offsets, length bytes), every truncation, the frame's length above and below the bytes given.
TEST(FrameParserRobustness, TheStraightLinePathSaysWhatTheGeneralOneSays) {
    std::vector<Shape> all = shapes();
    all.push_back({"ipv4 ts", ipv4_flow(), TcpOptions::Timestamps, 1448});
    all.push_back({"ipv4 pure ack ts", ipv4_flow(), TcpOptions::Timestamps, 0});
    all.push_back({"ipv4 pure ack", ipv4_flow(), TcpOptions::None, 0});
    const uint8_t values[] = {0x00, 0x01, 0x04, 0x05, 0x06, 0x08, 0x11, 0x14, 0x20, 0x28, 0x3F, 0x40, 0x44, 0x45,
                              0x46, 0x4F, 0x50, 0x60, 0x80, 0x81, 0x86, 0xA0, 0xDD, 0xF0, 0xFF};
    size_t straight = 0;  // cases the straight line accepted (untagged IPv4, 20-byte header)
    size_t cases = 0;
    auto check = [&](std::span<const uint8_t> first, size_t frame_len) {
        ++cases;
        const FrameParse r = parse_frame(first, frame_len);
        if (r.ok() && r.segment.l3_offset == 14 && r.segment.l4_offset == 34) ++straight;
        return same_as_general(first, frame_len);
    };
    for (const auto& shape : all) {
        SCOPED_TRACE(shape.name);
        for (const bool pad : {false, true}) {
            const auto f = build(shape, pad);
            const size_t size = f.bytes.size();
            for (size_t n = 0; n <= size; ++n) {
                ASSERT_TRUE(check(std::span<const uint8_t>(f.bytes).first(n), n)) << "prefix " << n;
                ASSERT_TRUE(check(std::span<const uint8_t>(f.bytes).first(n), size)) << "first segment " << n;
            }
            ASSERT_TRUE(check(f.bytes, size + 100)) << "frame longer than the bytes given";
            const size_t header_end = std::min(size, size_t{f.layout.payload_offset} + 2);
            for (size_t at = 0; at < header_end; ++at) {
                for (const uint8_t v : values) {
                    auto g = f.bytes;
                    g[at] = v;
                    ASSERT_TRUE(check(g, g.size())) << "byte " << at << " = " << int{v};
                    ASSERT_TRUE(check(std::span<const uint8_t>(g).first(header_end), g.size())) << "byte " << at << " = " << int{v};
                    ASSERT_TRUE(check(g, g.size() - 1)) << "byte " << at << " = " << int{v} << ", one byte short";
                }
            }
        }
    }
    EXPECT_GT(straight, 1000u) << "the straight line was hardly taken: the comparison proves little";
    EXPECT_GT(cases, straight + 1000u);
}
