// The steering rules of our vdev NIC (net_nvmeddp): exact 5-tuple + priority -> rx queue, MARK,
// DROP, COUNT, as the rte_flow rules applications install. What a NIC's flow table does in hardware,
// here in software: rules change on the control path while lcores match frames against them.
//
//  * Matching is one lookup in a hash index of the keys (nic_key_index.hpp, lock-free for readers),
//    which holds, per key, the winning rule (the lowest priority number) and a copy of its action.
//    Rules that share a key are kept on the control side in a list sorted by priority; when the
//    winner goes, the next one is published in its place.
//  * Up to kMaxRules rules. Memory is allocated once, when the port is made; nothing on the match path.
//  * Rules are named by handles: a rule's index and its generation, which changes whenever the rule
//    is removed (destroy, flush, close). A handle of a removed rule never names a later rule in the
//    same slot. Each table starts its generations at its own epoch, so the handle of a port that was
//    closed does not name a rule of a port made later (unless one slot was reused 65536 times).
//  * COUNT: per-rule hit and byte counters, bumped by the matching lcores with relaxed atomic adds.
//    A matching lcore may bump a rule's counters a moment after the rule was removed; freed rule
//    slots are reused oldest-first (and never-used ones before any), so such a late add lands on the
//    removed rule, not on a rule created since, unless 65535 others were created in between.
#pragma once

#include <cstdint>
#include <mutex>

#include "pmd/net_nvmeddp/nic_key_index.hpp"
#include "pmd/net_nvmeddp/nic_rule_action.hpp"
#include "pmd/net_nvmeddp/nic_zeroed_array.hpp"
#include "pmd/packet/flow_key.hpp"

namespace nvmeddp::pmd {

struct NicRuleHandle {
    uint32_t index = 0;
    uint32_t generation = 0;  // never 0 for a handle add() gave
};

struct NicRuleCounts {
    uint64_t hits = 0;
    uint64_t bytes = 0;
};

class NicRuleTable {
public:
    static constexpr uint32_t kMaxRules = 65536;

    NicRuleTable();
    ~NicRuleTable();
    NicRuleTable(const NicRuleTable&) = delete;
    NicRuleTable& operator=(const NicRuleTable&) = delete;

    // Control path (any thread; serialised inside).
    // 0 with `handle` set; -EEXIST when a rule with the same key and priority exists; -ENOSPC when
    // the table is full; -ENOMEM when its memory could not be had at construction.
    int add(const NicRule& rule, NicRuleHandle& handle);
    // What add() would return, without adding.
    int check_add(const NicRule& rule) const;
    // False when the handle names no rule (removed already, flushed, or never given).
    bool remove(NicRuleHandle handle);
    // 0 with the counts (zeroed after reading when `reset`); -EINVAL for a handle naming no rule;
    // -ENOTSUP when the rule has no COUNT action.
    int query(NicRuleHandle handle, bool reset, NicRuleCounts& counts);
    void clear();
    uint32_t size() const;

    // Data path: the winning rule for the key, its counters bumped by one hit of `frame_bytes`.
    bool match(const FlowKey& key, uint32_t frame_bytes, NicRuleAction& action) const noexcept;

private:
    static constexpr uint32_t kNone = UINT32_MAX;

    // Control side only (under mutex_). All-zero is a slot never used (the arrays are ZeroedArrays:
    // a port pays for the slots it uses).
    struct Record {
        NicRule rule;
        uint32_t generation;  // 0: never used
        uint32_t next;        // the next rule with the same key (higher priority number), or kNone
        int pos;              // the key's entry in the index
        bool in_use;
    };
    // Written by matching lcores through std::atomic_ref (relaxed adds), read by query().
    struct alignas(16) Counter {
        uint64_t hits;
        uint64_t bytes;
    };

    bool valid(NicRuleHandle handle) const noexcept;
    int check_add_locked(const NicRule& rule, int& pos) const;
    void release(uint32_t index) noexcept;

    mutable std::mutex mutex_;
    NicKeyIndex index_;
    ZeroedArray<Record> records_{kMaxRules};
    ZeroedArray<Counter> counters_{kMaxRules};
    ZeroedArray<uint32_t> free_{kMaxRules};  // ring of freed slots, oldest first
    uint32_t free_head_ = 0, free_count_ = 0;
    uint32_t never_used_ = 0;  // slots [never_used_, kMaxRules) were never handed out
    uint32_t size_ = 0;
    uint32_t epoch_ = 1;  // this table's first generation
};

}  // namespace nvmeddp::pmd
