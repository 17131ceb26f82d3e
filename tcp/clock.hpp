// Time for tcp/: microseconds from the TSC (rte_get_timer_cycles), read once per poll and handed
// down, so that every decision in one burst sees the same "now" and tests can drive a clock of their own.
#pragma once

#include <rte_cycles.h>

#include <cstdint>

namespace nvmeddp::tcp {

// Timer cycles (rte_get_timer_cycles) in units of 1/per_second s: in two parts, since cycles *
// 10^6 alone overflows 64 bits after a few hours of uptime (cycles * 10^9 after seconds).
inline uint64_t timer_cycles_in(uint64_t cycles, uint64_t per_second) noexcept {
    static const uint64_t hz = rte_get_timer_hz();
    return cycles / hz * per_second + cycles % hz * per_second / hz;
}

inline uint64_t tsc_now_us() noexcept { return timer_cycles_in(rte_get_timer_cycles(), 1'000'000); }

}  // namespace nvmeddp::tcp
