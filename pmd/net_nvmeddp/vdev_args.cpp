#include "pmd/net_nvmeddp/vdev_args.hpp"

#include <rte_kvargs.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace nvmeddp::pmd {

namespace {

constexpr const char* kKeys[] = {"port", "queues", "mode", "rx_mark", "ddp", "ddp_io_threshold", "ddp_max_io",
                                   "tso", "lro"};

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

// A byte count: digits, optionally followed by K or M (binary), at most 1 GiB.
bool parse_bytes(const std::string& v, uint32_t& out) {
    if (v.empty() || v[0] < '0' || v[0] > '9') return false;
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k') {
        shift = 10;
        ++end;
    } else if (*end == 'M' || *end == 'm') {
        shift = 20;
        ++end;
    }
    // Range checked before the shift, which must not wrap.
    if (errno != 0 || *end != '\0' || n > ((1ull << 30) >> shift)) return false;
    out = static_cast<uint32_t>(n << shift);
    return true;
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
        } else if (std::strcmp(key, "ddp") == 0) {
            if (v != "on" && v != "off") {
                error = "ddp='" + v + "' is not on or off";
                return false;
            }
            out.ddp = v == "on";
        } else if (std::strcmp(key, "tso") == 0 || std::strcmp(key, "lro") == 0) {
            if (v != "on" && v != "off") {
                error = std::string(key) + "='" + v + "' is not on or off";
                return false;
            }
            (std::strcmp(key, "tso") == 0 ? out.tso : out.lro) = v == "on";
        } else if (std::strcmp(key, "ddp_io_threshold") == 0 || std::strcmp(key, "ddp_max_io") == 0) {
            uint32_t& field = std::strcmp(key, "ddp_max_io") == 0 ? out.ddp_max_io : out.ddp_io_threshold;
            if (!parse_bytes(v, field)) {
                error = std::string(key) + "='" + v + "' is not a byte count (e.g. 32768, 32K, 4M; at most 1024M)";
                return false;
            }
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
    if (out.ddp_max_io == 0 || out.ddp_io_threshold > out.ddp_max_io) {
        error = "ddp_io_threshold (" + std::to_string(out.ddp_io_threshold) + ") must not exceed ddp_max_io (" +
                std::to_string(out.ddp_max_io) + "), which must not be 0";
        return false;
    }
    if (rte_kvargs_count(kv.get(), "queues") > 0 && !out.stacked()) {
        error = "queues= applies only with port=<interface>";
        return false;
    }
    return true;
}

}  // namespace nvmeddp::pmd
