// Replaying prebuilt frames with later sequence numbers (bench_engine, bench_host_rx): the seq field
// rewritten and the TCP checksum updated for the two 16-bit words that changed (RFC 1624, eqn. 3), a
// few stores per frame where recomputing the checksum would cost a pass over the payload. The same
// for the flags (a sender's PSH only where a send ends).
#pragma once

#include <cstdint>
#include <vector>

#include "testlib/frame_gen.hpp"

namespace nvmeddp::bench {

inline void set_seq(uint8_t* frame, const testlib::FrameLayout& layout, uint32_t seq) {
    uint8_t* tcp = frame + layout.l4_offset;
    const auto word = [](const uint8_t* p) { return static_cast<uint32_t>(p[0] << 8 | p[1]); };
    uint32_t sum = ~word(tcp + 16) & 0xFFFF;
    sum += (~word(tcp + 4) & 0xFFFF) + (seq >> 16);
    sum += (~word(tcp + 6) & 0xFFFF) + (seq & 0xFFFF);
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    const uint32_t csum = ~sum & 0xFFFF;
    tcp[4] = static_cast<uint8_t>(seq >> 24);
    tcp[5] = static_cast<uint8_t>(seq >> 16);
    tcp[6] = static_cast<uint8_t>(seq >> 8);
    tcp[7] = static_cast<uint8_t>(seq);
    tcp[16] = static_cast<uint8_t>(csum >> 8);
    tcp[17] = static_cast<uint8_t>(csum);
}

// The TCP flags byte rewritten, the checksum updated for its 16-bit word (data offset and flags).
inline void set_tcp_flags(uint8_t* frame, const testlib::FrameLayout& layout, uint8_t flags) {
    uint8_t* tcp = frame + layout.l4_offset;
    const auto word = [](const uint8_t* p) { return static_cast<uint32_t>(p[0] << 8 | p[1]); };
    const uint32_t before = word(tcp + 12);
    const uint32_t after = (before & 0xFF00) | flags;
    uint32_t sum = (~word(tcp + 16) & 0xFFFF) + (~before & 0xFFFF) + after;
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    const uint32_t csum = ~sum & 0xFFFF;
    tcp[13] = flags;
    tcp[16] = static_cast<uint8_t>(csum >> 8);
    tcp[17] = static_cast<uint8_t>(csum);
}

inline void set_seq(std::vector<uint8_t>& frame, const testlib::FrameLayout& layout, uint32_t seq) {
    set_seq(frame.data(), layout, seq);
}

}  // namespace nvmeddp::bench
