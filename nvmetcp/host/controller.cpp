// Controller bring-up, keep alive and shutdown as a step machine driven by poll(). Each admin command
// completes into result_ (from the queue's callback); poll() then takes the next step, so no step runs
// inside another's callback.
#include "nvmetcp/host/controller.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace nvmeddp::nvmetcp::host {
namespace {

constexpr uint16_t kAdminQueueDepth = 32;
constexpr uint32_t kAdminInCapsuleData = 8192;  // NVMe/TCP: the admin queue takes 8 KiB in capsule
constexpr uint32_t kMinReadyTimeoutMs = 500;    // CAP.TO 0 would give no time at all
constexpr uint32_t kRegisterPollIntervalMs = 1;

const char* step_name(int step) {
    static const char* const names[] = {
        "idle", "admin queue connect", "Property Get CAP", "Property Get VS", "Property Set CC.EN",
        "wait for CSTS.RDY", "Identify controller", "Identify active namespace list", "Identify namespace",
        "Set Features number of queues", "I/O queue connect", "running", "Property Set CC.SHN",
        "wait for CSTS.SHST", "done",
    };
    return step >= 0 && step < static_cast<int>(std::size(names)) ? names[step] : "unknown step";
}

std::string status_text(nvme::Status status, const std::string& reason) {
    if (!reason.empty()) return reason;
    char buf[96];
    return nvme::describe(status, buf, sizeof buf);
}

}  // namespace

const char* to_string(ControllerState state) noexcept {
    switch (state) {
        case ControllerState::Idle: return "idle";
        case ControllerState::Connecting: return "connecting";
        case ControllerState::Ready: return "ready";
        case ControllerState::Reconnecting: return "reconnecting";
        case ControllerState::Failed: return "failed";
    }
    return "unknown state";
}

