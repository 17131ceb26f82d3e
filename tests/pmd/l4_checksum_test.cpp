// The rx checksum check (pmd/packet/l4_checksum.hpp) against the frame generator's checksums (written
// independently, byte pair by byte pair): every generated frame passes, every single-bit error in
// what the checksums cover is caught, padding is ignored, and the result does not depend on how the
// frame is cut into pieces (every cut point, pieces of every small size, each piece in a heap buffer
// of its own exact size so AddressSanitizer sees any read past one). The plain frame's shortcut
// (plain_ipv4_checksums_ok) gives the general pair's verdict on every untagged IPv4 frame of these.
// Each summing implementation this CPU has is run through all of it.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/l4_checksum.hpp"
#include "pmd/packet/word_sum.hpp"
#include "testlib/frame_gen.hpp"

using namespace nvmeddp;
using pmd::ByteChunk;
using pmd::TcpSegment;

namespace {

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<uint8_t> b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
}

struct Frame {
    std::vector<uint8_t> bytes;
    testlib::FrameLayout layout;
    TcpSegment seg;
};

Frame make_frame(const testlib::FlowSpec& flow, size_t payload_len, uint64_t seed,
                 testlib::TcpOptions options = testlib::TcpOptions::None) {
    testlib::TcpFields tcp;
    tcp.seq = static_cast<uint32_t>(seed * 2654435761u);
    tcp.ack = static_cast<uint32_t>(seed);
    tcp.options = options;
    const auto payload = random_bytes(payload_len, seed);
    auto built = testlib::build_frame(flow, tcp, payload);
    const auto parsed = pmd::parse_frame(built.bytes);
    EXPECT_TRUE(parsed.ok()) << pmd::to_string(parsed.error);
    return Frame{std::move(built.bytes), built.layout, parsed.segment};
}

testlib::FlowSpec ipv4_with_options_and_vlans() {
    auto f = testlib::ipv4_flow();
    f.ipv4_option_words = 3;
    f.s_vlan = 100;
    f.c_vlan = 200;
    return f;
}

testlib::FlowSpec ipv6_with_vlan() {
    auto f = testlib::ipv6_flow();
    f.c_vlan = 7;
    return f;
}

std::vector<testlib::FlowSpec> flows() {
    return {testlib::ipv4_flow(), testlib::ipv6_flow(), ipv4_with_options_and_vlans(), ipv6_with_vlan()};
}

// Heap copies of exactly each piece's size, so that a read past a piece is a read past its buffer.
struct Pieces {
    std::vector<std::unique_ptr<uint8_t[]>> storage;
    std::span<const uint8_t> first;
    std::vector<ByteChunk> more;

    std::span<const uint8_t> copy(std::span<const uint8_t> s) {
        storage.emplace_back(new uint8_t[s.size() == 0 ? 1 : s.size()]);
        if (!s.empty()) std::memcpy(storage.back().get(), s.data(), s.size());
        return {storage.back().get(), s.size()};
    }
};

// The frame cut after `first_len` bytes, the rest in pieces of the sizes given (cycled); a size of
// 0 makes an empty piece.
Pieces cut(std::span<const uint8_t> frame, size_t first_len, const std::vector<size_t>& sizes) {
    Pieces p;
    p.first = p.copy(frame.first(first_len));
    size_t at = first_len;
    for (size_t i = 0; at < frame.size(); ++i) {
        const size_t n = std::min(sizes[i % sizes.size()], frame.size() - at);
        const auto c = p.copy(frame.subspan(at, n));
        p.more.push_back(ByteChunk{c.data(), static_cast<uint32_t>(c.size())});
        at += n;
    }
    return p;
}

size_t g_plain_checked = 0;  // frames whose plain-frame verdict was compared (the comparison ran)

// The plain frame's check (plain_ipv4_checksums_ok), for a frame plain_ipv4_tcp() accepts: the same
// verdict as the general pair, IPv4 header and TCP checksum.
void expect_plain_agrees(const Pieces& p, size_t frame_len, const TcpSegment& seg) {
    if (pmd::detail::plain_ipv4_tcp(p.first, frame_len) == nullptr) return;
    const bool general = pmd::ipv4_header_checksum_ok(p.first, seg) && pmd::tcp_checksum_ok(p.first, seg, p.more);
    EXPECT_EQ(pmd::plain_ipv4_checksums_ok(p.first, p.more), general) << "frame of " << frame_len << " bytes";
    ++g_plain_checked;
}

