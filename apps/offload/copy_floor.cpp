#include "copy_floor.hpp"

#include <algorithm>
#include <cstring>

namespace nvmeddp::offload_app {

CopyFloor::CopyFloor(const testlib::ReadStream& stream, uint32_t header_len)
    : arrived_(stream.bytes.size(), 0), placeable_(stream.bytes.size(), 0) {
    for (const testlib::PduRecord& p : stream.pdus) {
        if (!p.read || p.type != nvmetcp::PduType::C2HData) continue;
        const uint64_t data_begin = p.offset + p.pdo;
        pdus_.push_back(Pdu{p.offset, p.offset + std::min<uint64_t>(header_len, p.pdo), data_begin, data_begin + p.datal});
    }
}

void CopyFloor::on_frame(uint64_t stream_offset, uint32_t len) {
    const uint64_t end = std::min<uint64_t>(stream_offset + len, arrived_.size());
    if (stream_offset >= end) return;
    // The PDUs this frame touches: from the last one starting at or before its first byte.
    auto first = std::upper_bound(pdus_.begin(), pdus_.end(), stream_offset,
                                  [](uint64_t at, const Pdu& p) { return at < p.header_begin; });
    if (first != pdus_.begin()) --first;
    // Headers first: a header and its data in one frame is the ordinary case, and placeable.
    for (auto p = first; p != pdus_.end() && p->header_begin < end; ++p) {
        for (uint64_t b = std::max(p->header_begin, stream_offset); b < std::min(p->header_end, end); ++b) {
            if (arrived_[b] == 0) ++p->header_have;
        }
    }
    std::memset(arrived_.data() + stream_offset, 1, end - stream_offset);
    for (auto p = first; p != pdus_.end() && p->header_begin < end; ++p) {
        if (p->header_have < p->header_end - p->header_begin) continue;
        const uint64_t b = std::max(p->data_begin, stream_offset), e = std::min(p->data_end, end);
        if (b < e) std::memset(placeable_.data() + b, 1, e - b);
    }
}

uint64_t CopyFloor::unplaceable_bytes() const {
    uint64_t n = 0;
    for (const Pdu& p : pdus_) {
        n += static_cast<uint64_t>(std::count(placeable_.begin() + static_cast<std::ptrdiff_t>(p.data_begin),
                                              placeable_.begin() + static_cast<std::ptrdiff_t>(p.data_end), uint8_t{0}));
    }
    return n;
}

}  // namespace nvmeddp::offload_app
