// The receive side's TCP checksum check (pmd/packet/l4_checksum.hpp) on one plain IPv4 frame with
// TCP timestamps, as the engine runs it when the port did not check the checksum (csum:0): the IP
// header's checksum and the TCP one over pseudo-header, header and payload. Per summing
// implementation the CPU has (baseline, avx2, avx512; one it lacks is reported as an error), payload
// 24 bytes (a CapsuleResp), 1448 and 8948. Counter: bytes_per_second over the TCP segment.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/l4_checksum.hpp"
#include "testlib/frame_gen.hpp"

namespace {

using namespace nvmeddp;

void BM_TcpChecksum(benchmark::State& state, const char* impl) {
    const auto payload_len = static_cast<size_t>(state.range(0));
    const std::string before = pmd::l4_checksum_implementation();
    if (!pmd::l4_checksum_select(impl)) return state.SkipWithError((std::string("this CPU lacks ") + impl).c_str());
    std::vector<uint8_t> payload(payload_len);
    for (size_t i = 0; i < payload_len; ++i) payload[i] = static_cast<uint8_t>(i * 131 + 7);
    testlib::TcpFields tcp;
    tcp.seq = 1000;
    tcp.options = testlib::TcpOptions::Timestamps;
    const testlib::BuiltFrame f = testlib::build_frame(testlib::ipv4_flow(), tcp, payload);
    const std::span<const uint8_t> frame(f.bytes);
    if (pmd::detail::plain_ipv4_tcp(frame, frame.size()) == nullptr) return state.SkipWithError("not a plain IPv4 TCP frame");
    if (!pmd::plain_ipv4_checksums_ok(frame)) return state.SkipWithError("the generated frame's checksum did not verify");
    for (auto _ : state) {
        benchmark::DoNotOptimize(frame.data());
        bool ok = pmd::plain_ipv4_checksums_ok(frame);
        benchmark::DoNotOptimize(ok);
    }
    pmd::l4_checksum_select(before.c_str());
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(f.layout.ip_end - f.layout.l4_offset));
}
BENCHMARK_CAPTURE(BM_TcpChecksum, baseline, "baseline")->ArgName("payload")->Arg(24)->Arg(1448)->Arg(8948);
BENCHMARK_CAPTURE(BM_TcpChecksum, avx2, "avx2")->ArgName("payload")->Arg(24)->Arg(1448)->Arg(8948);
BENCHMARK_CAPTURE(BM_TcpChecksum, avx512, "avx512")->ArgName("payload")->Arg(24)->Arg(1448)->Arg(8948);

}  // namespace
