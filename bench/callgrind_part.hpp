// The host's timed part of a benchmark, counted in instructions under callgrind
// (scripts/host_instructions.sh): on these VMs a timed figure moves by a third between minutes, an
// instruction count does not, so a change to the host's per-segment work can be judged by both.
// Outside valgrind every call here is a few instructions and does nothing.
#pragma once

#include <cstdint>
#include <cstdio>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define NVMEDDP_BENCH_CALLGRIND 1
#endif

namespace nvmeddp::bench {

class CallgrindPart {
public:
    // Collection on for the part (the program runs with --collect-atstart=no) ...
    static void begin() noexcept {
#ifdef NVMEDDP_BENCH_CALLGRIND
        CALLGRIND_TOGGLE_COLLECT;
#endif
    }
    // ... and off after it.
    static void end() noexcept {
#ifdef NVMEDDP_BENCH_CALLGRIND
        CALLGRIND_TOGGLE_COLLECT;
#endif
    }
    // Reads whose host part was counted: the script divides the instructions by them.
    static void add_reads(uint64_t n) noexcept { totals().reads += n; }

private:
    struct Totals {
        uint64_t reads = 0;
        // Said once at exit, under valgrind only (in the program's stderr, which the script reads).
        ~Totals() {
#ifdef NVMEDDP_BENCH_CALLGRIND
            if (RUNNING_ON_VALGRIND) std::fprintf(stderr, "callgrind_part: host part of %llu reads\n", static_cast<unsigned long long>(reads));
#endif
        }
    };
    static Totals& totals() noexcept {
        static Totals t;
        return t;
    }
};

}  // namespace nvmeddp::bench
