// Buffer list validation: every refusal, and the alignment rule's edges.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "ddp/buffer_list.hpp"

using namespace nvmeddp::ddp;

namespace {

void* at(uintptr_t a) { return reinterpret_cast<void*>(a); }

DeviceLimits limits(uint32_t align = 1) {
    DeviceLimits l;
    l.max_sgl_entries = 4;
    l.max_io_size = 1 << 20;
    l.io_threshold = 4096;
    l.segment_alignment = align;
    return l;
}

Status check(std::vector<BufferSegment> segs, uint64_t total, const DeviceLimits& l = limits()) {
    return validate_buffer_list(segs, total, l);
}

}  // namespace

TEST(BufferList, AcceptsOneOrManySegmentsThatAddUp) {
    EXPECT_EQ(check({{at(0x10000), 8192}}, 8192), Status::Ok);
    EXPECT_EQ(check({{at(0x10000), 4096}, {at(0x30001), 3}, {at(0x50000), 4093}}, 8192), Status::Ok);
}

TEST(BufferList, RefusesEmptyTooLongAndWrongTotals) {
    EXPECT_EQ(check({}, 8192), Status::EmptyBufferList);
    EXPECT_EQ(check({{at(0x1000), 4096}, {at(0x3000), 1}, {at(0x5000), 1}, {at(0x7000), 1}, {at(0x9000), 1}}, 4100),
              Status::TooManySegments);
    EXPECT_EQ(check({{at(0x10000), 8192}}, 8193), Status::LengthMismatch);
    EXPECT_EQ(check({{at(0x10000), 8192}}, 8191), Status::LengthMismatch);
    EXPECT_EQ(check({{at(0x10000), 4096}, {at(0x20000), 4096}}, 4096), Status::LengthMismatch);
}

TEST(BufferList, RefusesSizesOutsideTheLimits) {
    EXPECT_EQ(check({{at(0x10000), (1 << 20) + 1}}, (1 << 20) + 1), Status::IoTooLarge);
    EXPECT_EQ(check({{at(0x10000), 4095}}, 4095), Status::IoBelowThreshold);
    EXPECT_EQ(check({{at(0x10000), 1 << 20}}, 1 << 20), Status::Ok);
    EXPECT_EQ(check({{at(0x10000), 4096}}, 4096), Status::Ok);
}

TEST(BufferList, RefusesNullZeroLengthWrappingAndHugeSegments) {
    EXPECT_EQ(check({{nullptr, 8192}}, 8192), Status::BadSegment);
    EXPECT_EQ(check({{at(0x10000), 8192}, {at(0x20000), 0}}, 8192), Status::BadSegment);
    EXPECT_EQ(check({{at(UINTPTR_MAX - 100), 8192}}, 8192), Status::BadSegment);
    // A segment length that would overflow the sum is caught before it is added.
    EXPECT_EQ(check({{at(0x10000), 4096}, {at(0x20000), uint64_t{1} << 62}}, 8192), Status::LengthMismatch);
    EXPECT_EQ(check({{at(0x10000), 4096}, {at(0x20000), 4096}, {at(0x30000), UINT64_MAX - 0x40000}}, 8192),
              Status::LengthMismatch);
}

TEST(BufferList, AlignmentAppliesToInnerEdgesOnly) {
    const DeviceLimits l = limits(4096);
    // First segment may start anywhere, last may end anywhere.
    EXPECT_EQ(check({{at(0x10010), 0xFF0}, {at(0x20000), 0x1000}, {at(0x30000), 0x10}}, 0x2000, l), Status::Ok);
    // An inner start off the alignment.
    EXPECT_EQ(check({{at(0x10000), 0x1000}, {at(0x20010), 0x1000}}, 0x2000, l), Status::MisalignedSegment);
    // A non-last segment ending off the alignment.
    EXPECT_EQ(check({{at(0x10000), 0xFFF}, {at(0x20000), 0x1001}}, 0x2000, l), Status::MisalignedSegment);
    // One segment: no inner edge at all.
    EXPECT_EQ(check({{at(0x10003), 0x1FFF}}, 0x1FFF, l), Status::Ok);
}
