// What nvmeddp-host reports: one row per (size, offload mode) run and the side-by-side table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ddp/counters.hpp"
#include "nvmetcp/host/controller.hpp"
#include "workload.hpp"

namespace nvmeddp::host_app {

// What one (size, offload mode) run measured.
struct Row {
    uint32_t size = 0;
    bool offload = false;
    WorkloadResult result;
    double busy_seconds = 0;             // host lcore time in poll rounds that received something
    nvmetcp::host::QueueStats queues{};  // the I/O queues' counters during the run
    ddp::Stats device{};                 // the device's counters during the run
};

// sum += s (sign > 0) or sum -= s, over the counters the table uses.
void add(nvmetcp::host::QueueStats& sum, const nvmetcp::host::QueueStats& s, int sign);
nvmetcp::host::QueueStats queue_totals(nvmetcp::host::Controller& controller);
ddp::Stats stats_delta(const ddp::Stats& after, const ddp::Stats& before);
std::string size_text(uint32_t bytes);  // "4 KiB", "1 MiB", "512 B"
// The table, with a legend; dpdk: the busy-time column means something.
void print_table(const std::vector<Row>& rows, bool dpdk);

}  // namespace nvmeddp::host_app
