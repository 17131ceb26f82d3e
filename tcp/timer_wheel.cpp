#include "tcp/timer_wheel.hpp"

#include <algorithm>

namespace nvmeddp::tcp {

namespace detail {

void TimerList::push_back(TimerHook& h) noexcept {
    h.list = this;
    h.next = nullptr;
    h.prev = tail;
    if (tail != nullptr) {
        tail->next = &h;
    } else {
        head = &h;
    }
    tail = &h;
    ++*armed_count;
}

void TimerHook::unlink() noexcept {
    if (list == nullptr) return;
    (prev != nullptr ? prev->next : list->head) = next;
    (next != nullptr ? next->prev : list->tail) = prev;
    --*list->armed_count;
    prev = next = nullptr;
    list = nullptr;
}

}  // namespace detail

TimerWheel::TimerWheel(uint32_t slots, uint64_t tick_us, uint64_t now_us)
    : slot_count_(std::max<uint32_t>(slots, 1)),
      tick_us_(std::max<uint64_t>(tick_us, 1)),
      last_tick_(now_us / tick_us_),
      last_now_us_(now_us),
      slots_(new detail::TimerList[slot_count_]) {
    for (uint32_t i = 0; i < slot_count_; ++i) slots_[i].armed_count = &armed_count_;
    overdue_.armed_count = &armed_count_;
}

TimerWheel::~TimerWheel() {
    for (uint32_t i = 0; i < slot_count_; ++i) {
        while (!slots_[i].empty()) slots_[i].head->unlink();
    }
    while (!overdue_.empty()) overdue_.head->unlink();
}

void TimerWheel::arm(Timer& t, uint64_t expires_us) noexcept {
    detail::TimerHook& h = t.hook;
    h.unlink();
    h.timer = &t;
    h.expires_us = expires_us;
    if (expires_us <= last_now_us_) {
        // Due already: the next advance() runs it (not the current one, if a callback arms it,
        // so that a timer re-armed in the past cannot keep advance() busy).
        overdue_.push_back(h);
    } else {
        // expires_us > last_now_us_ puts its tick at or after last_tick_: a slot still to be visited.
        slot_of(expires_us / tick_us_).push_back(h);
    }
}

void TimerWheel::cancel(Timer& t) noexcept { t.hook.unlink(); }

size_t TimerWheel::run_due(detail::TimerList& list, uint64_t now_us) noexcept {
    // Whatever round a timer is in, its time says whether it is due.
    auto due = [&](const detail::TimerHook& h) { return h.expires_us <= now_us; };
    // The current tick's slot is looked at by every advance(): most often nothing in it is due yet,
    // and then it is left as it is.
    const detail::TimerHook* h = list.head;
    while (h != nullptr && !due(*h)) h = h->next;
    if (h == nullptr) return 0;

    // Move the whole list aside first: callbacks may arm timers into this very list, or cancel ones
    // still waiting here (unlink works on whichever list a timer is on, this one included).
    detail::TimerList pending;
    pending.armed_count = &armed_count_;
    pending.head = list.head;
    pending.tail = list.tail;
    for (detail::TimerHook* p = pending.head; p != nullptr; p = p->next) p->list = &pending;
    list.head = list.tail = nullptr;

    // Those not due (later in this tick, or a later round) wait in `kept`, and go back ahead of
    // whatever the callbacks armed into this slot meanwhile: the slot stays in arming order.
    detail::TimerList kept;
    kept.armed_count = &armed_count_;
    size_t ran = 0;
    while (!pending.empty()) {
        detail::TimerHook& next = *pending.head;
        next.unlink();
        if (!due(next)) {
            kept.push_back(next);
            continue;
        }
        Timer& t = *next.timer;
        ++ran;
        if (t.on_expire != nullptr) t.on_expire(t);
    }
    if (!kept.empty()) {
        for (detail::TimerHook* p = kept.head; p != nullptr; p = p->next) p->list = &list;
        kept.tail->next = list.head;
        (list.head != nullptr ? list.head->prev : list.tail) = kept.tail;
        list.head = kept.head;
    }
    return ran;
}

size_t TimerWheel::advance(uint64_t now_us) noexcept {
    now_us = std::max(now_us, last_now_us_);
    const uint64_t first_tick = last_tick_;  // the last call's tick may still hold timers
    const uint64_t now_tick = now_us / tick_us_;
    // Set before any callback runs: what they arm at or before now waits for the next advance(),
    // what they arm later is not due in this one.
    last_tick_ = now_tick;
    last_now_us_ = now_us;

    size_t ran = run_due(overdue_, now_us);
    const uint64_t ticks = now_tick - first_tick + 1;
    if (ticks <= slot_count_) {
        // Each slot visited at most once, in tick order: timers run in the order of their ticks.
        for (uint64_t k = first_tick; k <= now_tick; ++k) ran += run_due(slot_of(k), now_us);
    } else {
        // More than a turn went by: one visit per slot runs everything due by now.
        for (uint64_t i = 0; i < slot_count_; ++i) ran += run_due(slot_of(first_tick + i), now_us);
    }
    return ran;
}

}  // namespace nvmeddp::tcp
