#include "pmd/net_nvmeddp/nic_rule_table.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>

namespace nvmeddp::pmd {

namespace {

// Each table's generations start 65536 apart (see the header: stale handles of closed ports).
std::atomic<uint32_t> g_next_epoch{1};

uint32_t take_epoch() noexcept {
    const uint32_t e = g_next_epoch.fetch_add(0x10000, std::memory_order_relaxed);
    return e == 0 ? 1 : e;
}

// Unpredictable slot positions (FlowKey::hash): time and epoch, hashed by the key's own mixer.
uint64_t take_seed(uint32_t epoch) noexcept {
    const auto now = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    return now * 0x9E3779B97F4A7C15ull ^ (uint64_t{epoch} << 17);
}

uint32_t next_generation(uint32_t g) noexcept { return g + 1 == 0 ? 1 : g + 1; }

}  // namespace

NicRuleTable::NicRuleTable()
    : index_(take_seed(g_next_epoch.load(std::memory_order_relaxed))), epoch_(take_epoch()) {}

NicRuleTable::~NicRuleTable() = default;

bool NicRuleTable::valid(NicRuleHandle handle) const noexcept {
    if (!records_.ok() || handle.index >= kMaxRules || handle.generation == 0) return false;
    const Record& r = records_[handle.index];
    return r.in_use && r.generation == handle.generation;
}

int NicRuleTable::check_add_locked(const NicRule& rule, int& pos) const {
    pos = -1;
    if (!index_.ok() || !records_.ok() || !counters_.ok() || !free_.ok()) return -ENOMEM;
    pos = index_.find(rule.key);
    if (pos >= 0) {
        for (uint32_t i = index_.value_at(pos).rule; i != kNone; i = records_[i].next) {
            if (records_[i].rule.priority == rule.priority) return -EEXIST;
        }
    }
    if (size_ == kMaxRules) return -ENOSPC;
    return 0;
}

int NicRuleTable::check_add(const NicRule& rule) const {
    std::lock_guard lock(mutex_);
    int pos = -1;
    return check_add_locked(rule, pos);
}

int NicRuleTable::add(const NicRule& rule, NicRuleHandle& handle) {
    std::lock_guard lock(mutex_);
    int pos = -1;
    if (int rc = check_add_locked(rule, pos); rc != 0) return rc;

    // The oldest freed slot, or one never used (see the header on late counter adds).
    uint32_t index = kNone;
    if (never_used_ < kMaxRules) {
        index = never_used_;
    } else {
        index = free_[free_head_];
    }
    Record& r = records_[index];
    // Zeroed before the rule is published: the index entry's release store orders it for readers.
    std::atomic_ref<uint64_t>(counters_[index].hits).store(0, std::memory_order_relaxed);
    std::atomic_ref<uint64_t>(counters_[index].bytes).store(0, std::memory_order_relaxed);
    const NicIndexedRule published{index, rule.action};
    if (pos < 0) {
        pos = index_.insert(rule.key, published);
        if (pos < 0) return -ENOSPC;  // no free entry within the key's probe sequence: as good as full
        r.next = kNone;
    } else {
        // Into the key's list, sorted by priority; published when it is the new winner.
        const uint32_t head = index_.value_at(pos).rule;
        if (rule.priority < records_[head].rule.priority) {
            r.next = head;
            index_.set(pos, published);
        } else {
            uint32_t before = head;
            while (records_[before].next != kNone && records_[records_[before].next].rule.priority < rule.priority) {
                before = records_[before].next;
            }
            r.next = records_[before].next;
            records_[before].next = index;
        }
    }
    if (index == never_used_) {
        ++never_used_;
    } else {
        free_head_ = (free_head_ + 1) % kMaxRules;
        --free_count_;
    }
    r.rule = rule;
    r.pos = pos;
    r.in_use = true;
    if (r.generation == 0) r.generation = epoch_;
    ++size_;
    handle = {index, r.generation};
    return 0;
}

// The slot goes to the back of the free ring; its handles stop naming anything.
void NicRuleTable::release(uint32_t index) noexcept {
    Record& r = records_[index];
    r.in_use = false;
    r.generation = next_generation(r.generation);
    free_[(free_head_ + free_count_) % kMaxRules] = index;
    ++free_count_;
    --size_;
}

bool NicRuleTable::remove(NicRuleHandle handle) {
    std::lock_guard lock(mutex_);
    if (!valid(handle)) return false;
    const uint32_t index = handle.index;
    Record& r = records_[index];
    const uint32_t head = index_.value_at(r.pos).rule;
    if (head == index) {
        if (r.next == kNone) {
            index_.erase(r.pos);
        } else {
            index_.set(r.pos, NicIndexedRule{r.next, records_[r.next].rule.action});
        }
    } else {
        uint32_t before = head;
        while (records_[before].next != index) before = records_[before].next;
        records_[before].next = r.next;
    }
    release(index);
    return true;
}

int NicRuleTable::query(NicRuleHandle handle, bool reset, NicRuleCounts& counts) {
    std::lock_guard lock(mutex_);
    if (!valid(handle)) return -EINVAL;
    if (!records_[handle.index].rule.action.count) return -ENOTSUP;
    // Hits and bytes are two words: a frame matched between the two reads is in one and not yet the
    // other (it shows in the next query), as with a NIC's counters read one register at a time.
    std::atomic_ref<uint64_t> hits(counters_[handle.index].hits);
    std::atomic_ref<uint64_t> bytes(counters_[handle.index].bytes);
    counts.hits = reset ? hits.exchange(0, std::memory_order_relaxed) : hits.load(std::memory_order_relaxed);
    counts.bytes = reset ? bytes.exchange(0, std::memory_order_relaxed) : bytes.load(std::memory_order_relaxed);
    return 0;
}

void NicRuleTable::clear() {
    std::lock_guard lock(mutex_);
    if (!records_.ok() || !index_.ok()) return;
    index_.clear();
    for (uint32_t i = 0; i < never_used_; ++i) {
        if (records_[i].in_use) release(i);
    }
}

uint32_t NicRuleTable::size() const {
    std::lock_guard lock(mutex_);
    return size_;
}

bool NicRuleTable::match(const FlowKey& key, uint32_t frame_bytes, NicRuleAction& action) const noexcept {
    if (!index_.ok() || !counters_.ok()) return false;
    NicIndexedRule found;
    if (!index_.lookup(key, found)) return false;
    if (found.action.count) {
        std::atomic_ref<uint64_t>(counters_[found.rule].hits).fetch_add(1, std::memory_order_relaxed);
        std::atomic_ref<uint64_t>(counters_[found.rule].bytes).fetch_add(frame_bytes, std::memory_order_relaxed);
    }
    action = found.action;
    return true;
}

}  // namespace nvmeddp::pmd