std::string default_hostnqn(const uint8_t hostid[16]) {
    char text[80];
    const uint8_t* u = hostid;
    std::snprintf(text, sizeof text,
                  "nqn.2014-08.org.nvmexpress:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                  u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
    return text;
}

Controller::Controller(const ControllerConfig& config, TransportFactory& factory) : config_(config), factory_(factory) {
    if (config_.hostnqn.empty()) config_.hostnqn = default_hostnqn(config_.hostid);
    // Room for every queue full and as much again waiting for a reconnect: no allocation per I/O.
    const uint16_t queues = std::max<uint16_t>(config_.io_queues, 1);
    slots_per_queue_ = uint32_t{std::max<uint16_t>(config_.queue_depth, 1)} * 2;
    io_slots_.resize(size_t{queues} * slots_per_queue_);
    queue_slots_.resize(queues);
    for (uint32_t i = 0; i < io_slots_.size(); ++i) io_slots_[i].owner = this;
    for (uint16_t q = 0; q < queues; ++q) {
        QueueSlots& qs = queue_slots_[q];
        qs.free.reserve(slots_per_queue_);
        qs.parked.reserve(slots_per_queue_);
        for (uint32_t k = slots_per_queue_; k-- > 0;) qs.free.push_back(q * slots_per_queue_ + k);
    }
}

Controller::~Controller() {
    for (QueueHolder& holder : io_) {
        if (holder.transport != nullptr) factory_.release(holder.transport);
    }
    if (admin_.transport != nullptr) factory_.release(admin_.transport);
}

bool Controller::is_discovery() const noexcept { return config_.subnqn == nvme::kDiscoveryNqn; }

QueueConfig Controller::admin_queue_config() const {
    QueueConfig q;
    q.qid = 0;
    q.depth = kAdminQueueDepth;
    q.header_digest = config_.header_digest;
    q.data_digest = config_.data_digest;
    q.hpda = config_.hpda;
    q.kato_ms = config_.kato_ms;
    q.command_timeout_ms = config_.command_timeout_ms;
    q.in_capsule_data = kAdminInCapsuleData;
    q.subnqn = config_.subnqn;
    q.hostnqn = config_.hostnqn;
    std::memcpy(q.hostid, config_.hostid, sizeof q.hostid);
    q.cntlid = nvme::kDynamicCntlid;
    return q;
}

QueueConfig Controller::io_queue_config(uint16_t qid) const {
    QueueConfig q = admin_queue_config();
    q.qid = qid;
    q.depth = static_cast<uint16_t>(std::min<uint32_t>(config_.queue_depth, nvme::reg::cap_mqes(cap_) + 1));
    q.kato_ms = 0;
    q.disable_sq_flow_control = config_.disable_sq_flow_control;
    // IOCCSZ counts the 64-byte SQE in 16-byte units; the rest may carry write data in capsule.
    const uint32_t ioccsz = identify_.ioccsz.get();
    q.in_capsule_data = ioccsz > 4 ? ioccsz * 16 - 64 : 0;
    // MDTS is a power of two in units of the minimum page size (CAP.MPSMIN), 0 = no limit.
    const uint32_t mpsmin = static_cast<uint32_t>((cap_ >> 48) & 0xF);
    if (identify_.mdts != 0) {
        const uint64_t limit = (uint64_t{4096} << mpsmin) << identify_.mdts;
        q.max_data_len = static_cast<uint32_t>(std::min<uint64_t>(limit, q.max_data_len));
    }
    q.cntlid = admin_.queue->cntlid();
    return q;
}

bool Controller::open_queue(QueueHolder& holder, const QueueConfig& config, std::string* error) {
    holder.queue = std::make_unique<Queue>(config, nullptr);
    if (config.qid != 0) holder.queue->set_observer(config_.io_queue_observer);
    std::string why;
    holder.transport = factory_.open(config.qid, *holder.queue, &why);
    if (holder.transport == nullptr) {
        *error = "qid " + std::to_string(config.qid) + ": cannot open the connection: " + why;
        return false;
    }
    holder.queue->attach_transport(holder.transport);
    return true;
}

bool Controller::start(std::string* error) {
    std::string ignored;
    if (error == nullptr) error = &ignored;
    if (state_ != ControllerState::Idle || step_ != Step::None) {
        *error = "the controller was already started";
        return false;
    }
    state_ = ControllerState::Connecting;
    step_ = Step::AdminConnect;
    deadline_set_ = false;
    if (!open_queue(admin_, admin_queue_config(), error)) {
        fail("admin queue connect: " + *error);
        return false;
    }
    return true;
}

void Controller::poll(uint64_t now_ms) {
    now_ms_ = now_ms;
    if (admin_.queue) admin_.queue->poll(now_ms);
    if (!io_delegated_) {
        for (QueueHolder& holder : io_) holder.queue->poll(now_ms);
        if (shutdown_asked_) {  // asked while the queues were other threads': they are back
            shutdown_asked_ = false;
            shutdown();
        }
    }
    advance();
}

void Controller::poll_io(uint16_t index, uint64_t now_ms) {
    if (index >= io_.size()) return;
    Queue& queue = *io_[index].queue;
    queue.poll(now_ms);
    // Not Ready any more: the control thread takes the queues back and loses the controller. (A
    // controller that failed or was shut down has closed queues already: nothing to act on.)
    if (io_delegated_ && state_ == ControllerState::Ready && queue.state() != QueueState::Ready)
        io_trouble_.store(true, std::memory_order_release);
}

bool Controller::can_delegate_io() const noexcept {
    if (io_delegated_ || shutdown_asked_ || any_parked() || shutting_down()) return false;
    // Failed or shut down: the pollers get their (closed) queues back, so that their I/O fails in
    // their own threads and they can finish, instead of waiting in IoPollers::poll for ever.
    return (state_ == ControllerState::Ready && step_ == Step::Running) || state_ == ControllerState::Failed ||
           (state_ == ControllerState::Idle && step_ == Step::Done);
}

void Controller::delegate_io(bool delegated) noexcept {
    io_delegated_ = delegated;
    admin_wants_io_ = false;
    io_trouble_.store(false, std::memory_order_relaxed);
}

void Controller::give_up(const std::string& why) {
    if (io_delegated_ || state_ == ControllerState::Failed) return;
    failure_ = why;
    state_ = ControllerState::Failed;
    close_all(failure_.c_str());
    fail_parked(failure_.c_str());
}

void Controller::issue(Step step, const NvmeSqe& sqe, std::span<uint8_t> buffer) {
    step_ = step;
    buffer_iov_ = IoVec{buffer.data(), static_cast<uint32_t>(buffer.size())};
    IoRequest request;
    request.sqe = sqe;
    if (!buffer.empty()) request.data = std::span<const IoVec>(&buffer_iov_, 1);
    request.data_len = static_cast<uint32_t>(buffer.size());
    request.done = &Controller::on_admin_done;
    request.ctx = this;
    const SubmitResult result = admin_.queue->submit(request);
    if (result != SubmitResult::Ok) {
        fail(std::string(step_name(static_cast<int>(step))) + ": cannot submit: " + to_string(result));
        return;
    }
    command_outstanding_ = true;
}

void Controller::on_admin_done(void* ctx, const Completion& completion) {
    auto* self = static_cast<Controller*>(ctx);
    self->command_outstanding_ = false;
    self->result_.ready = true;
    self->result_.status = completion.status;
    self->result_.dw0 = completion.dw0;
    self->result_.dw1 = completion.dw1;
    self->result_.reason = completion.reason != nullptr ? completion.reason : "";
}

void Controller::on_keep_alive_done(void* ctx, const Completion& completion) {
    auto* self = static_cast<Controller*>(ctx);
    self->keep_alive_outstanding_ = false;
    if (!completion.status.ok()) self->keep_alive_failure_ = status_text(completion.status, completion.reason ? completion.reason : "");
}

void Controller::advance() {
    if (recovering() && step_ == Step::None) {  // between reconnect attempts
        // The old queues go only once nothing of theirs is outstanding: a read whose teardown the
        // offload device finishes later completes (and parks) from their poll first.
        const bool idle = (admin_.queue == nullptr || admin_.queue->outstanding() == 0) && io_outstanding() == 0;
        if (now_ms_ >= next_attempt_ms_ && idle) start_attempt();
        return;
    }
    if (state_ == ControllerState::Failed || step_ == Step::None || step_ == Step::Done) return;
    if (result_.ready) {
        result_.ready = false;
        on_result();
        if (state_ == ControllerState::Failed || step_ == Step::Done) return;
    }
    auto deadline_passed = [this](uint64_t bound_ms) {
        if (!deadline_set_) {
            step_deadline_ms_ = now_ms_ + bound_ms;
            deadline_set_ = true;
        }
        return now_ms_ >= step_deadline_ms_;
    };
    switch (step_) {
        case Step::AdminConnect: {
            Queue& admin = *admin_.queue;
            if (admin.state() == QueueState::Ready) {
                deadline_set_ = false;
                issue(Step::GetCap, nvme::make_property_get(0, nvme::reg::kCap, true));
            } else if (admin.state() == QueueState::Failed || admin.state() == QueueState::Closed) {
                fail(std::string("admin queue connect: ") + (admin.failure() ? admin.failure() : "queue closed"));
            } else if (deadline_passed(config_.connect_timeout_ms)) {
                fail("admin queue connect: not connected within " + std::to_string(config_.connect_timeout_ms) +
                     " ms (queue " + to_string(admin.state()) + ")");
            }
            break;
        }
        case Step::WaitReady:
        case Step::ShutdownWait:
            // After a "not yet", the register is read again once the poll interval has passed.
            if (!command_outstanding_ && now_ms_ >= retry_at_ms_) {
                issue(step_, nvme::make_property_get(0, nvme::reg::kCsts, false));
            }
            break;
        case Step::IoConnect:
            check_io_connect();
            break;
        case Step::Running: {
            if (io_delegated_) {  // the I/O queues are other threads': ask for them, and act once back
                if (admin_.queue->state() != QueueState::Ready || !keep_alive_failure_.empty()) admin_wants_io_ = true;
                else keep_alive();
                break;
            }
            if (admin_.queue->state() != QueueState::Ready) {
                lose(std::string("admin queue: ") + (admin_.queue->failure() ? admin_.queue->failure() : "not ready"));
                break;
            }
            for (QueueHolder& holder : io_) {
                if (holder.queue->state() != QueueState::Ready) {
                    lose("I/O queue qid " + std::to_string(holder.queue->qid()) + ": " +
                         (holder.queue->failure() ? holder.queue->failure() : "not ready"));
                    return;
                }
            }
            if (!keep_alive_failure_.empty()) {
                lose("Keep Alive: " + keep_alive_failure_);
                break;
            }
            if (any_parked()) resubmit_parked();
            keep_alive();
            break;
        }
        default:
            break;
    }
}

void Controller::on_result() {
    const AdminResult r = result_;
    const Step step = step_;
    const std::string name = step_name(static_cast<int>(step));
    const bool shutting = step == Step::ShutdownSetCc || step == Step::ShutdownWait;
    if (!r.status.ok() && step != Step::ActiveNamespaces) {
        if (shutting) {  // the controller will not say it is done: close anyway, and say why
            failure_ = name + ": " + status_text(r.status, r.reason);
            close_all("controller shutdown");
            step_ = Step::Done;
            state_ = ControllerState::Idle;
            return;
        }
        fail(name + ": " + status_text(r.status, r.reason));
        return;
    }
    switch (step) {
        case Step::GetCap:
            cap_ = uint64_t{r.dw1} << 32 | r.dw0;
            issue(Step::GetVs, nvme::make_property_get(0, nvme::reg::kVs, false));
            break;
        case Step::GetVs:
            vs_ = r.dw0;
            issue(Step::EnableCc, nvme::make_property_set(0, nvme::reg::kCc, nvme::reg::kCcEnableValue, false));
            break;
        case Step::EnableCc:
            step_deadline_ms_ = now_ms_ + std::max(nvme::reg::cap_timeout_ms(cap_), kMinReadyTimeoutMs);
            deadline_set_ = true;
            issue(Step::WaitReady, nvme::make_property_get(0, nvme::reg::kCsts, false));
            break;
        case Step::WaitReady:
            if (r.dw0 & nvme::reg::kCstsFatal) {
                fail(name + ": the controller reports a fatal status (CSTS.CFS)");
            } else if (r.dw0 & nvme::reg::kCstsReady) {
                deadline_set_ = false;
                issue(Step::IdentifyController, nvme::make_identify(0, nvme::cns::kController, 0),
                      {reinterpret_cast<uint8_t*>(&identify_), sizeof identify_});
            } else if (now_ms_ >= step_deadline_ms_) {
                fail(name + ": CSTS.RDY not set within " +
                     std::to_string(std::max(nvme::reg::cap_timeout_ms(cap_), kMinReadyTimeoutMs)) + " ms (CAP.TO " +
                     std::to_string(nvme::reg::cap_timeout_ms(cap_)) + " ms)");
            } else {
                retry_at_ms_ = now_ms_ + kRegisterPollIntervalMs;
            }
            break;
        case Step::IdentifyController:
            if (is_discovery()) {
                state_ = ControllerState::Ready;
                step_ = Step::Running;
                next_keep_alive_ms_ = now_ms_ + config_.kato_ms / 2;
                break;
            }
            issue(Step::ActiveNamespaces, nvme::make_identify(0, nvme::cns::kActiveNamespaces, 0),
                  {reinterpret_cast<uint8_t*>(active_namespaces_), sizeof active_namespaces_});
            break;
        case Step::ActiveNamespaces: {
            // A controller without the list (an error status) still has namespace 1, if any.
            const uint32_t first = load_le32(reinterpret_cast<const uint8_t*>(active_namespaces_));
            nsid_ = r.status.ok() && first != 0 ? first : 1;
            if (config_.nsid != 0) {
                if (r.status.ok() && !namespace_active(config_.nsid)) {
                    fail(name + ": namespace " + std::to_string(config_.nsid) + " is not active on " + config_.subnqn +
                         " (active: " + active_namespace_text() + ")");
                    break;
                }
                nsid_ = config_.nsid;
            }
            issue(Step::IdentifyNamespace, nvme::make_identify(0, nvme::cns::kNamespace, nsid_),
                  {reinterpret_cast<uint8_t*>(&namespace_), sizeof namespace_});
            break;
        }
        case Step::IdentifyNamespace: {
            block_size_ = nvme::block_size(namespace_);
            namespace_blocks_ = namespace_.nsze.get();
            if (block_size_ == 0) {
                fail(name + ": namespace " + std::to_string(nsid_) + " has no usable LBA format");
                break;
            }
            if (config_.io_queues == 0) {
                open_io_queues(0);
                break;
            }
            const uint32_t wanted = config_.io_queues - 1u;  // 0's based
            issue(Step::SetQueueCount, nvme::make_set_features(0, nvme::feature::kNumberOfQueues, wanted | wanted << 16));
            break;
        }
        case Step::SetQueueCount: {
            const uint32_t granted = std::min({uint32_t{config_.io_queues}, (r.dw0 & 0xFFFF) + 1, (r.dw0 >> 16) + 1});
            open_io_queues(granted);
            break;
        }
        case Step::ShutdownSetCc:
            step_deadline_ms_ = now_ms_ + kShutdownTimeoutMs;
            deadline_set_ = true;
            issue(Step::ShutdownWait, nvme::make_property_get(0, nvme::reg::kCsts, false));
            break;
        case Step::ShutdownWait:
            if ((r.dw0 & nvme::reg::kCstsShstMask) == nvme::reg::kCstsShstComplete || now_ms_ >= step_deadline_ms_) {
                if ((r.dw0 & nvme::reg::kCstsShstMask) != nvme::reg::kCstsShstComplete) {
                    failure_ = name + ": shutdown not complete within " + std::to_string(kShutdownTimeoutMs) + " ms";
                }
                close_all("controller shutdown");
                step_ = Step::Done;
                state_ = ControllerState::Idle;
            } else {
                retry_at_ms_ = now_ms_ + kRegisterPollIntervalMs;
            }
            break;
        default:
            break;
    }
}

QueueStats Controller::io_stats() const {
    QueueStats sum = retired_io_stats_;
    for (const QueueHolder& holder : io_) sum += holder.queue->stats();
    return sum;
}

bool Controller::namespace_active(uint32_t nsid) const noexcept {
    for (uint32_t i = 0; i < std::size(active_namespaces_); ++i) {
        const uint32_t id = load_le32(reinterpret_cast<const uint8_t*>(&active_namespaces_[i]));
        if (id == 0) return false;  // the list ends at the first 0
        if (id == nsid) return true;
    }
    return false;
}

std::string Controller::active_namespace_text() const {
    std::string text;
    for (uint32_t i = 0; i < std::size(active_namespaces_); ++i) {
        const uint32_t id = load_le32(reinterpret_cast<const uint8_t*>(&active_namespaces_[i]));
        if (id == 0) break;
        if (i == 8) {
            text += ", ...";
            break;
        }
        text += (text.empty() ? "" : ", ") + std::to_string(id);
    }
    return text.empty() ? "none" : text;
}

void Controller::open_io_queues(uint32_t granted) {
    step_ = Step::IoConnect;
    deadline_set_ = false;
    io_.reserve(granted);
    for (uint32_t i = 0; i < granted; ++i) {
        io_.emplace_back();
        std::string error;
        if (!open_queue(io_.back(), io_queue_config(static_cast<uint16_t>(i + 1)), &error)) {
            fail("I/O queue connect: " + error);
            return;
        }
    }
    check_io_connect();
}

void Controller::check_io_connect() {
    bool all_ready = true;
    for (QueueHolder& holder : io_) {
        const QueueState s = holder.queue->state();
        if (s == QueueState::Failed || s == QueueState::Closed) {
            fail("I/O queue qid " + std::to_string(holder.queue->qid()) + " connect: " +
                 (holder.queue->failure() ? holder.queue->failure() : "queue closed"));
            return;
        }
        all_ready = all_ready && s == QueueState::Ready;
    }
    if (all_ready) {
        if (recovering()) ++reconnects_;
        state_ = ControllerState::Ready;
        step_ = Step::Running;
        next_keep_alive_ms_ = now_ms_ + config_.kato_ms / 2;
        resubmit_parked();  // what waited for the reconnect goes first
        return;
    }
    if (!deadline_set_) {
        step_deadline_ms_ = now_ms_ + config_.connect_timeout_ms;
        deadline_set_ = true;
    } else if (now_ms_ >= step_deadline_ms_) {
        fail("I/O queue connect: not all queues connected within " + std::to_string(config_.connect_timeout_ms) + " ms");
    }
}

void Controller::keep_alive() {
    if (config_.kato_ms == 0 || keep_alive_outstanding_ || now_ms_ < next_keep_alive_ms_) return;
    next_keep_alive_ms_ = now_ms_ + config_.kato_ms / 2;
    IoRequest request;
    request.sqe = nvme::make_keep_alive(0);
    request.done = &Controller::on_keep_alive_done;
    request.ctx = this;
    if (admin_.queue->submit(request) == SubmitResult::Ok) keep_alive_outstanding_ = true;
}

void Controller::fail(const std::string& why) {
    if (state_ == ControllerState::Failed) return;
    if (recovering()) {
        // A reconnect attempt failed: the next one after the delay, unless ctrl_loss_tmo has passed.
        failure_ = "reconnect attempt " + std::to_string(attempts_) + ": " + why;
        close_all(failure_.c_str());
        step_ = Step::None;
        next_attempt_ms_ = now_ms_ + config_.reconnect_delay_ms;
        if (config_.ctrl_loss_tmo_ms == 0 || next_attempt_ms_ < lost_at_ms_ + config_.ctrl_loss_tmo_ms) return;
        failure_ = "controller lost (" + last_loss_ + ") and not back within ctrl_loss_tmo " +
                   std::to_string(config_.ctrl_loss_tmo_ms) + " ms; last attempt: " + why;
    } else {
        failure_ = why;
    }
    state_ = ControllerState::Failed;
    close_all(failure_.c_str());
    fail_parked(failure_.c_str());
}

// The controller was Ready and is not any more. With recovery configured, its queues go (and the
// offload's connections with them), and reconnect attempts follow from advance(); otherwise it fails.
void Controller::lose(const std::string& why) {
    ++losses_;
    last_loss_ = why;
    if (config_.reconnect_delay_ms == 0 && config_.ctrl_loss_tmo_ms == 0) {
        fail(why);
        return;
    }
    state_ = ControllerState::Reconnecting;
    failure_ = "lost: " + why;
    lost_at_ms_ = now_ms_;
    attempts_ = 0;
    close_all(failure_.c_str());  // what is outstanding parks in on_io_done (or fails: requeue_io off)
    step_ = Step::None;
    next_attempt_ms_ = now_ms_ + config_.reconnect_delay_ms;
}

// One reconnect attempt: new connections for every queue, then the whole bring-up (the controller
// may have restarted: CAP, Identify and the queue count are read again).
void Controller::start_attempt() {
    for (QueueHolder& holder : io_) {
        retired_io_stats_ += holder.queue->stats();
        if (holder.transport != nullptr) factory_.release(holder.transport);
    }
    io_.clear();
    if (admin_.transport != nullptr) factory_.release(admin_.transport);
    admin_ = QueueHolder{};
    command_outstanding_ = false;
    keep_alive_outstanding_ = false;
    keep_alive_failure_.clear();
    result_ = AdminResult{};
    deadline_set_ = false;
    ++attempts_;
    step_ = Step::AdminConnect;
    std::string error;
    if (!open_queue(admin_, admin_queue_config(), &error)) fail("admin queue connect: " + error);
}

void Controller::close_all(const char* why) {
    for (QueueHolder& holder : io_) {
        if (holder.queue) holder.queue->close(why);
    }
    if (admin_.queue) admin_.queue->close(why);
}

void Controller::shutdown() {
    if (io_delegated_) {  // the I/O queues are other threads': shut down once they are back (poll())
        admin_wants_io_ = true;
        shutdown_asked_ = true;
        return;
    }
    if (recovering() && step_ == Step::None) {  // between reconnect attempts: nothing to tell the controller
        step_ = Step::Done;
        state_ = ControllerState::Idle;
        close_all("controller shutdown");
        fail_parked("controller shutdown");
        return;
    }
    if (shutting_down() || step_ == Step::Done || step_ == Step::None) return;
    fail_parked("controller shutdown");
    for (QueueHolder& holder : io_) holder.queue->close("controller shutdown");
    if (state_ == ControllerState::Ready && admin_.queue->state() == QueueState::Ready && !command_outstanding_) {
        const uint32_t cc = (nvme::reg::kCcEnableValue & ~nvme::reg::kCcShnMask) | nvme::reg::kCcShnNormal;
        issue(Step::ShutdownSetCc, nvme::make_property_set(0, nvme::reg::kCc, cc, false));
        return;
    }
    close_all("controller shutdown");
    step_ = Step::Done;
    if (state_ != ControllerState::Failed) state_ = ControllerState::Idle;
}

}  // namespace nvmeddp::nvmetcp::host
