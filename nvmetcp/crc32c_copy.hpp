// Copy and CRC32C in one pass: what a receive offload does with C2HData, placing the payload and
// computing its data digest while the bytes are in registers, so the source is read once.
//
// On x86 the data is folded with carry-less multiplies, every loaded vector also stored to the
// destination: with AVX-512 VPCLMULQDQ 256 bytes per iteration in sixteen 128-bit lanes, with AVX2
// VPCLMULQDQ 128 bytes in eight, else with PCLMULQDQ 64 bytes in four (the algorithm:
// crc32c_fold.hpp). Each has a mixed loop (crc32c_fold_mixed.hpp) that runs part of every 128 bytes
// through the crc32 instruction instead, for CPUs whose carry-less multiply is slow next to crc32;
// a calibration at start-up on packet-sized copies picks plain or mixed. Without carry-less
// multiply, SSE4.2's crc32 on three interleaved lanes (crc32c_interleaved.hpp). Without any of
// them it is memcpy followed by crc32c_extend (isa-l). The result always equals
// crc32c_extend(state, src, len): tests compare both for each path on every length up to 1 KiB and
// alignment mod 64, and run each x86 path's algorithm on software-emulated instructions too, so
// that it is checked on CPUs without them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nvmeddp::nvmetcp {

// Copies len bytes from src to dst (which must not overlap) and returns the raw CRC32C state
// extended over them, like crc32c_extend().
uint32_t crc32c_copy_extend(uint32_t state, void* dst, const void* src, size_t len) noexcept;

// Whether a one-pass implementation is in use on this CPU (else the two-pass fallback), and which.
bool crc32c_copy_is_fused() noexcept;
const char* crc32c_copy_implementation() noexcept;
// The name of the implementation in use, as crc32c_copy_select() takes it.
const char* crc32c_copy_name() noexcept;
// Why the default is the one chosen at start-up, in a sentence (with the calibration's figures).
// The environment variable NVMEDDP_CRC32C_PATH, when it names a path this CPU runs (a name
// crc32c_copy_select() takes, not an emulation), sets the default instead of the calibration;
// another name is refused with a line on stderr.
const char* crc32c_copy_default_reason() noexcept;
// Chooses an implementation for tests and benchmarks: "avx512", "avx512-mixed", "avx2",
// "avx2-mixed", "pclmul", "pclmul-mixed", "crc32q", "two-pass", or one of them with "-emulated"
// (the same algorithm on instructions emulated in software, on any CPU, slow; never chosen by
// default; not for two-pass). False when the name is unknown or the CPU lacks it.
// Not thread-safe: call before any copy runs.
bool crc32c_copy_select(const char* name) noexcept;

}  // namespace nvmeddp::nvmetcp
