// Packet layer per-packet costs: parse_frame on IPv4/IPv6 TCP frames, classifier lookups (hits and
// misses) with 4K connections, and the two together, which is what the engine pays per received
// packet on a port without rte_flow. Target: parse + lookup under 25 ns per packet.
//
// Frames and keys are spread over 4096 flows and visited in a shuffled order, so the table and the
// frames are touched as a busy port would touch them (all within L2, as on a real rx burst).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <vector>

#include "pmd/packet/flow_classifier.hpp"
#include "pmd/packet/frame_parser.hpp"
#include "testlib/frame_gen.hpp"

namespace {

using namespace nvmeddp::pmd;
using namespace nvmeddp::testlib;

constexpr size_t kFlows = 4096;

FlowSpec flow_n(bool ipv6, size_t n) {
    FlowSpec f = ipv6 ? ipv6_flow() : ipv4_flow();
    f.src_ip[ipv6 ? 14 : 2] = static_cast<uint8_t>(n >> 8);
    f.src_ip[ipv6 ? 15 : 3] = static_cast<uint8_t>(n);
    f.src_port = static_cast<uint16_t>(4420 + n % 3);
    return f;
}

FlowKey key_of(const FlowSpec& f) {
    return f.ipv6 ? FlowKey::ipv6(f.src_ip.data(), f.dst_ip.data(), f.src_port, f.dst_port)
                  : FlowKey::ipv4(f.src_ip.data(), f.dst_ip.data(), f.src_port, f.dst_port);
}

// One frame per flow (header plus a little payload: the parser never reads the payload, so its
// length does not matter), TCP timestamps on as Linux sends them, shuffled.
std::vector<std::vector<uint8_t>> frames(bool ipv6) {
    std::vector<std::vector<uint8_t>> out;
    const std::vector<uint8_t> payload(64, 0x5A);
    for (size_t i = 0; i < kFlows; ++i) {
        TcpFields tcp;
        tcp.seq = static_cast<uint32_t>(i * 1448);
        tcp.options = TcpOptions::Timestamps;
        out.push_back(build_frame(flow_n(ipv6, i), tcp, payload).bytes);
    }
    std::shuffle(out.begin(), out.end(), std::mt19937_64(1));
    return out;
}

FlowClassifier table(bool ipv6) {
    FlowClassifier c(kFlows, 0xC0FFEE);
    for (size_t i = 0; i < kFlows; ++i) c.insert(key_of(flow_n(ipv6, i)), static_cast<uint32_t>(i), 0);
    return c;
}

void BM_ParseFrame(benchmark::State& state) {
    const auto all = frames(state.range(0) != 0);
    size_t i = 0;
    for (auto _ : state) {
        const auto r = parse_frame(all[i]);
        benchmark::DoNotOptimize(r);
        i = (i + 1) & (kFlows - 1);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseFrame)->ArgName("ipv6")->Arg(0)->Arg(1);

void BM_LookupHit(benchmark::State& state) {
    const bool ipv6 = state.range(0) != 0;
    const auto c = table(ipv6);
    std::vector<FlowKey> keys;
    for (size_t i = 0; i < kFlows; ++i) keys.push_back(key_of(flow_n(ipv6, i)));
    std::shuffle(keys.begin(), keys.end(), std::mt19937_64(2));
    size_t i = 0;
    for (auto _ : state) {
        const auto t = c.lookup(keys[i]);
        benchmark::DoNotOptimize(t);
        i = (i + 1) & (kFlows - 1);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_LookupHit)->ArgName("ipv6")->Arg(0)->Arg(1);

void BM_LookupMiss(benchmark::State& state) {
    const bool ipv6 = state.range(0) != 0;
    const auto c = table(ipv6);
    std::vector<FlowKey> keys;
    for (size_t i = 0; i < kFlows; ++i) keys.push_back(key_of(flow_n(ipv6, i + kFlows)));  // never inserted
    size_t i = 0;
    for (auto _ : state) {
        const auto t = c.lookup(keys[i]);
        benchmark::DoNotOptimize(t);
        i = (i + 1) & (kFlows - 1);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_LookupMiss)->ArgName("ipv6")->Arg(0)->Arg(1);

// What the engine does per packet: parse, then classify the flow.
void BM_ParseAndLookup(benchmark::State& state) {
    const bool ipv6 = state.range(0) != 0;
    const auto all = frames(ipv6);
    const auto c = table(ipv6);
    size_t i = 0;
    uint64_t hits = 0;
    for (auto _ : state) {
        const auto r = parse_frame(all[i]);
        if (r.ok()) {
            const auto t = c.lookup(r.segment.flow);
            hits += t.has_value();
            benchmark::DoNotOptimize(t);
        }
        i = (i + 1) & (kFlows - 1);
    }
    if (hits != static_cast<uint64_t>(state.iterations())) state.SkipWithError("a frame did not classify");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseAndLookup)->ArgName("ipv6")->Arg(0)->Arg(1);

// The same work shaped as an rx loop does it: for a burst of 32 frames, prefetch each frame's
// headers (rte_prefetch0 in the engine), parse them all, then classify them with lookup_burst, which
// prefetches the table slots of the whole burst before probing. The figure that matters is
// per_packet (seconds per packet).
void BM_ParseAndLookupBurst(benchmark::State& state) {
    constexpr size_t kBurst = 32;
    const bool ipv6 = state.range(0) != 0;
    const auto all = frames(ipv6);
    const auto c = table(ipv6);
    FlowKey keys[kBurst];
    const FlowKey* key_ptrs[kBurst];
    std::optional<FlowTarget> targets[kBurst];
    size_t at = 0;
    uint64_t hits = 0;
    for (auto _ : state) {
        for (size_t i = 0; i < kBurst; ++i) {
            const uint8_t* data = all[(at + i) & (kFlows - 1)].data();
            __builtin_prefetch(data);
            __builtin_prefetch(data + 64);
        }
        size_t n = 0;
        for (size_t i = 0; i < kBurst; ++i) {
            const auto r = parse_frame(all[(at + i) & (kFlows - 1)]);
            if (r.ok()) {
                keys[n] = r.segment.flow;
                key_ptrs[n] = &keys[n];
                ++n;
            }
        }
        c.lookup_burst(std::span<const FlowKey* const>(key_ptrs, n), std::span<std::optional<FlowTarget>>(targets, n));
        for (size_t i = 0; i < n; ++i) hits += targets[i].has_value();
        benchmark::DoNotOptimize(targets);
        at = (at + kBurst) & (kFlows - 1);
    }
    const auto packets = static_cast<double>(state.iterations()) * kBurst;
    if (hits != static_cast<uint64_t>(packets)) state.SkipWithError("a frame did not classify");
    state.SetItemsProcessed(static_cast<int64_t>(packets));
    state.counters["per_packet"] =
        benchmark::Counter(packets, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ParseAndLookupBurst)->ArgName("ipv6")->Arg(0)->Arg(1);

}  // namespace
