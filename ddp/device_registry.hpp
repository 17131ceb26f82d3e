// Discovery: the devices that offer NVMe/TCP offload in this process, by name. A driver registers
// its Device when it brings a port up and unregisters it before destroying it; hosts (and the C API)
// look devices up here. Control path only: a mutex guards the list.
#pragma once

#include <string_view>
#include <vector>

#include "ddp/device.hpp"

namespace nvmeddp::ddp {

// false when a device of the same name is already registered.
bool register_device(Device& device);
void unregister_device(Device& device);

std::vector<Device*> registered_devices();  // in registration order
Device* find_device(std::string_view name);

}  // namespace nvmeddp::ddp
