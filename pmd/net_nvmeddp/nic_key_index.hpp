// The rule table's lookup structure: FlowKey -> the rule that wins for that key (its index in the
// table and a copy of its action), in O(1), read by lcores matching frames without any lock while
// the control path changes it. nic_rule_table.hpp builds rules, priorities and handles on top.
//
// Open addressing with linear probing, 2^17 entries for at most 65536 keys (load <= 1/2), every
// probe sequence at most kMaxProbe entries long. Why this is safe for lock-free readers:
//
//  * Each entry is a seqlock: the writer makes its sequence odd, writes, makes it even again; a reader
//    that sees an odd sequence, or a different one after reading, reads the entry again. So no reader
//    ever acts on a half-written entry (a key of one rule with the action of another).
//  * An entry is Empty, Live (a key) or a Tombstone (a key removed). Readers stop at Empty; a key
//    is inserted at the first Empty or Tombstone of its probe sequence; so between a key's home and
//    its position there is never an Empty entry (the invariant every lookup relies on).
//  * Removing a key leaves a Tombstone, except where the next entry is Empty: then it and the
//    Tombstones right before it become Empty. No live key's probe sequence crosses those entries
//    (it would have to cross the Empty one after them too), so a reader looking for a key that
//    stays in the table always finds it, whatever the writer does meanwhile. A reader looking for
//    a key being added or removed sees it or not, as a NIC updating its table would.
//  * Entries never move, and the memory is never freed while the port exists: there is nothing a
//    reader could be left holding. One writer at a time (the rule table's mutex).
//
// The entries are a ZeroedArray (a port pays for the pages its rules touch, not 8 MiB), read and
// written through std::atomic_ref.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pmd/net_nvmeddp/nic_rule_action.hpp"
#include "pmd/net_nvmeddp/nic_zeroed_array.hpp"
#include "pmd/packet/flow_key.hpp"

namespace nvmeddp::pmd {

// What a lookup finds: the winning rule's index (for its counters) and what it does.
struct NicIndexedRule {
    uint32_t rule = 0;
    NicRuleAction action;
};

class NicKeyIndex {
public:
    static constexpr uint32_t kEntries = 1u << 17;
    static constexpr uint32_t kMaxProbe = 128;  // a longer sequence is refused at insertion

    explicit NicKeyIndex(uint64_t seed);
    NicKeyIndex(const NicKeyIndex&) = delete;
    NicKeyIndex& operator=(const NicKeyIndex&) = delete;

    bool ok() const noexcept { return entries_.ok(); }  // false when the memory was refused

    // Writer side (one writer at a time). find: the key's position, or -1. insert (the key must not
    // be present): its position, or -1 when its probe sequence has no free entry.
    int find(const FlowKey& key) const noexcept;
    int insert(const FlowKey& key, const NicIndexedRule& value) noexcept;
    NicIndexedRule value_at(int pos) const noexcept;
    void set(int pos, const NicIndexedRule& value) noexcept;
    void erase(int pos) noexcept;
    void clear() noexcept;

    // Reader side, any number of lcores, no lock. A key that stays in the table is always found; a
    // key being written right now (added, removed, given a new winner) may be missed.
    bool lookup(const FlowKey& key, NicIndexedRule& out) const noexcept;

private:
    enum State : uint32_t { kEmpty = 0, kLive = 1, kTombstone = 2 };

    // 64 bytes: one cache line per entry.
    struct alignas(64) Entry {
        uint32_t seq;    // odd while being written
        uint32_t state;  // State
        uint64_t key[5];
        uint64_t value[2];  // packed NicIndexedRule
    };
    static_assert(sizeof(Entry) == 64);

    uint32_t home(const FlowKey& key) const noexcept;
    void write(Entry& e, State state, const FlowKey& key, const NicIndexedRule& value) noexcept;
    State state_of(uint32_t pos) const noexcept;
    bool key_equals(const Entry& e, const FlowKey& key) const noexcept;

    ZeroedArray<Entry> entries_{kEntries};  // all zero: every entry Empty
    uint64_t seed_ = 0;
};

}  // namespace nvmeddp::pmd
