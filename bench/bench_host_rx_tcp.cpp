// The host receive path with the host's own TCP in front of it (issue 14: "the host's TCP in-order
// delivery -> PDU parser -> completion"): as BM_HostReceive (bench_host_rx.cpp), but each frame is
// an mbuf that, after the engine, goes through tcp::Connection::input (acceptability, the ready
// queue, delayed and immediate ACKs, which are built and sent) and reaches the queue by the
// connection's in-order delivery (on_data), as the host's TcpQueueTransport hands it over. What the
// queue sends (ICReq, commands) goes out through the same connection. The controller is played by
// the benchmark: a SYN-ACK with MSS and window scale, then its segments, each acknowledging
// everything the host sent so far. Not included: the endpoint's frame parsing, checksum verdict and connection lookup
// (the port and its rx burst). In cache only: two rounds of frames in mbufs.
//
// Counters as BM_HostReceive's; host_cyc_per_B includes the TCP work.
#include <benchmark/benchmark.h>

#include "host_tcp_rig.hpp"

namespace {

using namespace nvmeddp;
using namespace nvmeddp::bench::host_tcp;

void BM_HostReceiveTcp(benchmark::State& state) {
    const auto read_len = static_cast<uint32_t>(state.range(0));
    const auto mss = static_cast<uint32_t>(state.range(1));
    const bool digest = state.range(2) != 0;
    const bool offload = state.range(3) != 0;
    const auto per_round = static_cast<uint32_t>(std::max<uint64_t>(1, kRoundData / read_len));
    if (!eal_error().empty()) return state.SkipWithError(("EAL: " + eal_error()).c_str());

    const char* probe_failed = nullptr;
    const std::vector<uint16_t> first_cids = first_round_cids(digest, offload, read_len, per_round, &probe_failed);
    if (probe_failed != nullptr) return state.SkipWithError(probe_failed);
    const Workload& w = workload_for({read_len, mss, digest, false, first_cids});
    size_t frames = 0;
    for (const Round& r : w.rounds) frames += r.frames.size();
    FramePool fp(frames);
    if (fp.pool == nullptr) return state.SkipWithError("rte_pktmbuf_pool_create failed");
    std::vector<std::vector<rte_mbuf*>> mbufs(w.rounds.size());
    for (size_t r = 0; r < w.rounds.size(); ++r) {
        for (const auto& f : w.rounds[r].frames) {
            rte_mbuf* m = mbuf_of_frame(fp.pool, f.bytes.data(), f.bytes.size());
            if (m == nullptr) return state.SkipWithError("no mbuf for a frame");
            mbufs[r].push_back(m);
        }
    }
    struct FreeAll {
        std::vector<std::vector<rte_mbuf*>>& all;
        ~FreeAll() {
            for (auto& v : all)
                for (rte_mbuf* m : v) {
                    rte_mbuf_refcnt_set(m, 1);
                    rte_pktmbuf_free(m);
                }
        }
    } free_all{mbufs};

    TcpHostRig rig(digest, offload, mss, fp.pool);
    if (const char* why = rig.bring_up()) return state.SkipWithError(why);
    HostRig& host = rig.host();
    std::vector<uint8_t> buffers(w.truth_crc.size() * uint64_t{read_len});
    std::vector<nvmeddp_pkt_meta> metas(kBurst);
    uint64_t host_ticks = 0, engine_ticks = 0, reads = 0;
    size_t next_round = 0;
    const double ticks_per_ns = tsc_per_ns();
    pmd::QueueEngine& engine = host.engine();

    for (auto _ : state) {
        const size_t ri = next_round;
        next_round = (next_round + 1) % w.rounds.size();
        const Round& round = w.rounds[ri];
        const uint32_t base = rig.seq();
        for (size_t i = 0; i < round.frames.size(); ++i) {
            const auto& f = round.frames[i];
            TcpHostRig::rearm(mbufs[ri][i], static_cast<uint16_t>(f.bytes.size()), f.truth.layout,
                              base + static_cast<uint32_t>(f.truth.stream_offset));
        }
        uint64_t round_host = 0, round_engine = 0;
        uint64_t t = __rdtsc();
        host.new_round();
        for (size_t i = 0; i < round.cids.size(); ++i) {
            const int cid = host.submit_read(buffers.data() + (round.first_read + i) * read_len, read_len);
            if (cid != round.cids[i]) return state.SkipWithError("the queue handed out other command ids than the prebuilt frames carry");
        }
        rig.finish_burst();  // the commands go out
        round_host += __rdtsc() - t;
        for (size_t b = 0; b < round.frames.size(); b += kBurst) {
            const size_t n = std::min(kBurst, round.frames.size() - b);
            if (offload) {
                t = __rdtsc();
                engine.begin_burst();
                for (size_t i = 0; i < n; ++i) rig.engine_frame(mbufs[ri][b + i], metas[i]);
                engine.end_burst();
                round_engine += __rdtsc() - t;
            }
            t = __rdtsc();
            for (size_t i = 0; i < n; ++i) {
                const auto& f = round.frames[b + i];
                rig.tcp_frame(mbufs[ri][b + i], f.truth.layout, base + static_cast<uint32_t>(f.truth.stream_offset), f.truth.length);
            }
            rig.finish_burst();
            round_host += __rdtsc() - t;
        }
        rig.seq() = base + round.stream_len;
        reads += round.cids.size();
        host_ticks += round_host;
        engine_ticks += round_engine;
        for (rte_mbuf* m : mbufs[ri]) {
            if (rte_mbuf_refcnt_read(m) != 1) return state.SkipWithError("the connection kept a frame's mbuf after delivering it");
        }
        state.SetIterationTime(static_cast<double>(round_host + round_engine) / ticks_per_ns * 1e-9);
    }

    if (const char* why = check_run(host, w, buffers, reads)) return state.SkipWithError(why);
    set_counters(state, host, read_len, reads, host_ticks, engine_ticks);
}

void host_receive_tcp_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"read", "mss", "digest", "offload"});
    for (int read : {4096, 32768, 65536, 131072, 524288}) {
        for (int mss : {1448, 8948}) {
            for (int digest : {0, 1}) {
                for (int offload : {0, 1}) b->Args({read, mss, digest, offload});
            }
        }
    }
}
BENCHMARK(BM_HostReceiveTcp)->Apply(host_receive_tcp_args)->UseManualTime();

}  // namespace
