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
    double busy_seconds = 0;             // host lcore time in poll rounds that received or sent frames
    nvmetcp::host::QueueStats queues{};  // the I/O queues' counters during the run
    ddp::Stats device{};                 // the device's counters during the run
    bool port_counted = false;           // the port's rx counters below are known
    uint64_t port_rx_frames = 0, port_rx_bytes = 0;  // ... and what it received during the run
};

// sum += s (sign > 0) or sum -= s, over the counters the table uses.
void add(nvmetcp::host::QueueStats& sum, const nvmetcp::host::QueueStats& s, int sign);
nvmetcp::host::QueueStats queue_totals(nvmetcp::host::Controller& controller);
ddp::Stats stats_delta(const ddp::Stats& after, const ddp::Stats& before);
std::string size_text(uint32_t bytes);  // "4 KiB", "1 MiB", "512 B"
// The table, with a legend; dpdk: the busy-time column means something.
void print_table(const std::vector<Row>& rows, bool dpdk);
// The transmit digest offload over a whole run (writes and reads): what the host left to the device
// and what the device wrote. Nothing when neither happened.
void print_sent_digests(const char* mode, const nvmetcp::host::QueueStats& queues, const ddp::Stats& device);
// blktests nvme/056's figures for the offload-on rows (placed packets and bytes against the port's
// rx counters, drops and resyncs per packet) and whether they meet its bar: reads of 32 KiB..1 MiB
// place >= 95% of the packets and >= 90% of the bytes with drops and resyncs under 5%; reads below
// the device's io threshold place nothing, and so does every read with the placement cap off. Returns
// false with the reasons printed when not met.
bool report_nvme056(const std::vector<Row>& rows, uint32_t io_threshold, uint32_t caps);

}  // namespace nvmeddp::host_app
