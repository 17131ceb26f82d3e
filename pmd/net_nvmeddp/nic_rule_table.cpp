#include "pmd/net_nvmeddp/nic_rule_table.hpp"

namespace nvmeddp::pmd {

void NicRuleTable::write(Slot& s, bool active, const FlowKey& key, const NicRuleAction& a) noexcept {
    const uint32_t seq = s.seq.load(std::memory_order_relaxed);
    s.seq.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    for (size_t i = 0; i < 5; ++i) s.key[i].store(key.word(i), std::memory_order_relaxed);
    s.queue.store((a.has_queue ? 0x80000000u : 0) | a.queue, std::memory_order_relaxed);
    s.mark.store(a.mark, std::memory_order_relaxed);
    s.has_mark.store(a.has_mark, std::memory_order_relaxed);
    s.active.store(active, std::memory_order_relaxed);
    s.seq.store(seq + 2, std::memory_order_release);
}

int NicRuleTable::add(const FlowKey& key, const NicRuleAction& action) {
    std::lock_guard lock(mutex_);
    for (uint32_t i = 0; i < kMaxRules; ++i) {
        if (slots_[i].active.load(std::memory_order_relaxed)) continue;
        write(slots_[i], true, key, action);
        if (i >= used_.load(std::memory_order_relaxed)) used_.store(i + 1, std::memory_order_release);
        return static_cast<int>(i);
    }
    return -1;
}

bool NicRuleTable::remove(int slot) {
    std::lock_guard lock(mutex_);
    if (slot < 0 || static_cast<uint32_t>(slot) >= kMaxRules || !slots_[slot].active.load(std::memory_order_relaxed)) {
        return false;
    }
    write(slots_[slot], false, FlowKey{}, NicRuleAction{});
    return true;
}

void NicRuleTable::clear() {
    std::lock_guard lock(mutex_);
    for (auto& s : slots_) {
        if (s.active.load(std::memory_order_relaxed)) write(s, false, FlowKey{}, NicRuleAction{});
    }
}

uint32_t NicRuleTable::size() const {
    std::lock_guard lock(mutex_);
    uint32_t n = 0;
    for (const auto& s : slots_) n += s.active.load(std::memory_order_relaxed) ? 1 : 0;
    return n;
}

bool NicRuleTable::match(const FlowKey& key, NicRuleAction& action) const noexcept {
    const uint32_t used = used_.load(std::memory_order_acquire);
    for (uint32_t i = 0; i < used; ++i) {
        const Slot& s = slots_[i];
        const uint32_t before = s.seq.load(std::memory_order_acquire);
        if ((before & 1) != 0 || !s.active.load(std::memory_order_relaxed)) continue;
        bool equal = true;
        for (size_t w = 0; w < 5 && equal; ++w) equal = s.key[w].load(std::memory_order_relaxed) == key.word(w);
        if (!equal) continue;
        const uint32_t q = s.queue.load(std::memory_order_relaxed);
        NicRuleAction a{(q & 0x80000000u) != 0, static_cast<uint16_t>(q), s.has_mark.load(std::memory_order_relaxed),
                        s.mark.load(std::memory_order_relaxed)};
        std::atomic_thread_fence(std::memory_order_acquire);
        if (s.seq.load(std::memory_order_relaxed) != before) continue;  // changed while read: not this rule
        action = a;
        return true;
    }
    return false;
}

}  // namespace nvmeddp::pmd
