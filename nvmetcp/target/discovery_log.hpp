// The discovery log page (log 0x70) a discovery controller returns: one entry, for the target's
// NVM subsystem on its TCP listener.
#pragma once

#include <cstdint>
#include <vector>

#include "nvmetcp/target/target.hpp"

namespace nvmeddp::nvmetcp::target {

// Header and entry (2048 bytes); `port` is the bound listening port.
std::vector<uint8_t> discovery_log_page(const TargetConfig& config, uint16_t port);

// Bytes [offset, offset + length) of a log page, zero past its end.
std::vector<uint8_t> log_page_window(const std::vector<uint8_t>& page, uint64_t offset, uint32_t length);

}  // namespace nvmeddp::nvmetcp::target