bool ok_whole(const Frame& f) {
    Pieces p;
    p.first = p.copy(f.bytes);
    expect_plain_agrees(p, f.bytes.size(), f.seg);
    return pmd::tcp_checksum_ok(p.first, f.seg);
}

class L4Checksum : public testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        if (!pmd::l4_checksum_select(GetParam().c_str())) {
            GTEST_SKIP() << "this CPU has no " << GetParam() << " (the other implementation is tested)";
        }
        ASSERT_STREQ(pmd::l4_checksum_implementation(), GetParam().c_str());
    }
    void TearDown() override { pmd::l4_checksum_select(default_impl_.c_str()); }

private:
    std::string default_impl_ = pmd::l4_checksum_implementation();
};

}  // namespace

// The summing loops against RFC 1071 spelt out (16-bit big-endian words, end-around carry), on
// spans longer than any frame (the vector loops work in blocks of 64 KiB), at every start alignment
// mod 8 and in pieces of odd lengths.
uint16_t reference_sum(const std::vector<uint8_t>& bytes) {
    uint64_t s = 0;
    for (size_t i = 0; i < bytes.size(); i += 2) {
        s += uint32_t{bytes[i]} << 8 | (i + 1 < bytes.size() ? bytes[i + 1] : 0);
    }
    while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
    return static_cast<uint16_t>(s);
}

TEST_P(L4Checksum, InternetSumOfLongSpansInPiecesEqualsRfc1071) {
    std::mt19937 rng(7);
    // 8 MiB of 0xFF would overflow a 32-bit lane of a loop without blocks.
    for (size_t len : {0u, 1u, 63u, 64u, 65u, 127u, 128u, 129u, 1448u, 65535u, 65536u, 65537u, 131072u, 200003u, 8388613u}) {
        for (size_t align = 0; align < 8; ++align) {
            if (len > 1000000 && align != 3 && align != 5) continue;
            std::vector<uint8_t> storage(len + align);
            for (auto& b : storage) b = static_cast<uint8_t>(rng());
            if (len >= 65536 && align == 3) std::fill(storage.begin(), storage.end(), 0xFF);  // lanes at their largest
            if (len >= 65536 && align == 5) std::fill(storage.begin(), storage.end(), 0x00);  // and at their smallest (signed)
            const std::vector<uint8_t> bytes(storage.begin() + static_cast<std::ptrdiff_t>(align), storage.end());
            const uint16_t want = reference_sum(bytes);
            pmd::InternetSum whole;
            whole.add({storage.data() + align, len});
            // The folded sum is in the CPU's byte order: compare byte-swapped on little-endian.
            const auto to_be = [](uint16_t v) { return std::endian::native == std::endian::little ? static_cast<uint16_t>(v << 8 | v >> 8) : v; };
            // 0x0000 and 0xFFFF are the same number in ones' complement.
            const auto same = [](uint16_t a, uint16_t b) { return a == b || (a % 0xFFFF == 0 && b % 0xFFFF == 0); };
            ASSERT_TRUE(same(to_be(whole.folded()), want)) << "len " << len << " align " << align;
            pmd::InternetSum pieces;
            for (size_t at = 0, piece = 1; at < len; at += piece, piece = piece * 3 + 1) {
                const size_t take = std::min(piece, len - at);
                pieces.add({storage.data() + align + at, take});
            }
            ASSERT_TRUE(same(to_be(pieces.folded()), want)) << "pieces, len " << len << " align " << align;
        }
    }
}

// Spans shorter than 64 bytes are summed inline (word_sum.hpp's sum_short), longer ones by the
// implementation under test, whose ending differs with the length modulo its step (128 bytes for
// AVX-512, 64 for AVX2, then the portable loop's words): every length to 300, every start
// alignment, against the spelt-out RFC 1071 sum.
TEST_P(L4Checksum, SpansOfEveryLengthTo300EqualRfc1071) {
    std::mt19937 rng(11);
    const auto to_be = [](uint16_t v) { return std::endian::native == std::endian::little ? static_cast<uint16_t>(v << 8 | v >> 8) : v; };
    const auto same = [](uint16_t a, uint16_t b) { return a == b || (a % 0xFFFF == 0 && b % 0xFFFF == 0); };
    for (size_t len = 0; len <= 300; ++len) {
        for (size_t align = 0; align < 8; ++align) {
            std::vector<uint8_t> storage(len + align);
            for (auto& b : storage) b = static_cast<uint8_t>(rng());
            if (align == 5) std::fill(storage.begin(), storage.end(), 0xFF);  // every half at its largest
            const std::vector<uint8_t> bytes(storage.begin() + static_cast<std::ptrdiff_t>(align), storage.end());
            pmd::InternetSum sum;
            sum.add({storage.data() + align, len});
            ASSERT_TRUE(same(to_be(sum.folded()), reference_sum(bytes))) << "len " << len << " align " << align;
        }
    }
}

