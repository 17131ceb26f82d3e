// A controller's I/O queues polled by several threads, without a lock on the I/O path.
//
// Poller 0 is the control thread: it runs the controller (bring-up, admin queue, keep alive,
// reconnects, shutdown) and, like every poller, some I/O queues. Pollers 1..N-1 each run the I/O
// queues on their lanes (the transport's units that one thread polls: a queue pair of a DPDK port, an
// epoll set): I/O queue index i is on lane i mod lanes, and lane k is poller k mod pollers'.
//
// Who may touch a poller's lanes and queues is one atomic word per poller, handed between the control
// thread and that poller (acquire/release, so each side sees everything the other did before):
// - While the controller is being brought up or recovers, the control thread has everything and
//   polls every lane itself; pollers wait inside poll().
// - Once the controller can delegate its I/O queues (Ready, nothing waiting), the control thread
//   hands each running poller its lanes; from then on only that poller touches them, and submits to
//   its queues from its own thread.
// - When the controller needs its queues back (one failed, the admin queue or keep alive failed,
//   shutdown), the control thread calls them back; each poller gives them back at its next poll()
//   and waits there until they are handed out again (after the reconnect) or the controller failed
//   (then its I/O completes with errors in its own thread, as without pollers).
//
// So poll(p) returns only while p has its queues: the caller may then submit to them and read what
// their completions wrote, until it calls poll(p) again or leave(p). The control thread must go on
// calling poll_control() until running() is 0, or pollers wait for ever.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "nvmetcp/host/controller.hpp"

namespace nvmeddp::nvmetcp::host {

class IoPollers {
public:
    // Polls the lanes of poller p (its transports: receive, send, timers); true when it did work.
    using PollLanes = std::function<bool(uint16_t poller)>;

    static constexpr uint16_t kMaxPollers = 64;

    // pollers: 1..kMaxPollers (1: the control thread alone, as without IoPollers); lanes >= pollers.
    IoPollers(Controller& controller, uint16_t pollers, uint16_t lanes, PollLanes poll_lanes);
    IoPollers(const IoPollers&) = delete;
    IoPollers& operator=(const IoPollers&) = delete;

    uint16_t pollers() const noexcept { return pollers_; }
    uint16_t poller_of_lane(uint16_t lane) const noexcept { return static_cast<uint16_t>(lane % pollers_); }
    uint16_t poller_of_queue(uint16_t io_index) const noexcept { return poller_of_lane(static_cast<uint16_t>(io_index % lanes_)); }

    // Control thread: its own lanes and those it has, its I/O queues (and others' while it has them),
    // the controller, and the hand-over. True when a lane did work.
    bool poll_control(uint64_t now_ms);

    // Poller p (1..pollers-1), from its own thread, between join(p) and leave(p): waits until p has its
    // lanes, then polls them and its I/O queues. True when a lane did work.
    bool poll(uint16_t p, uint64_t now_ms);

    // p starts taking part (before its thread first calls poll(p)) / its thread is done with its
    // queues (it touches them no more; the control thread has them from now on).
    void join(uint16_t p) noexcept;
    void leave(uint16_t p) noexcept;
    uint16_t running() const noexcept { return running_.load(std::memory_order_acquire); }

    // Pollers the control thread handed their lanes to, so far; times it called them back because the
    // controller needed its queues (not counting the pollers leaving).
    uint64_t hand_outs() const noexcept { return hand_outs_; }
    uint64_t call_backs() const noexcept { return call_backs_; }
    // "poller 1: joined, has its queues; ..." and the controller's side, for a program that gives up
    // waiting for its pollers and says why.
    std::string describe() const;

private:
    enum Owner : uint8_t { kControl, kPoller, kCalledBack, kAway };
    // owner: kAway -> kControl by join(); kControl -> kPoller only by the control thread (hand out,
    // compare-exchange); kPoller -> kCalledBack only by it (compare-exchange); kCalledBack -> kControl
    // only by the poller (give back), and any -> kAway by the poller's leave(). So neither side ever
    // overwrites a state the other just set, and a poller that left is never handed its queues (the
    // control thread has them, as with kControl).
    struct alignas(64) Slot {
        std::atomic<uint8_t> owner{kAway};
        std::atomic<bool> joined{false};
    };

    bool control_has(uint16_t p) const noexcept;
    void poll_queues(uint16_t p, uint64_t now_ms);
    void hand_out();

    Controller& controller_;
    uint16_t pollers_, lanes_;
    PollLanes poll_lanes_;
    std::unique_ptr<Slot[]> slots_;
    std::atomic<uint16_t> running_{0};
    bool calling_back_ = false;  // this round of calling back was counted (the controller wanted them)
    uint64_t hand_outs_ = 0, call_backs_ = 0;
};

}  // namespace nvmeddp::nvmetcp::host
