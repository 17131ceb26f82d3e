// Queue lifecycle: IC start, Connect, submission, completion, timeouts and failure.
#include "nvmetcp/host/queue.hpp"

#include <cstdarg>
#include <cstdio>
#include <new>

#include "nvmetcp/host/ddp_receive.hpp"

namespace nvmeddp::nvmetcp::host {
namespace {

// Every pending item at once: the ICReq, per command its CapsuleCmd and up to MAXR2T+1 R2T transfers.
size_t send_ring_capacity(const QueueConfig& config) {
    const size_t depth = config.depth == 0 ? 1 : config.depth;
    return 1 + depth * (1 + size_t{config.maxr2t} + 1);
}

ReceiveParams initial_receive_params(const QueueConfig& config) {
    ReceiveParams params;
    params.role = Role::Host;
    // The validator bounds every C2HData by its command's length, which submit bounds by max_data_len.
    params.limits.max_data_len = config.max_data_len;
    return params;
}

}  // namespace

const char* to_string(SubmitResult result) noexcept {
    switch (result) {
        case SubmitResult::Ok: return "ok";
        case SubmitResult::QueueFull: return "queue full";
        case SubmitResult::NotReady: return "queue not ready";
        case SubmitResult::TooLarge: return "transfer too large";
        case SubmitResult::Failed: return "submission refused";
    }
    return "unknown submit result";
}

const char* to_string(QueueState state) noexcept {
    switch (state) {
        case QueueState::Idle: return "idle";
        case QueueState::IcSent: return "ICReq sent";
        case QueueState::Connecting: return "connecting";
        case QueueState::Ready: return "ready";
        case QueueState::Failed: return "failed";
        case QueueState::Closed: return "closed";
    }
    return "unknown state";
}

Queue::Queue(const QueueConfig& config, QueueTransport* transport)
    : config_(config),
      transport_(transport),
      commands_(config.depth),
      ring_(send_ring_capacity(config)),
      parser_(initial_receive_params(config), true, nullptr) {
    parser_.set_validator(this);
}

void Queue::attach_transport(QueueTransport* transport) noexcept {
    transport_ = transport;
    if (transport_ != nullptr && connected_before_attach_) {
        connected_before_attach_ = false;
        on_transport_connected();
    }
}

bool Queue::live() const noexcept {
    return state_ == QueueState::Idle || state_ == QueueState::IcSent || state_ == QueueState::Connecting ||
           state_ == QueueState::Ready;
}

uint32_t Queue::outstanding() const noexcept { return commands_.in_use() - internal_outstanding_; }

void Queue::on_transport_connected() {
    if (transport_ == nullptr) {
        connected_before_attach_ = true;  // the factory reported it from inside open()
        return;
    }
    if (state_ != QueueState::Idle) return;
    state_ = QueueState::IcSent;
    ic_deadline_ms_ = 0;
    ring_.push(SendItem{SendItem::Kind::IcReq, 0, 0, 0, 0});
    pump_sends();
}

void Queue::on_transport_writable() {
    if (live()) pump_sends();
}

void Queue::on_transport_closed(const char* why) {
    if (!live()) return;
    const char* reason = why != nullptr ? why : "no reason given";
    if (state_ == QueueState::IcSent) {
        // A controller that will not take the ICReq may close without an ICResp or a C2HTermReq:
        // Linux's nvmet-tcp (6.1) does so for any HPDA but 0 (it only logs "unsupported hpda").
        // Name the parameters asked, so the failure points at them rather than at the network.
        fail("connection closed before the ICResp: the controller refused the ICReq (asked HPDA %u, "
             "header digest %s, data digest %s; Linux nvmet-tcp takes HPDA 0 only): %s",
             static_cast<unsigned>(config_.hpda), config_.header_digest ? "on" : "off",
             config_.data_digest ? "on" : "off", reason);
        return;
    }
    fail("connection closed: %s", reason);
}

void Queue::close(const char* why) {
    if (!live()) return;
    std::snprintf(failure_, sizeof failure_, "queue closed by the host: %s", why != nullptr ? why : "no reason given");
    finish_failure(QueueState::Closed);
}

SubmitResult Queue::submit(const IoRequest& request, uint16_t* cid_out) {
    if (state_ != QueueState::Ready) return SubmitResult::NotReady;
    return enqueue(request, false, cid_out);
}

SubmitResult Queue::enqueue(const IoRequest& request, bool internal, uint16_t* cid_out) {
    if (request.data_len > config_.max_data_len) return SubmitResult::TooLarge;
    if (request.done == nullptr) return SubmitResult::Failed;
    uint64_t covered = 0;
    // An entry counts for at most 4 GiB - 1 bytes (a command's most), so the sum of 64-bit lengths cannot wrap.
    for (const IoVec& v : request.data) covered += std::min<uint64_t>(v.len, UINT32_MAX);
    if (covered < request.data_len) return SubmitResult::Failed;

    uint16_t cid = 0;
    if (!commands_.take(cid)) return SubmitResult::QueueFull;
    CommandSlot& slot = commands_[cid];
    slot.to_controller = request.to_controller;
    // The Connect data always travels in capsule (its 1024 bytes fit every controller's capsule).
    slot.in_capsule = request.to_controller && request.data_len > 0 &&
                      (internal || request.data_len <= config_.in_capsule_data);
    slot.internal = internal;
    slot.data = request.data;
    slot.data_len = request.data_len;
    slot.done = request.done;
    slot.ctx = request.ctx;
    slot.timeout_ms = request.timeout_ms != 0 ? request.timeout_ms : config_.command_timeout_ms;
    slot.deadline_ms = 0;
    slot.c2h_next = 0;
    slot.bytes = 0;
    slot.rx_at = IoVecCursor::Position{};
    slot.r2t_next = 0;
    slot.r2ts_in_progress = 0;
    slot.sends_pending = 0;
    slot.response_received = false;
    slot.digest_error = false;
    slot.data_missing = false;
    slot.teardown_pending = false;

    // Its cid and data pointer are the queue's: written when the capsule is staged (KeptSqe).
    NvmeSqe sqe = request.sqe;
    sqe.flags = static_cast<uint8_t>((sqe.flags & 0x3F) | nvme::kSqeFlagsSgl);
    slot.sqe.keep(sqe);

    if (!request.to_controller && request.data_len > 0 && !observer_->before_send_read(*this, cid, request)) {
        commands_.release(cid);
        return SubmitResult::Failed;
    }
    if (!ring_.push(SendItem{SendItem::Kind::Capsule, cid, 0, 0, 0})) {  // sized for this: cannot happen
        commands_.release(cid);
        return SubmitResult::Failed;
    }
    // Registered before its capsule can go out (pump_sends() below): the device must know the buffer
    // before the first C2HData of the command can arrive. After every way to refuse the submission,
    // so that no buffer handed back as Failed stays registered. Refused (below the device's
    // threshold, too many segments, ...): the host copies as without the offload.
    if (offload_ != nullptr && !request.to_controller && request.data_len > 0 && !internal)
        offload_->setup(cid, request.data, request.data_len);
    slot.phase = CommandSlot::Phase::Queued;
    slot.sends_pending = 1;
    if (internal) ++internal_outstanding_;
    ++stats_.commands;
    if (cid_out != nullptr) *cid_out = cid;
    pump_sends();
    return SubmitResult::Ok;
}

void Queue::submit_connect() {
    connect_data_.reset(new (std::nothrow) nvme::ConnectData{});
    if (!connect_data_) {
        fail("Connect (qid %u): no memory for its data", config_.qid);
        return;
    }
    connect_iov_ = IoVec{reinterpret_cast<uint8_t*>(connect_data_.get()), sizeof(nvme::ConnectData)};
    if (!nvme::make_connect_data(*connect_data_, config_.subnqn.c_str(), config_.hostnqn.c_str(), config_.hostid,
                                 config_.cntlid)) {
        fail("Connect (qid %u): subsystem or host NQN longer than 255 characters", config_.qid);
        return;
    }
    IoRequest request;
    request.sqe = nvme::make_connect(0, config_.qid, commands_.depth(), config_.kato_ms, config_.disable_sq_flow_control);
    request.data = std::span<const IoVec>(&connect_iov_, 1);
    request.data_len = sizeof(nvme::ConnectData);
    request.to_controller = true;
    request.done = &Queue::on_connect_done;
    request.ctx = this;
    const SubmitResult result = enqueue(request, true, &connect_cid_);
    if (result != SubmitResult::Ok) fail("Connect (qid %u) could not be queued: %s", config_.qid, to_string(result));
}

void Queue::on_connect_done(void* ctx, const Completion& completion) {
    auto* queue = static_cast<Queue*>(ctx);
    if (!queue->live()) return;  // the queue failed; failure() already says why
    if (!completion.status.ok()) {
        char status[96];
        queue->fail("Connect (qid %u) failed: %s", queue->config_.qid,
                    completion.reason != nullptr ? completion.reason : nvme::describe(completion.status, status, sizeof status));
        return;
    }
    queue->cntlid_ = static_cast<uint16_t>(completion.dw0 & 0xFFFF);
    queue->state_ = QueueState::Ready;
    // Completed, so every PDU of it is out (complete_when_sent()): nothing refers to the data now.
    queue->connect_data_.reset();
    queue->connect_iov_ = IoVec{};
}

// A response for a command some of whose PDUs are still queued (the controller failed a write before
// taking all its data): the unstarted PDUs are dropped, the one on the wire is finished, then it
// completes.
void Queue::complete_when_sent(uint16_t cid, nvme::Status status, uint32_t dw0, uint32_t dw1) {
    CommandSlot& slot = commands_[cid];
    if (slot.sends_pending > 0) {
        slot.response_received = true;
        // A command waiting for its teardown completes with what it holds already (complete() would
        // return at once): its held record is not the response's to take.
        if (!slot.teardown_pending) slot.hold(status, dw0, dw1, nullptr);
        // A PDU of it not begun never will be; the pump drops its queued items and then completes it.
        if (out_.active && out_.sent == 0 && out_.cid == cid && out_.kind == SendItem::Kind::H2CData) out_.active = false;
        pump_sends();
        return;
    }
    complete(cid, status, dw0, nullptr, dw1);
}

void Queue::complete(uint16_t cid, nvme::Status status, uint32_t dw0, const char* reason, uint32_t dw1) {
    CommandSlot& slot = commands_[cid];
    if (slot.teardown_pending) return;  // completing already, once the device lets go of the buffer
    if (slot.digest_error && status.ok()) {
        status = nvme::status::kTransientTransportError;  // the data is not what the controller sent
        reason = nullptr;  // deliver_completion() writes the sentence
    }
    if (status.ok() && slot.bytes != slot.data_len) {
        // A command's whole transfer takes place before its response (the controller sends all of a
        // read's data, asks for all of a write's), and the SGL the host sent describes exactly that
        // transfer: a success with data missing would hand back a read's buffer with bytes nobody
        // wrote, or report a write's data stored that never left the host.
        status = nvme::status::kDataTransferError;
        slot.data_missing = true;
        reason = nullptr;  // deliver_completion() writes the sentence
    }
    // The buffer is the application's again only once the device can no longer write into it. Asked
    // of every command, not only registered() ones: after DdpReceive::remove() a registration is
    // no longer registered() but the device may not have let go of its buffer yet (InProgress).
    if (offload_ != nullptr) {
        slot.hold(status, dw0, dw1, reason);
        if (offload_->teardown(cid) == ddp::Status::InProgress) {
            slot.teardown_pending = true;
            return;
        }
    }
    deliver_completion(cid, status, dw0, reason, dw1);
}

void Queue::set_offload(DdpReceive* offload) noexcept {
    offload_ = offload;
    if (offload != nullptr) offload->set_teardown_done(&Queue::on_teardown_done, this);
}

void Queue::on_teardown_done(void* arg, uint16_t cid) {
    auto* queue = static_cast<Queue*>(arg);
    CommandSlot& slot = queue->commands_[cid];
    if (!slot.teardown_pending) return;
    slot.teardown_pending = false;
    queue->deliver_completion(cid, slot.held_status, slot.held_dw0, slot.held_reason, slot.held_dw1);
}

void Queue::deliver_completion(uint16_t cid, nvme::Status status, uint32_t dw0, const char* reason, uint32_t dw1) {
    CommandSlot& slot = commands_[cid];
    observer_->before_complete(*this, cid);
    if (reason == nullptr && slot.digest_error && status == nvme::status::kTransientTransportError) {
        std::snprintf(data_reason_, sizeof data_reason_, "data digest mismatch in C2HData at datao %u",
                      slot.digest_error_datao);
        reason = data_reason_;
    }
    if (reason == nullptr && slot.data_missing) {
        std::snprintf(data_reason_, sizeof data_reason_, "success after %u of its %u bytes of data", slot.bytes,
                      slot.data_len);
        reason = data_reason_;
    }
    const Completion completion{cid, status, dw0, slot.bytes, reason, dw1};
    const CompletionFn done = slot.done;
    void* const ctx = slot.ctx;
    if (slot.internal) --internal_outstanding_;
    // Freed before the callback, so that the callback can submit again up to the full depth (the
    // reason text is the queue's, not the slot's).
    commands_.release(cid);
    ++stats_.completions;
    if (!status.ok()) ++stats_.errors;
    done(ctx, completion);
}

void Queue::fail(const char* fmt, ...) {
    if (!live()) return;
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(failure_, sizeof failure_, fmt, args);
    va_end(args);
    finish_failure(QueueState::Failed);
}

void Queue::finish_failure(QueueState final_state) {
    state_ = final_state;
    ring_.clear();
    out_.active = false;
    if (transport_ != nullptr) transport_->close();
    for (uint16_t cid = 0; cid < commands_.depth(); ++cid) {
        if (commands_[cid].phase != CommandSlot::Phase::Free) complete(cid, nvme::status::kHostPathError, 0, failure_);
    }
    observer_->on_closed(*this);
}


void Queue::poll(uint64_t now_ms) {
    now_ms_ = now_ms;
    if (offload_ != nullptr) offload_->poll();  // asynchronous teardowns complete their commands here
    if (!live()) return;
    // Deadlines are in milliseconds: one walk over the slots per millisecond is enough, however
    // often the application polls.
    if (now_ms != last_timeout_check_ms_) {
        last_timeout_check_ms_ = now_ms;
        check_timeouts(now_ms);
    }
    if (live()) pump_sends();
}

// Deadlines are stamped at the first poll() after a command is queued: submit() has no clock.
void Queue::check_timeouts(uint64_t now_ms) {
    if (state_ == QueueState::IcSent) {
        if (ic_deadline_ms_ == 0) {
            ic_deadline_ms_ = now_ms + config_.command_timeout_ms;
        } else if (now_ms >= ic_deadline_ms_) {
            fail("no ICResp within %u ms", config_.command_timeout_ms);
            return;
        }
    }
    for (uint16_t cid = 0; cid < commands_.depth(); ++cid) {
        CommandSlot& slot = commands_[cid];
        if (slot.phase == CommandSlot::Phase::Free || slot.teardown_pending) continue;
        if (slot.deadline_ms == 0) {
            slot.deadline_ms = now_ms + slot.timeout_ms;
            continue;
        }
        if (now_ms < slot.deadline_ms) continue;
        // The controller may still send this command's data or response at any time: the stream can no
        // longer be trusted, so the whole queue goes (as Linux does with error recovery).
        ++stats_.timeouts;
        const uint8_t opcode = slot.sqe.opcode();
        std::snprintf(timeout_reason_, sizeof timeout_reason_, "command cid %u (opcode 0x%02x) timed out after %u ms",
                      cid, opcode, slot.timeout_ms);
        // Where the command and the stream stood: what tells a lost segment (the stream stalled
        // mid-PDU) from a controller that never answered (the stream at a PDU boundary).
        char where[96];
        if (parser_.at_pdu_boundary()) {
            std::snprintf(where, sizeof where, "at a PDU boundary");
        } else {
            std::snprintf(where, sizeof where, "mid-PDU (the last whole header began at byte %llu)",
                          static_cast<unsigned long long>(rx_pdu_offset_));
        }
        std::snprintf(failure_, sizeof failure_,
                      "command cid %u (opcode 0x%02x) timed out after %u ms: the queue's stream is in an unknown state "
                      "(the command: %s, %u of %u data bytes, %s; the stream: %llu bytes received, %s)",
                      cid, opcode, slot.timeout_ms, slot.phase == CommandSlot::Phase::Sent ? "sent" : "not yet sent",
                      slot.bytes, slot.data_len, slot.response_received ? "response received" : "no response",
                      static_cast<unsigned long long>(parser_.stream_offset()), where);
        state_ = QueueState::Failed;
        complete(cid, nvme::status::kHostAbortedCommand, 0, timeout_reason_);
        finish_failure(QueueState::Failed);
        return;
    }
}

}  // namespace nvmeddp::nvmetcp::host
