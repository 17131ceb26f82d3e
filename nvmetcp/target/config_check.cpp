#include "nvmetcp/target/config_check.hpp"

#include "nvmetcp/pdu.hpp"

namespace nvmeddp::nvmetcp::target {
namespace {

constexpr size_t kMaxNqnLength = 223;                 // NVMe base specification: NQNs are at most 223 bytes
constexpr uint64_t kMaxNamespaceBytes = 64ull << 30;  // RAM
constexpr uint32_t kMaxInCapsuleData = 1u << 20;

}  // namespace

std::string check_config(const TargetConfig& c) {
    if (c.subnqn.empty() || c.subnqn.size() > kMaxNqnLength) return "subnqn must have 1 to 223 characters";
    if (c.block_size != 512 && c.block_size != 4096) return "block size must be 512 or 4096";
    if (c.nsid == 0 || c.nsid == 0xFFFFFFFF) return "namespace id must be 1..4294967294";
    if (c.namespace_bytes == 0 || c.namespace_bytes % c.block_size != 0 || c.namespace_bytes > kMaxNamespaceBytes) {
        return "namespace size must be a non-zero multiple of the block size, at most 64 GiB";
    }
    if (c.max_io_queues == 0) return "at least one I/O queue";
    if (c.max_queue_depth < 2) return "queue depth must be at least 2";
    if (c.cpda > kMaxCpda) return "cpda must be at most 31";
    if (c.maxh2cdata < 4096 || c.maxh2cdata % 4 != 0) return "maxh2cdata must be at least 4096 and a multiple of 4";
    if (c.in_capsule_data % 16 != 0 || c.in_capsule_data > kMaxInCapsuleData) {
        return "in-capsule data must be a multiple of 16, at most 1 MiB";
    }
    return {};
}

}  // namespace nvmeddp::nvmetcp::target
