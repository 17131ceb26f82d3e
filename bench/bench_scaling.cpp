// The offload engine as it scales (issue 14: 1..N lcores, and many connections per device).
//
// BM_EngineLcores/lcores:N: N threads, each pinned to a CPU of its own (as an lcore is) and polling
// its own rx queue of one software device, each queue with one connection receiving the workload of
// bench_engine's BM_EnginePlaceAndVerify (MSS 1448, 64 KiB reads with data digests, the port having
// checked the TCP checksum): every round registers the reads, rewrites the frames' sequence numbers,
// runs them through QueueEngine::process in bursts of 32 and tears the reads down. The time is the
// wall clock from a common start to the last thread's end; Gbit/s is the sum of the threads' PDU
// data. With nothing shared between the queues but the device's control plane (a connection's
// registrations are its own), N lcores should give N times one lcore's figure: what falls short is
// contention (false sharing, a shared counter) or the machine (a vCPU's sibling, other load).
//
// BM_EngineConnections/connections:K: one queue, K connections, each receiving one 16 KiB read with
// a data digest per round (MSS 1448: 12 packets), the frames of the K connections interleaved one
// packet at a time: every packet is another connection's, the worst order for the caches (its
// classifier entry, engine, control-plane object, registration and buffer). The frames lie back to
// back in arrival order, as a NIC's DMA fills an rx ring. Timed: the engine's processing only (the
// registrations before it and the teardowns after it are the host's work). ns/packet against one
// connection's is the cost of scale. shared_buffers:1 places every connection's read into one
// buffer (a diagnostic: it stays in the cache), leaving the connections' own state as the cost.
// BM_EngineOneConnectionSameBytes/connections:K is its control: the same K reads, frames and buffers
// on ONE connection (queue depth K), every read registered before the round, the frames in stream
// order. What BM_EngineConnections costs beyond it is the K connections' state and the buffers
// written in the connections' interleaved order instead of one after the other.
//
// All check what they measured: every byte placed and every digest verified, or the run fails.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ddp/device.hpp"
#include "engine_bursts.hpp"
#include "frame_seq.hpp"
#include "pmd/engine/sw_driver.hpp"
#include "testlib/flow_config.hpp"
#include "testlib/frame_gen.hpp"
#include "testlib/read_stream_gen.hpp"

namespace {

using namespace nvmeddp;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kMss = 1448;
constexpr uint32_t kFirstSeq = 1000;

// A software device with `queues` rx queues and room for `connections` connections.
struct Device {
    Device(uint16_t queues, uint32_t connections, uint32_t max_queue_depth = 1024) {
        pmd::SoftwareDriverConfig c;
        c.rx_queues = queues;
        c.limits.max_connections = connections;
        c.limits.max_queue_depth = max_queue_depth;
        c.log = [](const std::string&) {};
        auto d = std::make_unique<pmd::SoftwareDriver>(c);
        driver = d.get();
        device = std::make_unique<ddp::Device>(std::move(d));
    }
    // A connection of `flow` on queue `queue`, added and applied by that queue; false when refused.
    bool add(const testlib::FlowSpec& flow, uint16_t queue, uint16_t depth, ddp::ConnectionHandle& handle) {
        ddp::ConnectionConfig cc;
        cc.tuple = testlib::host_tuple(flow);
        cc.queue_depth = depth;
        cc.data_digest = true;
        cc.rcv_seq = kFirstSeq;
        cc.rx_queue = queue;
        if (device->add_connection(cc, handle) != ddp::Status::Ok) return false;
        driver->queue(queue).poll_idle();
        return true;
    }
    ~Device() {
        for (ddp::ConnectionHandle h : handles) device->remove_connection(h);
        for (int i = 0; i < 1000 && device->connection_count() != 0; ++i) {
            for (uint16_t q = 0; q < driver->queue_count(); ++q) driver->queue(q).poll_idle();
            device->poll_all();
        }
    }
    pmd::SoftwareDriver* driver = nullptr;
    std::unique_ptr<ddp::Device> device;
    std::vector<ddp::ConnectionHandle> handles;
};

// One connection's reads and their frames, replayed round after round with the stream continuing.
struct Stream {
    Stream(const testlib::FlowSpec& flow, uint32_t read_len, uint32_t reads) {
        testlib::ReadStreamOptions ro;
        ro.commands = reads;
        ro.min_len = ro.max_len = read_len;
        ro.data_digest = true;
        testlib::FrameGenOptions fo;
        fo.flow = flow;
        fo.mss = kMss;
        fo.first_seq = kFirstSeq;
        stream = testlib::generate_read_stream(ro);
        frames = testlib::generate_frames(stream.bytes, fo);
        stream_len = static_cast<uint32_t>(stream.bytes.size());
        for (const auto& r : stream.reads) buffers.emplace_back(r.data.size());
        for (auto& b : buffers) segments.push_back({b.data(), b.size()});
        data_bytes = uint64_t{reads} * read_len;
    }
    // Every read's data placed into `into` instead of its own buffer (several connections may share
    // it: BM_EngineConnections' diagnostic, the bytes there are not checked, only the counts).
    void place_into(uint8_t* into) {
        for (auto& seg : segments) seg.addr = into;
    }
    void setup(ddp::Device& device, ddp::ConnectionHandle handle) {
        for (size_t i = 0; i < stream.reads.size(); ++i) device.setup(handle, stream.reads[i].cid, {&segments[i], 1}, buffers[i].size());
    }
    void teardown(ddp::Device& device, ddp::ConnectionHandle handle) {
        for (const auto& r : stream.reads) device.teardown(handle, r.cid);
        device.poll(handle);
        round_seq += stream_len;
    }

