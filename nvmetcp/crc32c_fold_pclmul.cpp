// The 64-byte fold (four 128-bit lanes) on SSE4.2 + PCLMULQDQ.
#include "nvmetcp/crc32c_fold_paths.hpp"

#if defined(__x86_64__)

#define NVMEDDP_FOLD_TARGET __attribute__((target("sse4.2,pclmul")))
#include "nvmetcp/crc32c_fold.hpp"
#include "nvmetcp/crc32c_fold_mixed.hpp"
#include "nvmetcp/crc32c_fold_x86.hpp"

namespace nvmeddp::nvmetcp::crc32c_fold {

// With the same target as the fold, which the compiler can then inline here.
NVMEDDP_FOLD_TARGET uint32_t copy_pclmul(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return copy_fold_64<X86Clmul128>(state, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len);
}

NVMEDDP_FOLD_TARGET uint32_t copy_pclmul_mixed(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return copy_fold_mixed<X86Clmul128, 16>(state, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len);
}

}  // namespace nvmeddp::nvmetcp::crc32c_fold

#undef NVMEDDP_FOLD_TARGET

#endif
