// The PCLMULQDQ path's 64-byte fold compiled with VEX encodings, for CPUs that have AVX: crc32c_copy.cpp
// runs it for "pclmul" there. Legacy-SSE instructions keep the upper bits of their vector registers,
// so while wider code before them (isa-l, memcpy, DPDK, without vzeroupper) has left those bits
// dirty, each one waits on the register's old value: on Zen 5 the legacy-SSE fold then ran at 2.5
// bytes a cycle instead of 4 (scratch rdtsc loop, 8 KiB, after one ZMM write). VEX instructions
// zero the upper bits and carry no such dependency.
#include "nvmetcp/crc32c_fold_paths.hpp"

#if defined(__x86_64__)

#define NVMEDDP_FOLD_TARGET __attribute__((target("avx,sse4.2,pclmul")))
#include "nvmetcp/crc32c_fold.hpp"
#include "nvmetcp/crc32c_fold_mixed.hpp"
#include "nvmetcp/crc32c_fold_x86.hpp"

namespace nvmeddp::nvmetcp::crc32c_fold {

// With the same target as the fold, which the compiler can then inline here.
NVMEDDP_FOLD_TARGET uint32_t copy_pclmul_vex(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return copy_fold_64<X86Clmul128>(state, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len);
}

NVMEDDP_FOLD_TARGET uint32_t copy_pclmul_mixed_vex(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return copy_fold_mixed<X86Clmul128, 16>(state, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), len);
}

}  // namespace nvmeddp::nvmetcp::crc32c_fold

#undef NVMEDDP_FOLD_TARGET

#endif
