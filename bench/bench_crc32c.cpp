// CRC32C: our incremental Crc32c (as the parser uses it, one update per TCP segment) side by side with
// isa-l's crc32_iscsi called directly on the whole buffer, on the same data in one run; and copy +
// CRC32C in one pass per path against memcpy then isa-l and plain memcpy, in cache and out of cache.
#include <benchmark/benchmark.h>
#include <isa-l/crc.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/crc32c_copy.hpp"

namespace {

std::vector<uint8_t> random_buffer(size_t n) {
    std::mt19937_64 rng(3);
    std::vector<uint8_t> buf(n);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    return buf;
}

void BM_IsalCrc32c(benchmark::State& state) {
    auto buf = random_buffer(static_cast<size_t>(state.range(0)));
    for (auto _ : state) {
        benchmark::DoNotOptimize(crc32_iscsi(buf.data(), static_cast<int>(buf.size()), 0xFFFFFFFFu));
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

// args: buffer bytes, fragment bytes (0 = one update)
void BM_Crc32cIncremental(benchmark::State& state) {
    auto buf = random_buffer(static_cast<size_t>(state.range(0)));
    const auto piece = static_cast<size_t>(state.range(1));
    for (auto _ : state) {
        nvmeddp::nvmetcp::Crc32c crc;
        if (piece == 0) {
            crc.update(buf.data(), buf.size());
        } else {
            for (size_t at = 0; at < buf.size(); at += piece) crc.update(buf.data() + at, std::min(piece, buf.size() - at));
        }
        benchmark::DoNotOptimize(crc.value());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

BENCHMARK(BM_IsalCrc32c)->ArgName("bytes")->Arg(4096)->Arg(131072);
BENCHMARK(BM_Crc32cIncremental)->ArgNames({"bytes", "piece"})->ArgsProduct({{4096, 131072}, {0, 1448}});

}  // namespace

namespace {

// Out of cache: source and destination buffers that the copy benchmarks rotate over, together twice
// the last-level cache (sysconf(_SC_LEVEL3_CACHE_SIZE)), at least 64 MiB and at most 1 GiB, so that
// each call's bytes were evicted since their last use, as packets and destination buffers of a busy
// host are. Allocated and touched once, on first use, and shared by every benchmark of the binary:
// a benchmark's setup stays short.
struct WorkingSet {
    std::vector<uint8_t> src;
    std::vector<uint8_t> dst;
};

constexpr size_t kAlign = 64;

uint8_t* aligned(std::vector<uint8_t>& v) {
    const auto at = reinterpret_cast<uintptr_t>(v.data());
    return v.data() + ((kAlign - at % kAlign) % kAlign);
}

WorkingSet& out_of_cache_buffers() {
    static WorkingSet ws = [] {
        constexpr size_t kMiB = size_t{1} << 20;
        const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
        const size_t total = std::clamp<size_t>(l3 > 0 ? 2 * static_cast<size_t>(l3) : 0, 64 * kMiB, 1024 * kMiB);
        WorkingSet w;
        w.src.resize(total / 2 + kAlign);
        w.dst.resize(total / 2 + kAlign);
        // Any bytes will do for the CRC; writing them is what maps the pages before the timing.
        uint32_t x = 3;
        for (auto& b : w.src) b = static_cast<uint8_t>((x = x * 1664525u + 1013904223u) >> 24);
        return w;
    }();
    return ws;
}

// Where one call's source and destination are: one buffer pair used again and again (ws 0, in cache)
// or the next pair in the working set at each call (ws 1); both 64-byte aligned, like packet buffers,
// so that every run (and every benchmark) copies with the same alignment whatever malloc returned.
class Buffers {
public:
    Buffers(size_t bytes, bool out_of_cache) : stride_((bytes + kAlign - 1) & ~(kAlign - 1)) {
        if (out_of_cache) {
            WorkingSet& ws = out_of_cache_buffers();
            src_ = aligned(ws.src);
            dst_ = aligned(ws.dst);
            span_ = (ws.src.size() - kAlign) / stride_ * stride_;
        } else {
            own_src_ = random_buffer(bytes + kAlign);
            own_dst_.resize(bytes + kAlign);
            src_ = aligned(own_src_);
            dst_ = aligned(own_dst_);
            span_ = stride_;
        }
    }
    const uint8_t* src() const { return src_ + at_; }
    uint8_t* dst() const { return dst_ + at_; }
    void next() {
        at_ += stride_;
        if (at_ + stride_ > span_) at_ = 0;
    }
    // The working set in MiB, a counter of the benchmark (0 in cache).
    double working_set_mib() const { return span_ == stride_ ? 0.0 : 2.0 * static_cast<double>(span_) / (1 << 20); }

private:
    size_t stride_;
    std::vector<uint8_t> own_src_, own_dst_;
    const uint8_t* src_ = nullptr;
    uint8_t* dst_ = nullptr;
    size_t span_ = 0;
    size_t at_ = 0;
};

void finish(benchmark::State& state, const Buffers& b) {
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
    state.counters["ws_MiB"] = b.working_set_mib();
}

// Args of the copy benchmarks: bytes per call, ws (0 in cache, 1 out of cache).
void copy_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"bytes", "ws"})->ArgsProduct({{1448, 8948, 65536}, {0, 1}});
}

// Plain memcpy: the bound a copy that also computes a CRC is measured against.
void BM_Memcpy(benchmark::State& state) {
    Buffers b(static_cast<size_t>(state.range(0)), state.range(1) != 0);
    const auto n = static_cast<size_t>(state.range(0));
    for (auto _ : state) {
        std::memcpy(b.dst(), b.src(), n);
        benchmark::ClobberMemory();
        b.next();
    }
    finish(state, b);
}

// One pass copy + CRC32C (what the offload engine uses to place C2HData) against memcpy then isa-l
// on the same bytes, per call of `bytes`.
void BM_CopyThenIsal(benchmark::State& state) {
    Buffers b(static_cast<size_t>(state.range(0)), state.range(1) != 0);
    const auto n = static_cast<size_t>(state.range(0));
    for (auto _ : state) {
        std::memcpy(b.dst(), b.src(), n);
        benchmark::DoNotOptimize(crc32_iscsi(b.dst(), static_cast<int>(n), 0xFFFFFFFFu));
        benchmark::ClobberMemory();
        b.next();
    }
    finish(state, b);
}

// args: the path's name (crc32c_copy_select()); each hardware path this CPU has runs, side by side
// with BM_CopyThenIsal; one it lacks is skipped, saying so. The label marks the default path.
void BM_Crc32cCopyOnePass(benchmark::State& state, const char* path) {
    using namespace nvmeddp::nvmetcp;
    const std::string default_path = crc32c_copy_name();
    if (!crc32c_copy_select(path)) {
        state.SkipWithError((std::string("this CPU lacks the instructions of ") + path).c_str());
        return;
    }
    Buffers b(static_cast<size_t>(state.range(0)), state.range(1) != 0);
    const auto n = static_cast<size_t>(state.range(0));
    for (auto _ : state) {
        benchmark::DoNotOptimize(crc32c_copy_extend(0xFFFFFFFFu, b.dst(), b.src(), n));
        benchmark::ClobberMemory();
        b.next();
    }
    finish(state, b);
    state.SetLabel(default_path == path ? "one pass, default" : "one pass");
    crc32c_copy_select(default_path.c_str());
}

BENCHMARK(BM_Memcpy)->Apply(copy_args);
BENCHMARK(BM_CopyThenIsal)->Apply(copy_args);
BENCHMARK_CAPTURE(BM_Crc32cCopyOnePass, pclmul, "pclmul")->Apply(copy_args);
BENCHMARK_CAPTURE(BM_Crc32cCopyOnePass, avx2, "avx2")->Apply(copy_args);
BENCHMARK_CAPTURE(BM_Crc32cCopyOnePass, avx512, "avx512")->Apply(copy_args);
BENCHMARK_CAPTURE(BM_Crc32cCopyOnePass, avx512_mixed, "avx512-mixed")->Apply(copy_args);
BENCHMARK_CAPTURE(BM_Crc32cCopyOnePass, avx2_mixed, "avx2-mixed")->Apply(copy_args);
BENCHMARK_CAPTURE(BM_Crc32cCopyOnePass, pclmul_mixed, "pclmul-mixed")->Apply(copy_args);
BENCHMARK_CAPTURE(BM_Crc32cCopyOnePass, crc32q, "crc32q")->Apply(copy_args);

}  // namespace
