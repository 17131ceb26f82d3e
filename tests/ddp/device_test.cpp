// The host-facing API over a scripted driver: every call, every refusal, teardown ordering,
// connection removal with I/Os registered, capabilities, resync, statistics, discovery.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <vector>

#include "ddp/device.hpp"
#include "ddp/device_registry.hpp"
#include "fake_driver.hpp"

using namespace nvmeddp::ddp;
using namespace nvmeddp::ddp_test;

namespace {

// Page-aligned, so that it also suits a device with a segment alignment.
struct alignas(4096) Buffers {
    std::array<uint8_t, 65536> bytes{};
    std::array<BufferSegment, 2> sgl{{{bytes.data(), 32768}, {bytes.data() + 32768, 32768}}};
    std::span<const BufferSegment> list() const { return sgl; }
    static constexpr uint64_t kTotal = 65536;
};

struct Completion {
    ConnectionHandle handle;
    uint16_t cid;
    int status;
    friend bool operator==(const Completion&, const Completion&) = default;
};

void record(void* arg, uint64_t handle, uint16_t cid, int status) {
    static_cast<std::vector<Completion>*>(arg)->push_back({handle, cid, status});
}

ConnectionHandle add(Device& d, const ConnectionConfig& c = ipv4_config()) {
    ConnectionHandle h = 0;
    EXPECT_EQ(d.add_connection(c, h), Status::Ok);
    EXPECT_NE(h, 0u);
    return h;
}

class DeviceTest : public testing::Test {
protected:
    // Let the device's destructor remove what a test left behind without waiting on tickets the
    // test never completed (it would wait 5 s, then leak rather than free what a driver may use).
    void TearDown() override {
        drv.complete_all();
        drv.teardown_mode = TeardownMode::Immediate;
    }

    FakeDevice fake;
    Device& dev = *fake.device;
    FakeDriver& drv = *fake.driver;
    Buffers buf;
};

}  // namespace

TEST_F(DeviceTest, ReportsWhatTheDriverOffers) {
    EXPECT_STREQ(dev.name(), "fake0");
    EXPECT_EQ(dev.supported_caps(), cap::kAll);
    EXPECT_EQ(dev.enabled_caps(), cap::kAll);
    EXPECT_EQ(drv.enabled, cap::kAll);  // the driver was told at start
    EXPECT_EQ(dev.limits().max_connections, DeviceLimits{}.max_connections);
}

TEST_F(DeviceTest, AddsAndRemovesAConnection) {
    const ConnectionHandle h = add(dev);
    EXPECT_EQ(dev.connection_count(), 1u);
    ASSERT_NE(drv.last_connection, nullptr);
    EXPECT_EQ(drv.last_connection->handle, h);
    EXPECT_EQ(drv.last_connection->config.queue_depth, 128);
    EXPECT_EQ(drv.last_connection->registrations.capacity(), 128u);
    EXPECT_EQ(dev.remove_connection(h), Status::Ok);
    EXPECT_EQ(dev.connection_count(), 0u);
    EXPECT_EQ(drv.sk_free_calls, 1);
    const Stats s = dev.stats();
    EXPECT_EQ(s.sk_add, 1u);
    EXPECT_EQ(s.sk_del, 1u);
    EXPECT_EQ(s.sk_add_fail, 0u);
}

