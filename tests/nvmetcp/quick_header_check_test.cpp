// quick_stream_header() against the general checks it stands in for: it may decline any header
// (the caller then runs them), but what it accepts they must accept, with the same layout. Headers
// are a valid C2HData or CapsuleResp with one or two fields changed, under every receive parameter
// that matters.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/header_check.hpp"
#include "testlib/pdu_stream_gen.hpp"

using namespace nvmeddp::nvmetcp;
using namespace nvmeddp::testlib;

namespace {

ReceiveParams params(Role role, bool hdgst, bool ddgst, uint32_t pda, uint32_t max_data_len) {
    ReceiveParams p;
    p.role = role;
    p.header_digest = hdgst;
    p.data_digest = ddgst;
    p.pda = pda;
    p.limits.max_data_len = max_data_len;
    return p;
}

// What the engine's general path accepts: the common header, then (with the whole header in hand)
// its digest and its type's fields.
bool general_accepts(const uint8_t* h, uint32_t have, const ReceiveParams& p, PduLayout& layout) {
    CommonHeader ch;
    std::memcpy(&ch, h, sizeof ch);
    if (check_stream_header(ch, p, layout)) return false;
    if (have < layout.header_len) return false;
    return !check_header_digest(h, layout) && !check_full_header(h, layout, p);
}

// A C2HData header of `len` data bytes at `datao`, sent with the connection's digests (the
// header digest sealed over the header as it ends up).
std::vector<uint8_t> header(const ReceiveParams& p, uint32_t len, uint32_t datao, uint8_t flags) {
    std::vector<uint8_t> bytes;
    std::vector<uint8_t> data(len, 0x5A);
    append_pdu(bytes, make_c2h_data(7, datao, len, flags), data, SendParams{p.header_digest, p.data_digest, p.pda});
    bytes.resize(kHlenData + kDigestLen + 16);  // the header, and bytes of data after it
    return bytes;
}

std::vector<uint8_t> capsule_resp(const ReceiveParams& p) {
    std::vector<uint8_t> bytes;
    NvmeCqe cqe{};
    cqe.cid.set(7);
    append_pdu(bytes, make_capsule_resp(cqe), {}, SendParams{p.header_digest, p.data_digest, p.pda});
    bytes.resize(kHlenData + kDigestLen + 16);  // the header, and bytes of the next PDU after it
    return bytes;
}

void reseal(std::vector<uint8_t>& h, const ReceiveParams& p) {
    if (p.header_digest) store_le32(h.data() + kHlenData, crc32c(h.data(), kHlenData));
}

}  // namespace

TEST(QuickHeaderCheck, AcceptsTheUsualC2HDataUnderEveryDigestChoice) {
    for (bool hdgst : {false, true}) {
        for (bool ddgst : {false, true}) {
            for (uint8_t flags : {uint8_t{0}, pdu_flags::kLastPdu, uint8_t(pdu_flags::kLastPdu | pdu_flags::kSuccess)}) {
                const ReceiveParams p = params(Role::Host, hdgst, ddgst, 0, 16u << 20);
                const auto h = header(p, 4096, 8192, flags);
                PduLayout quick{};
                PduLayout general{};
                ASSERT_TRUE(general_accepts(h.data(), static_cast<uint32_t>(h.size()), p, general));
                ASSERT_TRUE(quick_stream_header(h.data(), static_cast<uint32_t>(h.size()), p, quick))
                    << "hdgst " << hdgst << " ddgst " << ddgst << " flags " << int(flags);
                EXPECT_EQ(quick.header_len, general.header_len);
                EXPECT_EQ(quick.data_offset, general.data_offset);
                EXPECT_EQ(quick.data_len, 4096u);
                EXPECT_EQ(quick.has_data_digest, ddgst);
            }
        }
    }
}

TEST(QuickHeaderCheck, AcceptsTheUsualCapsuleResp) {
    for (bool hdgst : {false, true}) {
        for (bool ddgst : {false, true}) {
            const ReceiveParams p = params(Role::Host, hdgst, ddgst, 0, 16u << 20);
            const auto h = capsule_resp(p);
            PduLayout quick{};
            PduLayout general{};
            ASSERT_TRUE(general_accepts(h.data(), static_cast<uint32_t>(h.size()), p, general));
            ASSERT_TRUE(quick_stream_header(h.data(), static_cast<uint32_t>(h.size()), p, quick));
            EXPECT_EQ(quick.header_len, general.header_len);
            EXPECT_EQ(quick.data_offset, general.data_offset);
            EXPECT_EQ(quick.data_len, 0u);
            EXPECT_FALSE(quick.has_data_digest);
        }
    }
}

TEST(QuickHeaderCheck, DeclinesAHeaderNotWhollyInHand) {
    const ReceiveParams p = params(Role::Host, true, false, 0, 16u << 20);
    const auto h = header(p, 4096, 0, 0);
    PduLayout layout{};
    EXPECT_FALSE(quick_stream_header(h.data(), kHlenData + kDigestLen - 1, p, layout));
    EXPECT_TRUE(quick_stream_header(h.data(), kHlenData + kDigestLen, p, layout));
}

