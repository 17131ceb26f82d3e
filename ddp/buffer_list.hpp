// Buffer lists of a registration: where one command's read data goes.
#pragma once

#include <cstdint>
#include <span>

#include "ddp/device_caps.hpp"
#include "ddp/status.hpp"
#include "nvmeddp/ddp.h"

namespace nvmeddp::ddp {

// { void* addr; uint64_t len; }: the C API's type, so a C host's array is used as it is. The library
// keeps a pointer to the caller's array, not a copy: it must stay valid and unchanged until the
// registration's teardown has completed.
using BufferSegment = ::nvmeddp_segment;

// Ok, or why a device with these limits cannot place total_len bytes into these segments.
Status validate_buffer_list(std::span<const BufferSegment> segments, uint64_t total_len,
                            const DeviceLimits& limits) noexcept;

}  // namespace nvmeddp::ddp
