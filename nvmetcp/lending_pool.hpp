// A fixed number of items, each `elements` T long, lent one at a time and given back in any order:
// the engine's PDUs with holes (pmd/engine/gap_pdu_pool.hpp) and the TCP's out-of-order queues
// (tcp/ooo_reserve.hpp) are lent from one each, for the time a connection has a loss to mend.
//
// Everything is allocated at construction; take() and give_back() are a stack's pop and push and
// never allocate. Items are handed out from the first, so a pool that lends few keeps few in the
// caches. One thread's (an lcore's): no locks.
//
// In the lowest layer, knowing nothing of what it lends, so that every layer may use it.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace nvmeddp::nvmetcp {

struct LendingStats {
    uint32_t items = 0;       // how many the pool has
    uint32_t lent = 0;        // lent now
    uint32_t most_lent = 0;   // the most lent at once
    uint64_t loans = 0;       // items taken
    uint64_t refused = 0;     // take()s that found every item lent
};

template <typename T>
class LendingPool {
public:
    LendingPool(uint32_t items, size_t elements)
        : elements_(elements),
          storage_(std::make_unique<T[]>(size_t{items} * elements)),
          free_(std::make_unique<T*[]>(items)) {
        stats_.items = items;
        for (uint32_t i = 0; i < items; ++i) free_[i] = storage_.get() + size_t{items - 1 - i} * elements;
    }
    LendingPool(const LendingPool&) = delete;
    LendingPool& operator=(const LendingPool&) = delete;

    // An item of elements() T (as the last borrower left them), or null (counted as refused) when
    // every one is lent.
    T* take() noexcept {
        if (stats_.lent == stats_.items) {
            ++stats_.refused;
            return nullptr;
        }
        T* item = free_[stats_.items - stats_.lent - 1];
        ++stats_.lent;
        ++stats_.loans;
        if (stats_.lent > stats_.most_lent) stats_.most_lent = stats_.lent;
        return item;
    }
    void give_back(T* item) noexcept {  // one take() returned, once
        assert(stats_.lent > 0 && "given back more than was lent");
        free_[stats_.items - stats_.lent] = item;
        --stats_.lent;
    }

    size_t elements() const noexcept { return elements_; }
    LendingStats stats() const noexcept { return stats_; }

private:
    size_t elements_;
    std::unique_ptr<T[]> storage_;
    std::unique_ptr<T*[]> free_;  // a stack: its first items - lent entries are the free items
    LendingStats stats_;
};

}  // namespace nvmeddp::nvmetcp