// The header alone in a buffer of its size, with and without a header digest: a read past `have`
// is a heap overflow the sanitizer build reports.
TEST(QuickHeaderCheck, ReadsNothingPastTheBytesInHand) {
    for (bool hdgst : {false, true}) {
        const ReceiveParams p = params(Role::Host, hdgst, true, 0, 16u << 20);
        const uint32_t header_len = kHlenData + (hdgst ? kDigestLen : 0);
        for (const auto& sent : {header(p, 4096, 0, 0), capsule_resp(p)}) {
            for (uint32_t have = 8; have <= header_len; ++have) {
                const std::vector<uint8_t> exact(sent.begin(), sent.begin() + have);
                PduLayout layout{};
                EXPECT_EQ(quick_stream_header(exact.data(), have, p, layout), have == header_len)
                    << "hdgst " << hdgst << " type " << int(sent[0]) << " have " << have;
            }
        }
    }
}

TEST(QuickHeaderCheck, NeverAcceptsWhatTheGeneralChecksRefuse) {
    std::mt19937 rng(20261205);
    const uint32_t interesting[] = {0, 1, 3, 4, 23, 24, 27, 28, 31, 32, 4096, 65536, 1u << 20, (16u << 20) + 1,
                                    UINT32_MAX - 4096, UINT32_MAX - 1, UINT32_MAX};
    auto any_value = [&]() -> uint32_t {
        return (rng() & 1) ? interesting[rng() % std::size(interesting)] : static_cast<uint32_t>(rng());
    };
    uint64_t accepted_by_quick = 0;
    uint64_t accepted_by_general = 0;
    uint64_t responses_accepted_by_quick = 0;
    for (int i = 0; i < 200000; ++i) {
        const ReceiveParams p = params((rng() % 8) == 0 ? Role::Controller : Role::Host, rng() & 1, rng() & 1,
                                       (rng() % 4) == 0 ? 1 : 0, (rng() % 4) == 0 ? 4096 : 16u << 20);
        // The PDU as sent under these parameters (pda included), then one or two fields changed.
        const uint32_t len = (rng() % 3) == 0 ? 4096 + 4 : 1 + rng() % 8192;
        auto h = (rng() % 4) == 0 ? capsule_resp(p)
                                  : header(p, len, (rng() % 8) == 0 ? UINT32_MAX - len + (rng() % 3) : rng() % (1u << 20),
                                           static_cast<uint8_t>(rng() % 3 == 0 ? rng() & 0x0C : 0));
        const int edits = 1 + static_cast<int>(rng() % 2);
        for (int e = 0; e < edits; ++e) {
            switch (rng() % 8) {
                case 0: h[ch_offset::kType] = static_cast<uint8_t>(rng() % 10); break;
                case 1: h[ch_offset::kFlags] = static_cast<uint8_t>(rng()); break;
                case 2: h[ch_offset::kHlen] = static_cast<uint8_t>((rng() & 1) ? 24 + rng() % 5 - 2 : rng()); break;
                case 3: h[ch_offset::kPdo] = static_cast<uint8_t>((rng() & 1) ? 24 + rng() % 9 - 4 : rng()); break;
                case 4: {
                    const uint32_t near = h[ch_offset::kType] == 5 ? 24 + rng() % 9 - 4 : len + 24 + rng() % 13 - 4;
                    store_le32(h.data() + ch_offset::kPlen, (rng() & 1) ? near : any_value());
                    break;
                }
                case 5: store_le32(h.data() + offsetof(C2HDataPdu, datal), (rng() & 1) ? len + rng() % 5 - 2 : any_value()); break;
                case 6: store_le32(h.data() + offsetof(C2HDataPdu, datao), any_value()); break;
                case 7: break;  // the sent header itself
            }
        }
        // Mostly resealed, so that the edit reaches the field checks; sometimes the digest is left
        // as it was (wrong after an edit) or broken.
        const uint32_t seal = rng() % 8;
        if (seal < 6) reseal(h, p);
        if (seal == 7) h[kHlenData] ^= 0x01;
        const uint32_t have = (rng() % 4) == 0 ? kHlenData + rng() % 8 : static_cast<uint32_t>(h.size());

        PduLayout general{};
        PduLayout quick{};
        const bool general_ok = general_accepts(h.data(), have, p, general);
        const bool quick_ok = quick_stream_header(h.data(), have, p, quick);
        accepted_by_general += general_ok;
        accepted_by_quick += quick_ok;
        responses_accepted_by_quick += quick_ok && h[ch_offset::kType] == 5;
        if (!quick_ok) continue;
        ASSERT_TRUE(general_ok) << "case " << i << ": the quick check accepted what the general checks refuse";
        ASSERT_EQ(quick.header_len, general.header_len) << "case " << i;
        ASSERT_EQ(quick.data_offset, general.data_offset) << "case " << i;
        ASSERT_EQ(quick.data_len, general.data_len) << "case " << i;
        ASSERT_EQ(quick.has_data_digest, general.has_data_digest) << "case " << i;
    }
    // Both verdicts occur often enough for the comparison to mean something, and the general
    // checks accept headers the quick one leaves to them (PDA 1, split headers).
    EXPECT_GT(accepted_by_quick, 10000u);
    EXPECT_GT(responses_accepted_by_quick, 2000u);
    EXPECT_GT(accepted_by_general, accepted_by_quick + 1000);
}
