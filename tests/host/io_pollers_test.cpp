// A controller's I/O queues on several threads (IoPollers) against our target over kernel sockets:
// each lane is its own SocketTransportFactory (its own epoll set), polled by one thread. Every byte is
// checked, every completion is counted once, and while the queues are handed out each I/O completes
// on the thread that has its queue. Run under ASan/UBSan in CI; the hand-over is acquire/release only,
// which ThreadSanitizer models exactly: host_io_pollers_tsan runs this file with everything under it
// built with ThreadSanitizer.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "host_target_harness.hpp"
#include "nvmetcp/host/io_pollers.hpp"

namespace nvmeddp::nvmetcp::host::itest {
namespace {

// Kernel sockets in lanes: the admin queue on lane 0, I/O queue qid on lane (qid - 1) mod lanes, as
// the DPDK host puts its connections on the queue pairs of a port.
class LaneSockets : public TransportFactory {
public:
    LaneSockets(uint16_t lanes, uint16_t port) {
        for (uint16_t k = 0; k < lanes; ++k) lanes_.push_back(std::make_unique<SocketTransportFactory>("127.0.0.1", port));
    }
    QueueTransport* open(uint16_t qid, Queue& queue, std::string* error) override {
        const uint16_t lane = qid == 0 ? 0 : static_cast<uint16_t>((qid - 1) % lanes_.size());
        QueueTransport* t = lanes_[lane]->open(qid, queue, error);
        if (t != nullptr) lane_of_[t] = lane;
        return t;
    }
    void release(QueueTransport* transport) override {
        const auto it = lane_of_.find(transport);
        ASSERT_NE(it, lane_of_.end());
        lanes_[it->second]->release(transport);
        lane_of_.erase(it);
    }
    bool poll(uint16_t lane) {
        lanes_[lane]->poll(0);
        return true;
    }
    uint16_t lanes() const { return static_cast<uint16_t>(lanes_.size()); }

private:
    std::vector<std::unique_ptr<SocketTransportFactory>> lanes_;
    std::map<QueueTransport*, uint16_t> lane_of_;  // control thread only (open and release)
};

// One thread's reads: `count` reads of `length` bytes on its queues, `depth` at a time each, every
// one checked against the namespace pattern when it completes.
struct PollerReads {
    std::vector<uint16_t> queues;
    uint32_t count = 0, length = 0, depth = 4;
    uint64_t base = 0;  // first byte address
    IoRecords records;
    std::thread::id thread;               // the thread that runs this poller
    uint32_t completed_elsewhere = 0;     // completions that ran on another thread
    std::atomic<bool> done{false};

    struct Context {
        PollerReads* owner;
        IoRecord* record;
    };
    std::vector<Context> contexts;

    static void on_done(void* ctx, const Completion& c) {
        auto* x = static_cast<Context*>(ctx);
        if (std::this_thread::get_id() != x->owner->thread) ++x->owner->completed_elsewhere;
        IoRecord::done(x->record, c);
    }

    // Submits and pumps (pump() polls this thread's lanes and queues) until every read completed.
    void run(Controller& c, const std::function<void()>& pump, uint64_t deadline_ms) {
        thread = std::this_thread::get_id();
        records.reserve(count);
        contexts.reserve(count);
        uint32_t next = 0;
        auto outstanding = [&] { return next - static_cast<uint32_t>(completed(records)); };
        pump();  // this thread has its queues from here on
        while (completed(records) < count && now_ms() < deadline_ms) {
            while (next < count && outstanding() < depth * queues.size()) {
                const uint64_t address = base + uint64_t{next} * length;
                records.push_back(std::make_unique<IoRecord>(address, length));
                contexts.push_back({this, records.back().get()});
                const uint16_t q = queues[next % queues.size()];
                const SubmitResult r = c.read(q, address / c.block_size(), length / c.block_size(), records.back()->data(),
                                              &PollerReads::on_done, &contexts.back());
                if (r != SubmitResult::Ok) {
                    ADD_FAILURE() << "read " << next << " on queue " << q << ": " << to_string(r);
                    records.back()->completions = 1;
                }
                ++next;
            }
            pump();
        }
        done = true;
    }
};

class IoPollersOverSockets : public ::testing::Test {
protected:
    static constexpr uint16_t kLanes = 2, kIoQueues = 4;

    void SetUp() override {
        target::TargetConfig tc = small_target_config();
        tc.faults = faults_;
        target_ = std::make_unique<TargetThread>(tc);
        ControllerConfig cc = host_config(tc);
        cc.io_queues = kIoQueues;
        cc.queue_depth = 8;
        cc.reconnect_delay_ms = reconnect_delay_ms_;
        cc.ctrl_loss_tmo_ms = reconnect_delay_ms_ > 0 ? 5000 : 0;
        sockets_ = std::make_unique<LaneSockets>(kLanes, target_->port());
        controller_ = std::make_unique<Controller>(cc, *sockets_);
        pollers_ = std::make_unique<IoPollers>(*controller_, kLanes, kLanes, [this](uint16_t p) { return sockets_->poll(p); });
    }

