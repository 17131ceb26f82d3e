// The target's counters, written by the serving thread and read by any other (Target::stats()):
// relaxed atomics, since each counter stands alone and a snapshot need not be consistent across them.
#pragma once

#include <atomic>
#include <cstdint>

#include "nvmetcp/target/target.hpp"

namespace nvmeddp::nvmetcp::target {

struct AtomicStats {
    std::atomic<uint64_t> connections{0}, connections_closed{0}, controllers{0}, commands{0}, reads{0}, writes{0}, flushes{0},
        admin_commands{0};
    std::atomic<uint64_t> bytes_read{0}, bytes_written{0}, c2h_pdus{0}, r2ts{0}, h2c_pdus{0};
    std::atomic<uint64_t> errors_sent{0}, errors_received{0}, digest_errors{0}, faults_injected{0};

    static void add(std::atomic<uint64_t>& counter, uint64_t n = 1) noexcept {
        counter.fetch_add(n, std::memory_order_relaxed);
    }

    TargetStats snapshot() const noexcept {
        auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
        TargetStats s;
        s.connections = get(connections);
        s.connections_closed = get(connections_closed);
        s.controllers = get(controllers);
        s.commands = get(commands);
        s.reads = get(reads);
        s.writes = get(writes);
        s.flushes = get(flushes);
        s.admin_commands = get(admin_commands);
        s.bytes_read = get(bytes_read);
        s.bytes_written = get(bytes_written);
        s.c2h_pdus = get(c2h_pdus);
        s.r2ts = get(r2ts);
        s.h2c_pdus = get(h2c_pdus);
        s.errors_sent = get(errors_sent);
        s.errors_received = get(errors_received);
        s.digest_errors = get(digest_errors);
        s.faults_injected = get(faults_injected);
        return s;
    }
};

}  // namespace nvmeddp::nvmetcp::target
