// The host's receive path with no network, offload off against on (issue 14): what it costs the host
// to take C2HData reads from in-order TCP payload to completion, when it copies every byte and
// computes every data digest itself (offload 0), and when a device placed the data and verified the
// digests first (offload 1: the host checks each packet's claim, skips the copy and the CRC, and tears
// the registration down). The device is the real offload engine (pmd/engine, the software NIC); its
// cost is measured apart, as a NIC would absorb it, so that both the host's saving and the sum of
// engine + host can be shown.
//
// What runs: a real host queue (nvmetcp/host/queue.hpp) brought up with an ICResp and the Connect's
// CapsuleResp, with DdpReceive added to the engine's device as DdpOffload does it. Per round the
// host submits a set of reads (about 256 KiB of data), then the round's prebuilt frames go by bursts
// of 32: the engine processes the burst (offload 1), then the host's queue receives each frame's TCP
// payload with the packet's metadata, as tcp/'s in-order delivery hands it over. Not included: TCP's
// own per-segment work, the same with the offload on or off, and the TCP checksum: the engine is told
// the port verified it (as a NIC does, and net_nvmeddp with rx checksum offload), since the host's
// TCP needs that verdict with the offload on or off alike (bench_engine csum:0 has the engine's own
// check).
//
// Working set: `ws` 0 keeps two rounds of frames and buffers, in cache; `ws` 1 rotates over frames
// and destination buffers of twice the L3 size (at least 64 MiB, at most 1 GiB in all), so that
// without the offload the host reads frames and writes buffers that are not in cache (a NIC's DMA
// without DDIO). Round after round the TCP sequence continues: the frames' seq field is rewritten
// before each round, outside the timing.
//
// Timing: the TSC around each phase, per burst; the benchmark's time is engine + host. Counters:
// TSC cycles per data byte of the host and of the engine, ns per read of each, the share of data
// bytes the host copied and of data digests it computed, the working set in MiB.
#include <malloc.h>

#include <climits>

#include <benchmark/benchmark.h>

#include "host_rx_rig.hpp"

namespace {

// Out of cache, each benchmark takes 1 GiB of frames and buffers. Memory fresh from the kernel
// costs a page fault a page, seconds a GiB in this VM, and glibc hands allocations that large back
// to the kernel when freed: with malloc kept from mmap and from trimming its heap, the next
// benchmark's workload and buffers reuse the pages of the last (outside the timing either way).
const bool kHeapKept = [] {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    return true;
}();

using namespace nvmeddp;
using namespace nvmeddp::bench::host_rx;
using nvmetcp::host::Queue;
using nvmetcp::host::RxPiece;

void BM_HostReceive(benchmark::State& state) {
    const auto read_len = static_cast<uint32_t>(state.range(0));
    const auto mss = static_cast<uint32_t>(state.range(1));
    const bool digest = state.range(2) != 0;
    const bool offload = state.range(3) != 0;
    const bool out_of_cache = state.range(4) != 0;
    const auto per_round = static_cast<uint32_t>(std::max<uint64_t>(1, kRoundData / read_len));

    const char* probe_failed = nullptr;
    const std::vector<uint16_t> first_cids = first_round_cids(digest, offload, read_len, per_round, &probe_failed);
    if (probe_failed != nullptr) return state.SkipWithError(probe_failed);
    const Workload& w = workload_for({read_len, mss, digest, out_of_cache, first_cids});

    HostRig run(digest, offload);
    if (const char* why = run.bring_up()) return state.SkipWithError(why);
    std::vector<uint8_t> buffers(w.truth_crc.size() * uint64_t{read_len});
    std::vector<nvmeddp_pkt_meta> metas(kBurst);
    uint64_t host_ticks = 0;
    uint64_t engine_ticks = 0;
    uint64_t reads = 0;
    size_t next_round = 0;
    const double ticks_per_ns = tsc_per_ns();
    pmd::QueueEngine& engine = run.engine();
    Queue& queue = run.queue();

    for (auto _ : state) {
        const Round& round = w.rounds[next_round];
        next_round = (next_round + 1) % w.rounds.size();
        const uint32_t base = run.seq();
        auto& frames = const_cast<std::vector<testlib::GeneratedFrame>&>(round.frames);
        for (auto& f : frames) set_seq(f.bytes, f.truth.layout, base + static_cast<uint32_t>(f.truth.stream_offset));

        uint64_t round_host = 0;
        uint64_t round_engine = 0;
        uint64_t t = __rdtsc();
        run.new_round();
        for (size_t i = 0; i < round.cids.size(); ++i) {
            const int cid = run.submit_read(buffers.data() + (round.first_read + i) * read_len, read_len);
            if (cid != round.cids[i]) return state.SkipWithError("the queue handed out other command ids than the prebuilt frames carry");
        }
        round_host += __rdtsc() - t;
        for (size_t b = 0; b < frames.size(); b += kBurst) {
            const size_t n = std::min(kBurst, frames.size() - b);
            if (offload) {
                t = __rdtsc();
                engine.begin_burst();
                for (size_t i = 0; i < n; ++i) {
                    const auto& f = frames[b + i].bytes;
                    engine.process(f, f.size(), {}, nullptr, pmd::L4Checksum::Good, metas[i]);
                }
                engine.end_burst();
                round_engine += __rdtsc() - t;
            }
            t = __rdtsc();
            for (size_t i = 0; i < n; ++i) {
                const testlib::GeneratedFrame& f = frames[b + i];
                queue.receive({f.bytes.data() + f.truth.layout.payload_offset, f.truth.length},
                              RxPiece{base + static_cast<uint32_t>(f.truth.stream_offset), offload ? &metas[i] : nullptr});
            }
            round_host += __rdtsc() - t;
        }
        run.seq() = base + round.stream_len;
        reads += round.cids.size();
        host_ticks += round_host;
        engine_ticks += round_engine;
        state.SetIterationTime(static_cast<double>(round_host + round_engine) / ticks_per_ns * 1e-9);
    }

    if (const char* why = check_run(run, w, buffers, reads)) return state.SkipWithError(why);
    set_counters(state, run, read_len, reads, host_ticks, engine_ticks);
    state.counters["ws_MiB"] = static_cast<double>(w.frame_bytes + buffers.size()) / static_cast<double>(kMiB);
}

void host_receive_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"read", "mss", "digest", "offload", "ws"});
    // offload varies fastest so that off and on share one prebuilt workload.
    for (int ws : {0, 1}) {
        for (int read : {4096, 32768, 65536, 131072, 524288}) {
            for (int mss : {1448, 8948}) {
                for (int digest : {0, 1}) {
                    for (int offload : {0, 1}) b->Args({read, mss, digest, offload, ws});
                }
            }
        }
    }
}
BENCHMARK(BM_HostReceive)->Apply(host_receive_args)->UseManualTime();

}  // namespace
