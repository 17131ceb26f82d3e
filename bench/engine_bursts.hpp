// Frames through an engine queue in bursts of 32, as an lcore's rx bursts are (bench_engine,
// bench_scaling): each frame's bytes as `bytes_of(frame)` gives them, the port's checksum verdict
// `l4` for all.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <span>

#include "pmd/engine/queue_engine.hpp"

namespace nvmeddp::bench {

template <typename Frames, typename BytesOf>
void process_in_bursts(pmd::QueueEngine& q, const Frames& frames, pmd::L4Checksum l4, BytesOf bytes_of) {
    constexpr size_t kBurst = 32;
    q.begin_burst();
    size_t in_burst = 0;
    for (const auto& f : frames) {
        const std::span<const uint8_t> bytes = bytes_of(f);
        nvmeddp_pkt_meta meta;
        q.process(bytes, bytes.size(), {}, nullptr, l4, meta);
        benchmark::DoNotOptimize(meta);
        if (++in_burst == kBurst) {
            q.end_burst();
            q.begin_burst();
            in_burst = 0;
        }
    }
    q.end_burst();
}

}  // namespace nvmeddp::bench