TEST_F(DeviceTest, EveryCallRefusesAnUnknownOrStaleHandle) {
    const ConnectionHandle h = add(dev);
    ASSERT_EQ(dev.remove_connection(h), Status::Ok);
    const ConnectionHandle h2 = add(dev);  // reuses the slot with a new generation
    EXPECT_NE(h2, h);
    for (const ConnectionHandle bad : {ConnectionHandle{0}, h, ConnectionHandle{0xFFFFFFFFFFFFull}}) {
        EXPECT_EQ(dev.setup(bad, 1, buf.list(), Buffers::kTotal), Status::UnknownConnection);
        EXPECT_EQ(dev.teardown(bad, 1), Status::UnknownConnection);
        EXPECT_EQ(dev.remove_connection(bad), Status::UnknownConnection);
        EXPECT_EQ(dev.poll(bad), 0u);
        EXPECT_FALSE(dev.resync_pending(bad));
        EXPECT_EQ(dev.resync_answer(bad, {1, 1}, true), Status::UnknownConnection);
        EXPECT_EQ(dev.on_pdu_header(bad, 1), ResyncOutcome::None);
        Stats s;
        EXPECT_EQ(dev.connection_stats(bad, s), Status::UnknownConnection);
        EXPECT_EQ(dev.connection_memory(bad), 0u);
    }
    EXPECT_EQ(dev.setup(h2, 1, buf.list(), Buffers::kTotal), Status::Ok);
}

TEST_F(DeviceTest, RefusesBadConfigsAndCountsThem) {
    ConnectionHandle h = 123;
    ConnectionConfig c = ipv4_config();
    c.tuple.local_port = 0;
    EXPECT_EQ(dev.add_connection(c, h), Status::BadAddress);
    EXPECT_EQ(h, 0u);
    c = ipv4_config(0);
    EXPECT_EQ(dev.add_connection(c, h), Status::BadQueueDepth);
    EXPECT_EQ(dev.stats().sk_add_fail, 2u);
    EXPECT_EQ(dev.connection_count(), 0u);
}

TEST_F(DeviceTest, RefusesMoreConnectionsThanTheDeviceAllows) {
    DeviceLimits l;
    l.max_connections = 3;
    FakeDevice small(l);
    std::vector<ConnectionHandle> hs;
    for (uint16_t i = 0; i < 3; ++i) hs.push_back(add(*small.device, ipv4_config(128, 40000 + i)));
    ConnectionHandle h = 0;
    EXPECT_EQ(small.device->add_connection(ipv4_config(128, 41000), h), Status::TooManyConnections);
    EXPECT_EQ(small.device->stats().sk_add_fail, 1u);
    ASSERT_EQ(small.device->remove_connection(hs[1]), Status::Ok);
    EXPECT_EQ(small.device->add_connection(ipv4_config(128, 41000), h), Status::Ok);
}

TEST_F(DeviceTest, ADriverRefusalOfSkAddIsReportedAndLeavesNothingBehind) {
    drv.sk_add_result = Status::DriverFailed;
    ConnectionHandle h = 0;
    EXPECT_EQ(dev.add_connection(ipv4_config(), h), Status::DriverFailed);
    EXPECT_EQ(h, 0u);
    EXPECT_EQ(dev.connection_count(), 0u);
    EXPECT_EQ(dev.stats().sk_add_fail, 1u);
}

TEST_F(DeviceTest, SetupPublishesAndTeardownReleases) {
    const ConnectionHandle h = add(dev);
    EXPECT_EQ(dev.setup(h, 7, buf.list(), Buffers::kTotal), Status::Ok);
    EXPECT_EQ(dev.registration_state(h, 7), RegState::Registered);
    // The driver sees exactly what the host registered.
    const auto claim = drv.last_connection->registrations.claim(7);
    ASSERT_TRUE(claim);
    EXPECT_EQ(claim.registration->segments().data(), buf.sgl.data());
    EXPECT_EQ(claim.registration->total_len(), Buffers::kTotal);
    EXPECT_EQ(dev.registration_state(h, 7), RegState::InUse);

    EXPECT_EQ(dev.teardown(h, 7), Status::Ok);  // immediate driver: synchronous
    EXPECT_EQ(dev.registration_state(h, 7), RegState::Free);
    EXPECT_EQ(dev.setup(h, 7, buf.list(), Buffers::kTotal), Status::Ok);  // reusable at once
    Stats s;
    ASSERT_EQ(dev.connection_stats(h, s), Status::Ok);
    EXPECT_EQ(s.setup, 2u);
    EXPECT_EQ(s.teardown, 1u);
    EXPECT_EQ(s.setup_fail, 0u);
}

