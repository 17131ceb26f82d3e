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
#include <benchmark/benchmark.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <tuple>
#include <vector>

#include "ddp/device.hpp"
#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/host/ddp_receive.hpp"
#include "nvmetcp/host/queue.hpp"
#include "nvmetcp/pdu_encoder.hpp"
#include "pmd/engine/sw_driver.hpp"
#include "testlib/flow_config.hpp"
#include "testlib/frame_gen.hpp"
#include "testlib/read_stream_gen.hpp"

namespace {

using namespace nvmeddp;
using nvmetcp::host::Completion;
using nvmetcp::host::DdpReceive;
using nvmetcp::host::IoRequest;
using nvmetcp::host::IoVec;
using nvmetcp::host::Queue;
using nvmetcp::host::QueueConfig;
using nvmetcp::host::QueueState;
using nvmetcp::host::RxPiece;

constexpr uint16_t kDepth = 128;
constexpr uint64_t kRoundData = 256 * 1024;
constexpr size_t kBurst = 32;
constexpr uint64_t kMiB = 1024 * 1024;

// TSC ticks per nanosecond, measured once against the steady clock.
double tsc_per_ns() {
    static const double ratio = [] {
        const auto t0 = std::chrono::steady_clock::now();
        const uint64_t c0 = __rdtsc();
        while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(50)) {
        }
        const uint64_t c1 = __rdtsc();
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
        return static_cast<double>(c1 - c0) / static_cast<double>(ns);
    }();
    return ratio;
}

// Frames and destination buffers together: two rounds (in cache) or twice the L3 (out of cache).
uint64_t working_set_bytes(bool out_of_cache, uint64_t round_bytes) {
    if (!out_of_cache) return 4 * round_bytes;
    const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    const uint64_t twice = l3 > 0 ? 2 * static_cast<uint64_t>(l3) : 0;
    return std::clamp<uint64_t>(twice, 64 * kMiB, 1024 * kMiB);
}

// The next round's sequence number in a built frame, its TCP checksum updated for the two 16-bit
// words that changed (RFC 1624, eqn. 3).
void set_seq(std::vector<uint8_t>& frame, const testlib::FrameLayout& layout, uint32_t seq) {
    uint8_t* tcp = frame.data() + layout.l4_offset;
    const auto word = [](const uint8_t* p) { return static_cast<uint32_t>(p[0] << 8 | p[1]); };
    uint32_t sum = ~word(tcp + 16) & 0xFFFF;
    sum += (~word(tcp + 4) & 0xFFFF) + (seq >> 16);
    sum += (~word(tcp + 6) & 0xFFFF) + (seq & 0xFFFF);
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    const uint32_t csum = ~sum & 0xFFFF;
    tcp[4] = static_cast<uint8_t>(seq >> 24);
    tcp[5] = static_cast<uint8_t>(seq >> 16);
    tcp[6] = static_cast<uint8_t>(seq >> 8);
    tcp[7] = static_cast<uint8_t>(seq);
    tcp[16] = static_cast<uint8_t>(csum >> 8);
    tcp[17] = static_cast<uint8_t>(csum);
}

// One round: the frames of a few reads' C2HData and CapsuleResps, cut at the MSS.
struct Round {
    std::vector<testlib::GeneratedFrame> frames;
    uint32_t stream_len = 0;
    std::vector<uint16_t> cids;  // the reads' command ids, in submission order
    size_t first_read = 0;       // index of its first read in the working set
};

struct Workload {
    using Key = std::tuple<uint32_t, uint32_t, bool, bool, std::vector<uint16_t>>;
    Key key;
    uint32_t read_len = 0;
    std::vector<Round> rounds;
    std::vector<uint32_t> truth_crc;  // CRC32C of each read's data
    uint64_t frame_bytes = 0;
};

// The host hands out command ids from a LIFO free list: the reads of one round take the ids the last
// round returned, in reverse order. The rounds alternate between `cids` and its reverse; every
// round checks that the queue handed out exactly these (a changed allocator fails the benchmark).
std::unique_ptr<Workload> build_workload(const Workload::Key& key) {
    const auto& [read_len, mss, digest, out_of_cache, cids] = key;
    auto w = std::make_unique<Workload>();
    w->key = key;
    w->read_len = read_len;
    const auto per_round = static_cast<uint32_t>(cids.size());
    const uint64_t round_bytes = uint64_t{per_round} * read_len;
    // Frames and buffers take about half of the working set each.
    size_t rounds = static_cast<size_t>(std::max<uint64_t>(2, working_set_bytes(out_of_cache, round_bytes) / 2 / round_bytes));
    rounds += rounds % 2;
    std::vector<uint16_t> reversed(cids.rbegin(), cids.rend());
    for (size_t r = 0; r < rounds; ++r) {
        testlib::ReadStreamOptions ro;
        ro.commands = per_round;
        ro.min_len = ro.max_len = read_len;
        ro.data_digest = digest;
        ro.cids = r % 2 == 0 ? cids : reversed;
        ro.seed = r + 1;
        const testlib::ReadStream stream = testlib::generate_read_stream(ro);
        testlib::FrameGenOptions fo;
        fo.mss = mss;
        Round round;
        round.frames = testlib::generate_frames(stream.bytes, fo).frames;
        round.stream_len = static_cast<uint32_t>(stream.bytes.size());
        round.cids = ro.cids;
        round.first_read = w->truth_crc.size();
        for (const auto& read : stream.reads) w->truth_crc.push_back(nvmetcp::crc32c(read.data));
        for (const auto& f : round.frames) w->frame_bytes += f.bytes.size();
        w->rounds.push_back(std::move(round));
    }
    return w;
}

