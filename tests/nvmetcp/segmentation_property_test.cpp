// Property: however a stream is cut (byte by byte, random pieces, one PDU per call, whole), the parser
// reports the same PDUs, headers, data and digest verdicts, and they equal what was generated.
#include <gtest/gtest.h>

#include <random>

#include "testlib/pdu_stream_gen.hpp"

using namespace nvmeddp::nvmetcp;
using namespace nvmeddp::testlib;

namespace {

struct Case {
    Role role;
    bool hdgst;
    bool ddgst;
    uint32_t pda;
};

ReceiveParams receive(const Case& c) {
    ReceiveParams p;
    p.role = c.role;
    p.header_digest = c.hdgst;
    p.data_digest = c.ddgst;
    p.pda = c.pda;
    return p;
}

void expect_matches_ground_truth(const ParseOutcome& out, const GeneratedStream& gen) {
    ASSERT_FALSE(out.failed) << to_string(out.error.kind) << " at " << out.error.pdu_offset;
    ASSERT_EQ(out.pdus.size(), gen.pdus.size());
    for (size_t i = 0; i < gen.pdus.size(); ++i) {
        EXPECT_EQ(out.pdus[i].type, gen.pdus[i].type) << i;
        EXPECT_EQ(out.pdus[i].offset, gen.pdus[i].offset) << i;
        EXPECT_EQ(out.pdus[i].data, gen.pdus[i].data) << i;
        EXPECT_EQ(out.pdus[i].digest, gen.pdus[i].has_data_digest ? DigestStatus::Verified : DigestStatus::None) << i;
    }
}

class Segmentation : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(Segmentation, AnyCutGivesTheSameResult) {
    const Case c = GetParam();
    for (uint64_t seed = 1; seed <= 6; ++seed) {
        StreamOptions opt;
        opt.receiver = c.role;
        opt.header_digest = c.hdgst;
        opt.data_digest = c.ddgst;
        opt.pda = c.pda;
        opt.pdu_count = 40;
        opt.max_data_len = 6000;
        opt.seed = seed;
        const auto gen = generate_stream(opt);

        StreamParser whole_parser(receive(c), true);
        const auto whole = parse_whole(whole_parser, gen.bytes);
        expect_matches_ground_truth(whole, gen);

        std::mt19937_64 rng(seed * 977);
        for (size_t max_piece : {1ul, 7ul, 100ul, 1500ul, 9000ul}) {
            StreamParser parser(receive(c), true);
            const auto cut = parse_with_cuts(parser, gen.bytes, random_cuts(rng, gen.bytes.size(), max_piece));
            ASSERT_EQ(cut, whole) << "seed " << seed << " max piece " << max_piece;
            EXPECT_TRUE(cut.data_offsets_consistent);
            EXPECT_EQ(parser.stream_offset(), gen.bytes.size());
            EXPECT_TRUE(parser.at_pdu_boundary());
        }

        // One PDU per call, and cuts exactly at PDU boundaries.
        std::vector<size_t> boundaries;
        for (const auto& p : gen.pdus) boundaries.push_back(p.offset + p.plen);
        StreamParser per_pdu(receive(c), true);
        EXPECT_EQ(parse_with_cuts(per_pdu, gen.bytes, boundaries), whole);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Streams, Segmentation,
    ::testing::Values(Case{Role::Host, false, false, 0}, Case{Role::Host, true, false, 0},
                      Case{Role::Host, false, true, 0}, Case{Role::Host, true, true, 0},
                      Case{Role::Host, true, true, 1}, Case{Role::Host, false, true, 31},
                      Case{Role::Controller, false, false, 0}, Case{Role::Controller, true, true, 0},
                      Case{Role::Controller, true, true, 7}));

TEST(Segmentation, CorruptedStreamsFailIdenticallyHoweverCut) {
    // Flip one random byte in a valid stream: whatever happens (a fatal error, a digest mismatch,
    // or nothing visible when the byte was data without digest), it happens the same for every cut.
    std::mt19937_64 rng(2024);
    for (int round = 0; round < 300; ++round) {
        StreamOptions opt;
        opt.header_digest = rng() % 2;
        opt.data_digest = rng() % 2;
        opt.pdu_count = 8;
        opt.max_data_len = 300;
        opt.seed = rng();
        auto gen = generate_stream(opt);
        gen.bytes[rng() % gen.bytes.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
        ReceiveParams p;
        p.header_digest = opt.header_digest;
        p.data_digest = opt.data_digest;
        StreamParser whole_parser(p, true);
        const auto whole = parse_whole(whole_parser, gen.bytes);
        StreamParser cut_parser(p, true);
        const auto cut = parse_with_cuts(cut_parser, gen.bytes, random_cuts(rng, gen.bytes.size(), 13));
        ASSERT_EQ(cut, whole) << "round " << round;
    }
}