TEST_F(DeviceTest, SetupRefusalsAreSpecificAndCounted) {
    DeviceLimits l;
    l.max_sgl_entries = 2;
    l.max_io_size = 65536;
    l.io_threshold = 4096;
    l.segment_alignment = 4096;
    l.full_cid_range = false;
    FakeDevice f(l);
    Device& d = *f.device;
    const ConnectionHandle h = add(d, ipv4_config(32));
    std::array<uint8_t, 3 * 65536> big{};
    const BufferSegment three[3] = {{big.data(), 4096}, {big.data() + 65536, 4096}, {big.data() + 131072, 4096}};
    const BufferSegment one{big.data(), 100};
    const BufferSegment huge{big.data(), 65537};
    uint8_t* aligned = big.data() + (4096 - reinterpret_cast<uintptr_t>(big.data()) % 4096);
    const BufferSegment misaligned[2] = {{aligned, 4095}, {aligned + 8192, 4096}};

    EXPECT_EQ(d.setup(h, 32, buf.list(), Buffers::kTotal), Status::CommandIdOutOfRange);
    EXPECT_EQ(d.setup(h, 1, {}, 0), Status::EmptyBufferList);
    EXPECT_EQ(d.setup(h, 1, three, 3 * 4096), Status::TooManySegments);
    EXPECT_EQ(d.setup(h, 1, {&one, 1}, 100), Status::IoBelowThreshold);
    EXPECT_EQ(d.setup(h, 1, {&huge, 1}, 65537), Status::IoTooLarge);
    EXPECT_EQ(d.setup(h, 1, misaligned, 8191), Status::MisalignedSegment);
    EXPECT_EQ(d.setup(h, 1, buf.list(), Buffers::kTotal - 1), Status::LengthMismatch);
    ASSERT_EQ(d.setup(h, 1, buf.list(), Buffers::kTotal), Status::Ok);
    EXPECT_EQ(d.setup(h, 1, buf.list(), Buffers::kTotal), Status::CommandIdBusy);
    f.driver->setup_result = Status::DriverFailed;
    EXPECT_EQ(d.setup(h, 2, buf.list(), Buffers::kTotal), Status::DriverFailed);
    EXPECT_EQ(d.registration_state(h, 2), RegState::Free);  // a refused setup publishes nothing

    Stats s;
    ASSERT_EQ(d.connection_stats(h, s), Status::Ok);
    EXPECT_EQ(s.setup, 1u);
    EXPECT_EQ(s.setup_fail, 9u);
    EXPECT_EQ(s.bad_transitions, 1u);  // the second setup of id 1
}

TEST_F(DeviceTest, TeardownRefusalsAreSpecificAndCounted) {
    const ConnectionHandle h = add(dev);
    EXPECT_EQ(dev.teardown(h, 9), Status::NotRegistered);
    ASSERT_EQ(dev.setup(h, 9, buf.list(), Buffers::kTotal), Status::Ok);
    drv.teardown_mode = TeardownMode::Manual;
    EXPECT_EQ(dev.teardown(h, 9), Status::InProgress);
    EXPECT_EQ(dev.teardown(h, 9), Status::AlreadyTornDown);
    EXPECT_EQ(dev.setup(h, 9, buf.list(), Buffers::kTotal), Status::TeardownPending);
    Stats s;
    ASSERT_EQ(dev.connection_stats(h, s), Status::Ok);
    EXPECT_EQ(s.bad_transitions, 3u);
    EXPECT_EQ(s.teardown, 1u);
}

