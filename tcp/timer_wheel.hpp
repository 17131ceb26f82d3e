// The timers of tcp/ connections (retransmission, delayed ACK, persist, keepalive, TIME-WAIT): a
// hashed timing wheel (Varghese and Lauck) with intrusive timers, so that arming, moving and
// cancelling a timer is O(1) and nothing is allocated after the wheel is built.
//
// Time is cut into ticks of `tick_us`; tick k covers [k*tick, (k+1)*tick). A timer due at
// `expires_us` sits in the slot of its tick (floor(expires_us / tick) mod slots). advance(now) visits
// the slots of the ticks from the last call's to now's, and runs the timers of those ticks whose time
// has come: a timer never runs before its time, and runs at the first advance() at or after it (so at
// most one tick late when advance() is called at least once a tick). The slot of the current tick is
// visited again by each call until the tick ends, which costs a look at the few timers in it. A timer
// more than slots*tick ahead shares its slot with nearer ones and is skipped on visits until its own
// round comes.
//
// Callbacks run inside advance() and may arm or cancel any timer, the running one included. The
// timers of a slot are taken off it before any of them runs, and a timer armed for a time that has
// already passed waits for the next advance() instead of running at once: a callback that keeps
// re-arming its timer in the past cannot keep one advance() busy for ever.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace nvmeddp::tcp {

struct Timer;
class TimerWheel;

namespace detail {

// A list of timers (a slot of the wheel, or the wheel's list of timers due at the next advance()).
struct TimerList;

// The wheel's bookkeeping inside each Timer. Copying a Timer never copies this (a copy starts
// disarmed) and assigning to or destroying an armed Timer cancels it, so that resetting a structure
// that holds timers (`conn = Connection{}`) cannot leave a dangling timer in the wheel.
struct TimerHook {
    TimerHook() noexcept = default;
    TimerHook(const TimerHook&) noexcept {}
    TimerHook& operator=(const TimerHook&) noexcept {
        unlink();
        return *this;
    }
    ~TimerHook() { unlink(); }

    // Takes the timer off its list (and out of the wheel's count); nothing when not on a list.
    void unlink() noexcept;

    Timer* timer = nullptr;       // the Timer this hook is part of, set when armed
    TimerHook* prev = nullptr;
    TimerHook* next = nullptr;
    TimerList* list = nullptr;    // null: not armed
    uint64_t expires_us = 0;
};

struct TimerList {
    TimerHook* head = nullptr;
    TimerHook* tail = nullptr;
    size_t* armed_count = nullptr;  // the wheel's count, kept right by TimerHook::unlink

    bool empty() const noexcept { return head == nullptr; }
    void push_back(TimerHook& h) noexcept;
};

}  // namespace detail

struct Timer {
    // Set by the owner. The timer is disarmed before the call, which may re-arm it.
    void (*on_expire)(Timer&) = nullptr;
    void* owner = nullptr;  // for the callback's use
    detail::TimerHook hook;  // TimerWheel's; never touched by the owner
};

class TimerWheel {
public:
    // `slots` buckets of `tick_us` each (e.g. 1024 x 1 ms), starting at `now_us`. slots and tick_us
    // must be at least 1.
    TimerWheel(uint32_t slots, uint64_t tick_us, uint64_t now_us);
    // Disarms every timer still armed (their Timers may outlive the wheel).
    ~TimerWheel();
    TimerWheel(const TimerWheel&) = delete;  // armed timers point at the wheel's slots
    TimerWheel& operator=(const TimerWheel&) = delete;

    // Arms `t` to run at `expires_us`; an armed timer is moved. A time already past runs on the next
    // advance(). A timer armed on another wheel is taken off that one first.
    void arm(Timer& t, uint64_t expires_us) noexcept;
    // No-op when not armed.
    void cancel(Timer& t) noexcept;
    static bool armed(const Timer& t) noexcept { return t.hook.list != nullptr; }
    // Runs every timer due at or before now_us (never early; at most one tick late when called at
    // least once a tick), returns how many ran. Earlier ticks run first, and the timers of one tick
    // in the order they were armed (when now_us jumps by more than a whole wheel turn, the due
    // timers run slot by slot instead, which may not be their order of expiry). A time before the
    // last advance() is taken as the last one.
    size_t advance(uint64_t now_us) noexcept;
    size_t armed_count() const noexcept { return armed_count_; }

private:
    // Runs the timers of `list` due at or before now_us (a timer of a later round, or later in the
    // current tick, stays).
    size_t run_due(detail::TimerList& list, uint64_t now_us) noexcept;
    detail::TimerList& slot_of(uint64_t tick) noexcept { return slots_[tick % slot_count_]; }

    uint32_t slot_count_;
    uint64_t tick_us_;
    uint64_t last_tick_;    // the tick of the last advance(): every earlier one is done
    uint64_t last_now_us_;  // the time of the last advance() (or of the construction)
    size_t armed_count_ = 0;
    std::unique_ptr<detail::TimerList[]> slots_;
    detail::TimerList overdue_;  // armed for a time already past: run by the next advance()
};

}  // namespace nvmeddp::tcp
