// Controller I/O: every application command goes through one of the controller's slots, so that it
// can wait across a reconnect (parked, then sent again in order) instead of failing with the
// connection; see controller.hpp. No allocation: the slots and the parked lists are sized at
// construction. Each I/O queue has its own slots, touched only by the thread that has that queue.
#include "nvmetcp/host/controller.hpp"

namespace nvmeddp::nvmetcp::host {

SubmitResult Controller::submit_io(uint16_t index, const IoRequest& request) {
    const bool waits = recovering() && config_.requeue_io;
    if ((state_ != ControllerState::Ready && !waits) || shutting_down()) return SubmitResult::NotReady;
    if (index >= (state_ == ControllerState::Ready ? io_.size() : size_t{config_.io_queues})) return SubmitResult::Failed;
    if (request.done == nullptr) return SubmitResult::Failed;
    QueueSlots& qs = queue_slots_[index];
    if (qs.free.empty()) return SubmitResult::QueueFull;
    const uint32_t slot = qs.free.back();
    qs.free.pop_back();
    IoSlot& s = io_slots_[slot];
    s.request = request;
    s.index = index;
    s.in_use = true;
    if (waits || qs.has_parked()) {  // behind what already waits, in order
        qs.parked.push_back(slot);
        return SubmitResult::Ok;
    }
    const SubmitResult result = send_slot(slot);
    if (result != SubmitResult::Ok) release_slot(slot);
    return result;
}

SubmitResult Controller::send_slot(uint32_t slot) {
    IoSlot& s = io_slots_[slot];
    IoRequest request = s.request;
    request.done = &Controller::on_io_done;
    request.ctx = &s;
    // After a reconnect the controller may grant fewer queues than before. The slot stays in its own
    // queue's list; that queue's index is refused by submit_io from then on, so only the thread of the
    // queue it went to touches it.
    return io_[s.index % io_.size()].queue->submit(request);
}

void Controller::on_io_done(void* ctx, const Completion& completion) {
    IoSlot& s = *static_cast<IoSlot*>(ctx);
    Controller& self = *s.owner;
    const uint32_t slot = static_cast<uint32_t>(&s - self.io_slots_.data());
    // The transport lost it: with recovery configured it waits for the reconnect, unless the
    // controller is going away anyway.
    const bool recoverable = self.config_.reconnect_delay_ms != 0 || self.config_.ctrl_loss_tmo_ms != 0;
    if (completion.status == nvme::status::kHostPathError && recoverable && self.config_.requeue_io &&
        self.state_ != ControllerState::Failed && self.step_ != Step::Done && !self.shutting_down()) {
        self.slots_of(slot).parked.push_back(slot);
        return;
    }
    self.finish_slot(slot, completion);
}

// The slot is free again before the callback runs, so that the callback can submit again.
void Controller::finish_slot(uint32_t slot, const Completion& completion) {
    const IoSlot& s = io_slots_[slot];
    const CompletionFn done = s.request.done;
    void* const done_ctx = s.request.ctx;
    release_slot(slot);
    done(done_ctx, completion);
}

void Controller::resubmit_parked() {
    for (QueueSlots& qs : queue_slots_) {
        while (qs.has_parked() && state_ == ControllerState::Ready) {
            const uint32_t slot = qs.parked[qs.parked_head];
            const SubmitResult result = send_slot(slot);
            if (result == SubmitResult::QueueFull) break;  // the rest when commands complete
            ++qs.parked_head;
            if (result != SubmitResult::Ok)
                finish_slot(slot, Completion{0, nvme::status::kHostPathError, 0, 0,
                                             "could not be sent again after the reconnect", 0});
        }
        if (!qs.has_parked()) {
            qs.parked.clear();
            qs.parked_head = 0;
        }
    }
}

void Controller::fail_parked(const char* why) {
    for (QueueSlots& qs : queue_slots_) {
        while (qs.has_parked()) {
            finish_slot(qs.parked[qs.parked_head++], Completion{0, nvme::status::kHostPathError, 0, 0, why, 0});
        }
        qs.parked.clear();
        qs.parked_head = 0;
    }
}

bool Controller::any_parked() const noexcept {
    for (const QueueSlots& qs : queue_slots_) {
        if (qs.has_parked()) return true;
    }
    return false;
}

uint32_t Controller::waiting_io() const noexcept {
    size_t n = 0;
    for (const QueueSlots& qs : queue_slots_) n += qs.parked.size() - qs.parked_head;
    return static_cast<uint32_t>(n);
}

void Controller::release_slot(uint32_t slot) noexcept {
    io_slots_[slot].in_use = false;
    slots_of(slot).free.push_back(slot);
}

SubmitResult Controller::submit_blocks(uint16_t index, uint64_t slba, uint32_t nlb, std::span<const IoVec> data,
                                       CompletionFn done, void* ctx, bool write) {
    if (nlb == 0 || nlb > 65536) return SubmitResult::Failed;
    const uint64_t len = uint64_t{nlb} * block_size_;
    if (len > UINT32_MAX) return SubmitResult::TooLarge;
    IoRequest request;
    // A write's SGL (in capsule or not) is the queue's choice.
    request.sqe = write ? nvme::make_write(0, nsid_, slba, nlb, static_cast<uint32_t>(len), false)
                        : nvme::make_read(0, nsid_, slba, nlb, static_cast<uint32_t>(len));
    request.data = data;
    request.data_len = static_cast<uint32_t>(len);
    request.to_controller = write;
    request.done = done;
    request.ctx = ctx;
    return submit_io(index, request);
}

SubmitResult Controller::read(uint16_t index, uint64_t slba, uint32_t nlb, std::span<const IoVec> data,
                              CompletionFn done, void* ctx) {
    return submit_blocks(index, slba, nlb, data, done, ctx, false);
}

SubmitResult Controller::write(uint16_t index, uint64_t slba, uint32_t nlb, std::span<const IoVec> data,
                               CompletionFn done, void* ctx) {
    return submit_blocks(index, slba, nlb, data, done, ctx, true);
}

SubmitResult Controller::flush(uint16_t index, CompletionFn done, void* ctx) {
    IoRequest request;
    request.sqe = nvme::make_flush(0, nsid_);
    request.done = done;
    request.ctx = ctx;
    return submit_io(index, request);
}

}  // namespace nvmeddp::nvmetcp::host
