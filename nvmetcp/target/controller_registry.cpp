#include "nvmetcp/target/controller_registry.hpp"

#include "nvmetcp/nvme_command.hpp"

namespace nvmeddp::nvmetcp::target {
namespace {

// CNTLIDs 0xFFF0..0xFFFF are reserved (0xFFFF: "dynamic" in Connect); 0 is not used either, so
// that a host's zero-initialised field never names a live controller.
constexpr uint16_t kMaxCntlid = 0xFFEF;

}  // namespace

bool Controller::ready() const noexcept {
    return (cc & nvme::reg::kCcEnable) != 0 && (csts & nvme::reg::kCstsReady) != 0;
}

Controller* ControllerRegistry::create(bool discovery, std::string hostnqn, const std::array<uint8_t, 16>& hostid,
                                       uint64_t admin_connection) {
    if (controllers_.size() >= kMaxCntlid) return nullptr;
    while (controllers_.count(next_cntlid_) != 0) next_cntlid_ = next_cntlid_ >= kMaxCntlid ? 1 : next_cntlid_ + 1;
    const uint16_t cntlid = next_cntlid_;
    next_cntlid_ = next_cntlid_ >= kMaxCntlid ? 1 : next_cntlid_ + 1;
    Controller& c = controllers_[cntlid];
    c.cntlid = cntlid;
    c.discovery = discovery;
    c.hostnqn = std::move(hostnqn);
    c.hostid = hostid;
    c.admin_connection = admin_connection;
    c.last_command = std::chrono::steady_clock::now();
    return &c;
}

Controller* ControllerRegistry::find(uint16_t cntlid) noexcept {
    auto it = controllers_.find(cntlid);
    return it == controllers_.end() ? nullptr : &it->second;
}

std::vector<uint64_t> ControllerRegistry::destroy(uint16_t cntlid) {
    std::vector<uint64_t> io;
    auto it = controllers_.find(cntlid);
    if (it == controllers_.end()) return io;
    for (const auto& [qid, connection] : it->second.io_connections) io.push_back(connection);
    controllers_.erase(it);
    return io;
}

std::vector<uint16_t> ControllerRegistry::expired(std::chrono::steady_clock::time_point now) const {
    std::vector<uint16_t> out;
    for (const auto& [cntlid, c] : controllers_) {
        if (c.kato_ms != 0 && now - c.last_command > std::chrono::milliseconds(c.kato_ms)) out.push_back(cntlid);
    }
    return out;
}

}  // namespace nvmeddp::nvmetcp::target