const Workload& workload_for(const Workload::Key& key) {
    static std::unique_ptr<Workload> cached;  // one at a time: out-of-cache workloads are large
    if (!cached || cached->key != key) {
        cached.reset();
        cached = build_workload(key);
    }
    return *cached;
}

// The queue's transport: what it sends is kept only as far as bring-up needs it (the Connect's cid).
class SinkTransport final : public nvmetcp::host::QueueTransport {
public:
    size_t send_space() const override { return size_t{1} << 30; }
    size_t send(std::span<const uint8_t> bytes) override {
        const size_t keep = std::min(bytes.size(), kKeep - std::min(kKeep, head.size()));
        head.insert(head.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep));
        return bytes.size();
    }
    void close() override { closed = true; }
    static constexpr size_t kKeep = 4096;
    std::vector<uint8_t> head;
    bool closed = false;
};

// A host queue, the engine's device and (offload 1) the queue's DdpReceive on it.
class HostRig final : private nvmetcp::host::QueueObserver {
public:
    HostRig(bool digest, bool offload) : offload_(offload) {
        pmd::SoftwareDriverConfig dc;
        dc.log = [](const std::string&) {};
        auto d = std::make_unique<pmd::SoftwareDriver>(dc);
        driver_ = d.get();
        device_ = std::make_unique<ddp::Device>(std::move(d));
        rx_ = std::make_unique<DdpReceive>(*device_, kDepth);
        QueueConfig c;
        c.qid = 1;
        c.depth = kDepth;
        c.data_digest = digest;
        c.subnqn = "nqn.2024-01.io.nvmeddp:bench";
        c.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001";
        c.cntlid = 1;
        queue_ = std::make_unique<Queue>(c, &transport_);
        queue_->set_observer(this);
        iovs_.reserve(kDepth);  // submit_read's pointers into it stay valid for a round
    }
    ~HostRig() override {
        queue_->set_offload(nullptr);
        rx_->remove();
        for (int i = 0; i < 1000 && device_->connection_count() != 0; ++i) driver_->queue(0).poll_idle();
    }

    // ICReq out, ICResp in (the engine is not following yet), Connect out, its CapsuleResp in
    // through the engine. Returns an error sentence, or null.
    const char* bring_up() {
        queue_->on_transport_connected();
        nvmetcp::SendParams params{};
        std::vector<uint8_t> icresp(256);
        icresp.resize(nvmetcp::encode_pdu(icresp, nvmetcp::make_icresp(0, queue_->config().data_digest ? nvmetcp::ic_digest::kData : 0, 131072), {}, params));
        queue_->receive(icresp, RxPiece{seq_, nullptr});
        seq_ += static_cast<uint32_t>(icresp.size());
        if (offload_ && !rx_->active()) return "the offload could not be added to the device";
        // ICReq (128 bytes), then the Connect capsule: its SQE's cid at bytes 10-11 of the capsule.
        const auto& sent = transport_.head;
        if (sent.size() < 128 + 72 || sent[128] != static_cast<uint8_t>(nvmetcp::PduType::CapsuleCmd)) return "no Connect capsule after the ICReq";
        const auto connect_cid = static_cast<uint16_t>(sent[128 + 10] | sent[128 + 11] << 8);
        nvmetcp::NvmeCqe cqe{};
        cqe.cid.set(connect_cid);
        std::vector<uint8_t> resp(256);
        resp.resize(nvmetcp::encode_pdu(resp, nvmetcp::make_capsule_resp(cqe), {}, params));
        testlib::TcpFields tcp;
        tcp.seq = seq_;
        testlib::BuiltFrame frame = testlib::build_frame(flow_, tcp, resp);
        deliver(frame.bytes, frame.layout.payload_offset, static_cast<uint32_t>(resp.size()));
        if (queue_->state() != QueueState::Ready) return queue_->failure() ? queue_->failure() : "the queue is not ready after Connect";
        return nullptr;
    }

    // One frame through the engine (offload 1) and into the queue: for bring-up, untimed.
    void deliver(const std::vector<uint8_t>& frame, size_t payload_offset, uint32_t payload_len) {
        nvmeddp_pkt_meta meta{};
        if (offload_) {
            pmd::QueueEngine& q = driver_->queue(0);
            q.begin_burst();
            q.process(frame, frame.size(), {}, nullptr, pmd::L4Checksum::Unknown, meta);
            q.end_burst();
        }
        queue_->receive({frame.data() + payload_offset, payload_len}, RxPiece{seq_, offload_ ? &meta : nullptr});
        seq_ += payload_len;
    }

