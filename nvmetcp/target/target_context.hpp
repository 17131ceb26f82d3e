// What all connections of a target share: the configuration, the namespace, the controllers, the
// counters, and the log.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <vector>

#include "nvmetcp/target/controller_registry.hpp"
#include "nvmetcp/target/ram_namespace.hpp"
#include "nvmetcp/target/target.hpp"
#include "nvmetcp/target/target_stats.hpp"

namespace nvmeddp::nvmetcp::target {

struct TargetContext {
    TargetContext(const TargetConfig& c, RamNamespace n) : config(c), ns(std::move(n)) {}

    TargetConfig config;
    RamNamespace ns;
    ControllerRegistry controllers;
    AtomicStats stats;
    uint16_t port = 0;
    std::vector<uint8_t> discovery_log;  // built once the port is bound

    // One line to stderr when config.verbose.
    void log(const char* format, ...) const __attribute__((format(printf, 2, 3)));
};

}  // namespace nvmeddp::nvmetcp::target
