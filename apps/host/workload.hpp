// The I/O the host app runs: reads (or writes, then reads back) of one size at a queue depth, spread
// over the I/O queues, every byte checked on completion.
//
// Reads check the namespace pattern of nvmeddp-target (nvmetcp/byte_pattern.hpp, kNamespacePattern at
// the byte address). Writes put another pattern (kWritePattern) into a region the reads never touch,
// and the read-back checks it, so they work on any target whose namespace may be overwritten.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "nvmetcp/host/controller.hpp"

namespace nvmeddp::host_app {

struct WorkloadSpec {
    uint32_t io_size = 4096;
    uint32_t ios = 256;
    uint16_t depth = 32;    // per queue
    bool write = false;     // write the write region, then read it back
    uint64_t seed = 1;
    uint64_t timeout_ms = 120000;
};

struct WorkloadResult {
    uint64_t ios_ok = 0;
    uint64_t ios_failed = 0;     // completed with an error status
    uint64_t digest_failed = 0;  // ... of which with a data digest mismatch (transient transport error)
    uint64_t wrong_bytes = 0;    // I/Os that completed OK with bytes that differ from the pattern
    uint64_t bytes = 0;          // data bytes of the successful reads
    double seconds = 0;
    bool timed_out = false;
    std::string first_error;     // the first failure, with the LBA and the reason
};

// Milliseconds of the steady clock: what the controller's poll() and the run's deadlines count in.
uint64_t now_ms();

// Polls whatever moves the queues (the endpoint or the sockets, and the controller); returns whether
// it did any work (for the busy-time account).
using Pump = std::function<bool()>;

class Workload {
public:
    // Runs on `queues` (I/O queue indexes; empty: every queue the controller has), from the thread
    // that has them (IoPollers: pump() returns only while it does).
    Workload(nvmetcp::host::Controller& controller, Pump pump, std::vector<uint16_t> queues = {});
    void set_queues(std::vector<uint16_t> queues) { queues_ = std::move(queues); }
    // Runs one pass; the buffers are allocated once for the largest size seen.
    WorkloadResult run(const WorkloadSpec& spec);

    static constexpr uint32_t kWritePattern = 3;

    // Each completed I/O command as a line "qid cid opcode slba nlb bytes" (nlb 1-based; opcode 1 write,
    // 2 read), for checking a capture against (tests/interop: tshark's view of the same commands).
    // Null: none. The file is the caller's.
    void log_commands(std::FILE* file) noexcept { log_ = file; }

private:
    struct Slot {
        Workload* owner = nullptr;
        std::vector<uint8_t> buffer;
        nvmetcp::host::IoVec iov{};
        uint64_t slba = 0;
        uint16_t queue = 0;
        bool busy = false;
    };

    static void on_done(void* ctx, const nvmetcp::host::Completion& completion);
    bool submit(Slot& slot, uint64_t index);
    uint64_t pick_lba(uint64_t index) const;

    nvmetcp::host::Controller& controller_;
    Pump pump_;
    std::vector<uint16_t> queues_;
    std::vector<Slot> slots_;
    std::FILE* log_ = nullptr;
    WorkloadSpec spec_{};
    WorkloadResult result_{};
    bool reading_back_ = false;  // a write pass's second half
    uint64_t region_blocks_ = 0, region_base_ = 0, io_blocks_ = 0;
    uint32_t block_ = 512;
    uint64_t completed_ = 0;
};

}  // namespace nvmeddp::host_app
