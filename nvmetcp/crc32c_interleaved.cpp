// The interleaved crc32 path (crc32c_interleaved.hpp): its shift tables and the software build of the
// algorithm (the SSE4.2 build: crc32c_interleaved_sse42.cpp).
#define NVMEDDP_INTERLEAVED_TARGET
#include "nvmetcp/crc32c_interleaved.hpp"

#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/crc32c_combine.hpp"
#include "nvmetcp/crc32c_fold_paths.hpp"

namespace nvmeddp::nvmetcp::crc32c_interleaved {

namespace {

ShiftTable make_shift(uint64_t nbytes) noexcept {
    ShiftTable s{};
    for (unsigned k = 0; k < 4; ++k) {
        for (uint32_t v = 0; v < 256; ++v) s.t[k][v] = crc32c_shift(v << (8 * k), nbytes);
    }
    return s;
}

BlockShifts make_block(size_t lane) noexcept { return BlockShifts{lane, make_shift(lane), make_shift(2 * lane)}; }

// isa-l's CRC of the word's bytes (little-endian, as the instruction takes them): the algorithm's
// lanes and joins checked against an independent CRC on any CPU.
struct SoftOps {
    static uint64_t crc64(uint64_t crc, uint64_t v) noexcept {
        uint8_t b[8];
        for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
        return crc32c_extend(static_cast<uint32_t>(crc), b, sizeof b);
    }
    static uint32_t crc8(uint32_t crc, uint8_t v) noexcept { return crc32c_extend(crc, &v, 1); }
};

}  // namespace

const std::array<BlockShifts, 3>& block_shifts() noexcept {
    static const std::array<BlockShifts, 3> blocks = {make_block(1024), make_block(256), make_block(64)};
    return blocks;
}

}  // namespace nvmeddp::nvmetcp::crc32c_interleaved

namespace nvmeddp::nvmetcp::crc32c_fold {

uint32_t copy_crc32q_emulated(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return crc32c_interleaved::copy_interleaved<crc32c_interleaved::SoftOps>(state, static_cast<uint8_t*>(dst),
                                                                             static_cast<const uint8_t*>(src), len);
}

}  // namespace nvmeddp::nvmetcp::crc32c_fold
