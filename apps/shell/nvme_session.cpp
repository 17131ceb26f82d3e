#include "nvme_session.hpp"

#include <chrono>

#include "tcp/addresses.hpp"

namespace nvmeddp::shell {

using nvmetcp::host::ControllerState;

uint64_t now_ms() noexcept {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

struct NvmeSession::PendingIo {
    std::vector<uint8_t> buffer;
    nvmetcp::host::IoVec iov{};
    bool done = false;
    bool abandoned = false;  // its wait timed out: freed when the queue completes it (or at disconnect)
    bool ok = false;
    std::string failure;
};

std::unique_ptr<NvmeSession> NvmeSession::connect(nvmetcp::host::HostStack& stack, const ConnectRequest& request,
                                                  unsigned timeout_s, std::string* error) {
    const auto remote = tcp::IpAddress::parse(request.traddr);
    if (!remote) {
        *error = "'" + request.traddr + "' is not an IPv4 or IPv6 address";
        return nullptr;
    }
    std::unique_ptr<NvmeSession> s(new NvmeSession(stack, timeout_s));
    s->request_ = request;
    nvmetcp::host::ControllerConfig cc;
    cc.subnqn = request.subnqn;
    if (!request.hostnqn.empty()) cc.hostnqn = request.hostnqn;
    cc.io_queues = request.io_queues;
    cc.header_digest = request.header_digest;
    cc.data_digest = request.data_digest;
    if (ddp::Device* device = stack.device()) {
        // The endpoint receives on the port's queue 0: the connections arrive there.
        s->offload_ = std::make_unique<nvmetcp::host::DdpOffload>(*device, 0);
        cc.io_queue_observer = s->offload_.get();
    }
    s->factory_ = stack.transports_to(*remote, request.trsvcid);
    s->controller_ = std::make_unique<nvmetcp::host::Controller>(cc, *s->factory_);
    std::string err;
    if (!s->controller_->start(&err)) {
        *error = "cannot start: " + err;
        s->disconnect(nullptr);
        return nullptr;
    }
    const uint64_t deadline = now_ms() + s->timeout_ms_;
    while (s->controller_->state() == ControllerState::Connecting && now_ms() < deadline) s->pump();
    if (s->controller_->state() != ControllerState::Ready) {
        *error = s->controller_->state() == ControllerState::Connecting
                     ? "no answer within " + std::to_string(timeout_s) + " s"
                     : s->controller_->failure();
        s->disconnect(nullptr);
        return nullptr;
    }
    return s;
}

NvmeSession::NvmeSession(nvmetcp::host::HostStack& stack, unsigned timeout_s)
    : stack_(stack), timeout_ms_(timeout_s * 1000ull) {}

NvmeSession::~NvmeSession() { disconnect(nullptr); }

void NvmeSession::pump() {
    stack_.poll();
    if (controller_) controller_->poll(now_ms());
    reap();
}

void NvmeSession::reap() {
    std::erase_if(pending_, [](const std::unique_ptr<PendingIo>& p) { return p->done && p->abandoned; });
}

void NvmeSession::on_done(void* ctx, const nvmetcp::host::Completion& completion) {
    auto* p = static_cast<PendingIo*>(ctx);
    p->done = true;
    p->ok = completion.status.ok();
    if (!p->ok) {
        char text[128];
        p->failure = nvmetcp::nvme::describe(completion.status, text, sizeof text);
        if (completion.reason != nullptr) p->failure += std::string(": ") + completion.reason;
    }
}

IoOutcome NvmeSession::io(bool write, uint64_t lba, uint32_t blocks, uint16_t qid, const std::vector<uint8_t>& data) {
    IoOutcome out;
    auto refuse = [&out](std::string why) {
        out.completed = true;
        out.failure = std::move(why);
        return out;
    };
    nvmetcp::host::Controller& c = *controller_;
    if (c.state() != ControllerState::Ready) return refuse(std::string("the controller is ") + to_string(c.state()));
    if (qid < 1 || qid > c.io_queue_count()) {
        return refuse("qid " + std::to_string(qid) + " is not an I/O queue (1.." + std::to_string(c.io_queue_count()) + ")");
    }
    const uint64_t bytes = uint64_t{blocks} * c.block_size();
    if (blocks == 0 || bytes > (4u << 20)) {
        return refuse("blocks must be 1.." + std::to_string((4u << 20) / c.block_size()) + " (up to 4 MiB)");
    }
    if (lba >= c.namespace_blocks() || blocks > c.namespace_blocks() - lba) {
        return refuse("beyond the namespace (" + std::to_string(c.namespace_blocks()) + " blocks)");
    }
    if (write && data.size() != bytes) return refuse("internal: write data is not the I/O's size");
    auto pending = std::make_unique<PendingIo>();
    PendingIo* p = pending.get();
    p->buffer = write ? data : std::vector<uint8_t>(bytes);
    p->iov = {p->buffer.data(), static_cast<uint32_t>(bytes)};
    const uint16_t index = static_cast<uint16_t>(qid - 1);
    const nvmetcp::host::QueueStats before = c.io_queue(index).stats();
    const std::span<const nvmetcp::host::IoVec> iov(&p->iov, 1);
    const auto result = write ? c.write(index, lba, blocks, iov, &NvmeSession::on_done, p)
                              : c.read(index, lba, blocks, iov, &NvmeSession::on_done, p);
    if (result != nvmetcp::host::SubmitResult::Ok) return refuse(std::string("not submitted: ") + to_string(result));
    pending_.push_back(std::move(pending));
    const uint64_t deadline = now_ms() + timeout_ms_;
    while (!p->done && now_ms() < deadline) pump();
    if (!p->done) {
        p->abandoned = true;  // the queue still owns the buffer; freed once it completes
        return out;
    }
    out.completed = true;
    out.ok = p->ok;
    out.failure = p->failure;
    const nvmetcp::host::QueueStats& after = c.io_queue(index).stats();
    out.bytes_placed = after.bytes_placed - before.bytes_placed;
    out.bytes_copied = after.bytes_copied - before.bytes_copied;
    if (!write) out.data = std::move(p->buffer);
    std::erase_if(pending_, [p](const std::unique_ptr<PendingIo>& q) { return q.get() == p; });
    return out;
}

void NvmeSession::disconnect(std::vector<std::string>* report) {
    if (closed_) return;
    closed_ = true;
    auto say = [report](std::string line) {
        if (report != nullptr) report->push_back(std::move(line));
    };
    if (controller_) {
        controller_->shutdown();
        // The controller bounds its own wait (kShutdownTimeoutMs); ours is a second fence.
        const uint64_t deadline = now_ms() + nvmetcp::host::Controller::kShutdownTimeoutMs + 1000;
        while (controller_->state() != ControllerState::Idle && controller_->state() != ControllerState::Failed &&
               now_ms() < deadline)
            pump();
        if (controller_->state() != ControllerState::Idle) {
            say(std::string("the controller did not shut down cleanly (") + to_string(controller_->state()) + ")");
        } else {
            say("controller shut down");
        }
    }
    controller_.reset();  // releases the transports: the connections start closing
    factory_.reset();
    pending_.clear();     // nothing refers to the buffers any more
    // As HostStack::stop_polling does: FIN both ways for a moment, then RST to what is left.
    const uint64_t linger = now_ms() + 1000;
    while (stack_.active_connections() > 0 && now_ms() < linger) stack_.poll();
    if (const uint32_t left = stack_.active_connections(); left > 0) {
        stack_.abort_all();
        stack_.poll();
        say(std::to_string(left) + " connection(s) did not finish closing within 1 s and were reset");
    }
    if (offload_) {
        offload_.reset();  // sk_del of every connection still offloaded
        ddp::Device* device = stack_.device();
        const uint64_t deadline = now_ms() + 1000;
        while (device != nullptr && device->connection_count() > 0 && now_ms() < deadline) {
            stack_.poll();
            device->poll_all();
        }
        if (device != nullptr && device->connection_count() > 0) {
            say(std::to_string(device->connection_count()) + " connection(s) still on the device after 1 s");
        }
    }
}

}  // namespace nvmeddp::shell
