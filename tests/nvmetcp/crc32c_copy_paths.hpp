// The copy + CRC32C paths the tests run, and why a hardware one cannot run on this CPU (for the skip
// message: a path that does not run must say so, and which emulation covers its algorithm).
#pragma once

#include <ostream>
#include <string>

#include "nvmetcp/crc32c_copy.hpp"

namespace nvmeddp::nvmetcp::test {

struct CopyPath {
    const char* name;         // as crc32c_copy_select() takes it
    const char* instructions; // what it needs; nullptr when it runs on any CPU
    const char* emulation;    // the path that runs its algorithm on any CPU; nullptr for none
};

inline constexpr CopyPath kCopyPaths[] = {
    {"two-pass", nullptr, nullptr},
    {"pclmul", "SSE4.2 + PCLMULQDQ", "pclmul-emulated"},
    {"avx2", "AVX2 + VPCLMULQDQ", "avx2-emulated"},
    {"avx512", "AVX-512 F/VL/BW + VPCLMULQDQ", "avx512-emulated"},
    {"crc32q", "SSE4.2", "crc32q-emulated"},
    {"avx512-mixed", "AVX-512 F/VL/BW + VPCLMULQDQ", "avx512-mixed-emulated"},
    {"avx2-mixed", "AVX2 + VPCLMULQDQ", "avx2-mixed-emulated"},
    {"pclmul-mixed", "SSE4.2 + PCLMULQDQ", "pclmul-mixed-emulated"},
    {"pclmul-emulated", nullptr, nullptr},
    {"avx2-emulated", nullptr, nullptr},
    {"avx512-emulated", nullptr, nullptr},
    {"crc32q-emulated", nullptr, nullptr},
    {"avx512-mixed-emulated", nullptr, nullptr},
    {"avx2-mixed-emulated", nullptr, nullptr},
    {"pclmul-mixed-emulated", nullptr, nullptr},
};

inline constexpr CopyPath kHardwarePaths[] = {kCopyPaths[1], kCopyPaths[2], kCopyPaths[3], kCopyPaths[4],
                                              kCopyPaths[5], kCopyPaths[6], kCopyPaths[7]};

// Whether this CPU can run the path: selecting it tells (and leaves it selected).
inline bool cpu_runs(const CopyPath& path) {
    const std::string before = crc32c_copy_name();
    const bool ok = crc32c_copy_select(path.name);
    crc32c_copy_select(before.c_str());
    return ok;
}

inline std::string not_run_reason(const CopyPath& path) {
    return std::string("not run in hardware: this CPU lacks ") + path.instructions + "; its algorithm runs as " +
           path.emulation;
}

// gtest prints a parameter in the test's description (and CTest's test name): the path's name.
inline void PrintTo(const CopyPath& path, std::ostream* os) { *os << path.name; }

// For gtest's parameterized test names: "avx512-emulated" -> "avx512_emulated".
inline std::string test_name(const CopyPath& path) {
    std::string s = path.name;
    for (auto& c : s) {
        if (c == '-') c = '_';
    }
    return s;
}

}  // namespace nvmeddp::nvmetcp::test