    // Submits a read into `buffer`; the cid the queue gave it, or -1.
    int submit_read(uint8_t* buffer, uint32_t len) {
        if (iovs_.size() == kDepth) return -1;
        iovs_.push_back({buffer, len});
        IoRequest r;
        r.sqe = nvmetcp::nvme::make_read(0, 1, 0, 1, len);
        r.data = {&iovs_.back(), 1};
        r.data_len = len;
        r.done = &HostRig::on_done;
        r.ctx = this;
        uint16_t cid = 0xFFFF;
        if (queue_->submit(r, &cid) != nvmetcp::host::SubmitResult::Ok) return -1;
        return cid;
    }
    // A read's IoVec is the caller's until completion; one round's reads at most are outstanding.
    void new_round() { iovs_.clear(); }

    Queue& queue() { return *queue_; }
    DdpReceive& rx() { return *rx_; }
    pmd::QueueEngine& engine() { return driver_->queue(0); }
    uint32_t& seq() { return seq_; }
    uint64_t completed = 0;
    uint64_t failed = 0;

private:
    void on_ic_done(Queue& queue, uint64_t next_stream_offset, const RxPiece& next) override {
        if (!offload_) return;
        ddp::ConnectionConfig config;
        config.tuple = testlib::host_tuple(flow_);
        config.queue_depth = kDepth;
        config.data_digest = queue.receive_params().data_digest;
        config.rcv_seq = next.seq;
        if (rx_->add(config, next_stream_offset) != ddp::Status::Ok) return;
        driver_->queue(0).poll_idle();  // the engine applies the new connection
        queue.set_offload(rx_.get());
    }
    static void on_done(void* ctx, const Completion& c) {
        auto* rig = static_cast<HostRig*>(ctx);
        ++(c.status.ok() ? rig->completed : rig->failed);
    }

    bool offload_;
    testlib::FlowSpec flow_ = testlib::ipv4_flow();
    pmd::SoftwareDriver* driver_ = nullptr;
    std::unique_ptr<ddp::Device> device_;
    std::unique_ptr<DdpReceive> rx_;
    SinkTransport transport_;
    std::unique_ptr<Queue> queue_;
    std::vector<IoVec> iovs_;
    uint32_t seq_ = 0x7FFF0000u;
};

void BM_HostReceive(benchmark::State& state) {
    const auto read_len = static_cast<uint32_t>(state.range(0));
    const auto mss = static_cast<uint32_t>(state.range(1));
    const bool digest = state.range(2) != 0;
    const bool offload = state.range(3) != 0;
    const bool out_of_cache = state.range(4) != 0;
    const auto per_round = static_cast<uint32_t>(std::max<uint64_t>(1, kRoundData / read_len));

    HostRig rig(digest, offload);
    if (const char* why = rig.bring_up()) return state.SkipWithError(why);
    // The ids of the first round, as the queue hands them out; the workload is built with them.
    std::vector<uint16_t> first_cids;
    std::vector<uint8_t> probe(read_len);
    rig.new_round();
    for (uint32_t i = 0; i < per_round; ++i) {
        const int cid = rig.submit_read(probe.data(), read_len);
        if (cid < 0) return state.SkipWithError("submit failed");
        first_cids.push_back(static_cast<uint16_t>(cid));
    }
    // Those reads are never answered: the queue is closed with them outstanding below. A second
    // rig takes the measurement, with the same ids (a fresh queue hands out the same ones).
    rig.queue().close("probe done");
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

    // Every read completed with success, every data byte reached its buffer (copied or placed), and
    // each buffer that was used holds its read's data.
    const auto& qs = queue.stats();
    const uint64_t data = reads * read_len;
    if (run.failed != 0 || run.completed != reads) return state.SkipWithError("a read did not complete with success");
    if (qs.bytes_copied + qs.bytes_placed != data) return state.SkipWithError("data bytes neither copied nor placed");
    const size_t used = std::min<uint64_t>(w.truth_crc.size(), reads);
    for (size_t i = 0; i < used; ++i) {
        if (nvmetcp::crc32c(buffers.data() + i * read_len, read_len) != w.truth_crc[i]) return state.SkipWithError("a read's buffer differs from its data");
    }

    const double bytes = static_cast<double>(data);
    state.SetBytesProcessed(static_cast<int64_t>(data));
    state.counters["host_cyc_per_B"] = static_cast<double>(host_ticks) / bytes;
    state.counters["engine_cyc_per_B"] = static_cast<double>(engine_ticks) / bytes;
    state.counters["host_ns_per_read"] = static_cast<double>(host_ticks) / ticks_per_ns / static_cast<double>(reads);
    state.counters["engine_ns_per_read"] = static_cast<double>(engine_ticks) / ticks_per_ns / static_cast<double>(reads);
    state.counters["copied_pct"] = 100.0 * static_cast<double>(qs.bytes_copied) / bytes;
    const uint64_t digests = qs.digests_computed + qs.digests_offloaded;
    state.counters["host_digest_pct"] = digests ? 100.0 * static_cast<double>(qs.digests_computed) / static_cast<double>(digests) : 0.0;
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
