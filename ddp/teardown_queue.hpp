// Teardowns waiting for the device to let go of their buffers, in the order they were issued.
// Fixed capacity, allocated once per connection: a command id is in it at most once (its slot
// stays TornDown until it leaves), so the registration table's capacity is always enough.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "ddp/status.hpp"
#include "nvmeddp/ddp.h"

namespace nvmeddp::ddp {

using TeardownCallback = ::nvmeddp_teardown_cb;  // void (*)(void* arg, uint64_t conn, uint16_t cid, int status)

struct PendingTeardown {
    uint64_t ticket = 0;
    TeardownCallback callback = nullptr;
    void* arg = nullptr;
    uint16_t cid = 0;
    Status status = Status::Ok;  // what the callback is told: Ok, or ConnectionDeleting
};

class TeardownQueue {
public:
    explicit TeardownQueue(size_t capacity)
        : capacity_(std::bit_ceil(capacity == 0 ? size_t{1} : capacity)), mask_(capacity_ - 1) {
        entries_ = std::make_unique<PendingTeardown[]>(capacity_);
    }

    bool empty() const noexcept { return size_ == 0; }
    bool full() const noexcept { return size_ == capacity_; }
    size_t size() const noexcept { return size_; }
    size_t memory_bytes() const noexcept { return capacity_ * sizeof(PendingTeardown); }

    // Precondition: !full().
    void push(const PendingTeardown& t) noexcept {
        entries_[(head_ + size_) & mask_] = t;
        ++size_;
    }
    const PendingTeardown& front() const noexcept { return entries_[head_]; }
    void pop() noexcept {
        head_ = (head_ + 1) & mask_;
        --size_;
    }

private:
    size_t capacity_;  // a power of two
    size_t mask_;
    std::unique_ptr<PendingTeardown[]> entries_;
    size_t head_ = 0;
    size_t size_ = 0;
};

}  // namespace nvmeddp::ddp
