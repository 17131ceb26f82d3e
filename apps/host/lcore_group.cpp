#include "lcore_group.hpp"

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace nvmeddp::host_app {

struct LcoreGroup::Worker {
    LcoreGroup* group = nullptr;
    uint16_t poller = 0;
    unsigned lcore_id = 0;
    bool launched = false;
    std::unique_ptr<Workload> workload;
    WorkloadSpec spec;
};

LcoreGroup::LcoreGroup(nvmetcp::host::Controller& controller, nvmetcp::host::HostStack* stack, uint16_t lcores,
                       std::function<bool()> move, std::function<void()> on_round)
    : controller_(controller),
      stack_(stack),
      move_(std::move(move)),
      on_round_(std::move(on_round)),
      pollers_(controller, stack != nullptr ? lcores : 1, stack != nullptr ? stack->lanes() : 1,
               [this](uint16_t p) { return poll_lanes(p); }) {
    shares_.resize(pollers_.pollers());
    if (pollers_.pollers() == 1) return;
    unsigned lcore = rte_get_next_lcore(-1, 1, 0);  // the first worker lcore
    for (uint16_t p = 1; p < pollers_.pollers(); ++p) {
        auto w = std::make_unique<Worker>();
        w->group = this;
        w->poller = p;
        w->lcore_id = lcore;
        w->workload = std::make_unique<Workload>(controller_, [this, p]() {
            const uint64_t t0 = rte_get_tsc_cycles();
            const bool work = pollers_.poll(p, now_ms());
            if (work) shares_[p].busy_cycles += rte_get_tsc_cycles() - t0;
            return work;
        });
        workers_.push_back(std::move(w));
        lcore = rte_get_next_lcore(lcore, 1, 0);
    }
}

LcoreGroup::~LcoreGroup() {
    for (auto& w : workers_) {
        if (w->launched) rte_eal_wait_lcore(w->lcore_id);
    }
}

bool LcoreGroup::poll_lanes(uint16_t poller) {
    if (pollers_.pollers() == 1) return move_();
    bool work = false;
    for (uint16_t lane = poller; lane < stack_->lanes(); lane = static_cast<uint16_t>(lane + pollers_.pollers()))
        work = stack_->poll_lane(lane) || work;
    return work;
}

bool LcoreGroup::pump() {
    const uint64_t t0 = rte_get_tsc_cycles();
    const bool work = pollers_.poll_control(now_ms());
    if (on_round_) on_round_();
    if (work && main_busy_ != nullptr) *main_busy_ += rte_get_tsc_cycles() - t0;
    return work;
}

int LcoreGroup::worker_main(void* arg) {
    Worker& w = *static_cast<Worker*>(arg);
    LcoreGroup& g = *w.group;
    // Submitting needs the queues: the first poll returns once this lcore has them.
    g.pollers_.poll(w.poller, now_ms());
    g.shares_[w.poller].result = w.workload->run(w.spec);
    g.pollers_.leave(w.poller);
    return 0;
}

uint64_t LcoreGroup::main_completions() const {
    uint64_t n = 0;
    for (uint16_t i = 0; i < controller_.io_queue_count(); ++i) {
        if (pollers_.poller_of_queue(i) == 0) n += controller_.io_queue(i).stats().completions;
    }
    return n;
}

uint64_t LcoreGroup::busy_cycles() const noexcept {
    uint64_t n = 0;
    for (const Share& s : shares_) n += s.busy_cycles;
    return n;
}

WorkloadResult LcoreGroup::run(const WorkloadSpec& spec, std::FILE* command_log) {
    const uint16_t n = pollers_.pollers();
    for (Share& s : shares_) s = Share{};
    for (uint16_t i = 0; i < controller_.io_queue_count(); ++i) shares_[pollers_.poller_of_queue(i)].queues.push_back(i);
    // Each lcore's share of the I/Os follows its share of the queues; its own LBA sequence (seed).
    const uint32_t queues = controller_.io_queue_count() > 0 ? controller_.io_queue_count() : 1;
    std::vector<WorkloadSpec> specs(n, spec);
    uint32_t given = 0;
    for (uint16_t p = 0; p < n; ++p) {
        specs[p].ios = static_cast<uint32_t>(uint64_t{spec.ios} * shares_[p].queues.size() / queues);
        specs[p].seed = spec.seed + p;
        given += specs[p].ios;
    }
    specs[0].ios += spec.ios - given;

    const auto start = std::chrono::steady_clock::now();
    for (auto& w : workers_) {
        w->spec = specs[w->poller];
        w->workload->set_queues(shares_[w->poller].queues);
        w->workload->log_commands(command_log);
        pollers_.join(w->poller);
        if (rte_eal_remote_launch(&LcoreGroup::worker_main, w.get(), w->lcore_id) != 0) {
            pollers_.leave(w->poller);
            shares_[w->poller].result.ios_failed = w->spec.ios;
            shares_[w->poller].result.first_error = "lcore " + std::to_string(w->lcore_id) + " could not be launched";
            continue;
        }
        w->launched = true;
    }
    if (!main_workload_) main_workload_ = std::make_unique<Workload>(controller_, [this]() { return pump(); });
    main_workload_->set_queues(shares_[0].queues);
    main_workload_->log_commands(command_log);
    main_busy_ = &shares_[0].busy_cycles;
    shares_[0].result = main_workload_->run(specs[0]);
    // The workers finish their shares; the main lcore goes on running the controller meanwhile. A
    // controller that stays away (reconnecting) is given up once the run's timeout has passed again:
    // the workers' I/O then fails and they finish.
    const uint64_t deadline = now_ms() + spec.timeout_ms;
    bool gave_up = false;
    while (pollers_.running() > 0 || controller_.io_delegated()) {  // then every queue is back with the main lcore
        pump();
        if (!gave_up && now_ms() > deadline && !controller_.io_delegated()) {
            controller_.give_up("not back within the run's timeout of " + std::to_string(spec.timeout_ms / 1000) + " s");
            gave_up = true;
        }
        // The workers' own I/O gives up at their timeout: lcores still running long after that are
        // a bug in the hand-over, said rather than waited on for ever.
        if (now_ms() > deadline + spec.timeout_ms + 10000) {
            std::fprintf(stderr, "nvmeddp-host: the worker lcores did not finish within twice the run's timeout: %s\n",
                         pollers_.describe().c_str());
            std::fflush(nullptr);
            std::_Exit(3);
        }
    }
    main_busy_ = nullptr;
    for (auto& w : workers_) {
        if (w->launched) rte_eal_wait_lcore(w->lcore_id);
        w->launched = false;
    }

    WorkloadResult total;
    for (uint16_t p = 0; p < n; ++p) {
        const WorkloadResult& r = shares_[p].result;
        total.ios_ok += r.ios_ok;
        total.ios_failed += r.ios_failed;
        total.digest_failed += r.digest_failed;
        total.wrong_bytes += r.wrong_bytes;
        total.bytes += r.bytes;
        total.timed_out = total.timed_out || r.timed_out;
        if (total.first_error.empty() && !r.first_error.empty())
            total.first_error = n > 1 ? "lcore #" + std::to_string(p) + ": " + r.first_error : r.first_error;
    }
    total.seconds = n > 1 ? std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
                          : shares_[0].result.seconds;
    return total;
}

}  // namespace nvmeddp::host_app
