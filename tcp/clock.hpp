// Time for tcp/: microseconds from the TSC (rte_get_timer_cycles), read once per poll and handed
// down, so that every decision in one burst sees the same "now" and tests can drive a clock of their own.
#pragma once

#include <rte_cycles.h>

#include <cstdint>

namespace nvmeddp::tcp {

inline uint64_t tsc_now_us() noexcept {
    static const uint64_t hz = rte_get_timer_hz();
    const uint64_t cycles = rte_get_timer_cycles();
    // In two parts: cycles * 10^6 alone overflows 64 bits after a few hours of uptime.
    return cycles / hz * 1'000'000 + cycles % hz * 1'000'000 / hz;
}

}  // namespace nvmeddp::tcp
