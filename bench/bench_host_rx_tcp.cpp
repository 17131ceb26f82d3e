// The host receive path with the host's own TCP in front of it (issue 14: "the host's TCP in-order
// delivery -> PDU parser -> completion"): as BM_HostReceive (bench_host_rx.cpp), but each frame is
// an mbuf that, after the engine, goes through tcp::Connection::input (acceptability, the ready
// queue, delayed and immediate ACKs, which are built and sent) and reaches the queue by the
// connection's in-order delivery (on_data), as the host's TcpQueueTransport hands it over. What the
// queue sends (ICReq, commands) goes out through the same connection. The controller is played by
// the benchmark: a SYN-ACK with MSS and window scale, then its segments, each acknowledging
// everything the host sent so far. Not included: the endpoint's frame parsing, checksum verdict and connection lookup
// (the port and its rx burst). In cache only: two rounds of frames, each copied (untimed) into mbufs
// of one reference, as a port's rx burst hands them over, right after the round's last use (so the
// other round runs between copy and use). The connection's free returns them to the pool, as a
// receiver's does; a second reference, to keep them across rounds, made every free a locked
// decrement that no receiver pays.
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
    const auto arm_round = [&](size_t r) {
        mbufs[r].resize(w.rounds[r].frames.size());
        if (rte_pktmbuf_alloc_bulk(fp.pool, mbufs[r].data(), static_cast<unsigned>(mbufs[r].size())) != 0) {
            mbufs[r].clear();
            return false;
        }
        for (size_t i = 0; i < mbufs[r].size(); ++i) TcpHostRig::copy_in(mbufs[r][i], w.rounds[r].frames[i].bytes);
        return true;
    };
    struct FreeArmed {
        std::vector<std::vector<rte_mbuf*>>& all;
        ~FreeArmed() {
            for (auto& v : all) rte_pktmbuf_free_bulk(v.data(), static_cast<unsigned>(v.size()));
        }
    } free_armed{mbufs};
    for (size_t r = 0; r < w.rounds.size(); ++r) {
        if (!arm_round(r)) return state.SkipWithError("no mbufs for a round's frames");
    }

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
        // The round's mbufs are the connection's from here (it frees them): out of the armed ones.
        std::vector<rte_mbuf*> frames_in;
        frames_in.swap(mbufs[ri]);
        for (size_t i = 0; i < round.frames.size(); ++i) {
            const auto& f = round.frames[i];
            set_seq(rte_pktmbuf_mtod(frames_in[i], uint8_t*), f.truth.layout, base + static_cast<uint32_t>(f.truth.stream_offset));
        }
        const unsigned held_before = rte_mempool_in_use_count(fp.pool);
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
                for (size_t i = 0; i < n; ++i) rig.engine_frame(frames_in[b + i], metas[i]);
                engine.end_burst();
                round_engine += __rdtsc() - t;
            }
            t = __rdtsc();
            for (size_t i = 0; i < n; ++i) {
                const auto& f = round.frames[b + i];
                rig.tcp_frame(frames_in[b + i], f.truth.layout, base + static_cast<uint32_t>(f.truth.stream_offset), f.truth.length);
            }
            rig.finish_burst();
            round_host += __rdtsc() - t;
        }
        rig.seq() = base + round.stream_len;
        reads += round.cids.size();
        host_ticks += round_host;
        engine_ticks += round_engine;
        // Every frame delivered and freed: the pool holds the round's frames fewer than before it.
        if (rte_mempool_in_use_count(fp.pool) != held_before - frames_in.size())
            return state.SkipWithError("the connection kept a frame's mbuf after delivering it");
        if (!arm_round(ri)) return state.SkipWithError("no mbufs for a round's frames");
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