TEST_F(DeviceTest, AsyncTeardownsCompleteInOrderFromPoll) {
    const ConnectionHandle h = add(dev);
    drv.teardown_mode = TeardownMode::Manual;
    std::vector<Completion> done;
    for (uint16_t cid : {3, 1, 2}) ASSERT_EQ(dev.setup(h, cid, buf.list(), Buffers::kTotal), Status::Ok);
    for (uint16_t cid : {3, 1, 2}) EXPECT_EQ(dev.teardown(h, cid, record, &done), Status::InProgress);
    // Tickets 1, 2, 3 for cids 3, 1, 2. Nothing is done: nothing completes, nothing is reusable.
    EXPECT_EQ(dev.poll(h), 0u);
    EXPECT_TRUE(done.empty());
    EXPECT_EQ(dev.registration_state(h, 3), RegState::TornDown);
    // Completing a later ticket does not overtake an earlier one.
    drv.complete(2);
    EXPECT_EQ(dev.poll(h), 0u);
    drv.complete(1);
    EXPECT_EQ(dev.poll(h), 2u);
    EXPECT_EQ(done, (std::vector<Completion>{{h, 3, 0}, {h, 1, 0}}));
    EXPECT_EQ(dev.registration_state(h, 3), RegState::Free);
    EXPECT_EQ(dev.registration_state(h, 2), RegState::TornDown);
    drv.complete(3);
    EXPECT_EQ(dev.poll_all(), 1u);
    EXPECT_EQ(done.back(), (Completion{h, 2, 0}));
    EXPECT_EQ(dev.registration_state(h, 2), RegState::Free);
}

TEST_F(DeviceTest, ACallbackMaySetUpTheSameCommandIdAgain) {
    const ConnectionHandle h = add(dev);
    drv.teardown_mode = TeardownMode::Manual;
    struct Ctx {
        Device* dev;
        ConnectionHandle h;
        Buffers* buf;
        Status result = Status::InvalidArgument;
    } ctx{&dev, h, &buf};
    ASSERT_EQ(dev.setup(h, 4, buf.list(), Buffers::kTotal), Status::Ok);
    ASSERT_EQ(dev.teardown(h, 4,
                           [](void* arg, uint64_t, uint16_t cid, int) {
                               auto* c = static_cast<Ctx*>(arg);
                               c->result = c->dev->setup(c->h, cid, c->buf->list(), Buffers::kTotal);
                           },
                           &ctx),
              Status::InProgress);
    drv.complete_all();
    EXPECT_EQ(dev.poll(h), 1u);
    EXPECT_EQ(ctx.result, Status::Ok);
    EXPECT_EQ(dev.registration_state(h, 4), RegState::Registered);
}

TEST_F(DeviceTest, RemovingAConnectionTearsDownAndReportsItsIos) {
    const ConnectionHandle h = add(dev);
    for (uint16_t cid : {10, 11, 12}) ASSERT_EQ(dev.setup(h, cid, buf.list(), Buffers::kTotal), Status::Ok);
    ASSERT_TRUE(drv.last_connection->registrations.claim(11));  // one already in use by the engine
    ASSERT_EQ(dev.teardown(h, 12), Status::Ok);                 // one the host tore down itself
    std::vector<Completion> done;
    uint32_t forced = 99;
    EXPECT_EQ(dev.remove_connection(h, record, &done, &forced), Status::Ok);
    EXPECT_EQ(forced, 2u);
    EXPECT_EQ(done, (std::vector<Completion>{{h, 10, static_cast<int>(Status::ConnectionDeleting)},
                                             {h, 11, static_cast<int>(Status::ConnectionDeleting)}}));
    const Stats s = dev.stats();  // the removed connection's counters are kept in the device totals
    EXPECT_EQ(s.forced_teardowns, 2u);
    EXPECT_EQ(s.setup, 3u);
    EXPECT_EQ(s.teardown, 1u);
    EXPECT_EQ(s.sk_del, 1u);
}

