// Words for the DDP device's capabilities, shared by the commands that print them.
#pragma once

#include <string>

#include "ddp/device_caps.hpp"

namespace nvmeddp::shell {

inline std::string caps_text(ddp::Caps caps) {
    if (caps == 0) return "none";
    std::string text;
    if (caps & ddp::cap::kPlacement) text = "placement";
    if (caps & ddp::cap::kDataDigest) text += text.empty() ? "digest" : "+digest";
    return text;
}

}  // namespace nvmeddp::shell
