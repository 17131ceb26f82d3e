// TCP options: the layouts write_options() produces (byte for byte where stacks agree on them), the
// round trip through parse_options(), and every parse error with the offset it names.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "tcp/options.hpp"

namespace nvmeddp::tcp {
namespace {

std::vector<uint8_t> written(const TcpOptions& o) {
    std::vector<uint8_t> out(kMaxOptionsSize, 0xEE);
    const size_t n = write_options(o, out);
    EXPECT_EQ(n, options_size(o));
    out.resize(n);
    return out;
}

void expect_same(const TcpOptions& a, const TcpOptions& b, size_t sack_blocks) {
    EXPECT_EQ(a.has_mss, b.has_mss);
    if (a.has_mss) {
        EXPECT_EQ(a.mss, b.mss);
    }
    EXPECT_EQ(a.has_wscale, b.has_wscale);
    if (a.has_wscale) {
        EXPECT_EQ(a.wscale, b.wscale);
    }
    EXPECT_EQ(a.sack_permitted, b.sack_permitted);
    EXPECT_EQ(a.has_timestamps, b.has_timestamps);
    if (a.has_timestamps) {
        EXPECT_EQ(a.ts_val, b.ts_val);
        EXPECT_EQ(a.ts_ecr, b.ts_ecr);
    }
    ASSERT_EQ(b.sack_count, sack_blocks);
    for (size_t i = 0; i < sack_blocks; ++i) {
        EXPECT_EQ(a.sack[i].left, b.sack[i].left) << "block " << i;
        EXPECT_EQ(a.sack[i].right, b.sack[i].right) << "block " << i;
    }
}

TcpOptions syn_options() {
    TcpOptions o;
    o.has_mss = true;
    o.mss = 1460;
    o.sack_permitted = true;
    o.has_timestamps = true;
    o.ts_val = 0x01020304;
    o.ts_ecr = 0;
    o.has_wscale = true;
    o.wscale = 7;
    return o;
}

TcpOptions with_sack_blocks(TcpOptions o, uint8_t count) {
    o.sack_count = count;
    for (uint8_t i = 0; i < count; ++i) {
        // Across the sequence wrap, to see raw values survive.
        o.sack[i].left = Seq(0xFFFFF000u + i * 0x1000u);
        o.sack[i].right = Seq(0xFFFFF800u + i * 0x1000u);
    }
    return o;
}

TEST(TcpOptions, SynWithTimestampsHasTheLinuxLayout) {
    const std::vector<uint8_t> expected = {
        2, 4, 0x05, 0xB4,                                   // MSS 1460
        4, 2,                                               // SACK_PERM in front of TS
        8, 10, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0,          // TS
        1, 3, 3, 7,                                         // NOP WS 7
    };
    EXPECT_EQ(written(syn_options()), expected);
    const OptionsParse p = parse_options(expected);
    EXPECT_EQ(p.error, OptionsError::None);
    expect_same(syn_options(), p.options, 0);
}

TEST(TcpOptions, SynWithoutTimestampsPadsSackPermitted) {
    TcpOptions o = syn_options();
    o.has_timestamps = false;
    const std::vector<uint8_t> expected = {2, 4, 0x05, 0xB4, 1, 1, 4, 2, 1, 3, 3, 7};
    EXPECT_EQ(written(o), expected);
    expect_same(o, parse_options(expected).options, 0);
}

TEST(TcpOptions, TimestampsAloneArePrecededByTwoNops) {
    TcpOptions o;
    o.has_timestamps = true;
    o.ts_val = 7;
    o.ts_ecr = 0xFFFFFFFFu;
    const std::vector<uint8_t> expected = {1, 1, 8, 10, 0, 0, 0, 7, 0xFF, 0xFF, 0xFF, 0xFF};
    EXPECT_EQ(written(o), expected);
    expect_same(o, parse_options(expected).options, 0);
}

TEST(TcpOptions, DataSegmentWithTimestampsCarriesThreeSackBlocks) {
    for (uint8_t asked = 1; asked <= kMaxSackBlocks; ++asked) {
        SCOPED_TRACE(testing::Message() << asked << " blocks asked");
        TcpOptions o;
        o.has_timestamps = true;
        o.ts_val = 1000;
        o.ts_ecr = 2000;
        o = with_sack_blocks(o, asked);
        const size_t fit = asked < 3 ? asked : 3;
        const std::vector<uint8_t> bytes = written(o);
        EXPECT_EQ(bytes.size(), 12 + 4 + 8 * fit);
        // NOP NOP SACK right after the timestamps, its length saying how many blocks.
        EXPECT_EQ(bytes[12], 1);
        EXPECT_EQ(bytes[13], 1);
        EXPECT_EQ(bytes[14], 5);
        EXPECT_EQ(bytes[15], 2 + 8 * fit);
        const OptionsParse p = parse_options(bytes);
        EXPECT_EQ(p.error, OptionsError::None);
        expect_same(o, p.options, fit);
    }
}

TEST(TcpOptions, DataSegmentWithoutTimestampsCarriesFourSackBlocks) {
    const TcpOptions o = with_sack_blocks({}, 4);
    const std::vector<uint8_t> bytes = written(o);
    EXPECT_EQ(bytes.size(), 36u);
    expect_same(o, parse_options(bytes).options, 4);
}

// Every combination of options and SACK block counts: aligned, within 40 bytes, and read back as
// written (with as many blocks as fit).
TEST(TcpOptions, EveryCombinationRoundTrips) {
    for (unsigned bits = 0; bits < 16; ++bits) {
        for (uint8_t blocks = 0; blocks <= kMaxSackBlocks; ++blocks) {
            TcpOptions o;
            o.has_mss = (bits & 1) != 0;
            o.mss = 8960;
            o.has_wscale = (bits & 2) != 0;
            o.wscale = 14;
            o.sack_permitted = (bits & 4) != 0;
            o.has_timestamps = (bits & 8) != 0;
            o.ts_val = 0xDEADBEEF;
            o.ts_ecr = 0x12345678;
            o = with_sack_blocks(o, blocks);
            SCOPED_TRACE(testing::Message() << "bits " << bits << ", blocks " << int{blocks});
            const size_t size = options_size(o);
            EXPECT_EQ(size % 4, 0u);
            EXPECT_LE(size, kMaxOptionsSize);
            const size_t others = (o.has_mss ? 4 : 0) + (o.has_timestamps ? 12 : (o.sack_permitted ? 4 : 0)) +
                                  (o.has_wscale ? 4 : 0);
            const size_t room = others + 4 + 8 <= kMaxOptionsSize ? (kMaxOptionsSize - others - 4) / 8 : 0;
            const size_t fit = blocks < room ? blocks : room;
            const OptionsParse p = parse_options(written(o));
            EXPECT_EQ(p.error, OptionsError::None);
            expect_same(o, p.options, fit);
        }
    }
}

TEST(TcpOptions, WriteRefusesAShortBuffer) {
    std::vector<uint8_t> out(options_size(syn_options()) - 1, 0xEE);
    EXPECT_EQ(write_options(syn_options(), out), 0u);
    EXPECT_EQ(out, std::vector<uint8_t>(out.size(), 0xEE));
}

TEST(TcpOptions, ParseSkipsUnknownKindsAndStopsAtEnd) {
    const std::vector<uint8_t> bytes = {
        1,                    // NOP
        30, 4, 0xAA, 0xBB,    // MPTCP-like unknown kind, skipped by its length
        3, 3, 9,              // WS 9
        0,                    // EOL: what follows is padding, even if it looks like an option
        2, 4, 0x12, 0x34,
    };
    const OptionsParse p = parse_options(bytes);
    EXPECT_EQ(p.error, OptionsError::None);
    EXPECT_TRUE(p.options.has_wscale);
    EXPECT_EQ(p.options.wscale, 9);
    EXPECT_FALSE(p.options.has_mss);
}

TEST(TcpOptions, ParseClampsTheWindowShiftTo14) {
    const std::vector<uint8_t> bytes = {3, 3, 15, 1};
    const OptionsParse p = parse_options(bytes);
    EXPECT_EQ(p.error, OptionsError::None);
    EXPECT_EQ(p.options.wscale, 14);
}

TEST(TcpOptions, ParseOfNothingIsNoOptions) {
    const OptionsParse p = parse_options({});
    EXPECT_EQ(p.error, OptionsError::None);
    EXPECT_FALSE(p.options.has_mss || p.options.has_wscale || p.options.sack_permitted || p.options.has_timestamps);
}

struct BadOptions {
    const char* what;
    std::vector<uint8_t> bytes;
    OptionsError error;
    uint8_t offset;
};

TEST(TcpOptions, ParseErrorsNameTheKindAndOffsetAndKeepWhatCameBefore) {
    const std::vector<BadOptions> cases = {
        {"length byte missing", {2, 4, 0x05, 0xB4, 1, 8}, OptionsError::Truncated, 5},
        {"body past the end", {2, 4, 0x05, 0xB4, 8, 10, 0, 0, 0, 1}, OptionsError::Truncated, 4},
        {"unknown kind past the end", {2, 4, 0x05, 0xB4, 1, 1, 99, 9, 0, 0}, OptionsError::Truncated, 6},
        {"MSS too long, past the end", {2, 4, 0x05, 0xB4, 2, 10, 0, 0}, OptionsError::Truncated, 4},
        {"length 0", {2, 4, 0x05, 0xB4, 1, 77, 0, 1}, OptionsError::BadLength, 5},
        {"length 1", {2, 4, 0x05, 0xB4, 5, 1, 1, 1}, OptionsError::BadLength, 4},
        {"MSS of length 3", {2, 4, 0x05, 0xB4, 2, 3, 0, 1}, OptionsError::BadLength, 4},
        {"WS of length 4", {2, 4, 0x05, 0xB4, 3, 4, 1, 1}, OptionsError::BadLength, 4},
        {"SACK_PERM of length 3", {2, 4, 0x05, 0xB4, 4, 3, 0, 1}, OptionsError::BadLength, 4},
        {"TS of length 8", {2, 4, 0x05, 0xB4, 8, 8, 0, 0, 0, 1, 0, 0}, OptionsError::BadLength, 4},
        {"SACK without blocks", {2, 4, 0x05, 0xB4, 1, 1, 5, 2}, OptionsError::BadLength, 6},
        {"SACK of 1.5 blocks", {2, 4, 0x05, 0xB4, 5, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1},
         OptionsError::BadLength, 4},
    };
    for (const BadOptions& c : cases) {
        SCOPED_TRACE(c.what);
        const OptionsParse p = parse_options(c.bytes);
        EXPECT_EQ(p.error, c.error) << to_string(p.error);
        EXPECT_EQ(p.error_offset, c.offset);
        EXPECT_TRUE(p.options.has_mss) << "the MSS before the bad option is kept";
        EXPECT_EQ(p.options.mss, 1460);
    }
}

TEST(TcpOptions, ParseRefusesFiveSackBlocks) {
    std::vector<uint8_t> bytes = {1, 1, 5, 42};
    bytes.resize(44, 0);  // more than a header holds, so that only the count is wrong
    const OptionsParse p = parse_options(bytes);
    EXPECT_EQ(p.error, OptionsError::BadLength);
    EXPECT_EQ(p.error_offset, 2);
    EXPECT_EQ(p.options.sack_count, 0);
}

TEST(TcpOptions, ErrorsHaveText) {
    EXPECT_STREQ(to_string(OptionsError::None), "no error");
    EXPECT_STRNE(to_string(OptionsError::Truncated), to_string(OptionsError::BadLength));
}

}  // namespace
}  // namespace nvmeddp::tcp
