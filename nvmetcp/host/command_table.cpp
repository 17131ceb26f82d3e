#include "nvmetcp/host/command_table.hpp"

namespace nvmeddp::nvmetcp::host {

CommandTable::CommandTable(uint16_t depth) : slots_(depth == 0 ? 1 : (depth == kNone ? kNone - 1 : depth)) {
    // Lowest cid first: commands of an idle queue reuse the same few slots (warm in cache).
    for (size_t i = slots_.size(); i-- > 0;) {
        slots_[i].next_free = free_head_;
        free_head_ = static_cast<uint16_t>(i);
    }
}

bool CommandTable::take(uint16_t& cid) noexcept {
    if (free_head_ == kNone) return false;
    cid = free_head_;
    CommandSlot& slot = slots_[cid];
    free_head_ = slot.next_free;
    ++in_use_;
    return true;
}

void CommandTable::release(uint16_t cid) noexcept {
    CommandSlot& slot = slots_[cid];
    slot.phase = CommandSlot::Phase::Free;
    slot.next_free = free_head_;
    free_head_ = cid;
    --in_use_;
}

}  // namespace nvmeddp::nvmetcp::host
