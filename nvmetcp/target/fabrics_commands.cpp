// The fabrics commands of a TargetConnection: Connect (which makes the connection a queue of a
// controller) and Property Get/Set (the controller registers CAP, VS, CC, CSTS).
#include <algorithm>
#include <cstring>
#include <string>

#include "nvmetcp/target/controller_model.hpp"
#include "nvmetcp/target/target_connection.hpp"

namespace nvmeddp::nvmetcp::target {
namespace {

using nvme::status::kCommandSequenceError;
using nvme::status::kInvalidField;
using nvme::status::kSuccess;

// A NUL-terminated field of at most `width` bytes as text.
std::string field_string(const char* field, size_t width) { return std::string(field, strnlen(field, width)); }

// Connect's "invalid parameters" completion names the field (NVMe-oF 1.1, Connect response): IPO
// (bits 15:0) its byte offset, IATTR (bit 16) whether in the Connect data (1) or the SQE (0).
uint32_t invalid_parameter(bool in_connect_data, size_t offset) {
    return (in_connect_data ? 1u << 16 : 0u) | static_cast<uint32_t>(offset);
}

// CC fields the controller supports: 64-byte SQEs, 16-byte CQEs, 4 KiB pages, round robin, NVM.
bool cc_supported(uint32_t cc) {
    const uint32_t css = (cc >> 4) & 0x7, mps = (cc >> 7) & 0xF, ams = (cc >> 11) & 0x7;
    const uint32_t iosqes = (cc >> 16) & 0xF, iocqes = (cc >> 20) & 0xF;
    return css == 0 && mps == 0 && ams == 0 && iosqes == 6 && iocqes == 4;
}

// Enabling makes the controller ready (or fatal, for CC values it cannot take); disabling resets
// it; a shutdown notification completes at once (nothing to write back from RAM).
void update_cc(Controller& c, uint32_t cc) {
    const uint32_t old = c.cc;
    c.cc = cc;
    const bool enable = cc & nvme::reg::kCcEnable, was_enabled = old & nvme::reg::kCcEnable;
    const bool shutdown = cc & nvme::reg::kCcShnMask, was_shutdown = old & nvme::reg::kCcShnMask;
    if (enable && !was_enabled) c.csts = cc_supported(cc) ? nvme::reg::kCstsReady : nvme::reg::kCstsFatal;
    if (!enable && was_enabled) c.csts &= ~(nvme::reg::kCstsReady | nvme::reg::kCstsFatal);
    if (shutdown && !was_shutdown) {
        c.csts &= ~nvme::reg::kCstsReady;
        c.cc = 0;
        c.csts |= nvme::reg::kCstsShstComplete;
    }
    if (!shutdown && was_shutdown) c.csts &= ~nvme::reg::kCstsShstMask;
}

}  // namespace

void TargetConnection::fabrics_command(const NvmeSqe& sqe, std::span<const uint8_t> capsule) {
    const uint16_t cid = sqe.cid.get();
    const uint8_t type = nvme::fabrics_type(sqe);
    if (type == nvme::fctype::kConnect) {
        connect(sqe, capsule);
    } else if (controller() == nullptr) {  // not connected yet
        complete(cid, kCommandSequenceError);
    } else if (qid_ == 0 && type == nvme::fctype::kPropertyGet) {
        property_get(sqe);
    } else if (qid_ == 0 && type == nvme::fctype::kPropertySet) {
        property_set(sqe);
    } else {
        complete(cid, nvme::status::kInvalidOpcode);
    }
}

void TargetConnection::connect(const NvmeSqe& sqe, std::span<const uint8_t> capsule) {
    using nvme::ConnectCommand;
    using nvme::ConnectData;
    const uint16_t cid = sqe.cid.get();
    if (connected_) {
        complete(cid, kCommandSequenceError);
        return;
    }
    ConnectCommand command;
    std::memcpy(&command, &sqe, sizeof command);
    const nvme::SglDescriptor& sgl = nvme::sgl_of(sqe);
    if (sgl.identifier != nvme::sgl::kInCapsuleDataBlock) {
        complete(cid, nvme::status::kSglTypeInvalid);
        return;
    }
    const uint64_t address = sgl.address.get();
    if (sgl.length.get() != sizeof(ConnectData) || address > capsule.size() ||
        capsule.size() - address < sizeof(ConnectData)) {
        complete(cid, nvme::status::kSglLengthInvalid);
        return;
    }
    if (command.recfmt.get() != 0) {
        complete(cid, nvme::status::kConnectIncompatibleFormat);
        return;
    }
    ConnectData data;
    std::memcpy(&data, capsule.data() + address, sizeof data);
    auto refuse = [&](bool in_data, size_t offset) {
        complete(cid, nvme::status::kConnectInvalidParameters, invalid_parameter(in_data, offset));
    };

    const std::string subnqn = field_string(data.subnqn, sizeof data.subnqn);
    const std::string hostnqn = field_string(data.hostnqn, sizeof data.hostnqn);
    const bool discovery = subnqn == nvme::kDiscoveryNqn;
    if (!discovery && subnqn != config_.subnqn) return refuse(true, offsetof(ConnectData, subnqn));
    if (hostnqn.empty()) return refuse(true, offsetof(ConnectData, hostnqn));
    const uint16_t qid = command.qid.get(), sqsize = command.sqsize.get();
    // On a fabric CAP.MQES bounds only the I/O queues (NVMe base spec, CAP.MQES); an admin queue of
    // kAdminQueueSize entries is taken even from a target configured shallower, or no host that uses
    // 32 (Linux, SPDK, ours) could connect to it at all.
    const uint32_t max_entries = qid == 0 ? std::max<uint32_t>(kAdminQueueSize, config_.max_queue_depth)
                                          : config_.max_queue_depth;
    if (sqsize == 0 || sqsize > max_entries - 1) return refuse(false, offsetof(ConnectCommand, sqsize));

    Controller* c = nullptr;
    if (qid == 0) {
        if (data.cntlid.get() != nvme::kDynamicCntlid) return refuse(true, offsetof(ConnectData, cntlid));
        std::array<uint8_t, 16> hostid{};
        std::memcpy(hostid.data(), data.hostid, hostid.size());
        c = context_.controllers.create(discovery, hostnqn, hostid, id_);
        if (c == nullptr) {
            complete(cid, nvme::status::kConnectControllerBusy);
            return;
        }
        c->kato_ms = command.kato.get();
        AtomicStats::add(context_.stats.controllers);
    } else {
        c = context_.controllers.find(data.cntlid.get());
        if (c == nullptr || c->hostnqn != hostnqn || c->discovery != discovery) {
            return refuse(true, offsetof(ConnectData, cntlid));
        }
        const uint16_t queues = c->discovery ? 0 : c->queues_granted ? c->granted_io_queues : config_.max_io_queues;
        if (qid > queues) return refuse(false, offsetof(ConnectCommand, qid));
        if (!c->ready() || c->io_connections.count(qid) != 0) {
            complete(cid, kCommandSequenceError);
            return;
        }
        c->io_connections[qid] = id_;
    }

    connected_ = true;
    cntlid_ = c->cntlid;
    qid_ = qid;
    sq_size_ = sqsize + 1u;
    sqhd_ = 0;
    sq_flow_control_disabled_ = (command.cattr & nvme::kCattrDisableSqFlowControl) != 0;
    commands_.resize(sq_size_);
    context_.log("connection %llu from %s: queue %u of %s controller %u (%u entries%s), host %s",
                 static_cast<unsigned long long>(id_), peer_.c_str(), qid, c->discovery ? "discovery" : "I/O",
                 c->cntlid, sq_size_, sq_flow_control_disabled_ ? ", SQ flow control disabled" : "",
                 hostnqn.c_str());
    complete(cid, kSuccess, c->cntlid, sq_flow_control_disabled_ ? std::optional<uint16_t>(0xFFFF) : std::nullopt);
}

void TargetConnection::property_get(const NvmeSqe& sqe) {
    nvme::PropertyCommand command;
    std::memcpy(&command, &sqe, sizeof command);
    const uint16_t cid = sqe.cid.get();
    const Controller* c = controller();
    const uint32_t offset = command.offset.get();
    uint64_t value = 0;
    if ((command.attrib & 0x7) == nvme::kPropertySize8) {
        if (offset != nvme::reg::kCap) return complete(cid, kInvalidField);
        value = controller_capabilities(config_);
    } else if (offset == nvme::reg::kVs) {
        value = kVersion;
    } else if (offset == nvme::reg::kCc) {
        value = c->cc;
    } else if (offset == nvme::reg::kCsts) {
        value = c->csts;
    } else {
        return complete(cid, kInvalidField);
    }
    complete(cid, kSuccess, value);
}

void TargetConnection::property_set(const NvmeSqe& sqe) {
    nvme::PropertyCommand command;
    std::memcpy(&command, &sqe, sizeof command);
    const uint16_t cid = sqe.cid.get();
    if ((command.attrib & 0x7) != nvme::kPropertySize4 || command.offset.get() != nvme::reg::kCc) {
        return complete(cid, kInvalidField);
    }
    update_cc(*controller(), static_cast<uint32_t>(command.value.get()));
    complete(cid, kSuccess);
}

}  // namespace nvmeddp::nvmetcp::target
