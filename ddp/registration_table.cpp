#include "ddp/registration_table.hpp"

#include <bit>

namespace nvmeddp::ddp {

const char* to_string(RegState state) noexcept {
    switch (state) {
        case RegState::Free: return "free";
        case RegState::Registered: return "registered";
        case RegState::InUse: return "in use";
        case RegState::TornDown: return "torn down";
    }
    return "unknown";
}

RegistrationTable::RegistrationTable(uint16_t queue_depth, bool full_cid_range)
    : capacity_(std::bit_ceil(size_t{queue_depth == 0 ? 1u : queue_depth})),
      mask_(static_cast<uint32_t>(capacity_ - 1)),
      queue_depth_(queue_depth),
      full_cid_range_(full_cid_range) {
    slots_ = std::make_unique<Registration[]>(capacity_);
}

Status RegistrationTable::check_free(uint16_t cid) const noexcept {
    if (!in_range(cid)) return Status::CommandIdOutOfRange;
    switch (state_of(slot(cid).word_.load(std::memory_order_relaxed))) {
        case RegState::Free: return Status::Ok;
        case RegState::TornDown: return Status::TeardownPending;
        case RegState::Registered:
        case RegState::InUse: break;
    }
    return Status::CommandIdBusy;
}

void RegistrationTable::fill(uint16_t cid, std::span<const BufferSegment> segments, uint64_t total_len,
                             std::optional<uint32_t> last_header) noexcept {
    Registration& r = slot(cid);
    r.cid_ = cid;
    r.segments_ = segments.data();
    r.segment_count_ = static_cast<uint32_t>(segments.size());
    r.total_len_ = static_cast<uint32_t>(total_len);  // validated: at most max_io_size, 32 bits
    r.setup_seq_known_ = last_header.has_value();
    r.setup_seq_ = last_header.value_or(0);
    r.host_filled_.store(0, std::memory_order_relaxed);
    r.device_written_ = 0;
    r.completed_ = false;
    r.completed_seq_ = 0;
}

void RegistrationTable::publish(uint16_t cid) noexcept {
    Registration& r = slot(cid);
    const uint32_t w = r.word_.load(std::memory_order_relaxed);
    // A new generation per registration: an engine Claim on an earlier one never matches again.
    r.word_.store(with_state(w + Registration::kGenerationUnit, RegState::Registered), std::memory_order_release);
}

Status RegistrationTable::retire(uint16_t cid) noexcept {
    if (!in_range(cid)) return Status::CommandIdOutOfRange;
    Registration& r = slot(cid);
    uint32_t w = r.word_.load(std::memory_order_relaxed);
    for (;;) {
        const RegState s = state_of(w);
        if (s == RegState::Free || r.cid_ != cid) return Status::NotRegistered;
        if (s == RegState::TornDown) return Status::AlreadyTornDown;
        // Registered or InUse; the engine may turn Registered into InUse meanwhile, hence the loop.
        // seq_cst: ordered against the engine's reads of the word (QuiescentGate's argument).
        if (r.word_.compare_exchange_weak(w, with_state(w, RegState::TornDown), std::memory_order_seq_cst,
                                          std::memory_order_relaxed)) {
            return Status::Ok;
        }
    }
}

void RegistrationTable::release(uint16_t cid) noexcept {
    Registration& r = slot(cid);
    const uint32_t w = r.word_.load(std::memory_order_relaxed);
    r.word_.store(with_state(w, RegState::Free), std::memory_order_relaxed);
}

RegState RegistrationTable::state(uint16_t cid) const noexcept {
    const Registration& r = slot(cid);
    const uint32_t w = r.word_.load(std::memory_order_acquire);
    if (state_of(w) != RegState::Free && r.cid_ != cid) return RegState::Free;  // slot holds another id
    return state_of(w);
}

RegistrationTable::Claim RegistrationTable::live(uint16_t cid) const noexcept {
    const Registration& r = slot(cid);
    const uint32_t w = r.word_.load(std::memory_order_seq_cst);
    const RegState s = state_of(w);
    if ((s != RegState::Registered && s != RegState::InUse) || r.cid_ != cid) return {};
    return Claim{&r, w};
}

RegistrationTable::Claim RegistrationTable::claim(uint16_t cid) noexcept {
    Registration& r = slot(cid);
    uint32_t w = r.word_.load(std::memory_order_seq_cst);
    for (;;) {
        const RegState s = state_of(w);
        if (s != RegState::Registered && s != RegState::InUse) return {};
        // The word says live, so cid_ is stable for this burst. Under full_cid_range another id may
        // hold the slot; then this command id is simply not registered.
        if (r.cid_ != cid) return {};
        if (s == RegState::InUse) return Claim{&r, w};
        const uint32_t in_use = with_state(w, RegState::InUse);
        if (r.word_.compare_exchange_weak(w, in_use, std::memory_order_seq_cst, std::memory_order_seq_cst)) {
            return Claim{&r, in_use};
        }
        // The host changed the word (teardown) or the CAS failed spuriously: look again.
    }
}

}  // namespace nvmeddp::ddp
