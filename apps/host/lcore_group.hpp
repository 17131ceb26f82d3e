// The lcores nvmeddp-host polls with: the main lcore runs the controller and the I/O queues of lanes
// 0, N, 2N...; worker lcore p (1..N-1) runs lanes p, p+N, ... and their I/O queues, each with its own
// share of every workload (nvmetcp/host/io_pollers.hpp hands the queues over). With one lcore,
// everything happens on the calling thread, as without it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nvmetcp/host/controller.hpp"
#include "nvmetcp/host/dpdk/host_stack.hpp"
#include "nvmetcp/host/io_pollers.hpp"
#include "workload.hpp"

namespace nvmeddp::host_app {

class LcoreGroup {
public:
    // One lcore: move() polls whatever carries the queues (the HostStack, or kernel sockets). Several:
    // stack's lanes are split between the EAL's main and worker lcores (stack->lanes() >= lcores).
    // on_round runs on the main lcore after each of its rounds (e.g. switching the device's caps).
    LcoreGroup(nvmetcp::host::Controller& controller, nvmetcp::host::HostStack* stack, uint16_t lcores,
               std::function<bool()> move, std::function<void()> on_round);
    ~LcoreGroup();

    // One round on the main lcore (bring-up, between runs, shutdown); true when it did work.
    bool pump();

    struct alignas(64) Share {     // one lcore's part of a run (its own cache lines)
        std::vector<uint16_t> queues;
        WorkloadResult result;
        uint64_t busy_cycles = 0;  // TSC cycles of rounds that did work (polling idle excluded)
    };
    // Runs spec (its ios split between the lcores by their queue counts) on every lcore at once and
    // returns the sum; shares() then says what each lcore did. Blocks until every lcore is done; if
    // the controller stays away longer than the spec's timeout it is given up (every I/O fails).
    WorkloadResult run(const WorkloadSpec& spec, std::FILE* command_log);
    const std::vector<Share>& shares() const noexcept { return shares_; }
    uint64_t busy_cycles() const noexcept;  // of the last run, every lcore
    uint16_t lcores() const noexcept { return pollers_.pollers(); }
    // Completions on the main lcore's queues so far.
    uint64_t main_completions() const;
    const nvmetcp::host::IoPollers& pollers() const noexcept { return pollers_; }

private:
    struct Worker;
    static int worker_main(void* arg);
    bool poll_lanes(uint16_t poller);

    nvmetcp::host::Controller& controller_;
    nvmetcp::host::HostStack* stack_;
    std::function<bool()> move_;
    std::function<void()> on_round_;
    nvmetcp::host::IoPollers pollers_;
    std::vector<Share> shares_;
    std::vector<std::unique_ptr<Worker>> workers_;  // [p - 1]: worker lcore p
    std::unique_ptr<Workload> main_workload_;
    uint64_t* main_busy_ = nullptr;                 // the main share's counter while a run times it
};

}  // namespace nvmeddp::host_app
