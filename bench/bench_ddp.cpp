// DDP control plane costs: setup + teardown per I/O (target: under 50 ns on one core), the engine's
// per-packet registration check, and memory per connection (target at queue depth 128: under 16 KiB
// plus the buffer lists, which the library does not copy).
//
// The driver here does what the software engine's does on these ops and nothing else: setup
// publishes, teardown retires through a QuiescentGate whose engine is between bursts (the run-to-
// completion case), so every teardown completes synchronously.
#include <benchmark/benchmark.h>

#include <array>
#include <memory>
#include <vector>

#include "ddp/device.hpp"
#include "ddp/quiescent_gate.hpp"
#include "nvmeddp/ddp.h"

namespace {

using namespace nvmeddp::ddp;

class GateDriver final : public DdpDriver {
public:
    QuiescentGate gate;
    DriverConnection* last = nullptr;

    const char* name() const noexcept override { return "bench0"; }
    DeviceLimits limits() const noexcept override {
        DeviceLimits l;
        l.max_queue_depth = 4096;
        return l;
    }
    Caps supported_caps() const noexcept override { return cap::kAll; }
    Status set_caps(Caps) noexcept override { return Status::Ok; }
    Status sk_add(DriverConnection& c) noexcept override {
        last = &c;
        return Status::Ok;
    }
    Ticket sk_del(DriverConnection&) noexcept override { return gate.retire(); }
    Status setup(DriverConnection&, uint16_t) noexcept override { return Status::Ok; }
    Ticket teardown(DriverConnection&, uint16_t) noexcept override { return gate.retire(); }
    bool done(DriverConnection&, Ticket t) noexcept override { return gate.passed(t); }
    void resync(DriverConnection&, const ResyncAnswer&) noexcept override {}
};

struct Bench {
    explicit Bench(uint16_t queue_depth) {
        auto d = std::make_unique<GateDriver>();
        driver = d.get();
        device = std::make_unique<Device>(std::move(d));
        ConnectionConfig c;
        c.tuple.family = IpFamily::Ipv4;
        c.tuple.local_port = 40000;
        c.tuple.remote_port = 4420;
        c.queue_depth = queue_depth;
        device->add_connection(c, handle);
    }
    GateDriver* driver;
    std::unique_ptr<Device> device;
    ConnectionHandle handle = 0;
};

// One segment per I/O, or `segments` (the validation walks them). Command ids rotate over the queue
// depth as a host's would.
void BM_SetupTeardown(benchmark::State& state) {
    const auto segments = static_cast<size_t>(state.range(0));
    Bench b(128);
    static std::array<uint8_t, 1 << 20> buffer;
    std::vector<BufferSegment> sgl(segments);
    const uint64_t seg_len = 4096;
    for (size_t i = 0; i < segments; ++i) sgl[i] = {buffer.data() + i * seg_len, seg_len};
    const uint64_t total = seg_len * segments;
    uint16_t cid = 0;
    for (auto _ : state) {
        if (b.device->setup(b.handle, cid, sgl, total) != Status::Ok) state.SkipWithError("setup failed");
        if (b.device->teardown(b.handle, cid) != Status::Ok) state.SkipWithError("teardown not synchronous");
        cid = (cid + 1) & 127;
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetLabel("setup+teardown per I/O");
}
BENCHMARK(BM_SetupTeardown)->ArgName("segments")->Arg(1)->Arg(16)->Arg(128);

// The same through the C API (a C host's view).
void BM_SetupTeardownCApi(benchmark::State& state) {
    Bench b(128);
    static std::array<uint8_t, 65536> buffer;
    const nvmeddp_segment seg{buffer.data(), buffer.size()};
    auto* dev = reinterpret_cast<nvmeddp_device*>(b.device.get());
    uint16_t cid = 0;
    for (auto _ : state) {
        if (nvmeddp_setup(dev, b.handle, cid, &seg, 1, buffer.size()) != NVMEDDP_OK) state.SkipWithError("setup");
        if (nvmeddp_teardown(dev, b.handle, cid, nullptr, nullptr) != NVMEDDP_OK) state.SkipWithError("teardown");
        cid = (cid + 1) & 127;
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SetupTeardownCApi);

// What the engine pays per packet to know its registration is still live.
void BM_EngineStillValid(benchmark::State& state) {
    Bench b(128);
    static std::array<uint8_t, 65536> buffer;
    const BufferSegment seg{buffer.data(), buffer.size()};
    b.device->setup(b.handle, 5, {&seg, 1}, buffer.size());
    RegistrationTable& table = b.driver->last->registrations;
    const auto claim = table.claim(5);
    for (auto _ : state) benchmark::DoNotOptimize(table.still_valid(claim));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_EngineStillValid);

// What the engine pays per C2HData header to find its registration.
void BM_EngineClaim(benchmark::State& state) {
    Bench b(128);
    static std::array<uint8_t, 65536> buffer;
    const BufferSegment seg{buffer.data(), buffer.size()};
    for (uint16_t cid = 0; cid < 128; ++cid) b.device->setup(b.handle, cid, {&seg, 1}, buffer.size());
    RegistrationTable& table = b.driver->last->registrations;
    uint16_t cid = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(table.claim(cid));
        cid = (cid + 1) & 127;
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_EngineClaim);

// Memory per connection (bytes_per_connection), by queue depth. Not a timing: one iteration.
void BM_ConnectionMemory(benchmark::State& state) {
    Bench b(static_cast<uint16_t>(state.range(0)));
    for (auto _ : state) benchmark::DoNotOptimize(b.device->connection_memory(b.handle));
    state.counters["bytes_per_connection"] = static_cast<double>(b.device->connection_memory(b.handle));
}
BENCHMARK(BM_ConnectionMemory)->ArgName("queue_depth")->Arg(32)->Arg(128)->Arg(1024)->Iterations(1);

}  // namespace
