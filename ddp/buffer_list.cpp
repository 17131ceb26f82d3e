#include "ddp/buffer_list.hpp"

namespace nvmeddp::ddp {

Status validate_buffer_list(std::span<const BufferSegment> segments, uint64_t total_len,
                            const DeviceLimits& limits) noexcept {
    if (segments.empty()) return Status::EmptyBufferList;
    if (segments.size() > limits.max_sgl_entries) return Status::TooManySegments;
    if (total_len > limits.max_io_size) return Status::IoTooLarge;
    if (total_len < limits.io_threshold) return Status::IoBelowThreshold;

    const uint64_t align = limits.segment_alignment;
    uint64_t sum = 0;
    for (size_t i = 0; i < segments.size(); ++i) {
        const auto addr = reinterpret_cast<uintptr_t>(segments[i].addr);
        const uint64_t len = segments[i].len;
        if (addr == 0 || len == 0 || addr + len < addr) return Status::BadSegment;
        // Longer than what is left of total_len: checked here, before adding, so the sum never overflows.
        if (len > total_len - sum) return Status::LengthMismatch;
        if (align > 1) {
            const bool first = i == 0;
            const bool last = i + 1 == segments.size();
            if ((!first && addr % align != 0) || (!last && (addr + len) % align != 0)) return Status::MisalignedSegment;
        }
        sum += len;
    }
    if (sum != total_len) return Status::LengthMismatch;
    return Status::Ok;
}

}  // namespace nvmeddp::ddp