TEST_F(DeviceTest, AsyncRemovalRefusesNewIoAndFinishesFromPoll) {
    const ConnectionHandle h = add(dev);
    ASSERT_EQ(dev.setup(h, 1, buf.list(), Buffers::kTotal), Status::Ok);
    drv.teardown_mode = TeardownMode::Manual;
    ASSERT_EQ(dev.setup(h, 2, buf.list(), Buffers::kTotal), Status::Ok);
    ASSERT_EQ(dev.teardown(h, 2), Status::InProgress);  // ticket 1
    std::vector<Completion> done;
    EXPECT_EQ(dev.remove_connection(h, record, &done), Status::InProgress);  // tickets 2 (cid 1), 3 (sk_del)
    EXPECT_EQ(dev.remove_connection(h), Status::ConnectionDeleting);
    EXPECT_EQ(dev.setup(h, 3, buf.list(), Buffers::kTotal), Status::ConnectionDeleting);
    EXPECT_EQ(dev.teardown(h, 1), Status::ConnectionDeleting);
    EXPECT_EQ(dev.connection_count(), 1u);
    drv.complete(1);
    drv.complete(2);
    EXPECT_EQ(dev.poll(h), 2u);
    EXPECT_EQ(done, (std::vector<Completion>{{h, 1, static_cast<int>(Status::ConnectionDeleting)}}));
    EXPECT_EQ(dev.connection_count(), 1u);  // the driver has not let go of the connection yet
    EXPECT_EQ(drv.sk_free_calls, 0);
    drv.complete(3);
    EXPECT_EQ(dev.poll(h), 0u);
    EXPECT_EQ(dev.connection_count(), 0u);
    EXPECT_EQ(drv.sk_free_calls, 1);
    EXPECT_EQ(dev.poll(h), 0u);  // the handle is gone
}

TEST_F(DeviceTest, ACallbackMayRemoveItsOwnConnection) {
    const ConnectionHandle h = add(dev);
    drv.teardown_mode = TeardownMode::Manual;
    for (uint16_t cid : {1, 2}) ASSERT_EQ(dev.setup(h, cid, buf.list(), Buffers::kTotal), Status::Ok);
    struct Ctx {
        Device* dev;
        Status result = Status::InvalidArgument;
        int calls = 0;
    } ctx{&dev};
    const auto cb = [](void* arg, uint64_t handle, uint16_t, int) {
        auto* c = static_cast<Ctx*>(arg);
        if (c->calls++ == 0) c->result = c->dev->remove_connection(handle);
    };
    ASSERT_EQ(dev.teardown(h, 1, cb, &ctx), Status::InProgress);
    drv.complete_all();
    drv.teardown_mode = TeardownMode::Immediate;  // what removal issues completes at once
    dev.poll(h);
    EXPECT_EQ(ctx.result, Status::InProgress);  // cannot finish inside the callback...
    EXPECT_EQ(dev.connection_count(), 0u);      // ...but the poll that ran it did
    EXPECT_EQ(dev.stats().forced_teardowns, 1u);
}

TEST_F(DeviceTest, CapsSwitchAtRunTimeAndUnsupportedOnesAreRefused) {
    FakeDevice f({}, cap::kPlacement);  // no digest offload on this device
    Device& d = *f.device;
    EXPECT_EQ(d.supported_caps(), cap::kPlacement);
    EXPECT_EQ(d.set_caps(cap::kAll), Status::Unsupported);
    EXPECT_EQ(d.enabled_caps(), cap::kPlacement);
    const ConnectionHandle h = add(d);
    EXPECT_EQ(d.set_caps(0), Status::Ok);
    EXPECT_EQ(f.driver->enabled, 0u);
    EXPECT_EQ(d.setup(h, 1, buf.list(), Buffers::kTotal), Status::PlacementDisabled);
    EXPECT_EQ(d.set_caps(cap::kPlacement), Status::Ok);
    EXPECT_EQ(d.setup(h, 1, buf.list(), Buffers::kTotal), Status::Ok);
}

