// Wire layout helpers. (Struct sizes and field offsets are pinned by static_asserts in pdu.hpp.)
#include <gtest/gtest.h>

#include "nvmetcp/pdu.hpp"

using namespace nvmeddp::nvmetcp;

TEST(WireInt, LittleEndianOnTheWire) {
    le32 v;
    v.set(0x11223344u);
    EXPECT_EQ(v.bytes[0], 0x44);
    EXPECT_EQ(v.bytes[3], 0x11);
    EXPECT_EQ(v.get(), 0x11223344u);
    le16 s;
    s.set(0xBEEF);
    EXPECT_EQ(s.bytes[0], 0xEF);
    EXPECT_EQ(s.get(), 0xBEEF);
    uint8_t raw[4];
    store_le32(raw, 0xE3069283u);
    EXPECT_EQ(raw[0], 0x83);
    EXPECT_EQ(load_le32(raw), 0xE3069283u);
}

TEST(PduLayout, HlenPerType) {
    EXPECT_EQ(expected_hlen(0), 128);
    EXPECT_EQ(expected_hlen(1), 128);
    EXPECT_EQ(expected_hlen(2), 24);
    EXPECT_EQ(expected_hlen(3), 24);
    EXPECT_EQ(expected_hlen(4), 72);
    EXPECT_EQ(expected_hlen(5), 24);
    EXPECT_EQ(expected_hlen(6), 24);
    EXPECT_EQ(expected_hlen(7), 24);
    EXPECT_EQ(expected_hlen(8), 0) << "type 8 is not defined";
    EXPECT_EQ(expected_hlen(9), 24);
    EXPECT_EQ(expected_hlen(0xff), 0);
}

TEST(PduLayout, PdoFollowsHeaderAndAlignment) {
    EXPECT_EQ(expected_pdo(24, false, 0), 24u);
    EXPECT_EQ(expected_pdo(24, true, 0), 28u);
    EXPECT_EQ(data_alignment(0), 4u);
    EXPECT_EQ(data_alignment(31), 128u);
    EXPECT_EQ(expected_pdo(24, true, 1), 32u) << "CPDA 1 = 8-byte alignment: 28 rounds up to 32";
    EXPECT_EQ(expected_pdo(24, false, 7), 32u);
    EXPECT_EQ(expected_pdo(72, true, 31), 128u);
}

TEST(PduLayout, TypeNames) {
    EXPECT_STREQ(to_string(PduType::C2HData), "C2HData");
    EXPECT_STREQ(to_string(static_cast<PduType>(8)), "unknown");
}
