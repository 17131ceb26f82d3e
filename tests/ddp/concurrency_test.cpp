// Publish and retire of registrations with the host and the engine on different threads, as when
// the offload engine polls an rx queue on one lcore and the host runs on another. Built twice: in
// the normal suite, and with ThreadSanitizer (ddp_concurrency_tsan), which reports any access to a
// registration or a buffer that is not ordered by the protocol.
//
// The engine thread behaves like the software engine: bursts bracketed by QuiescentGate enter/leave,
// a claim per command id, and "packets" of placement each preceded by still_valid(). The host sets
// up, tears down (synchronously or not) and, once a teardown has completed, owns the buffer again:
// it zeroes it and checks, before the next setup, that it is still zero. A single engine write after
// the completion would show there (and is a data race for TSan). Meanwhile the engine posts resync
// requests that the host answers from on_pdu_header(), and a third thread reads statistics.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "ddp/device.hpp"
#include "fake_driver.hpp"

using namespace nvmeddp::ddp;
using namespace nvmeddp::ddp_test;

namespace {

constexpr uint16_t kCommands = 16;
constexpr size_t kBufferLen = 4096;
constexpr size_t kPacket = 512;  // the engine places in pieces of this size, revalidating before each

struct HostIo {
    std::vector<uint8_t> buffer = std::vector<uint8_t>(kBufferLen, 0);
    BufferSegment segment{};
    bool registered = false;
    bool tearing_down = false;
};

struct Completions {
    std::vector<HostIo>* ios;
    uint64_t count = 0;
};

// The buffer is the host's again: any later engine write is a bug the next setup detects.
void hand_back(HostIo& io) {
    std::memset(io.buffer.data(), 0, io.buffer.size());
    io.tearing_down = false;
    io.registered = false;
}

void on_teardown_done(void* arg, uint64_t, uint16_t cid, int status) {
    auto* c = static_cast<Completions*>(arg);
    EXPECT_EQ(status, 0);
    hand_back((*c->ios)[cid]);
    ++c->count;
}

void run(uint64_t teardowns_wanted) {
    FakeDevice f;
    f.driver->teardown_mode = TeardownMode::Gate;
    Device& dev = *f.device;
    ConnectionHandle h = 0;
    ASSERT_EQ(dev.add_connection(ipv4_config(kCommands), h), Status::Ok);
    DriverConnection& conn = *f.driver->last_connection;
    QuiescentGate& gate = f.driver->gate;

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> engine_placements{0};
    std::atomic<uint64_t> confirmed_answers{0};

    std::thread engine([&] {
        uint32_t next_request_seq = 1000;
        std::optional<ResyncRequest> outstanding;
        uint64_t bursts = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            gate.enter();
            for (uint16_t cid = 0; cid < kCommands; ++cid) {
                const auto claim = conn.registrations.claim(cid);
                if (!claim) continue;
                const BufferSegment& seg = claim.registration->segments()[0];
                auto* dst = static_cast<uint8_t*>(seg.addr);
                for (size_t off = 0; off < seg.len; off += kPacket) {
                    if (!conn.registrations.still_valid(claim)) break;
                    std::memset(dst + off, 0xA0 | (cid & 0xF), std::min(kPacket, static_cast<size_t>(seg.len - off)));
                    conn.counters.placed_bytes.add(kPacket);
                }
                engine_placements.fetch_add(1, std::memory_order_relaxed);
            }
            // Every few bursts a resync request; answers must name the current request.
            if (auto a = conn.resync.take_answer()) {
                EXPECT_TRUE(outstanding && a->request == *outstanding);
                if (a->confirmed) confirmed_answers.fetch_add(1, std::memory_order_relaxed);
                outstanding.reset();
            }
            if (++bursts % 8 == 0) {
                outstanding = conn.resync.post(next_request_seq);
                conn.counters.resync_requests.add();
                next_request_seq += 1000;
            }
            conn.counters.packets.add();
            gate.leave();
        }
    });

    std::thread stats_reader([&] {
        while (!stop.load(std::memory_order_relaxed)) {
            const Stats s = dev.stats();
            EXPECT_GE(s.setup, s.teardown);
            std::this_thread::yield();
        }
    });

    std::vector<HostIo> ios(kCommands);
    for (auto& io : ios) io.segment = BufferSegment{io.buffer.data(), io.buffer.size()};
    Completions completions{&ios};
    uint64_t synchronous = 0;
    uint64_t host_seq = 0;
    uint64_t corrupted = 0;
    for (uint64_t round = 0; completions.count + synchronous < teardowns_wanted; ++round) {
        for (uint16_t cid = 0; cid < kCommands; ++cid) {
            HostIo& io = ios[cid];
            if (io.tearing_down) continue;
            if (!io.registered) {
                // Free again: nothing may have written since the teardown completed.
                if (std::any_of(io.buffer.begin(), io.buffer.end(), [](uint8_t b) { return b != 0; })) ++corrupted;
                ASSERT_EQ(dev.setup(h, cid, {&io.segment, 1}, kBufferLen), Status::Ok);
                io.registered = true;
            } else {
                io.tearing_down = true;
                const Status s = dev.teardown(h, cid, on_teardown_done, &completions);
                ASSERT_TRUE(s == Status::Ok || s == Status::InProgress) << to_string(s);
                if (s == Status::Ok) {
                    ++synchronous;
                    hand_back(io);
                }
            }
        }
        dev.poll(h);
        // The host's parser walks the stream; headers every 500 bytes answer the engine's requests.
        for (int i = 0; i < 4; ++i) {
            host_seq += 500;
            dev.on_pdu_header(h, static_cast<uint32_t>(host_seq));
        }
    }
    stop.store(true);
    engine.join();
    stats_reader.join();

    EXPECT_EQ(corrupted, 0u) << "engine wrote into a buffer after its teardown completed";
    EXPECT_GT(engine_placements.load(), 0u);
    // Deferred teardowns happened (the engine was mid-burst) and completed from poll().
    EXPECT_GT(completions.count, 0u);
    const auto still_pending = static_cast<uint64_t>(
        std::count_if(ios.begin(), ios.end(), [](const HostIo& io) { return io.tearing_down; }));
    Stats s;
    ASSERT_EQ(dev.connection_stats(h, s), Status::Ok);
    EXPECT_EQ(s.teardown, completions.count + synchronous + still_pending);
    EXPECT_EQ(s.resync, s.resync_confirmations + s.resync_refusals);
    EXPECT_GT(s.resync_requests, 0u);
    EXPECT_EQ(s.bad_transitions, 0u);
    // The engine has stopped (outside any burst): removal completes at once, pending teardowns
    // included, and every buffer is handed back.
    EXPECT_EQ(dev.remove_connection(h), Status::Ok);
    EXPECT_EQ(dev.connection_count(), 0u);
    EXPECT_EQ(completions.count + synchronous, s.teardown);
}

}  // namespace

TEST(DdpConcurrency, HostAndEngineOnDifferentThreadsNeverShareABufferUnordered) { run(20000); }