TEST_F(DeviceTest, ResyncIsConfirmedAtTheHeaderAndRefusedOncePassed) {
    const ConnectionHandle h = add(dev);
    ResyncChannel& engine = drv.last_connection->resync;

    EXPECT_EQ(dev.on_pdu_header(h, 500), ResyncOutcome::None);  // nothing pending
    const ResyncRequest r = engine.post(1000);
    ASSERT_TRUE(dev.resync_pending(h));
    EXPECT_EQ(*dev.resync_pending(h), r);
    EXPECT_EQ(dev.on_pdu_header(h, 900), ResyncOutcome::None);  // still ahead of the host
    EXPECT_EQ(dev.on_pdu_header(h, 1000), ResyncOutcome::Confirmed);
    EXPECT_FALSE(dev.resync_pending(h));
    ASSERT_EQ(drv.resync_answers.size(), 1u);
    EXPECT_TRUE(drv.resync_answers[0].confirmed);
    const auto a = engine.take_answer();
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->confirmed);
    EXPECT_EQ(a->request, r);

    engine.post(2000);  // the engine guessed wrong: 2000 is inside a PDU
    EXPECT_EQ(dev.on_pdu_header(h, 1800), ResyncOutcome::None);
    EXPECT_EQ(dev.on_pdu_header(h, 2100), ResyncOutcome::Refused);
    ASSERT_EQ(drv.resync_answers.size(), 2u);
    EXPECT_FALSE(drv.resync_answers[1].confirmed);

    Stats s;
    ASSERT_EQ(dev.connection_stats(h, s), Status::Ok);
    EXPECT_EQ(s.resync, 2u);
    EXPECT_EQ(s.resync_confirmations, 1u);
    EXPECT_EQ(s.resync_refusals, 1u);
}

TEST_F(DeviceTest, ResyncComparesAcrossTheSequenceWrap) {
    const ConnectionHandle h = add(dev);
    ResyncChannel& engine = drv.last_connection->resync;
    engine.post(0x00000010u);  // just after the wrap
    EXPECT_EQ(dev.on_pdu_header(h, 0xFFFFFFF0u), ResyncOutcome::None);  // before it, not past it
    EXPECT_EQ(dev.on_pdu_header(h, 0x00000010u), ResyncOutcome::Confirmed);
    engine.post(0xFFFFFFF8u);  // just before the wrap
    EXPECT_EQ(dev.on_pdu_header(h, 0x00000008u), ResyncOutcome::Refused);  // passed it, across the wrap
}

TEST_F(DeviceTest, StaleResyncAnswersAreRefusedAndCounted) {
    const ConnectionHandle h = add(dev);
    ResyncChannel& engine = drv.last_connection->resync;
    EXPECT_EQ(dev.resync_answer(h, {100, 1}, true), Status::NoResyncPending);
    const ResyncRequest old = engine.post(100);
    const ResyncRequest now = engine.post(300);
    EXPECT_EQ(dev.resync_answer(h, old, true), Status::StaleResync);
    EXPECT_EQ(dev.resync_answer(h, now, false), Status::Ok);
    EXPECT_EQ(dev.resync_answer(h, now, false), Status::NoResyncPending);
    Stats s;
    ASSERT_EQ(dev.connection_stats(h, s), Status::Ok);
    EXPECT_EQ(s.resync_stale, 1u);
    EXPECT_EQ(s.resync_refusals, 1u);
    EXPECT_EQ(drv.resync_answers.size(), 1u);
}