// The loop-free fold (word_sum.hpp's fold_sum) against the fold it replaced, 16 bits at a time
// until nothing carries: equal on the values at the edges of each step's carry and on random ones.
// Both encodings of zero are not the same here: a nonzero sum must never fold to 0x0000.
TEST(InternetFold, EqualsFoldingSixteenBitsAtATime) {
    const auto loop_fold = [](uint64_t v) {
        v = (v & 0xFFFFFFFFu) + (v >> 32);
        while ((v >> 16) != 0) v = (v & 0xFFFF) + (v >> 16);
        return static_cast<uint16_t>(v);
    };
    std::vector<uint64_t> values = {0, 1, 0xFFFF, 0x10000, 0x1FFFE, 0xFFFFFFFF, 0x100000000, 0x1FFFFFFFF, 0xFFFFFFFF00000001,
                                    0x0000FFFF0000FFFF, 0xFFFF0000FFFF0000, 0xFFFEFFFF00000001, ~uint64_t{0}, ~uint64_t{0} - 1};
    std::mt19937_64 rng(5);
    for (int i = 0; i < 200000; ++i) values.push_back(rng() >> (rng() % 64));
    for (uint64_t v : values) {
        ASSERT_EQ(pmd::detail::fold_sum(v), loop_fold(v)) << std::hex << v;
        ASSERT_EQ(pmd::detail::fold_sum(v) == 0, v == 0) << std::hex << v;
    }
}

TEST_P(L4Checksum, GeneratedFramesPassAtEveryPayloadLength) {
    size_t checked = 0;
    const size_t plain_before = g_plain_checked;
    for (const auto& flow : flows()) {
        for (auto options : {testlib::TcpOptions::None, testlib::TcpOptions::Timestamps, testlib::TcpOptions::TimestampsAndSack}) {
            std::vector<size_t> lengths;
            for (size_t n = 0; n <= 80; ++n) lengths.push_back(n);
            for (size_t n : {255u, 256u, 257u, 1447u, 1448u, 1449u, 8947u, 8948u, 65400u}) lengths.push_back(n);
            for (size_t n : lengths) {
                const Frame f = make_frame(flow, n, n * 7 + checked, options);
                ASSERT_TRUE(ok_whole(f)) << "payload " << n << (flow.ipv6 ? " IPv6" : " IPv4");
                ASSERT_TRUE(pmd::ipv4_header_checksum_ok(f.bytes, f.seg));
                ++checked;
            }
        }
    }
    EXPECT_GT(checked, 1000u);
    EXPECT_GE(g_plain_checked - plain_before, 3u * 90);  // the untagged IPv4 flow's frames, each option set
}

TEST_P(L4Checksum, EverySingleBitErrorIsCaught) {
    for (const auto& flow : flows()) {
        for (size_t payload : {0u, 1u, 37u, 300u}) {
            const Frame f = make_frame(flow, payload, payload + 1, testlib::TcpOptions::Timestamps);
            const auto& l = f.layout;
            ASSERT_TRUE(ok_whole(f));
            // The pseudo-header's addresses, then the TCP header and payload.
            const size_t addr_from = l.l3_offset + (flow.ipv6 ? 8u : 12u);
            const size_t addr_to = l.l3_offset + (flow.ipv6 ? 40u : 20u);
            for (size_t i = addr_from; i < l.ip_end; ++i) {
                if (i >= addr_to && i < l.l4_offset) continue;  // IPv4 options: not in the TCP checksum
                for (int bit = 0; bit < 8; ++bit) {
                    Frame bad = f;
                    bad.bytes[i] ^= static_cast<uint8_t>(1u << bit);
                    ASSERT_FALSE(ok_whole(bad)) << "byte " << i << " bit " << bit << " payload " << payload;
                }
            }
            if (!flow.ipv6) {
                for (size_t i = l.l3_offset; i < l.l4_offset; ++i) {
                    for (int bit = 0; bit < 8; ++bit) {
                        Frame bad = f;
                        bad.bytes[i] ^= static_cast<uint8_t>(1u << bit);
                        ASSERT_FALSE(pmd::ipv4_header_checksum_ok(bad.bytes, f.seg)) << "byte " << i << " bit " << bit;
                        // The plain frame's check, where the frame keeps that shape with the bit flipped.
                        if (pmd::detail::plain_ipv4_tcp(bad.bytes, bad.bytes.size()) != nullptr) {
                            ASSERT_FALSE(pmd::plain_ipv4_checksums_ok(bad.bytes)) << "byte " << i << " bit " << bit;
                        }
                    }
                }
            }
        }
    }
}

