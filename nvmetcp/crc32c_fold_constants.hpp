// The folding constants of the one-pass copy + CRC32C, shared by every implementation of the fold
// (the x86 instructions and their software emulation), so that a wrong constant fails everywhere.
//
// CRC32C is bit-reflected (polynomial P = 0x1EDC6F41, as the crc32 instruction and the NVMe/TCP
// digest use it). Moving a 128-bit lane D bits forward multiplies its low 64 bits by x^(D+32) mod P
// and its high 64 bits by x^(D-32) mod P, each stored as reflect32(x^n mod P) << 1 (the shift makes
// up for the product of two reflected operands coming out one bit low). crc32c_fold_test derives
// every value from P.
#pragma once

#include <cstdint>

namespace nvmeddp::nvmetcp::crc32c_fold {

// The multipliers for one fold distance: lo for a lane's low 64 bits, hi for its high 64 bits.
struct FoldConstant {
    uint64_t lo;
    uint64_t hi;
};

inline constexpr FoldConstant kFold4096{0xbd6f81f8, 0xdd7e3b0c};  // the mixed fold, 512 bytes:  x^(4096+32), x^(4096-32)
inline constexpr FoldConstant kFold2048{0xdcb17aa4, 0xb9e02b86};  // sixteen lanes: x^(2048+32), x^(2048-32)
inline constexpr FoldConstant kFold1024{0x6992cea2, 0xd3b6092};   // eight lanes: x^(1024+32), x^(1024-32)
inline constexpr FoldConstant kFold512{0x740eef02, 0x9e4addf8};   // four lanes: x^(512+32), x^(512-32)
inline constexpr FoldConstant kFold384{0x1c291d04, 0x1d82c63da};  // three lanes: x^(384+32), x^(384-32)
inline constexpr FoldConstant kFold256{0x1384aa63a, 0xba4fc28e};  // two lanes: x^(256+32), x^(256-32)
inline constexpr FoldConstant kFold128{0xf20c0dfe, 0x14cd00bd6};  // one lane: x^(128+32), x^(128-32)

}  // namespace nvmeddp::nvmetcp::crc32c_fold
