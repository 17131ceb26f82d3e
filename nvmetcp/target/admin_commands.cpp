// The admin commands of a TargetConnection (queue 0): Identify, Get Log Page, Set/Get Features,
// Keep Alive, Asynchronous Event Request, Abort.
#include <algorithm>
#include <cstring>

#include "nvmetcp/target/controller_model.hpp"
#include "nvmetcp/target/discovery_log.hpp"
#include "nvmetcp/target/target_connection.hpp"

namespace nvmeddp::nvmetcp::target {
namespace {

using nvme::status::kInvalidField;
using nvme::status::kSuccess;

template <typename T>
std::vector<uint8_t> bytes_of(const T& value) {
    std::vector<uint8_t> out(sizeof value);
    std::memcpy(out.data(), &value, sizeof value);
    return out;
}

// Number of Queues as Set/Get Features report it: 0's based counts of SQs (15:0) and CQs (31:16).
uint32_t queue_counts(uint16_t queues) { return static_cast<uint32_t>(queues - 1) * 0x10001u; }

// A command returning data to the host names a Transport SGL Data Block of exactly its length.
std::optional<nvme::Status> data_sgl_error(const NvmeSqe& sqe, uint64_t length) {
    const nvme::SglDescriptor& sgl = nvme::sgl_of(sqe);
    if (sgl.identifier != nvme::sgl::kTransportDataBlock) return nvme::status::kSglTypeInvalid;
    if (sgl.length.get() != length) return nvme::status::kSglLengthInvalid;
    return std::nullopt;
}

}  // namespace

void TargetConnection::admin_command(const NvmeSqe& sqe) {
    const uint16_t cid = sqe.cid.get();
    const Controller* c = controller();
    // Only Connect and the properties work before the host enabled the controller (CC.EN = 1).
    if (c == nullptr || !c->ready()) return complete(cid, nvme::status::kCommandSequenceError);
    switch (sqe.opcode) {
        case nvme::admin_opcode::kIdentify: return identify(sqe);
        case nvme::admin_opcode::kGetLogPage: return get_log_page(sqe);
        case nvme::admin_opcode::kSetFeatures: return set_features(sqe);
        case nvme::admin_opcode::kGetFeatures: return get_features(sqe);
        case nvme::admin_opcode::kKeepAlive: return complete(cid, kSuccess);
        case nvme::admin_opcode::kAsyncEventRequest: return async_event_request(sqe);
        case nvme::admin_opcode::kAbort: return complete(cid, kSuccess, 1);  // dw0 bit 0: not aborted
        default: return complete(cid, nvme::status::kInvalidOpcode);
    }
}

void TargetConnection::identify(const NvmeSqe& sqe) {
    const uint16_t cid = sqe.cid.get();
    if (auto error = data_sgl_error(sqe, nvme::kIdentifyDataLen)) return complete(cid, *error);
    const Controller& c = *controller();
    const uint8_t cns = static_cast<uint8_t>(sqe.cdw10.get() & 0xFF);
    const uint32_t nsid = sqe.nsid.get();
    if (c.discovery && cns != nvme::cns::kController) return complete(cid, kInvalidField);
    switch (cns) {
        case nvme::cns::kController:
            return send_to_host(cid, {}, bytes_of(identify_controller(config_, c)));
        case nvme::cns::kNamespace:
            if (nsid != context_.ns.nsid()) return complete(cid, nvme::status::kInvalidNamespace);
            return send_to_host(cid, {}, bytes_of(identify_namespace(context_.ns)));
        case nvme::cns::kActiveNamespaces:
            return send_to_host(cid, {}, active_namespace_list(context_.ns, nsid));
        case nvme::cns::kNamespaceDescriptors:
            if (nsid != context_.ns.nsid()) return complete(cid, nvme::status::kInvalidNamespace);
            return send_to_host(cid, {}, namespace_descriptor_list(context_.ns));
        default:
            return complete(cid, kInvalidField);
    }
}

void TargetConnection::get_log_page(const NvmeSqe& sqe) {
    const uint16_t cid = sqe.cid.get();
    const uint32_t cdw10 = sqe.cdw10.get();
    const uint8_t lid = static_cast<uint8_t>(cdw10 & 0xFF);
    const uint64_t dwords = ((cdw10 >> 16) | (uint64_t{sqe.cdw11.get() & 0xFFFF} << 16)) + 1;
    const uint64_t length = dwords * 4;
    const uint64_t offset = sqe.cdw12.get() | uint64_t{sqe.cdw13.get()} << 32;
    if (length > kMaxTransferBytes || (offset & 3) != 0) return complete(cid, kInvalidField);
    if (auto error = data_sgl_error(sqe, length)) return complete(cid, *error);

    static const std::vector<uint8_t> kZeros;  // error information and SMART: nothing to report
    const std::vector<uint8_t>* page = nullptr;
    if (controller()->discovery) {
        if (lid == nvme::log_page::kDiscovery) page = &context_.discovery_log;
    } else if (lid == nvme::log_page::kErrorInformation || lid == nvme::log_page::kSmartHealth) {
        page = &kZeros;
    }
    if (page == nullptr) return complete(cid, nvme::status::kInvalidLogPage);
    send_to_host(cid, {}, log_page_window(*page, offset, static_cast<uint32_t>(length)));
}

void TargetConnection::set_features(const NvmeSqe& sqe) {
    const uint16_t cid = sqe.cid.get();
    Controller& c = *controller();
    const uint32_t value = sqe.cdw11.get();
    switch (sqe.cdw10.get() & 0xFF) {
        case nvme::feature::kNumberOfQueues: {
            const uint32_t sqs = value & 0xFFFF, cqs = value >> 16;
            if (c.discovery || sqs == 0xFFFF || cqs == 0xFFFF) return complete(cid, kInvalidField);
            const auto requested = static_cast<uint16_t>(std::min(sqs, cqs) + 1);
            c.granted_io_queues = std::min(requested, config_.max_io_queues);
            c.queues_granted = true;
            return complete(cid, kSuccess, queue_counts(c.granted_io_queues));
        }
        case nvme::feature::kKeepAliveTimer:
            c.kato_ms = value;
            return complete(cid, kSuccess);
        case nvme::feature::kAsyncEventConfig:
            c.async_event_config = value;
            return complete(cid, kSuccess);
        default:
            return complete(cid, kInvalidField);
    }
}

void TargetConnection::get_features(const NvmeSqe& sqe) {
    const uint16_t cid = sqe.cid.get();
    const Controller& c = *controller();
    switch (sqe.cdw10.get() & 0xFF) {
        case nvme::feature::kNumberOfQueues:
            if (c.discovery) return complete(cid, kInvalidField);
            return complete(cid, kSuccess, queue_counts(c.queues_granted ? c.granted_io_queues : config_.max_io_queues));
        case nvme::feature::kKeepAliveTimer:
            return complete(cid, kSuccess, c.kato_ms);
        case nvme::feature::kAsyncEventConfig:
            return complete(cid, kSuccess, c.async_event_config);
        default:
            return complete(cid, kInvalidField);
    }
}

void TargetConnection::async_event_request(const NvmeSqe& sqe) {
    const uint16_t cid = sqe.cid.get();
    if (commands_.count(Command::State::HeldEvent) >= kAsyncEventLimit) {
        return complete(cid, nvme::status::kAsyncEventLimitExceeded);
    }
    // Held until the connection closes: the target never has an event to report.
    if (commands_.take(cid, Command::State::HeldEvent) == CommandTable::kNone) {
        complete(cid, nvme::status::kInternalError);
    }
}

}  // namespace nvmeddp::nvmetcp::target
