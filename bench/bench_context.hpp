// What a benchmark run records besides its timings: which copy + CRC32C path and which TCP checksum
// loop this binary's libraries chose on this CPU, as custom context entries of Google Benchmark
// ("crc32c_copy_path", "crc32c_copy_reason", "l4_checksum_path" in the JSON output's "context"), so that a report built
// from the JSON (scripts/bench_report.py) states the paths the figures were measured with.
//
// add_run_context() is called from main (bench_main.cpp) and not from a static initialiser here: each
// library picks its path in a dynamic initialiser of its own file, and the order of those relative
// to ours is unspecified. With GNU ld ours ran first and read the not-yet-chosen value ("two-pass",
// "baseline") on a CPU with AVX-512.
//
// A binary records only the paths of the libraries it links: a layer's headers are on a target's
// include path exactly when it links that layer (cmake/Layers.cmake), which __has_include tests.
#pragma once

#include <benchmark/benchmark.h>

#if __has_include("nvmetcp/crc32c_copy.hpp")
#include "nvmetcp/crc32c_copy.hpp"
#define NVMEDDP_BENCH_HAS_CRC32C_COPY 1
#endif
#if __has_include("pmd/packet/l4_checksum.hpp")
#include "pmd/packet/l4_checksum.hpp"
#define NVMEDDP_BENCH_HAS_L4_CHECKSUM 1
#endif

namespace nvmeddp::bench {

inline void add_run_context() {
#ifdef NVMEDDP_BENCH_HAS_CRC32C_COPY
    benchmark::AddCustomContext("crc32c_copy_path", nvmetcp::crc32c_copy_name());
    benchmark::AddCustomContext("crc32c_copy_reason", nvmetcp::crc32c_copy_default_reason());
#endif
#ifdef NVMEDDP_BENCH_HAS_L4_CHECKSUM
    benchmark::AddCustomContext("l4_checksum_path", pmd::l4_checksum_implementation());
#endif
}

}  // namespace nvmeddp::bench
