// SglCursor over a buffer list of several segments: copy() and equals() cross segment boundaries,
// stop at the list's end, and equals() finds a difference wherever it lies.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <numeric>

#include "pmd/engine/sgl_cursor.hpp"

using nvmeddp::ddp::BufferSegment;
using nvmeddp::pmd::SglCursor;

namespace {

struct ThreeSegments {
    std::array<uint8_t, 5> a{};
    std::array<uint8_t, 3> b{};
    std::array<uint8_t, 8> c{};
    std::array<BufferSegment, 3> list{BufferSegment{a.data(), a.size()}, BufferSegment{b.data(), b.size()},
                                      BufferSegment{c.data(), c.size()}};
};

std::array<uint8_t, 16> counting() {
    std::array<uint8_t, 16> v{};
    std::iota(v.begin(), v.end(), uint8_t{1});
    return v;
}

}  // namespace

TEST(SglCursor, CopiesAcrossSegmentsAndStopsAtTheEnd) {
    ThreeSegments s;
    const auto src = counting();
    SglCursor cursor;
    ASSERT_TRUE(cursor.seek(s.list, 3));
    EXPECT_EQ(cursor.copy(src.data(), 16), 13u);  // 16 bytes of list, from 3: 13 fit
    EXPECT_EQ(s.a[3], 1);
    EXPECT_EQ(s.b[0], 3);
    EXPECT_EQ(s.c[7], 13);
    EXPECT_FALSE(cursor.seek(s.list, 16));
}

TEST(SglCursor, EqualsComparesAcrossSegments) {
    ThreeSegments s;
    const auto src = counting();
    SglCursor writer;
    ASSERT_TRUE(writer.seek(s.list, 2));
    ASSERT_EQ(writer.copy(src.data(), 12), 12u);  // offsets 2..13: a[2..4], b[0..2], c[0..5]
    SglCursor reader;
    ASSERT_TRUE(reader.seek(s.list, 2));
    EXPECT_TRUE(reader.equals(src.data(), 12));
    ASSERT_TRUE(reader.seek(s.list, 4));  // from inside the first segment, into the third
    EXPECT_TRUE(reader.equals(src.data() + 2, 6));
    for (const size_t at : {0u, 2u, 3u, 5u, 6u, 11u}) {  // a difference in each segment, at each edge
        auto other = src;
        other[at] ^= 0x80;
        ASSERT_TRUE(reader.seek(s.list, 2));
        EXPECT_FALSE(reader.equals(other.data(), 12)) << at;
    }
    ASSERT_TRUE(reader.seek(s.list, 10));
    EXPECT_FALSE(reader.equals(src.data() + 8, 7));  // the list ends after 6
}

// Copies that end exactly at a segment's end (a PDU's data filling a buffer) leave the cursor at the
// next segment's start; the last one leaves it at the list's end, where nothing more is written.
TEST(SglCursor, CopiesEndingAtASegmentsEndGoOnInTheNext) {
    ThreeSegments s;
    const auto src = counting();
    SglCursor cursor;
    ASSERT_TRUE(cursor.seek(s.list, 1));
    EXPECT_EQ(cursor.copy(src.data(), 4), 4u);      // a[1..4], to a's end
    EXPECT_EQ(cursor.copy(src.data() + 4, 3), 3u);  // all of b
    EXPECT_EQ(cursor.copy(src.data() + 7, 2), 2u);  // c[0..1]
    EXPECT_EQ(cursor.copy(src.data() + 9, 6), 6u);  // c[2..7], to the list's end
    EXPECT_EQ(cursor.copy(src.data(), 1), 0u);      // nothing past it
    EXPECT_EQ(s.a[0], 0);
    EXPECT_EQ(s.a[1], 1);
    EXPECT_EQ(s.a[4], 4);
    EXPECT_EQ(s.b[0], 5);
    EXPECT_EQ(s.b[2], 7);
    EXPECT_EQ(s.c[0], 8);
    EXPECT_EQ(s.c[2], 10);
    EXPECT_EQ(s.c[7], 15);
}
