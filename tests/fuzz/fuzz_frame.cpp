// Fuzz target: the Ethernet/IP/TCP frame parser on arbitrary bytes, whole and as a first segment of
// a longer frame. Invariants: no out-of-bounds read (ASan), an accepted frame's payload lies inside
// the frame and after its headers, and parse_frame's straight line for plain IPv4 says what the
// general path says (the same error, or the same segment).
#include "fuzz_input.hpp"
#include "pmd/packet/frame_parser.hpp"

using namespace nvmeddp;

namespace {

void same_as_general(const pmd::FrameParse& a, const pmd::FrameParse& b) {
    if (a.error != b.error) fuzz::invariant_broken("the straight line and the general path disagree on the error");
    if (!a.ok()) return;
    if (!(a.segment == b.segment)) {
        fuzz::invariant_broken("the straight line and the general path describe different segments");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput in(data, size);
    const uint16_t extra = in.take<uint16_t>();
    const std::span<const uint8_t> frame = in.rest();
    const pmd::FrameParse whole = pmd::parse_frame(frame);
    same_as_general(whole, pmd::detail::parse_frame_general(frame, frame.size()));
    if (whole.ok()) {
        const pmd::TcpSegment& s = whole.segment;
        if (size_t{s.payload_offset} + s.payload_len > frame.size()) fuzz::invariant_broken("payload past the frame");
        if (s.payload_offset < s.l4_offset + 20u || s.l4_offset <= s.l3_offset) fuzz::invariant_broken("payload inside the headers");
    }
    // As the first segment of a frame `extra` bytes longer: never reads beyond the segment.
    const pmd::FrameParse first = pmd::parse_frame(frame, frame.size() + extra);
    same_as_general(first, pmd::detail::parse_frame_general(frame, frame.size() + extra));
    if (first.ok() && size_t{first.segment.payload_offset} > frame.size()) fuzz::invariant_broken("payload starts past the segment");
    return 0;
}