    bool bring_up() {
        std::string error;
        if (!controller_->start(&error)) return false;
        const uint64_t deadline = now_ms() + kBringUpTimeoutMs;
        while (controller_->state() == ControllerState::Connecting && now_ms() < deadline) pollers_->poll_control(now_ms());
        return controller_->state() == ControllerState::Ready;
    }

    // Poller 1 reads on its own thread while the control thread reads on poller 0's queues; both
    // check every byte. Returns once both are done and the queues are back with the control thread.
    void run_both(PollerReads& mine, PollerReads& theirs, uint32_t reads_each) {
        mine.count = theirs.count = reads_each;
        mine.length = theirs.length = 16384;
        theirs.base = 8ull << 20;  // disjoint from the control thread's

        for (uint16_t i = 0; i < controller_->io_queue_count(); ++i) (pollers_->poller_of_queue(i) == 0 ? mine : theirs).queues.push_back(i);
        const uint64_t deadline = now_ms() + 20000;
        pollers_->join(1);
        std::thread worker([&] {
            theirs.run(*controller_, [&] { pollers_->poll(1, now_ms()); }, deadline);
            pollers_->leave(1);
        });
        mine.run(*controller_, [&] { pollers_->poll_control(now_ms()); }, deadline);
        while ((pollers_->running() > 0 || controller_->io_delegated()) && now_ms() < deadline + 5000)
            pollers_->poll_control(now_ms());
        worker.join();
        EXPECT_FALSE(controller_->io_delegated()) << "the queues did not come back to the control thread";
    }

    void expect_all_right(const PollerReads& reads, const char* who) {
        ASSERT_EQ(completed(reads.records), reads.count) << who << ": not every read completed";
        for (const auto& r : reads.records) {
            ASSERT_EQ(r->completions, 1) << who << ": a read completed " << r->completions << " times";
            ASSERT_TRUE(r->completion.status.ok()) << who << ": " << status_text(r->completion.status) << " " << r->reason;
            ASSERT_EQ(pattern_mismatch(kNamespacePattern, r->byte_address, r->buffer), "") << who;
        }
    }

    void TearDown() override {
        if (controller_ && controller_->state() == ControllerState::Ready) {
            controller_->shutdown();
            const uint64_t deadline = now_ms() + 2000;
            while (controller_->state() != ControllerState::Idle && now_ms() < deadline) pollers_->poll_control(now_ms());
        }
        pollers_.reset();
        controller_.reset();
        sockets_.reset();
        target_.reset();
    }

