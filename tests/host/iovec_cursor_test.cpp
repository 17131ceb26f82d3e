// IoVecCursor: where a command's data goes, byte by byte, across the entries of its buffer list.
#include <gtest/gtest.h>

#include <cstdint>

#include "nvmetcp/host/iovec_cursor.hpp"

namespace {

using nvmeddp::nvmetcp::host::IoVec;
using nvmeddp::nvmetcp::host::IoVecCursor;

TEST(IoVecCursor, WalksTheEntriesSkippingEmptyOnesAndSeeksBack) {
    uint8_t a[10], b[20];
    const IoVec list[] = {{nullptr, 0}, {a, 10}, {nullptr, 0}, {b, 20}};
    IoVecCursor c;
    c.reset(list);
    EXPECT_EQ(c.contiguous(100).data(), a);
    EXPECT_EQ(c.contiguous(100).size(), 10u);
    c.advance(10);
    EXPECT_EQ(c.contiguous(5).data(), b) << "the empty entry between them is skipped";
    EXPECT_EQ(c.contiguous(5).size(), 5u);
    EXPECT_EQ(c.offset(), 10u);
    c.seek(3);
    EXPECT_EQ(c.contiguous(100).data(), a + 3);
    EXPECT_EQ(c.contiguous(100).size(), 7u);
    const IoVecCursor again(list, [&] { IoVecCursor d; d.reset(list); d.seek(25); return d.position(); }());
    EXPECT_EQ(again.contiguous(100).data(), b + 15) << "a position kept without its list";
    c.seek(40);
    EXPECT_TRUE(c.contiguous(100).empty()) << "past the list's end";
    EXPECT_EQ(c.offset(), 30u);
}

// The list is the offload's segment type, whose lengths are 64-bit: an entry may be longer than a
// command's 4 GiB - 1 bytes. Its bytes are walked as far as a command's offsets reach, never with a
// step of 0 (what is left of a 5 GiB entry 1 GiB in, counted in 32 bits, is 0: the cursor would stall).
TEST(IoVecCursor, AnEntryLongerThanFourGiBIsWalkedWithoutStalling) {
    auto* const base = reinterpret_cast<uint8_t*>(uintptr_t{1} << 40);  // never dereferenced
    const IoVec list[] = {{base, uint64_t{5} << 30}};
    IoVecCursor c;
    c.reset(list);
    c.advance(uint32_t{1} << 30);
    EXPECT_EQ(c.contiguous(64).size(), 64u) << "4 GiB are left in the entry, not 0";
    c.advance(UINT32_MAX - (uint32_t{1} << 30) - 16);
    EXPECT_EQ(c.offset(), UINT32_MAX - 16);
    EXPECT_EQ(c.contiguous(64).data(), base + (UINT32_MAX - 16));
    EXPECT_EQ(c.contiguous(64).size(), 64u);
}

}  // namespace
