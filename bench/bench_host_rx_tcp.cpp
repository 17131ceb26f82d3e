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
// lro 1: the port merges each burst's in-order frames of the flow (net_nvmeddp's software LRO,
// coalesce_tcp_frames, with the largest IP packet it allows) before the engine and the TCP see them,
// as a host with `--lro` runs; the controller sets PSH where a command's send ends, which ends a
// merged frame. The merge is the port's work (a NIC's, where it has LRO): timed apart, in neither
// the host's nor the engine's figure (lro_cyc_per_B), and done alike with the offload on and off.
//
// Counters as BM_HostReceive's; host_cyc_per_B includes the TCP work.
#include <benchmark/benchmark.h>

#include "callgrind_part.hpp"
#include "host_tcp_rig.hpp"
#include "pmd/net_nvmeddp/rx_coalescing.hpp"

namespace {

using namespace nvmeddp;
using namespace nvmeddp::bench::host_tcp;

void BM_HostReceiveTcp(benchmark::State& state) {
    const auto read_len = static_cast<uint32_t>(state.range(0));
    const auto mss = static_cast<uint32_t>(state.range(1));
    const bool digest = state.range(2) != 0;
    const bool offload = state.range(3) != 0;
    const bool lro = state.range(4) != 0;
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
        mbufs[r].clear();
        mbufs[r].reserve(w.rounds[r].frames.size());
        for (const auto& f : w.rounds[r].frames) {
            rte_mbuf* m = mbuf_of_frame(fp.pool, f.bytes.data(), f.bytes.size());
            if (m == nullptr) return false;
            m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;  // the port's verdicts
            mbufs[r].push_back(m);
        }
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
    uint64_t host_ticks = 0, engine_ticks = 0, lro_ticks = 0, reads = 0, frames_in_count = 0, arrivals_count = 0, merged_seen = 0;
    // A burst's frames as the engine and the TCP get them (merged ones: the first frame's sequence
    // number and layout, the payload of all).
    struct Arrival {
        rte_mbuf* m;
        uint32_t seq;
        uint32_t len;
        const testlib::FrameLayout* layout;
    };
    std::vector<Arrival> arrivals(kBurst);
    size_t next_round = 0;
    const double ticks_per_ns = tsc_per_ns();
    pmd::QueueEngine& engine = host.engine();

    bench::CallgrindPart counted;
    for (auto _ : state) {
        counted.next_iteration();
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
        counted.begin();
        uint64_t t = __rdtsc();
        host.new_round();
        for (size_t i = 0; i < round.cids.size(); ++i) {
            const int cid = host.submit_read(buffers.data() + (round.first_read + i) * read_len, read_len);
            if (cid != round.cids[i]) return state.SkipWithError("the queue handed out other command ids than the prebuilt frames carry");
        }
        rig.finish_burst();  // the commands go out
        round_host += __rdtsc() - t;
        counted.end();
        for (size_t b = 0; b < round.frames.size(); b += kBurst) {
            size_t n = std::min(kBurst, round.frames.size() - b);
            frames_in_count += n;
            if (lro) {
                t = __rdtsc();
                pmd::nic::LroCounters lc;
                n = pmd::nic::coalesce_tcp_frames(&frames_in[b], static_cast<uint16_t>(n), pmd::nic::kMaxLroIpLength, lc);
                lro_ticks += __rdtsc() - t;
                merged_seen += lc.merged;
            }
            // Untimed: each arrival's sequence number and length, from the frames it holds (every
            // frame came in one mbuf, so a merged one holds nb_segs of them, in order).
            for (size_t i = 0, at = b; i < n; ++i) {
                rte_mbuf* m = frames_in[b + i];
                const auto& first = round.frames[at];
                uint32_t len = 0;
                for (uint16_t k = 0; k < m->nb_segs; ++k) len += round.frames[at + k].truth.length;
                arrivals[i] = {m, base + static_cast<uint32_t>(first.truth.stream_offset), len, &first.truth.layout};
                at += m->nb_segs;
            }
            arrivals_count += n;
            if (offload) {
                t = __rdtsc();
                engine.begin_burst();
                for (size_t i = 0; i < n; ++i) rig.engine_frame(arrivals[i].m, metas[i]);
                engine.end_burst();
                round_engine += __rdtsc() - t;
            }
            counted.begin();
            t = __rdtsc();
            for (size_t i = 0; i < n; ++i) rig.tcp_frame(arrivals[i].m, *arrivals[i].layout, arrivals[i].seq, arrivals[i].len);
            rig.finish_burst();
            round_host += __rdtsc() - t;
            counted.end();
        }
        rig.seq() = base + round.stream_len;
        reads += round.cids.size();
        counted.add_items(round.cids.size());
        host_ticks += round_host;
        engine_ticks += round_engine;
        // Every frame delivered and freed: the pool holds the round's frames fewer than before it.
        if (rte_mempool_in_use_count(fp.pool) != held_before - frames_in.size())
            return state.SkipWithError("the connection kept a frame's mbuf after delivering it");
        if (!arm_round(ri)) return state.SkipWithError("no mbufs for a round's frames");
        state.SetIterationTime(static_cast<double>(round_host + round_engine) / ticks_per_ns * 1e-9);
    }

    if (const char* why = check_run(host, w, buffers, reads)) return state.SkipWithError(why);
    // A frame without PSH and a frame after it in the same burst: the LRO had something to merge.
    bool mergeable = false;
    for (const Round& r : w.rounds) {
        for (size_t i = 0; i + 1 < r.frames.size(); ++i) {
            const auto& f = r.frames[i];
            const bool push = (f.bytes[f.truth.layout.l4_offset + 13] & testlib::kTcpPsh) != 0;
            mergeable = mergeable || (!push && (i + 1) % kBurst != 0);
        }
    }
    if (lro && mergeable && merged_seen == 0) return state.SkipWithError("the port's LRO merged no frame it could have");
    set_counters(state, host, read_len, reads, host_ticks, engine_ticks);
    state.counters["lro_cyc_per_B"] = static_cast<double>(lro_ticks) / static_cast<double>(reads * read_len);
    state.counters["frames_per_arrival"] = arrivals_count != 0 ? static_cast<double>(frames_in_count) / static_cast<double>(arrivals_count) : 0.0;
}

void host_receive_tcp_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"read", "mss", "digest", "offload", "lro"});
    for (int read : {4096, 32768, 65536, 131072, 524288}) {
        for (int mss : {1448, 8948}) {
            for (int digest : {0, 1}) {
                for (int offload : {0, 1}) b->Args({read, mss, digest, offload, 0});
            }
            // With the port's LRO: with data digests, as the host's goals are judged.
            for (int offload : {0, 1}) b->Args({read, mss, 1, offload, 1});
        }
    }
}
BENCHMARK(BM_HostReceiveTcp)->Apply(host_receive_tcp_args)->UseManualTime();

}  // namespace
