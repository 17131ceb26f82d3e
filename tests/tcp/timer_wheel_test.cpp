#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "tcp/timer_wheel.hpp"

namespace nvmeddp::tcp {
namespace {

constexpr uint64_t kTick = 1000;  // 1 ms

// A timer that records when (by the clock the test advances) and in what order it ran.
struct Probe {
    Timer timer;
    int id = 0;
    uint64_t* clock = nullptr;
    std::vector<int>* order = nullptr;
    std::optional<uint64_t> ran_at;
    int runs = 0;

    Probe(int id_, uint64_t* clock_, std::vector<int>* order_) : id(id_), clock(clock_), order(order_) {
        timer.owner = this;
        timer.on_expire = [](Timer& t) {
            auto& p = *static_cast<Probe*>(t.owner);
            EXPECT_FALSE(TimerWheel::armed(t)) << "disarmed before the call";
            p.ran_at = *p.clock;
            ++p.runs;
            if (p.order != nullptr) p.order->push_back(p.id);
        };
    }
};

// Runs `expiries` on a 64 x 1 ms wheel, calling advance() every `step` us; returns when each ran.
std::vector<std::optional<uint64_t>> run_times(const std::vector<uint64_t>& expiries, uint64_t step, uint64_t until) {
    uint64_t clock = 0;
    TimerWheel wheel(64, kTick, clock);
    std::vector<Probe> probes;
    probes.reserve(expiries.size());
    for (size_t i = 0; i < expiries.size(); ++i) probes.emplace_back(static_cast<int>(i), &clock, nullptr);
    for (size_t i = 0; i < expiries.size(); ++i) wheel.arm(probes[i].timer, expiries[i]);
    EXPECT_EQ(wheel.armed_count(), expiries.size());
    size_t ran = 0;
    for (clock = step; clock <= until; clock += step) ran += wheel.advance(clock);
    EXPECT_EQ(ran, expiries.size());
    EXPECT_EQ(wheel.armed_count(), 0u);
    std::vector<std::optional<uint64_t>> times;
    for (const Probe& p : probes) {
        EXPECT_LE(p.runs, 1);
        times.push_back(p.ran_at);
    }
    return times;
}

const std::vector<uint64_t> kExpiries = {1, 999, 1000, 1001, 1500, 1999, 2000, 37'123, 63'999, 64'000, 64'001, 130'500};

TEST(TimerWheel, RunsAtTheFirstAdvanceAtOrAfterItsTime) {
    const auto times = run_times(kExpiries, 1, 140'000);  // every microsecond: exactly on time
    for (size_t i = 0; i < kExpiries.size(); ++i) EXPECT_EQ(times[i], std::optional<uint64_t>(kExpiries[i]));
}

TEST(TimerWheel, NeverEarlyAndAtMostOneTickLateWhenAdvancedOnceATick) {
    for (uint64_t step : {kTick, kTick / 3, kTick - 1}) {
        const auto times = run_times(kExpiries, step, 140'000);
        for (size_t i = 0; i < kExpiries.size(); ++i) {
            ASSERT_TRUE(times[i].has_value()) << "timer at " << kExpiries[i];
            EXPECT_GE(*times[i], kExpiries[i]) << "early";
            EXPECT_LT(*times[i], kExpiries[i] + kTick) << "more than a tick late";
        }
    }
}

TEST(TimerWheel, RunsInExpiryOrderThenArmingOrder) {
    uint64_t clock = 0;
    std::vector<int> order;
    TimerWheel wheel(16, kTick, clock);
    std::vector<Probe> probes;
    probes.reserve(6);
    for (int i = 0; i < 6; ++i) probes.emplace_back(i, &clock, &order);
    wheel.arm(probes[0].timer, 9'000);
    wheel.arm(probes[1].timer, 3'000);
    wheel.arm(probes[2].timer, 12'500);
    wheel.arm(probes[3].timer, 2'500);
    wheel.arm(probes[4].timer, 1'000);
    wheel.arm(probes[5].timer, 15'000);
    clock = 15'000;  // one call over 15 ticks of a 16-slot wheel
    EXPECT_EQ(wheel.advance(clock), 6u);
    EXPECT_EQ(order, (std::vector<int>{4, 3, 1, 0, 2, 5}));
    // Within one tick: arming order, whatever the times.
    Probe late(6, &clock, &order), early(7, &clock, &order);
    wheel.arm(late.timer, 20'900);
    wheel.arm(early.timer, 20'100);
    order.clear();
    clock = 21'000;
    EXPECT_EQ(wheel.advance(clock), 2u);
    EXPECT_EQ(order, (std::vector<int>{6, 7}));
}

TEST(TimerWheel, TimersBeyondOneTurnWaitForTheirRound) {
    uint64_t clock = 0;
    TimerWheel wheel(8, kTick, clock);  // one turn = 8 ms
    Probe near(0, &clock, nullptr), far(1, &clock, nullptr), farther(2, &clock, nullptr);
    wheel.arm(near.timer, 3'000);
    wheel.arm(far.timer, 3'000 + 8'000 * 3);       // same slot, three rounds later
    wheel.arm(farther.timer, 3'000 + 8'000 * 100);  // same slot, a hundred rounds later
    for (clock = 1'000; clock <= 30'000; clock += 1'000) wheel.advance(clock);
    EXPECT_EQ(near.ran_at, std::optional<uint64_t>(3'000));
    EXPECT_EQ(far.ran_at, std::optional<uint64_t>(27'000));
    EXPECT_FALSE(farther.ran_at.has_value());
    EXPECT_TRUE(TimerWheel::armed(farther.timer));
    // A jump of many turns at once runs what is due and nothing later.
    clock = 802'999;
    EXPECT_EQ(wheel.advance(clock), 0u);
    clock = 803'000;
    EXPECT_EQ(wheel.advance(clock), 1u);
    EXPECT_EQ(farther.ran_at, std::optional<uint64_t>(803'000));
}

TEST(TimerWheel, JumpOfManyTurnsRunsEverythingDue) {
    uint64_t clock = 0;
    TimerWheel wheel(8, kTick, clock);
    std::vector<Probe> probes;
    probes.reserve(20);
    for (int i = 0; i < 20; ++i) probes.emplace_back(i, &clock, nullptr);
    for (int i = 0; i < 20; ++i) wheel.arm(probes[i].timer, 1'000 + 7'777 * static_cast<uint64_t>(i));
    clock = 1'000 + 7'777 * 12;  // timers 0..12 due
    EXPECT_EQ(wheel.advance(clock), 13u);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(probes[i].ran_at.has_value(), i <= 12) << i;
    EXPECT_EQ(wheel.armed_count(), 7u);
}

TEST(TimerWheel, TimeAlreadyPastRunsOnTheNextAdvance) {
    uint64_t clock = 5'500;
    TimerWheel wheel(16, kTick, clock);
    Probe late(0, &clock, nullptr), now(1, &clock, nullptr), within_tick(2, &clock, nullptr);
    wheel.arm(late.timer, 100);
    wheel.arm(now.timer, 5'500);
    wheel.arm(within_tick.timer, 5'501);  // future, though in the current tick: not before 5'501
    EXPECT_EQ(wheel.advance(clock), 2u);  // same time, no new tick: the past ones still run
    EXPECT_TRUE(late.ran_at && now.ran_at);
    EXPECT_FALSE(within_tick.ran_at);
    clock = 5'501;
    EXPECT_EQ(wheel.advance(clock), 1u);
    EXPECT_EQ(within_tick.ran_at, std::optional<uint64_t>(5'501));
}

TEST(TimerWheel, ReArmingMovesTheTimerAndCancelIsANoOpWhenDisarmed) {
    uint64_t clock = 0;
    TimerWheel wheel(16, kTick, clock);
    Probe p(0, &clock, nullptr);
    wheel.cancel(p.timer);  // not armed: nothing happens
    EXPECT_FALSE(TimerWheel::armed(p.timer));
    wheel.arm(p.timer, 9'000);
    wheel.arm(p.timer, 4'000);  // moved, not duplicated
    EXPECT_EQ(wheel.armed_count(), 1u);
    for (clock = 100; clock <= 20'000; clock += 100) wheel.advance(clock);
    EXPECT_EQ(p.runs, 1);
    EXPECT_EQ(p.ran_at, std::optional<uint64_t>(4'000));

    wheel.arm(p.timer, 25'000);
    wheel.cancel(p.timer);
    wheel.cancel(p.timer);
    EXPECT_EQ(wheel.armed_count(), 0u);
    for (clock = 20'100; clock <= 40'000; clock += 100) wheel.advance(clock);
    EXPECT_EQ(p.runs, 1);
}

// A periodic timer: the callback re-arms its own timer.
struct Periodic {
    Timer timer;
    TimerWheel* wheel = nullptr;
    uint64_t period = 0;
    uint64_t next = 0;
    std::vector<uint64_t> runs_at;
    uint64_t* clock = nullptr;
};

TEST(TimerWheel, CallbackMayReArmItsOwnTimer) {
    uint64_t clock = 0;
    TimerWheel wheel(8, kTick, clock);
    Periodic p{.timer = {}, .wheel = &wheel, .period = 5'000, .next = 5'000, .runs_at = {}, .clock = &clock};
    p.timer.owner = &p;
    p.timer.on_expire = [](Timer& t) {
        auto& self = *static_cast<Periodic*>(t.owner);
        self.runs_at.push_back(*self.clock);
        self.next += self.period;
        self.wheel->arm(t, self.next);
    };
    wheel.arm(p.timer, p.next);
    for (clock = 250; clock <= 50'000; clock += 250) wheel.advance(clock);
    EXPECT_EQ(p.runs_at, (std::vector<uint64_t>{5'000, 10'000, 15'000, 20'000, 25'000, 30'000, 35'000, 40'000,
                                                45'000, 50'000}));
    EXPECT_TRUE(TimerWheel::armed(p.timer));
}

TEST(TimerWheel, CallbackReArmingInThePastRunsOncePerAdvance) {
    uint64_t clock = 1'000;
    TimerWheel wheel(8, kTick, clock);
    struct Stubborn {
        TimerWheel* wheel;
        int runs = 0;
    } s{&wheel};
    Timer t;
    t.owner = &s;
    t.on_expire = [](Timer& self) {
        auto& st = *static_cast<Stubborn*>(self.owner);
        ++st.runs;
        st.wheel->arm(self, 0);  // always in the past
    };
    wheel.arm(t, 500);
    EXPECT_EQ(wheel.advance(clock), 1u);
    EXPECT_EQ(wheel.advance(clock), 1u);
    EXPECT_EQ(s.runs, 2);
    wheel.cancel(t);
}

// Three due timers in one slot: the first one's callback cancels the second, re-arms the third a turn
// later (the same slot again), and arms a fourth in the past.
TEST(TimerWheel, CallbackMayCancelAndArmOthersInTheSameSlot) {
    uint64_t clock = 0;
    TimerWheel wheel(8, kTick, clock);
    std::vector<int> order;
    Probe victim(1, &clock, &order), moved(2, &clock, &order), past(3, &clock, &order);
    struct Ctx {
        TimerWheel* wheel;
        Probe* victim;
        Probe* moved;
        Probe* past;
        std::vector<int>* order;
    } ctx{&wheel, &victim, &moved, &past, &order};
    Timer first;
    first.owner = &ctx;
    first.on_expire = [](Timer& t) {
        auto& c = *static_cast<Ctx*>(t.owner);
        c.order->push_back(0);
        c.wheel->cancel(c.victim->timer);
        c.wheel->arm(c.moved->timer, 3'000 + 8'000);
        c.wheel->arm(c.past->timer, 1);
    };
    wheel.arm(first, 3'000);
    wheel.arm(victim.timer, 3'000);
    wheel.arm(moved.timer, 3'000);  // also due, but moved a turn later (the same slot) by `first`
    clock = 3'000;
    EXPECT_EQ(wheel.advance(clock), 1u);
    EXPECT_EQ(order, (std::vector<int>{0}));
    EXPECT_FALSE(TimerWheel::armed(victim.timer));
    EXPECT_EQ(wheel.armed_count(), 2u);  // moved and past
    clock = 3'001;
    EXPECT_EQ(wheel.advance(clock), 1u);  // past
    for (clock = 4'000; clock <= 11'000; clock += 1'000) wheel.advance(clock);
    EXPECT_EQ(order, (std::vector<int>{0, 3, 2}));
    EXPECT_EQ(moved.ran_at, std::optional<uint64_t>(11'000));
    EXPECT_FALSE(victim.ran_at.has_value());
    EXPECT_EQ(wheel.armed_count(), 0u);
}

TEST(TimerWheel, CopiesStartDisarmedAndDestroyingOrAssigningCancels) {
    uint64_t clock = 0;
    TimerWheel wheel(8, kTick, clock);
    Probe p(0, &clock, nullptr);
    wheel.arm(p.timer, 5'000);
    Timer copy = p.timer;
    EXPECT_FALSE(TimerWheel::armed(copy));
    EXPECT_EQ(copy.owner, &p);
    EXPECT_EQ(wheel.armed_count(), 1u);
    {
        Timer scoped;
        wheel.arm(scoped, 2'000);
        EXPECT_EQ(wheel.armed_count(), 2u);
    }
    EXPECT_EQ(wheel.armed_count(), 1u);
    p.timer = Timer{};
    EXPECT_FALSE(TimerWheel::armed(p.timer));
    EXPECT_EQ(wheel.armed_count(), 0u);
    clock = 10'000;
    EXPECT_EQ(wheel.advance(clock), 0u);
}

TEST(TimerWheel, DestroyingTheWheelDisarmsItsTimers) {
    Timer t;
    {
        TimerWheel wheel(8, kTick, 0);
        wheel.arm(t, 5'000);
        EXPECT_TRUE(TimerWheel::armed(t));
    }
    EXPECT_FALSE(TimerWheel::armed(t));
}

TEST(TimerWheel, ArmingOnAnotherWheelMovesTheTimer) {
    TimerWheel a(8, kTick, 0), b(8, kTick, 0);
    Timer t;
    a.arm(t, 5'000);
    b.arm(t, 6'000);
    EXPECT_EQ(a.armed_count(), 0u);
    EXPECT_EQ(b.armed_count(), 1u);
    EXPECT_EQ(a.advance(7'000), 0u);
    EXPECT_EQ(b.advance(7'000), 1u);
}

}  // namespace
}  // namespace nvmeddp::tcp
