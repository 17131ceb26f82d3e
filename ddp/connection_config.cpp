#include "ddp/connection_config.hpp"

namespace nvmeddp::ddp {

namespace {
constexpr uint8_t kMaxPda = 31;  // 5-bit field in ICReq
constexpr uint16_t kMaxVlanId = 4095;  // 12-bit VID
}

Status validate(const ConnectionConfig& config, const DeviceLimits& limits) noexcept {
    const ConnectionTuple& t = config.tuple;
    if (t.family != IpFamily::Ipv4 && t.family != IpFamily::Ipv6) return Status::BadAddress;
    if (t.local_port == 0 || t.remote_port == 0) return Status::BadAddress;
    if (t.vlan > kMaxVlanId || t.outer_vlan > kMaxVlanId || (t.outer_vlan != 0 && t.vlan == 0)) return Status::BadAddress;
    if (config.queue_depth == 0 || config.queue_depth > limits.max_queue_depth) return Status::BadQueueDepth;
    if (config.rx_queue >= limits.rx_queues) return Status::BadRxQueue;
    if (config.rx_pda > kMaxPda || config.tx_pda > kMaxPda) return Status::BadPda;
    if (config.tx_data_digest && !config.data_digest) return Status::Unsupported;
    return Status::Ok;
}

}  // namespace nvmeddp::ddp
