// The fold of the PCLMULQDQ, AVX2 and AVX-512 paths on emulated instructions, compiled for any CPU.
#include "nvmetcp/crc32c_fold_soft.hpp"

#define NVMEDDP_FOLD_TARGET
#include "nvmetcp/crc32c_fold.hpp"
#include "nvmetcp/crc32c_fold_mixed.hpp"
#undef NVMEDDP_FOLD_TARGET

#include "nvmetcp/crc32c_fold_paths.hpp"

namespace nvmeddp::nvmetcp::crc32c_fold {

uint32_t copy_pclmul_emulated(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return copy_fold_64<SoftIsa>(state, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len);
}

uint32_t copy_avx2_emulated(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return copy_fold_128<SoftIsa>(state, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len);
}

uint32_t copy_avx2_mixed_emulated(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return copy_fold_mixed<SoftIsa, 32>(state, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len);
}

uint32_t copy_pclmul_mixed_emulated(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return copy_fold_mixed<SoftIsa, 16>(state, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len);
}

uint32_t copy_avx512_emulated(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return copy_fold_256<SoftIsa>(state, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len);
}

uint32_t copy_avx512_mixed_emulated(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return copy_fold_mixed<SoftIsa, 64>(state, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len);
}

}  // namespace nvmeddp::nvmetcp::crc32c_fold
