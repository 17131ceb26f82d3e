// The hand-over of I/O queues between the control thread and the pollers; see io_pollers.hpp.
#include "nvmetcp/host/io_pollers.hpp"

#include <algorithm>
#include <iterator>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace nvmeddp::nvmetcp::host {
namespace {

void cpu_relax(unsigned spins) {
    // A poller waits only while the control thread recovers the controller: spin briefly, then let
    // the control thread have the CPU if they share one.
    if (spins % 64 == 63) {
        std::this_thread::yield();
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

}  // namespace

IoPollers::IoPollers(Controller& controller, uint16_t pollers, uint16_t lanes, PollLanes poll_lanes)
    : controller_(controller),
      pollers_(std::clamp<uint16_t>(pollers, 1, kMaxPollers)),
      lanes_(std::max(lanes, pollers_)),
      poll_lanes_(std::move(poll_lanes)),
      slots_(std::make_unique<Slot[]>(pollers_)) {}

bool IoPollers::control_has(uint16_t p) const noexcept {
    if (p == 0) return true;
    const uint8_t owner = slots_[p].owner.load(std::memory_order_acquire);
    return owner == kControl || owner == kAway;
}

void IoPollers::poll_queues(uint16_t p, uint64_t now_ms) {
    const uint16_t queues = controller_.io_queue_count();
    for (uint16_t i = 0; i < queues; ++i) {
        if (poller_of_queue(i) == p) controller_.poll_io(i, now_ms);
    }
}

void IoPollers::hand_out() {
    for (uint16_t p = 1; p < pollers_; ++p) {
        Slot& s = slots_[p];
        // Release: the poller sees every change the control thread made to its queues until now. A
        // compare-exchange: a poller leaving meanwhile (kAway) keeps its queues with the control thread.
        uint8_t expected = kControl;
        if (s.owner.compare_exchange_strong(expected, kPoller, std::memory_order_acq_rel)) ++hand_outs_;
    }
}

bool IoPollers::poll_control(uint64_t now_ms) {
    bool work = false;
    for (uint16_t p = 0; p < pollers_; ++p) {
        if (control_has(p)) work = poll_lanes_(p) || work;
    }
    // Delegated, the controller's poll() leaves the I/O queues alone: those the control thread has
    // (its own, and those of pollers not running) are polled here.
    if (controller_.io_delegated()) {
        for (uint16_t p = 0; p < pollers_; ++p) {
            if (control_has(p)) poll_queues(p, now_ms);
        }
    }
    controller_.poll(now_ms);
    if (controller_.io_delegated()) {
        const bool wanted = controller_.io_wanted_back();
        if (wanted || running() == 0) {
            // Counted once per round in which the controller wanted them (not the pollers all
            // having left), also when it started for that other reason.
            if (wanted && !calling_back_) {
                calling_back_ = true;
                ++call_backs_;
            }
            bool all_back = true;
            for (uint16_t p = 1; p < pollers_; ++p) {
                uint8_t expected = kPoller;
                slots_[p].owner.compare_exchange_strong(expected, kCalledBack, std::memory_order_acq_rel);
                all_back = all_back && control_has(p);
            }
            if (all_back) {  // no poller touches a queue now: the controller acts from its next poll()
                calling_back_ = false;
                controller_.delegate_io(false);
            }
        } else {
            hand_out();  // pollers that joined since
        }
    } else if (running() > 0 && controller_.can_delegate_io()) {
        controller_.delegate_io(true);
        hand_out();
    }
    return work;
}

bool IoPollers::poll(uint16_t p, uint64_t now_ms) {
    Slot& s = slots_[p];
    for (unsigned spins = 0;; ++spins) {
        const uint8_t owner = s.owner.load(std::memory_order_acquire);
        if (owner == kPoller) break;
        // Called back: give back (release: the control thread sees everything done here until now).
        if (owner == kCalledBack) s.owner.store(kControl, std::memory_order_release);
        cpu_relax(spins);
    }
    const bool work = poll_lanes_(p);
    poll_queues(p, now_ms);
    return work;
}

std::string IoPollers::describe() const {
    static const char* const owners[] = {"the control thread has its queues", "has its queues", "called back",
                                         "left (the control thread has its queues)"};
    std::string s;
    for (uint16_t p = 1; p < pollers_; ++p) {
        const uint8_t owner = slots_[p].owner.load(std::memory_order_acquire);
        s += "poller " + std::to_string(p) + (slots_[p].joined.load(std::memory_order_acquire) ? ": running, " : ": not running, ") +
             (owner < std::size(owners) ? owners[owner] : "?") + "; ";
    }
    s += std::string("controller ") + to_string(controller_.state()) + (controller_.io_delegated() ? ", queues delegated" : "") +
         (controller_.io_wanted_back() ? ", wants them back" : "") + (controller_.can_delegate_io() ? ", can delegate" : "") +
         ", " + std::to_string(controller_.waiting_io()) + " I/O waiting";
    return s;
}

void IoPollers::join(uint16_t p) noexcept {
    if (p == 0 || p >= pollers_ || slots_[p].joined.exchange(true, std::memory_order_acq_rel)) return;
    slots_[p].owner.store(kControl, std::memory_order_release);  // from kAway: leave() set it before joined
    running_.fetch_add(1, std::memory_order_acq_rel);
}

void IoPollers::leave(uint16_t p) noexcept {
    if (p == 0 || p >= pollers_ || !slots_[p].joined.load(std::memory_order_acquire)) return;
    slots_[p].owner.exchange(kAway, std::memory_order_acq_rel);
    slots_[p].joined.store(false, std::memory_order_release);
    running_.fetch_sub(1, std::memory_order_acq_rel);
}

}  // namespace nvmeddp::nvmetcp::host
