// The demo's copy floor (apps/offload/copy_floor.hpp): read data every copy of which came before its
// PDU's header, which no device can place.
#include <gtest/gtest.h>

#include "copy_floor.hpp"
#include "testlib/read_stream_gen.hpp"

using namespace nvmeddp;

namespace {

testlib::ReadStream two_reads() {
    testlib::ReadStreamOptions o;
    o.commands = 2;
    o.min_len = o.max_len = 4000;
    o.data_digest = true;
    return testlib::generate_read_stream(o);
}

const testlib::PduRecord& c2h(const testlib::ReadStream& s, size_t k) {
    size_t seen = 0;
    for (const auto& p : s.pdus) {
        if (p.type == nvmetcp::PduType::C2HData && seen++ == k) return p;
    }
    throw std::runtime_error("no such C2HData");
}

}  // namespace

TEST(CopyFloor, InOrderNothingIsUnplaceable) {
    const testlib::ReadStream s = two_reads();
    offload_app::CopyFloor floor(s, nvmetcp::kHlenData);
    for (uint64_t at = 0; at < s.bytes.size(); at += 1000) floor.on_frame(at, static_cast<uint32_t>(std::min<uint64_t>(1000, s.bytes.size() - at)));
    EXPECT_EQ(floor.unplaceable_bytes(), 0u);
}

// The second read's header comes after 1000 bytes of its data: those are unplaceable, unless a copy
// of them comes again after the header.
TEST(CopyFloor, DataBeforeItsHeaderIsUnplaceableUntilACopyComesAfterIt) {
    const testlib::ReadStream s = two_reads();
    const testlib::PduRecord& second = c2h(s, 1);
    const uint64_t data = second.offset + second.pdo;
    for (const bool again : {false, true}) {
        offload_app::CopyFloor floor(s, nvmetcp::kHlenData);
        floor.on_frame(0, static_cast<uint32_t>(second.offset + 10));  // the header's first 10 bytes
        floor.on_frame(data, 1000);                                    // data, before the header's rest
        floor.on_frame(second.offset + 10, static_cast<uint32_t>(data - second.offset - 10));
        if (again) floor.on_frame(data, 1000);                         // a retransmission, after it
        floor.on_frame(data + 1000, static_cast<uint32_t>(s.bytes.size() - data - 1000));
        EXPECT_EQ(floor.unplaceable_bytes(), again ? 0u : 1000u);
    }
}