TEST_F(DeviceTest, DeviceStatsSumEveryConnectionWithTheLinuxNames) {
    const ConnectionHandle a = add(dev, ipv4_config(128, 40001));
    const ConnectionHandle b = add(dev, ipv4_config(128, 40002));
    ASSERT_EQ(dev.setup(a, 1, buf.list(), Buffers::kTotal), Status::Ok);
    ASSERT_EQ(dev.setup(b, 1, buf.list(), Buffers::kTotal), Status::Ok);
    // The engine's side of the counters, as a driver would count.
    Stats sa;
    ASSERT_EQ(dev.connection_stats(a, sa), Status::Ok);
    EXPECT_EQ(sa.packets, 0u);
    // (counted through the DriverConnection the driver got for b)
    drv.last_connection->counters.packets.add(3);
    drv.last_connection->counters.bytes.add(4000);
    drv.last_connection->counters.placed_bytes.add(3000);
    drv.last_connection->counters.digest_offloaded.add(1);
    drv.last_connection->counters.drop.add(1);
    const Stats s = dev.stats();
    EXPECT_EQ(s.sk_add, 2u);
    EXPECT_EQ(s.setup, 2u);
    EXPECT_EQ(s.packets, 3u);
    EXPECT_EQ(s.bytes, 4000u);
    EXPECT_EQ(s.placed_bytes, 3000u);
    EXPECT_EQ(s.digest_offloaded, 1u);
    EXPECT_EQ(s.drop, 1u);
}

TEST_F(DeviceTest, MemoryPerConnectionAtQueueDepth128IsUnder16KiB) {
    const ConnectionHandle h = add(dev, ipv4_config(128));
    const size_t bytes = dev.connection_memory(h);
    EXPECT_GT(bytes, 128 * sizeof(Registration));
    EXPECT_LT(bytes, 16u * 1024);
}

namespace {

// A device owns its driver; this one writes what it is asked into a log the test keeps, so that it
// can be read once the device is gone, each entry prefixed with the connection's local port. Its
// teardowns and sk_del complete only when done() was asked kNotYet times, as with an engine still
// finishing a burst: a device that does not wait for the driver to let go shows in the log.
class RecordingDriver final : public DdpDriver {
public:
    static constexpr int kNotYet = 3;

    explicit RecordingDriver(std::vector<std::string>& log) : log_(log) {}

    const char* name() const noexcept override { return "recording0"; }
    DeviceLimits limits() const noexcept override { return {}; }
    Caps supported_caps() const noexcept override { return cap::kAll; }
    Status set_caps(Caps) noexcept override { return Status::Ok; }
    Status sk_add(DriverConnection& c) noexcept override {
        note(c, "sk_add");
        return Status::Ok;
    }
    Ticket sk_del(DriverConnection& c) noexcept override { return issue(c, "sk_del"); }
    void sk_free(DriverConnection& c) noexcept override { note(c, "sk_free"); }
    Status setup(DriverConnection& c, uint16_t cid) noexcept override {
        note(c, "setup " + std::to_string(cid));
        return Status::Ok;
    }
    Ticket teardown(DriverConnection& c, uint16_t cid) noexcept override {
        return issue(c, "teardown " + std::to_string(cid));
    }
    bool done(DriverConnection& c, Ticket t) noexcept override {
        const int asked = ++asked_[t - 1];
        if (asked <= kNotYet) return false;
        if (asked == kNotYet + 1) note(c, "released " + issued_[t - 1]);
        return true;
    }
    void resync(DriverConnection&, const ResyncAnswer&) noexcept override {}

private:
    void note(const DriverConnection& c, const std::string& op) {
        log_.push_back(std::to_string(c.config.tuple.local_port) + " " + op);
    }
    Ticket issue(const DriverConnection& c, const std::string& op) {
        note(c, op);
        issued_.push_back(op);
        asked_.push_back(0);
        return issued_.size();  // 1, 2, ...: never 0, which would mean complete at once
    }

    std::vector<std::string>& log_;
    std::vector<std::string> issued_;  // by ticket - 1
    std::vector<int> asked_;
};

// The log entries of one connection, without the port.
std::vector<std::string> ops_of(const std::vector<std::string>& log, uint16_t port) {
    const std::string prefix = std::to_string(port) + " ";
    std::vector<std::string> ops;
    for (const auto& entry : log) {
        if (entry.starts_with(prefix)) ops.push_back(entry.substr(prefix.size()));
    }
    return ops;
}

}  // namespace

