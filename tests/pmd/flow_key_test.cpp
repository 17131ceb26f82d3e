// FlowKey: layout, equality, reversal, hash spread; and the big-endian wire integers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>

#include "pmd/packet/be_int.hpp"
#include "pmd/packet/flow_key.hpp"

using namespace nvmeddp::pmd;

namespace {

FlowKey v4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) {
    const uint8_t s[4] = {static_cast<uint8_t>(src >> 24), static_cast<uint8_t>(src >> 16),
                          static_cast<uint8_t>(src >> 8), static_cast<uint8_t>(src)};
    const uint8_t d[4] = {static_cast<uint8_t>(dst >> 24), static_cast<uint8_t>(dst >> 16),
                          static_cast<uint8_t>(dst >> 8), static_cast<uint8_t>(dst)};
    return FlowKey::ipv4(s, d, sport, dport);
}

}  // namespace

TEST(BigEndian, RoundTripsAndIsNetworkOrder) {
    be16 a{};
    a.set(0xABCD);
    EXPECT_EQ(a.bytes[0], 0xAB);
    EXPECT_EQ(a.bytes[1], 0xCD);
    EXPECT_EQ(a.get(), 0xABCD);
    be32 b{};
    b.set(0x01020304u);
    EXPECT_EQ(b.bytes[0], 1);
    EXPECT_EQ(b.bytes[3], 4);
    EXPECT_EQ(b.get(), 0x01020304u);
    EXPECT_EQ(load_be32(b.bytes), 0x01020304u);
    EXPECT_EQ(load_be16(a.bytes), 0xABCD);
}

TEST(FlowKey, Ipv4IsStoredMappedAndDiffersFromIpv6) {
    const FlowKey k = v4(0xC0000201u, 0xC0000202u, 4420, 40000);
    const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 1};
    EXPECT_EQ(0, std::memcmp(k.src_addr.data(), mapped, 16));
    EXPECT_EQ(k.family, IpFamily::Ipv4);
    // The same 16 bytes arriving as IPv6 (an IPv4-mapped address on the wire) are another flow.
    const FlowKey as_v6 = FlowKey::ipv6(k.src_addr.data(), k.dst_addr.data(), 4420, 40000);
    EXPECT_NE(as_v6, k);
    EXPECT_NE(as_v6.hash(0), k.hash(0));
}

TEST(FlowKey, EqualityLooksAtEveryField) {
    const FlowKey base = v4(1, 2, 3, 4);
    EXPECT_EQ(base, v4(1, 2, 3, 4));
    EXPECT_NE(base, v4(9, 2, 3, 4));
    EXPECT_NE(base, v4(1, 9, 3, 4));
    EXPECT_NE(base, v4(1, 2, 9, 4));
    EXPECT_NE(base, v4(1, 2, 3, 9));
    // Every single-bit change of the address/port bytes is a different key with a different hash.
    for (size_t byte = 0; byte < 36; ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
            FlowKey k = base;
            reinterpret_cast<uint8_t*>(&k)[byte] ^= static_cast<uint8_t>(1 << bit);
            EXPECT_NE(k, base) << byte << "." << bit;
            EXPECT_NE(k.hash(42), base.hash(42)) << byte << "." << bit;
        }
    }
}

TEST(FlowKey, ReversedSwapsEndsAndIsAnInvolution) {
    const FlowKey k = v4(0x0A000001u, 0x0A000002u, 4420, 51000);
    const FlowKey r = k.reversed();
    EXPECT_EQ(r, v4(0x0A000002u, 0x0A000001u, 51000, 4420));
    EXPECT_NE(r, k);
    EXPECT_EQ(r.reversed(), k);
    EXPECT_EQ(r.family, k.family);
}

TEST(FlowKey, HashDependsOnSeedAndSpreadsLowAndHighBits) {
    const FlowKey k = v4(1, 2, 3, 4);
    EXPECT_NE(k.hash(1), k.hash(2));
    // 64K clients that differ only in the last two address bytes and the port (the realistic case):
    // the low 13 bits (the slot index of an 8K table) and the high 15 bits (the tag) must both be
    // close to uniformly spread. With n = 65536 keys in 8192 buckets, a perfect hash leaves about
    // 8192 * e^-8 = 3 buckets empty and no bucket above ~25.
    std::vector<int> low(8192);
    std::vector<int> high(8192);
    for (uint32_t i = 0; i < 65536; ++i) {
        const uint64_t h = v4(0xC0A80000u | (i & 0xFFFF), 0xC0A80001u, static_cast<uint16_t>(40000 + (i >> 12)), 4420).hash(7);
        ++low[h & 8191];
        ++high[h >> 51];
    }
    for (const auto* buckets : {&low, &high}) {
        EXPECT_LT(std::count(buckets->begin(), buckets->end(), 0), 30);
        EXPECT_LT(*std::max_element(buckets->begin(), buckets->end()), 32);
    }
}
