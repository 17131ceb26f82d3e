#include "nvmetcp/target/command_table.hpp"

namespace nvmeddp::nvmetcp::target {

uint32_t CommandTable::take(uint16_t cid, Command::State state) {
    const auto n = static_cast<uint32_t>(slots_.size());
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t slot = (next_free_hint_ + i) % n;
        if (slots_[slot].state != Command::State::Free) continue;
        slots_[slot] = Command{};
        slots_[slot].state = state;
        slots_[slot].cid = cid;
        cids_[cid] = slot;
        next_free_hint_ = (slot + 1) % n;
        return slot;
    }
    return kNone;
}

void CommandTable::release(uint32_t slot) {
    if (slot >= slots_.size() || slots_[slot].state == Command::State::Free) return;
    cids_.erase(slots_[slot].cid);
    slots_[slot].state = Command::State::Free;
}

size_t CommandTable::count(Command::State state) const noexcept {
    size_t n = 0;
    for (const auto& c : slots_) n += c.state == state;
    return n;
}

}  // namespace nvmeddp::nvmetcp::target