// The destructor removes each connection still offloaded as remove_connection would (every
// registered I/O torn down, then sk_del), waits until the driver let go of each ticket, and only
// then frees it (sk_free).
TEST_F(DeviceTest, DestroyingADeviceRemovesItsConnections) {
    std::vector<std::string> log;
    auto device = std::make_unique<Device>(std::make_unique<RecordingDriver>(log));
    const ConnectionHandle busy = add(*device, ipv4_config(128, 40001));
    add(*device, ipv4_config(128, 40002));
    ASSERT_EQ(device->setup(busy, 1, buf.list(), Buffers::kTotal), Status::Ok);
    ASSERT_EQ(device->setup(busy, 2, buf.list(), Buffers::kTotal), Status::Ok);

    device.reset();

    EXPECT_EQ(ops_of(log, 40001), (std::vector<std::string>{"sk_add", "setup 1", "setup 2", "teardown 1", "teardown 2",
                                                            "sk_del", "released teardown 1", "released teardown 2",
                                                            "released sk_del", "sk_free"}));
    EXPECT_EQ(ops_of(log, 40002), (std::vector<std::string>{"sk_add", "sk_del", "released sk_del", "sk_free"}));
}

TEST(DeviceRegistry, FindsRegisteredDevicesByName) {
    FakeDevice a({}, cap::kAll, "reg-a");
    FakeDevice b({}, cap::kAll, "reg-b");
    FakeDevice dup({}, cap::kAll, "reg-a");
    EXPECT_TRUE(register_device(*a.device));
    EXPECT_TRUE(register_device(*b.device));
    EXPECT_FALSE(register_device(*dup.device));
    EXPECT_EQ(find_device("reg-b"), b.device.get());
    EXPECT_EQ(find_device("reg-a"), a.device.get());
    EXPECT_EQ(find_device("nope"), nullptr);
    const auto all = registered_devices();
    EXPECT_NE(std::find(all.begin(), all.end(), a.device.get()), all.end());
    unregister_device(*a.device);
    unregister_device(*b.device);
    EXPECT_EQ(find_device("reg-a"), nullptr);
}

TEST(DdpStatus, EveryStatusHasItsOwnDescription) {
    std::set<std::string> seen;
    int named = 0;
    for (int i = 0; i < 256; ++i) {
        const std::string s = to_string(static_cast<Status>(i));
        if (s == "unknown status") continue;
        ++named;
        EXPECT_TRUE(seen.insert(s).second) << "duplicate description: " << s;
    }
    EXPECT_EQ(named, 27);
}

// Writing the data digests of sent PDUs is decided at sk_add: refused while the device has the
// capability off (the host then computes them), and for a connection without data digests.
TEST_F(DeviceTest, TxDataDigestsNeedTheCapabilityAndDataDigests) {
    ConnectionConfig c = ipv4_config();
    c.data_digest = true;
    c.tx_data_digest = true;
    ASSERT_EQ(dev.set_caps(cap::kPlacement | cap::kDataDigest), Status::Ok);
    ConnectionHandle h = 0;
    EXPECT_EQ(dev.add_connection(c, h), Status::Unsupported);
    EXPECT_EQ(h, 0u);
    ASSERT_EQ(dev.set_caps(cap::kAll), Status::Ok);
    c.data_digest = false;
    EXPECT_EQ(dev.add_connection(c, h), Status::Unsupported);
    c.data_digest = true;
    ASSERT_EQ(dev.add_connection(c, h), Status::Ok);
    EXPECT_FALSE(dev.tx_stream_lost(h));
    EXPECT_EQ(dev.remove_connection(h), Status::Ok);
}
