// The I/O commands of a TargetConnection (queues 1..n): Read (C2HData), Write (in-capsule data, or
// R2T then H2CData straight into the namespace), Flush.
#include <algorithm>
#include <cstring>

#include "nvmetcp/target/controller_model.hpp"
#include "nvmetcp/target/target_connection.hpp"

namespace nvmeddp::nvmetcp::target {

void TargetConnection::io_command(const NvmeSqe& sqe, std::span<const uint8_t> capsule) {
    const uint16_t cid = sqe.cid.get();
    const Controller* c = controller();
    if (c == nullptr || !c->ready()) return complete(cid, nvme::status::kCommandSequenceError);
    const uint32_t nsid = sqe.nsid.get();
    if (sqe.opcode == nvme::io_opcode::kFlush) {
        if (nsid != context_.ns.nsid() && nsid != 0xFFFFFFFF) return complete(cid, nvme::status::kInvalidNamespace);
        AtomicStats::add(context_.stats.flushes);
        return complete(cid, nvme::status::kSuccess);
    }
    const bool is_read = sqe.opcode == nvme::io_opcode::kRead;
    if (!is_read && sqe.opcode != nvme::io_opcode::kWrite) return complete(cid, nvme::status::kInvalidOpcode);
    if (nsid != context_.ns.nsid()) return complete(cid, nvme::status::kInvalidNamespace);

    const nvme::SglDescriptor& sgl = nvme::sgl_of(sqe);
    const bool sgl_ok = sgl.identifier == nvme::sgl::kTransportDataBlock ||
                        (!is_read && sgl.identifier == nvme::sgl::kInCapsuleDataBlock);
    if (!sgl_ok) return complete(cid, nvme::status::kSglTypeInvalid);
    const uint64_t slba = nvme::slba_of(sqe), nlb = nvme::nlb_of(sqe);
    const uint64_t length = nlb * context_.ns.block_size();
    if (sgl.length.get() != length) return complete(cid, nvme::status::kSglLengthInvalid);
    if (!context_.ns.contains(slba, nlb)) return complete(cid, nvme::status::kLbaOutOfRange);
    if (length > kMaxTransferBytes) return complete(cid, nvme::status::kInvalidField);  // beyond MDTS

    uint8_t* data = context_.ns.at_block(slba);
    if (is_read) {
        read(sqe, data, static_cast<uint32_t>(length));
    } else {
        write(sqe, data, static_cast<uint32_t>(length), capsule);
    }
}

void TargetConnection::read(const NvmeSqe& sqe, uint8_t* data, uint32_t length) {
    AtomicStats::add(context_.stats.reads);
    AtomicStats::add(context_.stats.bytes_read, length);
    send_to_host(sqe.cid.get(), {data, length}, {});
}

void TargetConnection::write(const NvmeSqe& sqe, uint8_t* data, uint32_t length, std::span<const uint8_t> capsule) {
    const uint16_t cid = sqe.cid.get();
    const nvme::SglDescriptor& sgl = nvme::sgl_of(sqe);
    if (sgl.identifier == nvme::sgl::kInCapsuleDataBlock) {
        const uint64_t offset = sgl.address.get();  // into the in-capsule data
        if (offset > capsule.size() || capsule.size() - offset < length) {
            return complete(cid, nvme::status::kSglLengthInvalid);
        }
        std::memcpy(data, capsule.data() + offset, length);
        AtomicStats::add(context_.stats.writes);
        AtomicStats::add(context_.stats.bytes_written, length);
        return complete(cid, nvme::status::kSuccess);
    }
    const uint32_t slot = commands_.take(cid, Command::State::ReceivingData);
    if (slot == CommandTable::kNone) return complete(cid, nvme::status::kInternalError);  // queue overrun
    Command& command = *commands_.at(slot);
    command.destination = data;
    command.length = length;
    command.received = 0;
    command.status = nvme::status::kSuccess;
    send_r2t(slot);
}

void TargetConnection::send_r2t(uint32_t slot) {
    Command& command = *commands_.at(slot);
    uint32_t length = command.length - command.received;
    if (config_.r2t_split != 0) length = std::min(length, config_.r2t_split);
    command.r2t_end = command.received + length;
    // The slot is the TTAG: unique among this queue's outstanding R2Ts (one per command at a time).
    const R2TPdu r2t = make_r2t(command.cid, static_cast<uint16_t>(slot), command.received, length);
    uint8_t pdu[kHlenR2T + kDigestLen];
    outbox_.push_pdu({pdu, encode_pdu(pdu, r2t, {}, outbox_.send_params())});
    AtomicStats::add(context_.stats.r2ts);
}

void TargetConnection::on_h2c_data_end(const ParseEvent& event) {
    Command& command = *commands_.at(h2c_slot_);
    if (event.digest == DigestStatus::Mismatch) {
        // Fails this command only; the stream is intact, so the connection carries on.
        command.status = nvme::status::kTransientTransportError;
        AtomicStats::add(context_.stats.digest_errors);
    }
    command.received = h2c_datao_ + h2c_datal_;
    if (command.received < command.r2t_end) return;
    if (command.received < command.length && command.status.ok()) return send_r2t(h2c_slot_);
    if (command.status.ok()) {
        AtomicStats::add(context_.stats.writes);
        AtomicStats::add(context_.stats.bytes_written, command.length);
    }
    const uint16_t cid = command.cid;
    const nvme::Status status = command.status;
    commands_.release(h2c_slot_);
    complete(cid, status);
}

}  // namespace nvmeddp::nvmetcp::target