    target::TargetFaults faults_{};
    uint32_t reconnect_delay_ms_ = 0;
    std::unique_ptr<TargetThread> target_;
    std::unique_ptr<LaneSockets> sockets_;
    std::unique_ptr<Controller> controller_;
    std::unique_ptr<IoPollers> pollers_;
};

TEST_F(IoPollersOverSockets, EachThreadReadsOnItsOwnQueuesAndEveryByteIsRight) {
    ASSERT_TRUE(bring_up()) << controller_->failure();
    std::vector<uint64_t> before;  // the queues' own Connect counts as a completion
    for (uint16_t i = 0; i < kIoQueues; ++i) before.push_back(controller_->io_queue(i).stats().completions);
    PollerReads mine, theirs;
    run_both(mine, theirs, 200);
    expect_all_right(mine, "control thread");
    expect_all_right(theirs, "poller 1");
    EXPECT_EQ(theirs.queues, (std::vector<uint16_t>{1, 3})) << "I/O queue i is on lane i mod 2";
    EXPECT_EQ(theirs.completed_elsewhere, 0u) << "a completion of poller 1's queues ran on another thread";
    EXPECT_EQ(mine.completed_elsewhere, 0u);
    EXPECT_GE(pollers_->hand_outs(), 1u);
    EXPECT_EQ(controller_->losses(), 0u);
    // Both threads' queues carried their reads: each I/O queue completed what was sent on it.
    for (uint16_t i = 0; i < kIoQueues; ++i)
        EXPECT_EQ(controller_->io_queue(i).stats().completions - before[i], 100u) << "I/O queue " << i;
}

// A poller that leaves while the control thread hands queues out (it does so on every round while
// delegated) must never be handed its queues after it left: nobody would give them back, and the
// control thread would wait for them for ever. Many short join/leave cycles on one worker thread.
TEST_F(IoPollersOverSockets, APollerThatLeavesIsNeverHandedItsQueuesAgain) {
    ASSERT_TRUE(bring_up()) << controller_->failure();
    std::atomic<uint32_t> go{0};  // cycle the worker may start (join(1) done by the control thread)
    std::atomic<bool> stop{false};
    std::thread worker([&] {
        for (uint32_t cycle = 1; !stop.load(); ++cycle) {
            while (go.load(std::memory_order_acquire) < cycle) {
                if (stop.load()) return;
                std::this_thread::yield();
            }
            pollers_->poll(1, now_ms());  // returns once handed out
            pollers_->leave(1);
        }
    });
    const uint64_t end = now_ms() + 2000;  // thousands of cycles (it hung within hundreds)
    uint32_t cycles = 0;
    bool stuck = false;
    while (now_ms() < end && !stuck) {
        pollers_->join(1);
        go.store(++cycles, std::memory_order_release);
        const uint64_t deadline = now_ms() + 2000;
        while (pollers_->running() > 0 || controller_->io_delegated()) {
            pollers_->poll_control(now_ms());
            if (now_ms() > deadline) {
                stuck = true;
                break;
            }
        }
    }
    stop = true;
    worker.join();
    EXPECT_FALSE(stuck) << "cycle " << cycles << ": the queues of a poller that left never came back";
    EXPECT_GE(cycles, 100u);
}

// Shutting down while a poller has its queues: the shutdown waits until they are back, then happens
// (it is not forgotten when they come back), and the poller is then given its closed queues again,
// so that its thread gets out of poll() and can leave instead of waiting there for ever.
TEST_F(IoPollersOverSockets, AShutdownWhileDelegatedHappensAndLetsThePollerGo) {
    ASSERT_TRUE(bring_up()) << controller_->failure();
    std::atomic<bool> stop{false}, left{false};
    pollers_->join(1);
    std::thread worker([&] {
        while (!stop.load()) {
            pollers_->poll(1, now_ms());
            if (controller_->state() == ControllerState::Idle) break;  // read while it has its queues
        }
        pollers_->leave(1);
        left = true;
    });
    uint64_t deadline = now_ms() + 2000;
    while (pollers_->hand_outs() == 0 && now_ms() < deadline) pollers_->poll_control(now_ms());
    ASSERT_TRUE(controller_->io_delegated()) << "the queues were never handed out";
    controller_->shutdown();
    deadline = now_ms() + 3000;
    while (controller_->state() != ControllerState::Idle && now_ms() < deadline) pollers_->poll_control(now_ms());
    EXPECT_EQ(controller_->state(), ControllerState::Idle) << "the shutdown asked while delegated never happened";
    while (!left.load() && now_ms() < deadline + 2000) pollers_->poll_control(now_ms());
    EXPECT_TRUE(left.load()) << "the poller stayed in poll() after the shutdown";
    stop = true;
    while (!left.load() && now_ms() < deadline + 4000) pollers_->poll_control(now_ms());
    if (!left.load()) {  // stuck in poll(): nothing can get it out; leak what it uses rather than free it under it
        ADD_FAILURE() << "the poller's thread is stuck in poll()";
        worker.detach();
        (void)pollers_.release();
        (void)controller_.release();
        (void)sockets_.release();
        return;
    }
    worker.join();
    while ((pollers_->running() > 0 || controller_->io_delegated()) && now_ms() < deadline + 6000)
        pollers_->poll_control(now_ms());
    EXPECT_FALSE(controller_->io_delegated());
}

// The target cuts every connection inside a C2HData after 3 MB: the poller whose queue failed gives
// its queues back, the control thread loses the controller, reconnects, sends the waiting reads again
// and hands the queues out again. Every read ends right, exactly once.
class IoPollersReconnect : public IoPollersOverSockets {
protected:
    void SetUp() override {
        faults_.disconnect_after_data_bytes = 3'000'000;
        reconnect_delay_ms_ = 20;
        IoPollersOverSockets::SetUp();
    }
};

TEST_F(IoPollersReconnect, AQueueLostOnAPollerIsRecoveredByTheControlThread) {
    ASSERT_TRUE(bring_up()) << controller_->failure();
    PollerReads mine, theirs;
    run_both(mine, theirs, 400);
    expect_all_right(mine, "control thread");
    expect_all_right(theirs, "poller 1");
    EXPECT_GE(controller_->losses(), 1u) << "the target's cut was not noticed";
    EXPECT_GE(controller_->reconnects(), 1u);
    EXPECT_GE(pollers_->call_backs(), 1u) << "the queues were never called back";
    EXPECT_GE(pollers_->hand_outs(), 2u) << "the queues were not handed out again after the reconnect";
}

}  // namespace
}  // namespace nvmeddp::nvmetcp::host::itest
