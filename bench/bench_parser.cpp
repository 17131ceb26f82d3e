// Stream parser throughput on C2HData streams: bytes/s and PDUs/s, with and without data digest,
// fed whole or in TCP-segment-sized pieces. The parser hands out data in place (no copy), so with the
// data digest the figure is bounded by CRC32C speed (compare BM_IsalCrc32c in bench_crc32c.cpp).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "nvmetcp/pdu_encoder.hpp"
#include "nvmetcp/stream_parser.hpp"

namespace {

using namespace nvmeddp::nvmetcp;

std::vector<uint8_t> make_stream(uint32_t pdu_data, bool ddgst, size_t target_bytes) {
    std::mt19937_64 rng(1);
    std::vector<uint8_t> data(pdu_data);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    const SendParams send{false, ddgst, 0};
    const auto plen = plan_pdu(PduType::C2HData, pdu_data, send).plen;
    const size_t count = std::max<size_t>(1, target_bytes / plen);
    std::vector<uint8_t> stream(count * plen);
    for (size_t i = 0; i < count; ++i) {
        const auto hdr = make_c2h_data(static_cast<uint16_t>(i), 0, pdu_data, pdu_flags::kLastPdu);
        encode_pdu(std::span<uint8_t>(stream).subspan(i * plen), hdr, data, send);
    }
    return stream;
}

// args: PDU data bytes, data digest (0/1), piece size (0 = whole stream per call)
void BM_ParseC2HData(benchmark::State& state) {
    const auto pdu_data = static_cast<uint32_t>(state.range(0));
    const bool ddgst = state.range(1) != 0;
    const auto piece = static_cast<size_t>(state.range(2));
    // About 1 MiB: stays in L2/L3 so the figure is the parser's, not DRAM's.
    const auto stream = make_stream(pdu_data, ddgst, 1u << 20);
    ReceiveParams params;
    params.data_digest = ddgst;
    uint64_t pdus = 0;
    for (auto _ : state) {
        StreamParser parser(params, false);
        std::span<const uint8_t> all(stream);
        while (!all.empty()) {
            std::span<const uint8_t> in = all.first(piece == 0 ? all.size() : std::min(piece, all.size()));
            all = all.subspan(in.size());
            for (;;) {
                const auto s = parser.step(in);
                in = in.subspan(s.consumed);
                if (s.event.kind == EventKind::NeedMore) break;
                if (s.event.kind == EventKind::Error || s.event.digest == DigestStatus::Mismatch) {
                    state.SkipWithError("parse failed");
                    return;
                }
                benchmark::DoNotOptimize(s.event.data);
            }
        }
        pdus += parser.stats().pdus;
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(stream.size()));
    state.counters["PDUs/s"] = benchmark::Counter(static_cast<double>(pdus), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_ParseC2HData)
    ->ArgNames({"pdu_bytes", "ddgst", "piece"})
    ->ArgsProduct({{4096, 131072}, {0, 1}, {0, 1448}});

}  // namespace