    testlib::ReadStream stream;
    testlib::FrameSequence frames;
    std::vector<std::vector<uint8_t>> buffers;
    std::vector<ddp::BufferSegment> segments;
    uint32_t stream_len = 0;
    uint32_t round_seq = kFirstSeq;
    uint64_t data_bytes = 0;
};

// A frame as an rx descriptor names it.
struct FrameRef {
    const uint8_t* data;
    size_t len;
};

// A round's frames in the order they arrive, copied back to back into one block, each starting on a
// 64-byte boundary, as a NIC's DMA fills an rx ring's buffers: the engine reads them in memory order whichever
// connection each is of. Each round's sequence numbers come from the frame's stream (set_seqs,
// outside the timing: bench::set_seq's stores would otherwise be loaded back as the frame is read).
class RxRing {
public:
    void add(const testlib::GeneratedFrame& f, const Stream& s) { pending_.push_back({&f, &s}); }
    void build() {
        constexpr size_t kLine = 64;
        const auto padded = [](size_t n) { return (n + kLine - 1) & ~(kLine - 1); };
        size_t total = 0;
        for (const auto& p : pending_) total += padded(p.frame->bytes.size());
        block_.assign(total + kLine, 0);  // room to start on a boundary
        uint8_t* at = block_.data() + (kLine - reinterpret_cast<uintptr_t>(block_.data()) % kLine) % kLine;
        for (const auto& p : pending_) {
            std::copy(p.frame->bytes.begin(), p.frame->bytes.end(), at);
            refs_.push_back({at, p.frame->bytes.size()});
            at += padded(p.frame->bytes.size());
        }
    }
    void set_seqs() {
        for (size_t i = 0; i < refs_.size(); ++i) {
            const testlib::GeneratedFrame& f = *pending_[i].frame;
            bench::set_seq(const_cast<uint8_t*>(refs_[i].data), f.truth.layout,
                           pending_[i].stream->round_seq + static_cast<uint32_t>(f.truth.stream_offset));
        }
    }
    const std::vector<FrameRef>& frames() const { return refs_; }
    size_t bytes() const { return block_.size(); }

private:
    struct Pending {
        const testlib::GeneratedFrame* frame;
        const Stream* stream;
    };
    std::vector<Pending> pending_;
    std::vector<uint8_t> block_;
    std::vector<FrameRef> refs_;
};

// Frames through a queue in bursts of 32, as an lcore's rx bursts.
void process_in_bursts(pmd::QueueEngine& q, const std::vector<FrameRef>& frames) {
    bench::process_in_bursts(q, frames, pmd::L4Checksum::Good,
                             [](const FrameRef& f) { return std::span<const uint8_t>(f.data, f.len); });
}

// Every byte placed and every digest verified, on every connection, or the benchmark fails.
bool all_placed(benchmark::State& state, ddp::Device& device, const std::vector<ddp::ConnectionHandle>& handles,
                uint64_t bytes_each, uint64_t digests_each) {
    for (ddp::ConnectionHandle h : handles) {
        ddp::Stats s{};
        device.connection_stats(h, s);
        if (s.placed_bytes != bytes_each || s.digest_offloaded != digests_each) {
            state.SkipWithError(("connection " + std::to_string(h) + ": placed " + std::to_string(s.placed_bytes) + " of " +
                                 std::to_string(bytes_each) + " bytes, verified " + std::to_string(s.digest_offloaded) +
                                 " of " + std::to_string(digests_each) + " digests")
                                    .c_str());
            return false;
        }
    }
    return true;
}

// Pins the calling thread to the index-th CPU of those this process may use (as EAL pins an
// lcore); false when it cannot be (then the figure is a scheduler's, and the run says so in its label).
bool pin_to(unsigned index) {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return false;
    unsigned seen = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &allowed)) continue;
        if (seen++ == index) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            return pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0;
        }
    }
    return false;
}

