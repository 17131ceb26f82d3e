// Resync search: from any position in a stream, the first candidate is the next real PDU header.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "nvmetcp/header_search.hpp"
#include "testlib/pdu_stream_gen.hpp"

using namespace nvmeddp::nvmetcp;
using namespace nvmeddp::testlib;

namespace {

void expect_finds_next_boundary(bool hdgst, bool ddgst, uint64_t seed) {
    StreamOptions o;
    o.header_digest = hdgst;
    o.data_digest = ddgst;
    o.start_with_ic = false;
    o.pdu_count = 200;
    o.max_data_len = 3000;
    o.seed = seed;
    const auto gen = generate_stream(o);
    ReceiveParams p;
    p.header_digest = hdgst;
    p.data_digest = ddgst;
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 300; ++i) {
        const size_t from = rng() % gen.bytes.size();
        const auto next = std::find_if(gen.pdus.begin(), gen.pdus.end(), [&](const auto& pdu) { return pdu.offset >= from; });
        const auto found = find_pdu_header(gen.bytes, p, from);
        if (next == gen.pdus.end() || next->offset + 8 > gen.bytes.size()) {
            EXPECT_EQ(found.strength, CandidateStrength::None) << "from " << from;
            continue;
        }
        ASSERT_NE(found.strength, CandidateStrength::None) << "from " << from;
        EXPECT_EQ(found.offset, next->offset) << "from " << from << " hdgst " << hdgst;
        EXPECT_EQ(found.plen, next->plen);
        const bool last = next + 1 == gen.pdus.end();
        if (hdgst || !last) {
            EXPECT_EQ(found.strength, CandidateStrength::Confirmed) << "from " << from;
        }
    }
}

}  // namespace

TEST(HeaderSearch, FindsTheNextRealHeaderWithoutDigests) { expect_finds_next_boundary(false, false, 1); }
TEST(HeaderSearch, FindsTheNextRealHeaderWithHeaderDigest) { expect_finds_next_boundary(true, false, 2); }
TEST(HeaderSearch, FindsTheNextRealHeaderWithBothDigests) { expect_finds_next_boundary(true, true, 3); }

TEST(HeaderSearch, NothingInRandomBytesWithHeaderDigests) {
    std::mt19937_64 rng(9);
    const auto noise = random_bytes(rng, 1 << 20);
    ReceiveParams p;
    p.header_digest = true;
    p.data_digest = true;
    EXPECT_EQ(find_pdu_header(noise, p).strength, CandidateStrength::None);
}

TEST(HeaderSearch, ALyingHeaderWithBadDigestIsNotACandidate) {
    std::vector<uint8_t> s;
    append_pdu(s, make_c2h_data(1, 0, 64, 0), std::vector<uint8_t>(64, 1), SendParams{true, false, 0});
    s[28 + 10] = 0;  // data byte; irrelevant
    s[12] ^= 0xFF;   // datao changed: header digest no longer matches
    ReceiveParams p;
    p.header_digest = true;
    EXPECT_EQ(find_pdu_header(s, p).strength, CandidateStrength::None);
}

TEST(HeaderSearch, TooFewBytes) {
    ReceiveParams p;
    std::vector<uint8_t> s;
    append_pdu(s, make_capsule_resp(NvmeCqe{}), {}, SendParams{});
    EXPECT_EQ(find_pdu_header(std::span<const uint8_t>(s).first(7), p).strength, CandidateStrength::None);
    EXPECT_EQ(find_pdu_header(std::span<const uint8_t>(s).first(8), p).strength, CandidateStrength::Plausible);
    EXPECT_EQ(find_pdu_header(s, p, 1).strength, CandidateStrength::None);
}
