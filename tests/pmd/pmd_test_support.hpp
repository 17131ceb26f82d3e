// Shared by the pmd packet-layer tests: the FlowKey a generated flow should parse to, and parsing
// from a buffer of exactly the frame's size (so that AddressSanitizer flags any read past its end).
#pragma once

#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "pmd/packet/flow_key.hpp"
#include "pmd/packet/frame_parser.hpp"
#include "testlib/frame_gen.hpp"

namespace nvmeddp::pmd_test {

// The key of a generated flow's frames: its VLAN is the tag nearest the IP header (the C-tag, or the
// only tag), the outer VLAN the S-tag of a double-tagged frame.
inline pmd::FlowKey key_of(const testlib::FlowSpec& f) {
    const bool both = f.s_vlan && f.c_vlan;
    const uint16_t vlan = f.c_vlan ? *f.c_vlan : f.s_vlan.value_or(0);
    const uint16_t outer = both ? *f.s_vlan : 0;
    return f.ipv6 ? pmd::FlowKey::ipv6(f.src_ip.data(), f.dst_ip.data(), f.src_port, f.dst_port, vlan, outer)
                  : pmd::FlowKey::ipv4(f.src_ip.data(), f.dst_ip.data(), f.src_port, f.dst_port, vlan, outer);
}

// Parses the first n bytes of frame from a heap copy of exactly n bytes.
inline pmd::FrameParse parse_exact(std::span<const uint8_t> frame, size_t n) {
    std::unique_ptr<uint8_t[]> copy(new uint8_t[n]);
    if (n != 0) std::memcpy(copy.get(), frame.data(), n);
    return pmd::parse_frame(std::span<const uint8_t>(copy.get(), n));
}

inline pmd::FrameParse parse_exact(std::span<const uint8_t> frame) { return parse_exact(frame, frame.size()); }

}  // namespace nvmeddp::pmd_test
