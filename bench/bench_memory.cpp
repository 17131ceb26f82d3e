// Memory per connection, layer by layer (issue 14: < 16 KiB at queue depth 128, the engine's and
// TCP's state included). Not a timing: each benchmark builds one of each object and reports the heap
// bytes it holds, counted by this program's operator new (every allocation carries its size in a
// header), plus the object itself:
//   ddp_B          the control plane's connection (ddp::Device::connection_memory: registrations,
//                  teardown queue)
//   engine_B       what adding the connection to the software engine allocates beyond that (its
//                  ConnectionEngine: PDU tracking, holes; its transmit digests: the last 256), plus
//                  its share of the engine's tables (both directions)
//                  sized for `connections` (classifiers, connection tables, command ring) divided
//                  by that count
//   host_queue_B   the NVMe/TCP host queue (command slots, send ring, staging, the window of sent
//                  digests left to the device)
//   ddp_receive_B  the host's side of the offload (DdpReceive: an 8-byte record per command, whose
//                  buffer list the device reads where the command keeps it; the spare area for
//                  the cut copies of lists whose read ends inside an entry)
//   tcp_B          the user-space TCP connection with its default ConnectionConfig (ready list,
//                  SACK scoreboard, its inline out-of-order entries; the send queue links its mbufs
//                  and holds nothing else), plus its share of the out-of-order queues an endpoint
//                  of `connections` connections shares (EndpointConfig::ooo_queues' default: a
//                  quarter as many as connections, at least one: below 8 connections a share is
//                  more than 12 KiB, and 24 KiB with one), divided by that count
//   total_B        their sum
// The objects are built the way the host builds them, with default configurations; a connection's
// mbufs (received data, send buffers) are the port's mempool's, shared, and not counted.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>

#include "ddp/device.hpp"
#include "nvmetcp/host/ddp_receive.hpp"
#include "nvmetcp/host/queue.hpp"
#include "pmd/engine/sw_driver.hpp"
#include "tcp/connection.hpp"
#include "tcp/ooo_reserve.hpp"
#include "tcp/timer_wheel.hpp"
#include "testlib/flow_config.hpp"

namespace {

// Live heap bytes of this program: operator new stores each block's size in front of it.
std::atomic<int64_t> g_live_bytes{0};
constexpr size_t kHeader = alignof(std::max_align_t);

void* counted_alloc(size_t size, size_t align) {
    const size_t header = align > kHeader ? align : kHeader;
    void* raw = nullptr;
    if (posix_memalign(&raw, header, header + size) != 0) throw std::bad_alloc();
    auto* p = static_cast<unsigned char*>(raw) + header;
    reinterpret_cast<size_t*>(p)[-1] = size;
    reinterpret_cast<size_t*>(p)[-2] = header;
    g_live_bytes.fetch_add(static_cast<int64_t>(size), std::memory_order_relaxed);
    return p;
}

void counted_free(void* ptr) noexcept {
    if (ptr == nullptr) return;
    auto* p = static_cast<unsigned char*>(ptr);
    const size_t size = reinterpret_cast<size_t*>(p)[-1];
    const size_t header = reinterpret_cast<size_t*>(p)[-2];
    g_live_bytes.fetch_sub(static_cast<int64_t>(size), std::memory_order_relaxed);
    std::free(p - header);
}

}  // namespace

