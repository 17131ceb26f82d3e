// Validation of a TargetConfig before the target starts: every value within what the protocol and
// the target can take, with a message naming the field otherwise.
#pragma once

#include <string>

#include "nvmetcp/target/target.hpp"

namespace nvmeddp::nvmetcp::target {

// Empty when the configuration is usable, else what is wrong with it.
std::string check_config(const TargetConfig& config);

}  // namespace nvmeddp::nvmetcp::target
