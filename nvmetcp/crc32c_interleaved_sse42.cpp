// The interleaved crc32 path (crc32c_interleaved.hpp) on SSE4.2's crc32 instruction.
#include "nvmetcp/crc32c_fold_paths.hpp"

#if defined(__x86_64__)

#include <nmmintrin.h>

#define NVMEDDP_INTERLEAVED_TARGET __attribute__((target("sse4.2")))
#include "nvmetcp/crc32c_interleaved.hpp"

namespace nvmeddp::nvmetcp::crc32c_fold {

namespace {

struct Sse42Ops {
    NVMEDDP_INTERLEAVED_TARGET static uint64_t crc64(uint64_t crc, uint64_t v) noexcept { return _mm_crc32_u64(crc, v); }
    NVMEDDP_INTERLEAVED_TARGET static uint32_t crc8(uint32_t crc, uint8_t v) noexcept { return _mm_crc32_u8(crc, v); }
};

}  // namespace

NVMEDDP_INTERLEAVED_TARGET uint32_t copy_crc32q(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return crc32c_interleaved::copy_interleaved<Sse42Ops>(state, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len);
}

}  // namespace nvmeddp::nvmetcp::crc32c_fold

#undef NVMEDDP_INTERLEAVED_TARGET

#endif