TEST_P(L4Checksum, PaddingAndTrailersAreNotSummed) {
    // A 1-byte payload: the frame is padded to 60 bytes after the IP packet.
    Frame f = make_frame(testlib::ipv4_flow(), 1, 3);
    ASSERT_LT(f.layout.ip_end, f.bytes.size());
    for (size_t i = f.layout.ip_end; i < f.bytes.size(); ++i) f.bytes[i] = 0xA5;
    EXPECT_TRUE(ok_whole(f));
    // The padding in a later piece, the segment whole in the first: not summed by the plain
    // frame's check either.
    const Pieces padded = cut(f.bytes, f.layout.ip_end, {100});
    ASSERT_FALSE(padded.more.empty());
    EXPECT_TRUE(pmd::plain_ipv4_checksums_ok(padded.first, padded.more));
    // A trailer after the IP packet in a later segment, and in the first.
    Frame g = make_frame(testlib::ipv6_flow(), 501, 4);
    g.bytes.insert(g.bytes.end(), {1, 2, 3, 4, 5, 6, 7});
    for (size_t k : {size_t{g.layout.payload_offset}, size_t{g.layout.ip_end} - 1, size_t{g.layout.ip_end}, g.bytes.size()}) {
        const Pieces p = cut(g.bytes, k, {100});
        EXPECT_TRUE(pmd::tcp_checksum_ok(p.first, g.seg, p.more)) << "cut at " << k;
    }
}

TEST_P(L4Checksum, MissingBytesAreNeverOk) {
    const Frame f = make_frame(testlib::ipv4_flow(), 1000, 5);
    for (size_t k : {size_t{f.layout.payload_offset}, size_t{f.layout.payload_offset} + 1, size_t{500}}) {
        Pieces p = cut(f.bytes, k, {64});
        ASSERT_TRUE(pmd::tcp_checksum_ok(p.first, f.seg, p.more));
        ASSERT_TRUE(pmd::plain_ipv4_checksums_ok(p.first, p.more));
        p.more.pop_back();  // the frame's last piece never came
        EXPECT_FALSE(pmd::tcp_checksum_ok(p.first, f.seg, p.more)) << "cut at " << k;
        EXPECT_FALSE(pmd::tcp_checksum_ok(p.first, f.seg, {})) << "cut at " << k;
        EXPECT_FALSE(pmd::plain_ipv4_checksums_ok(p.first, p.more)) << "cut at " << k;
        EXPECT_FALSE(pmd::plain_ipv4_checksums_ok(p.first)) << "cut at " << k;
    }
    // Headers outside `first`: not a segment parse_frame() could have described from these bytes.
    EXPECT_FALSE(pmd::tcp_checksum_ok(std::span<const uint8_t>(f.bytes).first(f.layout.payload_offset - 1), f.seg));
    EXPECT_FALSE(pmd::ipv4_header_checksum_ok(std::span<const uint8_t>(f.bytes).first(f.layout.l4_offset - 1), f.seg));
}

TEST_P(L4Checksum, AnyCutGivesTheSameVerdict) {
    const std::vector<std::vector<size_t>> piece_sizes = {{SIZE_MAX}, {1}, {2}, {3}, {5, 0, 7}, {1, 4, 2, 64}, {333}};
    for (const auto& flow : {testlib::ipv4_flow(), testlib::ipv6_flow()}) {
        for (size_t payload : {997u, 1000u}) {
            const Frame good = make_frame(flow, payload, payload ^ 0x55);
            Frame bad = good;
            bad.bytes[good.layout.ip_end - 2] ^= 0x10;  // a payload byte near the end: in a later piece
            for (size_t k = good.layout.payload_offset; k <= good.bytes.size(); ++k) {
                for (const auto& sizes : piece_sizes) {
                    const Pieces p = cut(good.bytes, k, sizes);
                    ASSERT_TRUE(pmd::tcp_checksum_ok(p.first, good.seg, p.more)) << "cut at " << k << ", " << sizes.size();
                    // The same check fed piece by piece.
                    pmd::TcpChecksum c(p.first, good.seg);
                    for (const auto& m : p.more) c.add(m.bytes());
                    ASSERT_TRUE(c.ok());
                    const Pieces q = cut(bad.bytes, k, sizes);
                    ASSERT_FALSE(pmd::tcp_checksum_ok(q.first, bad.seg, q.more)) << "cut at " << k;
                    if (!flow.ipv6) {  // the plain frame's check on the same pieces
                        ASSERT_TRUE(pmd::plain_ipv4_checksums_ok(p.first, p.more)) << "cut at " << k;
                        ASSERT_FALSE(pmd::plain_ipv4_checksums_ok(q.first, q.more)) << "cut at " << k;
                    }
                }
            }
        }
    }
}

