// CRC32C: our incremental Crc32c (as the parser uses it, one update per TCP segment) side by side with
// isa-l's crc32_iscsi called directly on the whole buffer, on the same data in one run.
#include <benchmark/benchmark.h>
#include <isa-l/crc.h>

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

// One pass copy + CRC32C (what the offload engine uses to place C2HData) against memcpy then isa-l
// on the same bytes, per call of `bytes`.
void BM_CopyThenIsal(benchmark::State& state) {
    auto src = random_buffer(static_cast<size_t>(state.range(0)));
    std::vector<uint8_t> dst(src.size());
    for (auto _ : state) {
        std::memcpy(dst.data(), src.data(), src.size());
        benchmark::DoNotOptimize(crc32_iscsi(dst.data(), static_cast<int>(dst.size()), 0xFFFFFFFFu));
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
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
    auto src = random_buffer(static_cast<size_t>(state.range(0)));
    std::vector<uint8_t> dst(src.size());
    for (auto _ : state) {
        benchmark::DoNotOptimize(crc32c_copy_extend(0xFFFFFFFFu, dst.data(), src.data(), src.size()));
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
    state.SetLabel(default_path == path ? "one pass, default" : "one pass");
    crc32c_copy_select(default_path.c_str());
}

BENCHMARK(BM_CopyThenIsal)->ArgName("bytes")->Arg(1448)->Arg(8948)->Arg(65536);
BENCHMARK_CAPTURE(BM_Crc32cCopyOnePass, pclmul, "pclmul")->ArgName("bytes")->Arg(1448)->Arg(8948)->Arg(65536);
BENCHMARK_CAPTURE(BM_Crc32cCopyOnePass, avx2, "avx2")->ArgName("bytes")->Arg(1448)->Arg(8948)->Arg(65536);
BENCHMARK_CAPTURE(BM_Crc32cCopyOnePass, avx512, "avx512")->ArgName("bytes")->Arg(1448)->Arg(8948)->Arg(65536);

}  // namespace