void* operator new(size_t size) { return counted_alloc(size, kHeader); }
void* operator new[](size_t size) { return counted_alloc(size, kHeader); }
void* operator new(size_t size, std::align_val_t a) { return counted_alloc(size, static_cast<size_t>(a)); }
void* operator new[](size_t size, std::align_val_t a) { return counted_alloc(size, static_cast<size_t>(a)); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, size_t) noexcept { counted_free(p); }
void operator delete[](void* p, size_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { counted_free(p); }

namespace {

using namespace nvmeddp;

// Heap bytes that `make` leaves allocated (the objects it returns stay alive until the end).
template <typename Make>
int64_t held_by(Make&& make, std::shared_ptr<void>& keep) {
    const int64_t before = g_live_bytes.load();
    keep = make();
    return g_live_bytes.load() - before;
}

void BM_MemoryPerConnection(benchmark::State& state) {
    const auto depth = static_cast<uint16_t>(state.range(0));
    const auto connections = static_cast<uint32_t>(state.range(1));
    std::shared_ptr<void> driver_keep, conn_keep, queue_keep, rx_keep, tcp_keep, reserve_keep, wheel_keep;

    // The engine's tables for `connections`, and one connection added.
    pmd::SoftwareDriver* driver = nullptr;
    std::unique_ptr<ddp::Device> device;
    const int64_t tables = held_by(
        [&] {
            pmd::SoftwareDriverConfig dc;
            dc.limits.max_connections = connections;
            dc.tx_digests = true;  // the transmit digest tables too, as OffloadPort runs it
            dc.log = [](const std::string&) {};
            auto d = std::make_unique<pmd::SoftwareDriver>(dc);
            driver = d.get();
            device = std::make_unique<ddp::Device>(std::move(d));
            return std::shared_ptr<void>();
        },
        driver_keep);
    ddp::ConnectionHandle handle = 0;
    const int64_t added = held_by(
        [&] {
            ddp::ConnectionConfig c;
            c.tuple = testlib::host_tuple(testlib::ipv4_flow());
            c.queue_depth = depth;
            c.data_digest = true;
            c.tx_data_digest = true;  // its memory of sent digests (tx_digest_stream.hpp) counted
            device->add_connection(c, handle);
            driver->queue(0).poll_idle();
            return std::shared_ptr<void>();
        },
        conn_keep);
    const auto ddp_bytes = static_cast<int64_t>(device->connection_memory(handle));

    nvmetcp::host::QueueConfig qc;
    qc.qid = 1;
    qc.depth = depth;
    qc.data_digest = true;
    const int64_t queue = held_by(
        [&] {
            auto q = std::make_shared<nvmetcp::host::Queue>(qc, nullptr);
            q->leave_data_digests_to_device(device->limits().tx_digests_in_flight);  // as DdpOffload does
            return std::static_pointer_cast<void>(q);
        },
        queue_keep);
    const int64_t rx = held_by(
        [&] { return std::static_pointer_cast<void>(std::make_shared<nvmetcp::host::DdpReceive>(*device, depth)); }, rx_keep);

    auto wheel = std::make_shared<tcp::TimerWheel>(256, 1000, 0);
    tcp::ConnectionContext context;
    context.timers = wheel.get();
    const tcp::ConnectionConfig tcp_config{};
    // The shared queues as Endpoint::create sizes them for `connections` (one lcore's endpoint
    // holding them all). Their bytes grow by the same amount per queue: measured for one and two
    // (the connection borrows from the first) and extended, rather than allocated whole (65536
    // connections would take 384 MiB).
    const uint32_t queues = tcp::OutOfOrderReserve::default_queues(connections);
    const auto reserve_of = [&](uint32_t n) {
        return [&tcp_config, &context, n] {
            auto r = std::make_shared<tcp::OutOfOrderReserve>(n, tcp_config.ooo_segments);
            context.ooo_reserve = r.get();
            return std::static_pointer_cast<void>(r);
        };
    };
    const int64_t two_queues = held_by(reserve_of(2), reserve_keep);
    reserve_keep.reset();
    const int64_t one_queue = held_by(reserve_of(1), reserve_keep);
    const int64_t ooo_reserve = one_queue + (two_queues - one_queue) * (static_cast<int64_t>(queues) - 1);
    const int64_t tcp_connection = held_by(
        [&] { return std::static_pointer_cast<void>(std::make_shared<tcp::Connection>(tcp_config, context)); }, tcp_keep);
    const double tcp_bytes = static_cast<double>(tcp_connection) + static_cast<double>(ooo_reserve) / connections;

    for (auto _ : state) benchmark::DoNotOptimize(g_live_bytes.load());

    // make_shared puts the object and its control block in one allocation: counted in `queue` etc.
    const double engine = static_cast<double>(added - ddp_bytes) + static_cast<double>(tables) / connections;
    state.counters["ddp_B"] = static_cast<double>(ddp_bytes);
    state.counters["engine_B"] = engine;
    state.counters["host_queue_B"] = static_cast<double>(queue);
    state.counters["ddp_receive_B"] = static_cast<double>(rx);
    state.counters["tcp_B"] = tcp_bytes;
    state.counters["total_B"] = static_cast<double>(ddp_bytes) + engine + static_cast<double>(queue + rx) + tcp_bytes;

    queue_keep.reset();
    rx_keep.reset();
    tcp_keep.reset();
    reserve_keep.reset();
    device->remove_connection(handle);
    for (int i = 0; i < 100 && device->connection_count() != 0; ++i) {
        driver->queue(0).poll_idle();
        device->poll(handle);
    }
}
BENCHMARK(BM_MemoryPerConnection)
    ->ArgNames({"queue_depth", "connections"})
    ->Args({128, 1})
    ->Args({128, 64})
    ->Args({128, 1024})
    ->Args({128, 4096})
    ->Args({128, 65536})
    ->Args({32, 1024})
    ->Args({1024, 1024})
    ->Iterations(1);

}  // namespace
