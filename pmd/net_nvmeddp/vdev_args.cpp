#include "pmd/net_nvmeddp/vdev_args.hpp"

#include <rte_kvargs.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace nvmeddp::pmd {

namespace {

constexpr const char* kKeys[] = {"port", "queues", "mode", "rx_mark"};

bool known_key(const char* key) {
    for (const char* k : kKeys) {
        if (std::strcmp(k, key) == 0) return true;
    }
    return false;
}

std::string known_keys() {
    std::string s;
    for (const char* k : kKeys) s += (s.empty() ? "" : ", ") + std::string(k);
    return s;
}

}  // namespace

bool parse_vdev_args(const char* args, VdevArgs& out, std::string& error) {
    out = VdevArgs{};
    if (args == nullptr || args[0] == '\0') return true;
    // No key list: rte_kvargs would refuse an unknown key without saying which, and we want to.
    std::unique_ptr<rte_kvargs, void (*)(rte_kvargs*)> kv(rte_kvargs_parse(args, nullptr), rte_kvargs_free);
    if (!kv) {
        error = "cannot read devargs '" + std::string(args) + "' (expected key=value pairs separated by commas)";
        return false;
    }
    bool loopback = false;
    for (unsigned i = 0; i < kv->count; ++i) {
        const char* key = kv->pairs[i].key;
        const char* value = kv->pairs[i].value != nullptr ? kv->pairs[i].value : "";
        if (!known_key(key)) {
            error = "unknown devarg '" + std::string(key) + "' (known: " + known_keys() + ")";
            return false;
        }
        if (rte_kvargs_count(kv.get(), key) > 1) {
            error = "devarg '" + std::string(key) + "' given more than once";
            return false;
        }
        const std::string v(value);
        if (std::strcmp(key, "port") == 0) {
            if (v.empty()) {
                error = "port= needs a port name (e.g. net_af_packet0) or an interface";
                return false;
            }
            out.port = v;
        } else if (std::strcmp(key, "queues") == 0) {
            char* end = nullptr;
            const unsigned long n = std::strtoul(value, &end, 10);
            if (v.empty() || *end != '\0' || n < 1 || n > 16) {
                error = "queues='" + v + "' is not a number from 1 to 16";
                return false;
            }
            out.iface_queues = static_cast<uint16_t>(n);
        } else if (std::strcmp(key, "mode") == 0) {
            if (v != "loopback") {
                error = "mode='" + v + "' is not known (mode=loopback, or port=<name> to stack on a port)";
                return false;
            }
            loopback = true;
        } else if (v == "on") {
            out.mark_mode = MarkMode::On;
        } else if (v == "off") {
            out.mark_mode = MarkMode::Off;
        } else if (v == "silent") {
            out.mark_mode = MarkMode::Silent;
        } else {
            error = "rx_mark='" + v + "' is not on, off or silent";
            return false;
        }
    }
    if (loopback && out.stacked()) {
        error = "mode=loopback and port= exclude each other";
        return false;
    }
    if (rte_kvargs_count(kv.get(), "queues") > 0 && !out.stacked()) {
        error = "queues= applies only with port=<interface>";
        return false;
    }
    return true;
}

}  // namespace nvmeddp::pmd
