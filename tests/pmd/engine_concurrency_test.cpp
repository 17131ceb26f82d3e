// The real offload engine on one thread (an rx lcore running QueueEngine bursts over a connection's
// frames, round after round) and a host on another, setting up and tearing down the registrations
// the engine places into, as fast as it can. The host tears down while data for the command is
// arriving, and once a teardown completes it owns the buffer again: it zeroes it and checks, before
// the next setup, that it is still zero. Built twice: in the normal suite and with ThreadSanitizer
// (pmd_engine_concurrency_tsan), which reports any unordered access to a buffer, a registration,
// the resync mailboxes or a counter.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "ddp/device.hpp"
#include "pmd/engine/sw_driver.hpp"
#include "testlib/flow_config.hpp"
#include "testlib/frame_gen.hpp"
#include "testlib/read_stream_gen.hpp"

using namespace nvmeddp;

TEST(EngineConcurrency, TeardownsRacingPlacementNeverLeaveAWriteAfterCompletion) {
    constexpr uint16_t kReads = 8;
    testlib::ReadStreamOptions ro;
    ro.commands = kReads;
    ro.min_len = ro.max_len = 16384;
    ro.max_pdu_data = 4096;
    ro.data_digest = true;
    const testlib::ReadStream stream = testlib::generate_read_stream(ro);
    testlib::FrameGenOptions fo;
    fo.first_seq = 1000;
    testlib::FrameSequence frames = testlib::generate_frames(stream.bytes, fo);

    pmd::SoftwareDriverConfig dc;
    dc.limits.max_connections = 4;
    dc.log = [](const std::string&) {};
    auto owned = std::make_unique<pmd::SoftwareDriver>(dc);
    pmd::SoftwareDriver& driver = *owned;
    ddp::Device device(std::move(owned));
    ddp::ConnectionConfig cc;
    cc.tuple = testlib::host_tuple(fo.flow);
    cc.queue_depth = kReads;
    cc.data_digest = true;
    cc.rcv_seq = fo.first_seq;
    ddp::ConnectionHandle h = 0;
    ASSERT_EQ(device.add_connection(cc, h), ddp::Status::Ok);
    pmd::QueueEngine& queue = driver.queue(0);

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> rounds{0};
    std::thread engine([&] {
        uint32_t seq = fo.first_seq;
        const auto stream_len = static_cast<uint32_t>(stream.bytes.size());
        while (!stop.load(std::memory_order_relaxed)) {
            for (size_t i = 0; i < frames.frames.size(); i += 8) {
                queue.begin_burst();
                for (size_t k = i; k < std::min(i + 8, frames.frames.size()); ++k) {
                    auto& f = frames.frames[k];
                    testlib::rewrite_tcp_seq(f.bytes, f.truth.layout, seq + static_cast<uint32_t>(f.truth.stream_offset));
                    nvmeddp_pkt_meta meta;
                    queue.process(f.bytes, f.bytes.size(), {}, nullptr, pmd::L4Checksum::Unknown, meta);
                }
                queue.end_burst();
            }
            seq += stream_len;
            rounds.fetch_add(1, std::memory_order_relaxed);
        }
    });

    struct Io {
        std::vector<uint8_t> buffer = std::vector<uint8_t>(16384, 0);
        ddp::BufferSegment segment{};
        bool registered = false;
        bool tearing_down = false;
    };
    std::vector<Io> ios(kReads);
    for (auto& io : ios) io.segment = {io.buffer.data(), io.buffer.size()};
    uint64_t written_after = 0, sync = 0, async = 0;
    auto hand_back = [&](Io& io) {
        std::memset(io.buffer.data(), 0, io.buffer.size());
        io.registered = io.tearing_down = false;
    };
    struct Ctx {
        std::vector<Io>* ios;
        decltype(hand_back)* back;
        uint64_t* async;
    } ctx{&ios, &hand_back, &async};
    const auto done = [](void* arg, uint64_t, uint16_t cid, int) {
        auto* c = static_cast<Ctx*>(arg);
        (*c->back)((*c->ios)[cid]);
        ++*c->async;
    };
    // Until both sides of the race were seen (placement, and a teardown that had to wait), at least
    // 20000 teardowns, and at most 30 s: on a loaded machine the engine thread may start late.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    auto raced = [&] {
        ddp::Stats st{};
        device.connection_stats(h, st);
        return st.placed_bytes > 0 && async > 0;
    };
    bool seen = false;
    for (uint64_t iteration = 0; sync + async < 20000 || !seen; ++iteration) {
        if (iteration % 4096 == 0) {
            seen = seen || raced();
            if (std::chrono::steady_clock::now() > deadline) break;
        }
        const auto cid = static_cast<uint16_t>(iteration % kReads);
        Io& io = ios[cid];
        if (io.tearing_down) {
        } else if (!io.registered) {
            if (std::any_of(io.buffer.begin(), io.buffer.end(), [](uint8_t b) { return b != 0; })) ++written_after;
            ASSERT_EQ(device.setup(h, cid, {&io.segment, 1}, io.buffer.size()), ddp::Status::Ok);
            io.registered = true;
        } else {
            io.tearing_down = true;
            const ddp::Status s = device.teardown(h, cid, done, &ctx);
            ASSERT_TRUE(s == ddp::Status::Ok || s == ddp::Status::InProgress) << ddp::to_string(s);
            if (s == ddp::Status::Ok) {
                ++sync;
                hand_back(io);
            }
        }
        device.poll(h);
    }
    stop.store(true);
    engine.join();
    EXPECT_EQ(written_after, 0u) << "the engine wrote into a buffer after its teardown completed";
    EXPECT_GT(rounds.load(), 0u);
    ddp::Stats s{};
    device.connection_stats(h, s);
    EXPECT_GT(s.placed_bytes, 0u) << "the engine never placed: the race was not exercised";
    EXPECT_GT(async, 0u) << "no teardown had to wait for the engine: the race was not exercised";
    device.remove_connection(h);
    driver.set_poller_stopped(true);
    device.poll_all();
    EXPECT_EQ(device.connection_count(), 0u);
}
