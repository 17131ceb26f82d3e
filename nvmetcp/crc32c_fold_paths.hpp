// The one-pass copy + CRC32C paths behind crc32c_copy_extend(), callable by name for its dispatch
// and for tests. Each returns crc32c_extend(state, src, len) and copies len bytes to dst.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nvmeddp::nvmetcp::crc32c_fold {

#if defined(__x86_64__)
// Hardware: call only when the CPU has the instructions (crc32c_copy.cpp checks).
uint32_t copy_pclmul(uint32_t state, void* dst, const void* src, size_t len) noexcept;  // SSE4.2 + PCLMULQDQ
// The same compiled with VEX encodings (+ AVX): what "pclmul" runs where the CPU has AVX.
uint32_t copy_pclmul_vex(uint32_t state, void* dst, const void* src, size_t len) noexcept;
uint32_t copy_avx2(uint32_t state, void* dst, const void* src, size_t len) noexcept;    // + AVX2 + VPCLMULQDQ
uint32_t copy_avx512(uint32_t state, void* dst, const void* src, size_t len) noexcept;  // + AVX-512 F/VL/BW + VPCLMULQDQ
// The same instructions with part of the bytes through crc32 (crc32c_fold_mixed.hpp: of every 128
// bytes, 64 with AVX-512, 96 with AVX2, 112 with PCLMULQDQ): for CPUs with a slow carry-less
// multiply next to crc32 (AMD Zen 4 and 5).
uint32_t copy_avx512_mixed(uint32_t state, void* dst, const void* src, size_t len) noexcept;
uint32_t copy_avx2_mixed(uint32_t state, void* dst, const void* src, size_t len) noexcept;
uint32_t copy_pclmul_mixed(uint32_t state, void* dst, const void* src, size_t len) noexcept;
uint32_t copy_pclmul_mixed_vex(uint32_t state, void* dst, const void* src, size_t len) noexcept;
// Not a fold: SSE4.2's crc32 on three interleaved lanes (crc32c_interleaved.hpp).
uint32_t copy_crc32q(uint32_t state, void* dst, const void* src, size_t len) noexcept;  // SSE4.2
#endif

// The same algorithms on the software instructions of crc32c_fold_soft.hpp, on any CPU. For tests.
uint32_t copy_pclmul_emulated(uint32_t state, void* dst, const void* src, size_t len) noexcept;
uint32_t copy_avx2_emulated(uint32_t state, void* dst, const void* src, size_t len) noexcept;
uint32_t copy_avx512_emulated(uint32_t state, void* dst, const void* src, size_t len) noexcept;
uint32_t copy_avx2_mixed_emulated(uint32_t state, void* dst, const void* src, size_t len) noexcept;
uint32_t copy_pclmul_mixed_emulated(uint32_t state, void* dst, const void* src, size_t len) noexcept;
uint32_t copy_avx512_mixed_emulated(uint32_t state, void* dst, const void* src, size_t len) noexcept;
uint32_t copy_crc32q_emulated(uint32_t state, void* dst, const void* src, size_t len) noexcept;

}  // namespace nvmeddp::nvmetcp::crc32c_fold
