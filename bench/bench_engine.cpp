// The offload engine per core: placement + data digest of C2HData as the software "NIC" does it,
// side by side with the bound it is measured against, memcpy + isa-l CRC32C of the same bytes cut at
// the same packet boundaries, and with the whole-PDU memcpy + isa-l (one call each per PDU).
//
// Args: TCP payload bytes per packet (1448, 8948), C2HData data length (4 KiB, 64 KiB, 512 KiB), data
// digest off/on. One round is a set of reads (about 256 KiB of data, so data and frames stay in this
// core's L2) registered, received frame by frame through QueueEngine::process, and torn down. Only
// the receive is timed: registering and tearing down are the host's calls (bench_host_rx counts them
// in the host's figure, as here the memcpy bound has no such work), timed apart as
// host_regs_ns_per_read. The next round's frames continue the TCP sequence (their seq field is
// rewritten and the TCP checksum updated incrementally, RFC 1624, all before the round's first frame
// is processed and outside the timing: the benchmark's work, which a NIC's receive never does). The
// engine is told the port did not check the TCP checksum (csum:0, it verifies it itself, as on a
// port without rx checksum offload) or that the port found it good (csum:1). Counters: Gbit/s of
// PDU data, ns per packet, and the host's registration and teardown of a read (ns, outside the
// other two; with the round's two clock reads around them, tens of ns a round spread over its
// reads).
//
// Also the cost per packet that carries no data for the engine: a pure ACK of an offloaded
// connection, a data frame of a flow that is not offloaded, a packet of one small CapsuleResp.
#include <benchmark/benchmark.h>
#include <isa-l/crc.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "callgrind_part.hpp"
#include "ddp/device.hpp"
#include "engine_bursts.hpp"
#include "frame_seq.hpp"
#include "pmd/engine/sw_driver.hpp"
#include "testlib/flow_config.hpp"
#include "testlib/frame_gen.hpp"
#include "testlib/read_stream_gen.hpp"

