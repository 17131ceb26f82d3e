// The steering rules of our vdev NIC (net_nvmeddp): exact 5-tuple -> rx queue and/or MARK, as the
// rte_flow rules the offload installs. What a NIC's flow table does in hardware, here in software:
// rules change on the control path while lcores match packets against them, so each slot is a
// seqlock (a rule read while it changes is read again, never half-read) and matching takes no lock.
//
// Matching scans the slots in use: fine for a test NIC with tens of connections, not a design for
// thousands (a real NIC, or the offload's own FlowClassifier, hashes).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "pmd/packet/flow_key.hpp"

namespace nvmeddp::pmd {

struct NicRuleAction {
    bool has_queue = false;
    uint16_t queue = 0;
    bool has_mark = false;
    uint32_t mark = 0;
    bool drop = false;  // DROP: the frame is freed (and counted) instead of delivered
};

class NicRuleTable {
public:
    static constexpr uint32_t kMaxRules = 1024;

    // Control path (any thread). add() returns the slot, or -1 when the table is full.
    int add(const FlowKey& key, const NicRuleAction& action);
    bool remove(int slot);
    void clear();
    uint32_t size() const;

    // Data path.
    bool match(const FlowKey& key, NicRuleAction& action) const noexcept;

private:
    struct Slot {
        std::atomic<uint32_t> seq{0};  // odd while being written
        std::atomic<bool> active{false};
        std::atomic<uint64_t> key[5]{};
        std::atomic<uint32_t> queue{0};  // bit 31: has_queue
        std::atomic<uint32_t> mark{0};
        std::atomic<bool> has_mark{false};
    };

    void write(Slot& s, bool active, const FlowKey& key, const NicRuleAction& a) noexcept;

    mutable std::mutex mutex_;  // control path only
    std::atomic<uint32_t> used_{0};  // slots [0, used_) may be active
    Slot slots_[kMaxRules];
};

}  // namespace nvmeddp::pmd