// Arbitrary checksum field values: accepted exactly when the reference (testlib's RFC 1071 sum)
// says the segment sums to all ones, including both encodings of zero (0x0000 and 0xFFFF).
TEST_P(L4Checksum, AgreesWithTheReferenceOnArbitraryChecksumFields) {
    std::mt19937_64 rng(11);
    size_t accepted = 0;
    for (int round = 0; round < 400; ++round) {
        const bool v6 = round % 2 == 1;
        Frame f = make_frame(v6 ? testlib::ipv6_flow() : testlib::ipv4_flow(), rng() % 200, rng());
        const auto& l = f.layout;
        const size_t csum_at = l.l4_offset + 16u;
        const uint16_t right = static_cast<uint16_t>(f.bytes[csum_at] << 8 | f.bytes[csum_at + 1]);
        for (uint16_t value : {right, static_cast<uint16_t>(rng()), static_cast<uint16_t>(right + 1),
                               static_cast<uint16_t>(~right), uint16_t{0}, uint16_t{0xFFFF}}) {
            f.bytes[csum_at] = static_cast<uint8_t>(value >> 8);
            f.bytes[csum_at + 1] = static_cast<uint8_t>(value);
            const std::span<const uint8_t> b(f.bytes);
            uint32_t pseudo = 0;
            const auto addrs = v6 ? b.subspan(l.l3_offset + 8, 32) : b.subspan(l.l3_offset + 12, 8);
            for (size_t i = 0; i < addrs.size(); i += 2) pseudo += static_cast<uint32_t>(addrs[i] << 8 | addrs[i + 1]);
            pseudo += static_cast<uint32_t>(l.ip_end - l.l4_offset) + 6;
            const bool expected = testlib::internet_checksum(b.subspan(l.l4_offset, l.ip_end - l.l4_offset), pseudo) == 0;
            ASSERT_EQ(ok_whole(f), expected) << "round " << round << " field " << value << " right " << right;
            accepted += expected ? 1 : 0;
        }
    }
    EXPECT_GE(accepted, 400u);
}

// The other encoding of zero: a segment whose checksum field carries 0x0000 is also accepted with
// 0xFFFF there (RFC 1624: the same number in ones' complement; senders put 0x0000).
TEST_P(L4Checksum, BothEncodingsOfZeroAreAccepted) {
    std::vector<uint8_t> payload = random_bytes(64, 9);
    testlib::TcpFields tcp;
    tcp.seq = 1;
    // Vary one payload word until the generator's checksum comes out as zero.
    std::optional<testlib::BuiltFrame> zero;
    for (uint32_t w = 0; w <= 0xFFFF && !zero; ++w) {
        payload[0] = static_cast<uint8_t>(w >> 8);
        payload[1] = static_cast<uint8_t>(w);
        auto built = testlib::build_frame(testlib::ipv4_flow(), tcp, payload);
        const size_t at = built.layout.l4_offset + 16u;
        if (built.bytes[at] == 0 && built.bytes[at + 1] == 0) zero = std::move(built);
    }
    ASSERT_TRUE(zero.has_value());
    Frame f{zero->bytes, zero->layout, pmd::parse_frame(zero->bytes).segment};
    EXPECT_TRUE(ok_whole(f));
    f.bytes[f.layout.l4_offset + 16u] = f.bytes[f.layout.l4_offset + 17u] = 0xFF;
    EXPECT_TRUE(ok_whole(f));
    f.bytes[f.layout.l4_offset + 17u] = 0xFE;
    EXPECT_FALSE(ok_whole(f));
}

INSTANTIATE_TEST_SUITE_P(Implementations, L4Checksum, testing::Values("baseline", "avx2", "avx512"),
                         [](const testing::TestParamInfo<std::string>& i) { return i.param; });
