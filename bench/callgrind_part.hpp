// A benchmark's timed part (the host's in bench_host_rx, the engine's in bench_engine), counted in
// instructions under callgrind (scripts/instructions.sh): on these VMs a timed figure moves by a
// third between minutes, an instruction count by 1-2%, so a change to the per-packet work can be
// judged by both.
// Outside valgrind every call here is a few instructions and does nothing.
#pragma once

#include <cstdint>
#include <cstdio>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define NVMEDDP_BENCH_CALLGRIND 1
#endif

namespace nvmeddp::bench {

// One benchmark run's part. The first kWarmRounds iterations of every run are not counted: a
// fresh connection's first rounds take paths the steady state does not (its window opening, the
// first of the queue's commands), and how many iterations a run makes depends on the time it took,
// so counting them made the figure move with the machine's speed.
class CallgrindPart {
public:
    static constexpr uint64_t kWarmRounds = 4;

    // Call at the start of each iteration.
    void next_iteration() noexcept { counting_ = ++iterations_ > kWarmRounds; }
    // Collection on for the part (the program runs with --collect-atstart=no) ...
    void begin() const noexcept {
#ifdef NVMEDDP_BENCH_CALLGRIND
        if (counting_) CALLGRIND_TOGGLE_COLLECT;
#endif
    }
    // ... and off after it.
    void end() const noexcept {
#ifdef NVMEDDP_BENCH_CALLGRIND
        if (counting_) CALLGRIND_TOGGLE_COLLECT;
#endif
    }
    // Items (reads, packets) whose part was counted: the script divides the instructions by them.
    void add_items(uint64_t n) const noexcept {
        if (counting_) totals().items += n;
    }

private:
    uint64_t iterations_ = 0;
    bool counting_ = false;

    struct Totals {
        uint64_t items = 0;
        // Said once at exit, under valgrind only (in the program's stderr, which the script reads).
        ~Totals() {
#ifdef NVMEDDP_BENCH_CALLGRIND
            if (RUNNING_ON_VALGRIND) std::fprintf(stderr, "callgrind_part: counted part of %llu items\n", static_cast<unsigned long long>(items));
#endif
        }
    };
    static Totals& totals() noexcept {
        static Totals t;
        return t;
    }
};

}  // namespace nvmeddp::bench