namespace {

using namespace nvmeddp;

using bench::set_seq;

constexpr uint64_t kRoundData = 256 * 1024;

struct Workload {
    testlib::ReadStream stream;
    testlib::FrameSequence frames;
    uint64_t data_bytes = 0;
    uint32_t stream_len = 0;
};

Workload make_workload(uint32_t mss, uint32_t pdu, bool digest) {
    testlib::ReadStreamOptions ro;
    ro.commands = static_cast<uint32_t>(std::max<uint64_t>(1, kRoundData / pdu));
    ro.min_len = ro.max_len = pdu;
    ro.data_digest = digest;
    testlib::FrameGenOptions fo;
    fo.mss = mss;
    fo.first_seq = 1000;
    Workload w;
    w.stream = testlib::generate_read_stream(ro);
    w.frames = testlib::generate_frames(w.stream.bytes, fo);
    w.data_bytes = uint64_t{ro.commands} * pdu;
    w.stream_len = static_cast<uint32_t>(w.stream.bytes.size());
    return w;
}

struct Engine {
    explicit Engine(bool digest) {
        pmd::SoftwareDriverConfig c;
        c.log = [](const std::string&) {};
        auto d = std::make_unique<pmd::SoftwareDriver>(c);
        driver = d.get();
        device = std::make_unique<ddp::Device>(std::move(d));
        ddp::ConnectionConfig cc;
        const testlib::FlowSpec f = testlib::ipv4_flow();
        cc.tuple = testlib::host_tuple(f);
        cc.queue_depth = 128;
        cc.data_digest = digest;
        cc.rcv_seq = 1000;
        device->add_connection(cc, handle);
        driver->queue(0).poll_idle();
    }
    ~Engine() {
        device->remove_connection(handle);
        for (int i = 0; i < 100 && device->connection_count() != 0; ++i) {
            driver->queue(0).poll_idle();
            device->poll(handle);
        }
    }
    pmd::SoftwareDriver* driver;
    std::unique_ptr<ddp::Device> device;
    ddp::ConnectionHandle handle = 0;
};

void BM_EnginePlaceAndVerify(benchmark::State& state) {
    const auto mss = static_cast<uint32_t>(state.range(0));
    const auto pdu = static_cast<uint32_t>(state.range(1));
    const bool digest = state.range(2) != 0;
    const pmd::L4Checksum l4 = state.range(3) != 0 ? pmd::L4Checksum::Good : pmd::L4Checksum::Unknown;
    Workload w = make_workload(mss, pdu, digest);
    Engine e(digest);
    std::vector<std::vector<uint8_t>> buffers;
    std::vector<ddp::BufferSegment> segments;
    for (const auto& r : w.stream.reads) buffers.emplace_back(r.data.size());
    for (auto& b : buffers) segments.push_back({b.data(), b.size()});
    pmd::QueueEngine& q = e.driver->queue(0);

    uint32_t round_seq = 1000;
    uint64_t packets = 0;
    std::chrono::steady_clock::duration regs_time{};
    bench::CallgrindPart counted;  // the receive, as timed (scripts/instructions.sh --engine)
    for (auto _ : state) {
        // Every frame's new seq first, untimed: written just before the engine reads it, the bytes
        // stored one by one would be loaded back as words before the stores retired (a
        // store-forwarding stall a NIC's DMA never causes).
        for (auto& f : w.frames.frames) set_seq(f.bytes, f.truth.layout, round_seq + static_cast<uint32_t>(f.truth.stream_offset));
        counted.next_iteration();
        const auto setup_begin = std::chrono::steady_clock::now();
        for (size_t i = 0; i < w.stream.reads.size(); ++i) {
            if (e.device->setup(e.handle, w.stream.reads[i].cid, {&segments[i], 1}, buffers[i].size()) != ddp::Status::Ok) {
                return state.SkipWithError("setup refused a read");
            }
        }
        const auto t0 = std::chrono::steady_clock::now();
        counted.begin();
        bench::process_in_bursts(q, w.frames.frames, l4,
                                 [](const testlib::GeneratedFrame& f) { return std::span<const uint8_t>(f.bytes); });
        counted.end();
        const auto t1 = std::chrono::steady_clock::now();
        for (const auto& r : w.stream.reads) {
            if (e.device->teardown(e.handle, r.cid) != ddp::Status::Ok) return state.SkipWithError("teardown refused a read");
        }
        regs_time += (t0 - setup_begin) + (std::chrono::steady_clock::now() - t1);
        state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
        counted.add_items(w.frames.frames.size());
        round_seq += w.stream_len;
        packets += w.frames.frames.size();
    }
    ddp::Stats s{};
    e.device->connection_stats(e.handle, s);
    if (s.placed_bytes != w.data_bytes * static_cast<uint64_t>(state.iterations())) state.SkipWithError("not everything was placed");
    if (digest && s.digest_offloaded != w.stream.reads.size() * static_cast<uint64_t>(state.iterations())) {
        state.SkipWithError("not every digest was verified");
    }
    state.SetBytesProcessed(static_cast<int64_t>(w.data_bytes * static_cast<uint64_t>(state.iterations())));
    state.counters["Gbit/s"] = benchmark::Counter(static_cast<double>(w.data_bytes * state.iterations() * 8),
                                                  benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
    state.counters["ns/packet"] = benchmark::Counter(static_cast<double>(packets),
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    const uint64_t reads = w.stream.reads.size() * static_cast<uint64_t>(state.iterations());
    state.counters["host_regs_ns_per_read"] = std::chrono::duration<double, std::nano>(regs_time).count() / static_cast<double>(reads);
}

// The bound: for every packet, memcpy its C2HData data bytes to the destination and (digest on)
// extend a CRC32C over them with isa-l, as a host without offload would per segment.
void BM_MemcpyIsalPerPacket(benchmark::State& state) {
    const auto mss = static_cast<uint32_t>(state.range(0));
    const auto pdu = static_cast<uint32_t>(state.range(1));
    const bool digest = state.range(2) != 0;
    Workload w = make_workload(mss, pdu, digest);
    // Per packet: the runs of data bytes it carries, as (payload offset, length, destination).
    struct Run {
        const uint8_t* src;
        uint8_t* dst;
        uint32_t len;
        size_t read;
    };
    std::vector<std::vector<uint8_t>> buffers;
    for (const auto& r : w.stream.reads) buffers.emplace_back(r.data.size());
    std::vector<Run> runs;
    for (const auto& f : w.frames.frames) {
        const uint64_t begin = f.truth.stream_offset;
        const uint64_t end = begin + f.truth.length;
        for (size_t pi = 0, ri = 0; pi < w.stream.pdus.size(); ++pi) {
            const auto& p = w.stream.pdus[pi];
            if (p.type != nvmetcp::PduType::C2HData) continue;
            const uint64_t d0 = p.offset + p.pdo;
            const uint64_t d1 = d0 + p.datal;
            const uint64_t a = std::max(begin, d0);
            const uint64_t b = std::min(end, d1);
            if (a < b) {
                runs.push_back({f.bytes.data() + f.truth.layout.payload_offset + (a - begin), buffers[ri].data() + (a - d0),
                                static_cast<uint32_t>(b - a), ri});
            }
            ++ri;
        }
    }
    std::vector<uint32_t> crcs(buffers.size());
    for (auto _ : state) {
        std::fill(crcs.begin(), crcs.end(), 0xFFFFFFFFu);
        for (const Run& r : runs) {
            std::memcpy(r.dst, r.src, r.len);
            if (digest) crcs[r.read] = crc32_iscsi(const_cast<uint8_t*>(r.src), static_cast<int>(r.len), crcs[r.read]);
        }
        benchmark::DoNotOptimize(crcs.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<int64_t>(w.data_bytes * static_cast<uint64_t>(state.iterations())));
    state.counters["Gbit/s"] = benchmark::Counter(static_cast<double>(w.data_bytes * state.iterations() * 8),
                                                  benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
    state.counters["ns/packet"] = benchmark::Counter(static_cast<double>(w.frames.frames.size() * state.iterations()),
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// memcpy + isa-l once per PDU (contiguous data, one call each): the best a host could do.
void BM_MemcpyIsalPerPdu(benchmark::State& state) {
    const auto pdu = static_cast<uint32_t>(state.range(1));
    const bool digest = state.range(2) != 0;
    const size_t n = std::max<uint64_t>(1, kRoundData / pdu);
    std::vector<std::vector<uint8_t>> src(n, std::vector<uint8_t>(pdu, 0x5A)), dst(n, std::vector<uint8_t>(pdu));
    for (auto _ : state) {
        for (size_t i = 0; i < n; ++i) {
            std::memcpy(dst[i].data(), src[i].data(), pdu);
            if (digest) benchmark::DoNotOptimize(crc32_iscsi(src[i].data(), static_cast<int>(pdu), 0xFFFFFFFFu));
        }
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<int64_t>(uint64_t{pdu} * n * static_cast<uint64_t>(state.iterations())));
    state.counters["Gbit/s"] = benchmark::Counter(static_cast<double>(uint64_t{pdu} * n * state.iterations() * 8),
                                                  benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void engine_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"mss", "pdu", "digest"});
    for (int mss : {1448, 8948}) {
        for (int pdu : {4096, 65536, 524288}) {
            for (int digest : {0, 1}) b->Args({mss, pdu, digest});
        }
    }
}
BENCHMARK(BM_EnginePlaceAndVerify)
    ->ArgNames({"mss", "pdu", "digest", "csum"})
    ->ArgsProduct({{1448, 8948}, {4096, 65536, 524288}, {0, 1}, {0, 1}})
    ->UseManualTime();
BENCHMARK(BM_MemcpyIsalPerPacket)->Apply(engine_args);
BENCHMARK(BM_MemcpyIsalPerPdu)->ArgNames({"mss", "pdu", "digest"})->ArgsProduct({{0}, {4096, 65536, 524288}, {0, 1}});

// Packets that carry nothing to place: their cost is the per-packet overhead of the engine.
// kind 0: pure ACK of the offloaded connection; 1: a 1448-byte data frame of another flow, from a
// port no offloaded connection's peer uses (another service's traffic); 2: one CapsuleResp; 3: a
// 1448-byte data frame of another connection to the offloaded one's target port (from another local
// port: its ports' bucket holds no offloaded connection, no lookup); 4: as 3, from a local port
// whose bucket is the offloaded connection's (one other connection in 256 with one offloaded; looked
// up and not found); 5: as 2, the port having checked the TCP checksum (2: the engine verifies it).
// The frames of kinds 2 and 5 get their sequence numbers anew every round, outside the timing (the
// benchmark times those rounds itself).
void BM_EngineNonDataPacket(benchmark::State& state) {
    const int kind = static_cast<int>(state.range(0));
    Engine e(false);
    testlib::FlowSpec flow = testlib::ipv4_flow();
    if (kind == 1) flow.src_port = 4421;
    if (kind == 3) flow.dst_port = static_cast<uint16_t>(flow.dst_port + 1);
    if (kind == 4) flow.dst_port = static_cast<uint16_t>(flow.dst_port ^ 0x0101);  // the XOR of the port bytes kept
    std::vector<uint8_t> payload;
    if (kind == 1 || kind == 3 || kind == 4) payload.assign(1448, 0x5A);  // another flow's data: a payload-less frame is never looked up
    const bool capsule_resp = kind == 2 || kind == 5;
    if (capsule_resp) {
        payload.assign(24, 0);
        payload[0] = 5;    // CapsuleResp
        payload[2] = 24;   // hlen
        payload[4] = 24;   // plen
    }
    constexpr size_t kFrames = 256;
    std::vector<std::vector<uint8_t>> frames;
    std::vector<testlib::FrameLayout> layouts;
    for (size_t i = 0; i < kFrames; ++i) {
        testlib::TcpFields tcp;
        tcp.seq = static_cast<uint32_t>(1000 + i * payload.size());
        tcp.options = testlib::TcpOptions::Timestamps;
        auto b = testlib::build_frame(flow, tcp, payload);
        frames.push_back(std::move(b.bytes));
        layouts.push_back(b.layout);
    }
    pmd::QueueEngine& q = e.driver->queue(0);
    const pmd::L4Checksum l4 = kind == 5 ? pmd::L4Checksum::Good : pmd::L4Checksum::Unknown;
    uint32_t seq = 1000;
    bench::CallgrindPart counted;  // the whole round, as timed (scripts/instructions.sh --engine)
    for (auto _ : state) {
        if (capsule_resp) {  // all first and untimed, as in BM_EnginePlaceAndVerify
            for (size_t i = 0; i < kFrames; ++i, seq += 24) set_seq(frames[i], layouts[i], seq);
        }
        counted.next_iteration();
        const auto t0 = capsule_resp ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
        counted.begin();
        q.begin_burst();
        for (size_t i = 0; i < kFrames; ++i) {
            nvmeddp_pkt_meta meta;
            benchmark::DoNotOptimize(q.process(frames[i], frames[i].size(), {}, nullptr, l4, meta));
        }
        q.end_burst();
        counted.end();
        if (capsule_resp) state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        counted.add_items(kFrames);
    }
    state.SetItemsProcessed(static_cast<int64_t>(kFrames * static_cast<uint64_t>(state.iterations())));
    state.counters["ns/packet"] = benchmark::Counter(static_cast<double>(kFrames * state.iterations()),
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.SetLabel(kind == 0   ? "pure ACK, offloaded flow"
                   : kind == 1 ? "data frame of another flow"
                   : kind == 2 ? "CapsuleResp packet, the engine verifies the checksum"
                   : kind == 5 ? "CapsuleResp packet, the port checked the checksum"
                   : kind == 3 ? "data frame of another connection to the target port"
                               : "data frame of another connection to the target port, same port bucket");
}
// Kinds 2 and 5 time each round themselves (the rewrite left out); the others, whose rounds have
// nothing to leave out, are timed as a whole, without two clock reads per round (about 0.15 ns a
// packet, 7% of a pure ACK's figure).
BENCHMARK(BM_EngineNonDataPacket)->ArgName("kind")->Arg(0)->Arg(1)->Arg(3)->Arg(4);
BENCHMARK(BM_EngineNonDataPacket)->ArgName("kind")->Arg(2)->Arg(5)->UseManualTime();

}  // namespace
