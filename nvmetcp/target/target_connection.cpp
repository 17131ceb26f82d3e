#include "nvmetcp/target/target_connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "nvmetcp/pdu_encoder.hpp"
#include "nvmetcp/target/controller_model.hpp"

namespace nvmeddp::nvmetcp::target {
namespace {

constexpr size_t kRxBufferBytes = 256u << 10;
// Reading stops while more than this waits to be sent (a host that sends commands but does not
// read the answers); TCP then holds the host back.
constexpr uint64_t kMaxBacklog = 8u << 20;
constexpr int kReadsPerEvent = 8;  // then let other connections have their turn

ReceiveParams before_ic() {
    ReceiveParams params;
    params.role = Role::Controller;
    return params;
}

}  // namespace

TargetConnection::TargetConnection(int fd, uint64_t id, std::string peer, TargetContext& context)
    : context_(context),
      config_(context.config),
      fd_(fd),
      id_(id),
      peer_(std::move(peer)),
      parser_(before_ic(), true, this),
      outbox_(context.config.c2h_split, context.config.faults, context.stats,
              [this](uint32_t slot) { commands_.release(slot); }),
      rx_buffer_(kRxBufferBytes) {}

TargetConnection::~TargetConnection() {
    if (fd_ >= 0) ::close(fd_);
}

bool TargetConnection::wants_read() const noexcept {
    if (closed()) return false;
    return draining_ || (!stopping_ && !outbox_.stopping() && outbox_.backlog() < kMaxBacklog);
}

void TargetConnection::close(const std::string& reason) {
    if (fd_ < 0) return;
    ::close(fd_);
    fd_ = -1;
    context_.log("connection %llu from %s closed: %s", static_cast<unsigned long long>(id_), peer_.c_str(),
                 reason.c_str());
}

void TargetConnection::on_readable() {
    for (int i = 0; i < kReadsPerEvent && wants_read(); ++i) {
        const ssize_t n = ::recv(fd_, rx_buffer_.data(), rx_buffer_.size(), MSG_DONTWAIT);
        if (n > 0 && draining_) continue;  // the output ended: what the host still sends is dropped
        if (n > 0) {
            receive({rx_buffer_.data(), static_cast<size_t>(n)});
            if (closed()) return;
            continue;
        }
        if (n == 0) {
            close(draining_ ? stop_reason() + ", then the host closed the connection" : "the host closed the connection");
            return;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        close(std::string("receive failed: ") + std::strerror(errno));
        return;
    }
    send_output();
}

void TargetConnection::on_writable() { send_output(); }

void TargetConnection::send_output() {
    if (closed()) return;
    int error = 0;
    if (outbox_.transmit(fd_, &error) == Outbox::Io::Error) {
        close(std::string("send failed: ") + std::strerror(error));
        return;
    }
    if (outbox_.finished() && !draining_) drain();
}

std::string TargetConnection::stop_reason() const {
    return stop_reason_.empty() ? "fault injection stopped the output" : stop_reason_;
}

// The output ended (a TermReq or a fault), all of it handed to the kernel. A close() now, with bytes
// from the host still unread (the host pipelines commands and H2CData, and reading stopped), would
// make the kernel reset the connection and discard what it had not yet delivered, the TermReq with
// it: the host would see "connection reset" instead of the reason. So: FIN after the output, read
// and drop whatever the host still sends, and close once the host closes (bounded by kTermReqLinger
// in Target, through closing()).
void TargetConnection::drain() {
    draining_ = true;
    if (!stopping_) {
        stopping_ = true;
        stopping_since_ = std::chrono::steady_clock::now();
    }
    if (::shutdown(fd_, SHUT_WR) != 0) close(stop_reason() + " (shutdown: " + std::strerror(errno) + ")");
}

void TargetConnection::receive(std::span<const uint8_t> bytes) {
    for (;;) {
        const auto [consumed, event] = parser_.step(bytes);
        bytes = bytes.subspan(consumed);
        switch (event.kind) {
            case EventKind::NeedMore: return;
            case EventKind::Error: fatal(event.error, parser_.received_header()); return;
            case EventKind::Header: on_header(); break;
            case EventKind::Data: on_data(event); break;
            case EventKind::PduEnd: on_pdu_end(event); break;
        }
        if (closed() || stopping_) return;
    }
}

void TargetConnection::on_header() {
    const HeaderView& header = parser_.header();
    if (header.type() == PduType::CapsuleCmd) {
        capsule_sqe_ = header.as<CapsuleCmdPdu>().sqe;
        capsule_data_.clear();
        capsule_overflow_ = false;
    } else if (header.type() == PduType::H2CData) {
        // check_transfer() accepted it: its R2T is outstanding and it starts where the data stands.
        const auto& h2c = header.as<H2CDataPdu>();
        h2c_slot_ = h2c.ttag.get();
        h2c_datao_ = h2c.datao.get();
        h2c_datal_ = h2c.datal.get();
        AtomicStats::add(context_.stats.h2c_pdus);
        const bool ends_r2t = h2c_datao_ + h2c_datal_ == commands_.at(h2c_slot_)->r2t_end;
        if (ends_r2t != ((header.flags() & pdu_flags::kLastPdu) != 0)) {
            fatal(fatal_error(ErrorKind::BadFlags, Fes::InvalidHeaderField, ch_offset::kFlags), header.bytes());
        }
    }
}

void TargetConnection::on_data(const ParseEvent& event) {
    const PduType type = parser_.header().type();
    if (type == PduType::CapsuleCmd) {
        const uint32_t limit = connected_ && qid_ != 0 ? config_.in_capsule_data : kAdminInCapsuleData;
        if (capsule_data_.size() + event.data_len > limit) {
            capsule_overflow_ = true;
            return;
        }
        capsule_data_.insert(capsule_data_.end(), event.data, event.data + event.data_len);
    } else if (type == PduType::H2CData) {
        Command* command = commands_.at(h2c_slot_);
        std::memcpy(command->destination + h2c_datao_ + event.data_offset, event.data, event.data_len);
    }
}

void TargetConnection::on_pdu_end(const ParseEvent& event) {
    const HeaderView& header = parser_.header();
    switch (header.type()) {
        case PduType::ICReq:
            on_icreq();
            break;
        case PduType::CapsuleCmd: {
            const uint16_t cid = capsule_sqe_.cid.get();
            if (event.digest == DigestStatus::Mismatch) {
                AtomicStats::add(context_.stats.commands);
                AtomicStats::add(context_.stats.digest_errors);
                complete(cid, nvme::status::kTransientTransportError);
            } else if (capsule_overflow_) {
                AtomicStats::add(context_.stats.commands);
                complete(cid, nvme::status::kSglLengthInvalid);
            } else {
                execute(capsule_sqe_, capsule_data_);
            }
            break;
        }
        case PduType::H2CData:
            on_h2c_data_end(event);
            break;
        case PduType::H2CTermReq: {
            const auto& term = header.as<TermReqPdu>();
            AtomicStats::add(context_.stats.errors_received);
            char reason[128];
            std::snprintf(reason, sizeof reason, "the host sent an H2CTermReq: %s (FES %u), FEI %u",
                          to_string(static_cast<Fes>(term.fes.get())), term.fes.get(), term.fei.get());
            close(reason);
            break;
        }
        default:
            break;
    }
}

void TargetConnection::on_icreq() {
    const auto& icreq = parser_.header().as<ICReqPdu>();
    uint8_t digests = 0;
    if ((icreq.dgst & ic_digest::kHeader) && config_.allow_header_digest) digests |= ic_digest::kHeader;
    if ((icreq.dgst & ic_digest::kData) && config_.allow_data_digest) digests |= ic_digest::kData;

    uint8_t icresp[kHlenIc];
    encode_pdu(icresp, make_icresp(config_.cpda, digests, config_.maxh2cdata), {}, SendParams{});
    outbox_.push_pdu(icresp);

    const bool header_digest = digests & ic_digest::kHeader, data_digest = digests & ic_digest::kData;
    outbox_.set_send_params(SendParams{header_digest, data_digest, icreq.hpda});
    ReceiveParams params = before_ic();
    params.header_digest = header_digest;
    params.data_digest = data_digest;
    params.pda = config_.cpda;
    params.limits.maxh2cdata = config_.maxh2cdata;
    // Nothing larger than an in-capsule data section or an H2CData is taken (FES 5 otherwise).
    params.limits.max_data_len = std::max({config_.maxh2cdata, config_.in_capsule_data, kAdminInCapsuleData});
    parser_.set_params(params);
}

void TargetConnection::fatal(const ParseError& error, std::span<const uint8_t> header) {
    char text[160];
    describe(error, text, sizeof text);
    const auto error_data = header.first(std::min<size_t>(header.size(), kTermReqMaxErrorData));
    std::vector<uint8_t> pdu(kHlenTermReq + error_data.size());
    encode_pdu(pdu, make_term_req(PduType::C2HTermReq, error.fes, error.fei), error_data, outbox_.send_params());
    AtomicStats::add(context_.stats.errors_sent);
    outbox_.terminate(std::move(pdu));
    stopping_ = true;
    stopping_since_ = std::chrono::steady_clock::now();
    stop_reason_ = std::string("protocol error from the host, C2HTermReq sent: ") + text;
    send_output();
}

TargetConnection::Verdict TargetConnection::check_transfer(PduType type, uint16_t cccid, uint16_t tag,
                                                           uint32_t offset, uint32_t length) {
    if (type != PduType::H2CData) return Verdict::Ok;
    const Command* command = commands_.at(tag);
    if (command == nullptr || command->state != Command::State::ReceivingData || command->cid != cccid) {
        return Verdict::UnknownCommand;
    }
    if (offset != command->received) return Verdict::OffsetOutOfRange;  // H2CData come in order
    if (uint64_t{offset} + length > command->r2t_end) return Verdict::LengthOutOfRange;
    return Verdict::Ok;
}

Controller* TargetConnection::controller() noexcept {
    return connected_ ? context_.controllers.find(cntlid_) : nullptr;
}

void TargetConnection::execute(const NvmeSqe& sqe, std::span<const uint8_t> capsule) {
    AtomicStats::add(context_.stats.commands);
    if (!connected_ || qid_ == 0) AtomicStats::add(context_.stats.admin_commands);
    const uint16_t cid = sqe.cid.get();
    if (Controller* c = controller()) c->last_command = std::chrono::steady_clock::now();

    // Fabrics: no fused commands, and the data pointer is an SGL (PSDT 01b).
    constexpr uint8_t kFuseMask = 0x03, kPsdtMask = 0xC0;
    if ((sqe.flags & kFuseMask) != 0 || (sqe.flags & kPsdtMask) != nvme::kSqeFlagsSgl) {
        complete(cid, nvme::status::kInvalidField);
        return;
    }
    if (commands_.has_cid(cid)) {
        complete(cid, nvme::status::kCommandIdConflict);
        return;
    }
    if (sqe.opcode == nvme::admin_opcode::kFabrics) {
        fabrics_command(sqe, capsule);
    } else if (!connected_) {
        complete(cid, nvme::status::kCommandSequenceError);
    } else if (qid_ == 0) {
        admin_command(sqe);
    } else {
        io_command(sqe, capsule);
    }
}

std::vector<uint8_t> TargetConnection::completion_pdu(uint16_t cid, nvme::Status status, uint64_t result,
                                                      std::optional<uint16_t> sqhd) {
    NvmeCqe cqe;
    std::memset(&cqe, 0, sizeof cqe);
    cqe.dw0.set(static_cast<uint32_t>(result));
    cqe.dw1.set(static_cast<uint32_t>(result >> 32));
    if (!sqhd) {
        // With SQ flow control the head advances by one per command; without it the field means
        // nothing and stays 0 (the Connect response says 0xFFFF), as Linux nvmet does.
        if (!sq_flow_control_disabled_ && sq_size_ != 0) sqhd_ = (sqhd_ + 1) % sq_size_;
        sqhd = static_cast<uint16_t>(sq_flow_control_disabled_ ? 0 : sqhd_);
    }
    cqe.sqhd.set(*sqhd);
    cqe.sqid.set(qid_);
    cqe.cid.set(cid);
    nvme::set_status(cqe, status);
    std::vector<uint8_t> pdu(kHlenCapsuleResp + kDigestLen);
    pdu.resize(encode_pdu(pdu, make_capsule_resp(cqe), {}, outbox_.send_params()));
    return pdu;
}

void TargetConnection::complete(uint16_t cid, nvme::Status status, uint64_t result, std::optional<uint16_t> sqhd) {
    outbox_.push_pdu(completion_pdu(cid, status, result, sqhd));
}

void TargetConnection::send_to_host(uint16_t cid, std::span<const uint8_t> data, std::vector<uint8_t> owned) {
    const uint32_t slot = commands_.take(cid, Command::State::Sending);
    if (slot == CommandTable::kNone) {  // more commands than the queue has entries
        complete(cid, nvme::status::kInternalError);
        return;
    }
    const bool success = sq_flow_control_disabled_ && config_.send_success;
    std::vector<uint8_t> completion;
    if (!success) completion = completion_pdu(cid, nvme::status::kSuccess, 0, {});
    outbox_.push_data(cid, data, std::move(owned), success, std::move(completion), slot);
}

}  // namespace nvmeddp::nvmetcp::target