unsigned usable_cpus() {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return 1;
    return static_cast<unsigned>(std::max(1, CPU_COUNT(&allowed)));
}

constexpr uint32_t kLcoreReadLen = 65536;
constexpr uint32_t kLcoreReads = 4;          // 256 KiB a round, as bench_engine's
constexpr int kLcoreRoundsPerIteration = 32;  // about 1 ms: the threads' start is a small part of it

void BM_EngineLcores(benchmark::State& state) {
    const auto lcores = static_cast<unsigned>(state.range(0));
    if (lcores > usable_cpus()) {
        state.SkipWithError(("this process may use " + std::to_string(usable_cpus()) + " CPUs, fewer than " +
                             std::to_string(lcores) + " lcores")
                                .c_str());
        return;
    }
    Device d(static_cast<uint16_t>(lcores), lcores);
    std::vector<std::unique_ptr<Stream>> streams;
    for (unsigned i = 0; i < lcores; ++i) {
        testlib::FlowSpec flow = testlib::ipv4_flow();
        flow.dst_port = static_cast<uint16_t>(40000 + i);
        ddp::ConnectionHandle h = 0;
        if (!d.add(flow, static_cast<uint16_t>(i), 128, h)) {
            state.SkipWithError("the device refused a connection");
            return;
        }
        d.handles.push_back(h);
        streams.push_back(std::make_unique<Stream>(flow, kLcoreReadLen, kLcoreReads));
    }
    std::vector<Clock::time_point> begin(lcores), end(lcores);
    std::vector<char> pinned(lcores, 0);
    uint64_t rounds = 0;
    for (auto _ : state) {
        std::barrier start(static_cast<std::ptrdiff_t>(lcores));
        std::vector<std::thread> threads;
        for (unsigned i = 0; i < lcores; ++i) {
            threads.emplace_back([&, i] {
                pinned[i] = pin_to(i) ? 1 : 0;
                Stream& s = *streams[i];
                RxRing ring;
                for (const auto& f : s.frames.frames) ring.add(f, s);
                ring.build();
                pmd::QueueEngine& q = d.driver->queue(static_cast<uint16_t>(i));
                start.arrive_and_wait();
                begin[i] = Clock::now();
                for (int r = 0; r < kLcoreRoundsPerIteration; ++r) {
                    s.setup(*d.device, d.handles[i]);
                    ring.set_seqs();
                    process_in_bursts(q, ring.frames());
                    s.teardown(*d.device, d.handles[i]);
                }
                end[i] = Clock::now();
            });
        }
        for (auto& t : threads) t.join();
        const auto first = *std::min_element(begin.begin(), begin.end());
        const auto last = *std::max_element(end.begin(), end.end());
        state.SetIterationTime(std::chrono::duration<double>(last - first).count());
        rounds += kLcoreRoundsPerIteration;
    }
    const uint64_t each = streams[0]->data_bytes;
    if (!all_placed(state, *d.device, d.handles, each * rounds, kLcoreReads * rounds)) return;
    const double total_bits = static_cast<double>(each * rounds * lcores * 8);
    state.SetBytesProcessed(static_cast<int64_t>(each * rounds * lcores));
    state.counters["Gbit/s"] = benchmark::Counter(total_bits, benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
    const bool all_pinned = std::all_of(pinned.begin(), pinned.end(), [](char p) { return p != 0; });
    state.SetLabel(all_pinned ? "each thread pinned to a CPU of its own" : "threads NOT pinned (affinity refused)");
}
BENCHMARK(BM_EngineLcores)
    ->ArgName("lcores")
    ->Apply([](benchmark::internal::Benchmark* b) {
        const unsigned n = std::min(usable_cpus(), 8u);
        for (unsigned i = 1; i <= n; i *= 2) b->Arg(static_cast<int64_t>(i));
        if ((n & (n - 1)) != 0) b->Arg(static_cast<int64_t>(n));  // the machine's own count too
    })
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

constexpr uint32_t kConnReadLen = 16384;
const std::vector<int64_t> kConnectionCounts = {1, 64, 1024, 4096, 16384};

// The figures of a connections benchmark: `reads` reads of kConnReadLen in `packets` packets a round.
void report_rounds(benchmark::State& state, uint64_t rounds, uint64_t reads, uint64_t packets, uint64_t working_set) {
    const uint64_t data = uint64_t{kConnReadLen} * reads * rounds;
    state.SetBytesProcessed(static_cast<int64_t>(data));
    state.counters["Gbit/s"] = benchmark::Counter(static_cast<double>(data * 8), benchmark::Counter::kIsRate,
                                                  benchmark::Counter::kIs1000);
    state.counters["ns/packet"] = benchmark::Counter(static_cast<double>(packets * rounds),
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["working_set_MiB"] = static_cast<double>(working_set) / (1024.0 * 1024.0);
}

void BM_EngineConnections(benchmark::State& state) {
    const auto connections = static_cast<uint32_t>(state.range(0));
    // shared_buffers:1, the diagnostic: every connection's read placed into one 16 KiB buffer, which
    // stays in the cache; what is left of the cost of scale is the connections' own state.
    const bool shared_buffers = state.range(1) != 0;
    std::vector<uint8_t> shared(kConnReadLen);
    Device d(1, connections);
    std::vector<std::unique_ptr<Stream>> streams;
    size_t frames_each = 0;
    for (uint32_t k = 0; k < connections; ++k) {
        testlib::FlowSpec flow = testlib::ipv4_flow();
        // The host's local port tells them apart (a host with this many connections to one target).
        flow.dst_port = static_cast<uint16_t>(1024 + k);
        ddp::ConnectionHandle h = 0;
        if (!d.add(flow, 0, 32, h)) {
            state.SkipWithError(("the device refused connection " + std::to_string(k)).c_str());
            return;
        }
        d.handles.push_back(h);
        streams.push_back(std::make_unique<Stream>(flow, kConnReadLen, 1));
        if (shared_buffers) streams.back()->place_into(shared.data());
        frames_each = streams.back()->frames.frames.size();
    }
    // Packet j of every connection, then packet j + 1: one connection's packets never follow each
    // other (with one connection they all do). Listed once, in one array, as an rx ring's
    // descriptors are: walking the streams' own objects would time the benchmark's pointers.
    RxRing ring;
    for (size_t j = 0; j < frames_each; ++j) {
        for (uint32_t k = 0; k < connections; ++k) ring.add(streams[k]->frames.frames[j], *streams[k]);
    }
    ring.build();
    const uint64_t working_set = ring.bytes() + (shared_buffers ? 1 : uint64_t{connections}) * kConnReadLen;  // frames and buffers
    pmd::QueueEngine& q = d.driver->queue(0);
    uint64_t rounds = 0;
    for (auto _ : state) {
        for (uint32_t k = 0; k < connections; ++k) streams[k]->setup(*d.device, d.handles[k]);
        ring.set_seqs();
        const auto t0 = Clock::now();
        process_in_bursts(q, ring.frames());
        state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
        for (uint32_t k = 0; k < connections; ++k) streams[k]->teardown(*d.device, d.handles[k]);
        ++rounds;
    }
    if (!all_placed(state, *d.device, d.handles, uint64_t{kConnReadLen} * rounds, rounds)) return;
    report_rounds(state, rounds, connections, ring.frames().size(), working_set);
}
BENCHMARK(BM_EngineConnections)
    ->ArgNames({"connections", "shared_buffers"})
    ->ArgsProduct({kConnectionCounts, {0, 1}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// The control of BM_EngineConnections: the same reads, frames and buffers (K reads of 16 KiB, the
// same working set, every read registered before the round as there), all on ONE connection, in
// stream order. What BM_EngineConnections costs beyond this is the connections' own state (their
// classifier entries, engines, control-plane objects and counters) and their buffers written in the
// connections' interleaved order.
void BM_EngineOneConnectionSameBytes(benchmark::State& state) {
    const auto reads = static_cast<uint32_t>(state.range(0));
    Device d(1, 1, std::max<uint32_t>(reads, 1024));
    const testlib::FlowSpec flow = testlib::ipv4_flow();
    ddp::ConnectionHandle h = 0;
    if (!d.add(flow, 0, static_cast<uint16_t>(std::max<uint32_t>(reads, 2)), h)) {
        state.SkipWithError("the device refused the connection");
        return;
    }
    d.handles.push_back(h);
    Stream s(flow, kConnReadLen, reads);
    RxRing ring;
    for (const auto& f : s.frames.frames) ring.add(f, s);
    ring.build();
    const uint64_t working_set = ring.bytes() + uint64_t{reads} * kConnReadLen;  // frames and buffers
    pmd::QueueEngine& q = d.driver->queue(0);
    uint64_t rounds = 0;
    for (auto _ : state) {
        s.setup(*d.device, h);
        ring.set_seqs();
        const auto t0 = Clock::now();
        process_in_bursts(q, ring.frames());
        state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
        s.teardown(*d.device, h);
        ++rounds;
    }
    if (!all_placed(state, *d.device, d.handles, uint64_t{kConnReadLen} * reads * rounds, uint64_t{reads} * rounds)) return;
    report_rounds(state, rounds, reads, ring.frames().size(), working_set);
}
BENCHMARK(BM_EngineOneConnectionSameBytes)
    ->ArgName("connections")
    ->ArgsProduct({kConnectionCounts})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
