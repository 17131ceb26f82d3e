#include "ddp/device_registry.hpp"

#include <algorithm>
#include <mutex>

namespace nvmeddp::ddp {

namespace {

struct Registry {
    std::mutex mutex;
    std::vector<Device*> devices;
};

Registry& registry() {
    static Registry r;
    return r;
}

}  // namespace

bool register_device(Device& device) {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    const std::string_view name = device.name();
    if (std::any_of(r.devices.begin(), r.devices.end(), [&](Device* d) { return d->name() == name; })) return false;
    r.devices.push_back(&device);
    return true;
}

void unregister_device(Device& device) {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    std::erase(r.devices, &device);
}

std::vector<Device*> registered_devices() {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    return r.devices;
}

Device* find_device(std::string_view name) {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    for (Device* d : r.devices) {
        if (d->name() == name) return d;
    }
    return nullptr;
}

}  // namespace nvmeddp::ddp
