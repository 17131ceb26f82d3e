// A bounded single-producer single-consumer ring: how the control path hands work to the lcore that
// polls an rx queue, so that the structures that lcore reads per packet (its connection table, its
// classifier) have a single writer and need no lock. The producer side must be serialised by the
// caller (the driver's control mutex); the consumer is the polling lcore.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace nvmeddp::pmd {

template <typename T>
class CommandRing {
public:
    explicit CommandRing(size_t capacity)
        : capacity_(std::bit_ceil(capacity < 2 ? size_t{2} : capacity)),
          mask_(capacity_ - 1),
          slots_(std::make_unique<T[]>(capacity_)) {}

    // Producer. Returns the entry's sequence number (1, 2, ...), or 0 when the ring is full.
    uint64_t push(const T& value) noexcept {
        const uint64_t head = head_.load(std::memory_order_relaxed);
        if (head - tail_.load(std::memory_order_acquire) == capacity_) return 0;
        slots_[head & mask_] = value;
        head_.store(head + 1, std::memory_order_release);
        return head + 1;
    }
    // True once the consumer has finished with entry `seq` (and every earlier one).
    bool consumed(uint64_t seq) const noexcept { return tail_.load(std::memory_order_acquire) >= seq; }

    // Consumer: calls f(entry) for everything pushed so far, then marks it consumed.
    template <typename F>
    size_t drain(F&& f) noexcept {
        const uint64_t tail = tail_.load(std::memory_order_relaxed);
        const uint64_t head = head_.load(std::memory_order_acquire);
        for (uint64_t i = tail; i != head; ++i) f(slots_[i & mask_]);
        if (head != tail) tail_.store(head, std::memory_order_release);
        return static_cast<size_t>(head - tail);
    }
    size_t capacity() const noexcept { return capacity_; }

private:
    const size_t capacity_;
    const size_t mask_;
    std::unique_ptr<T[]> slots_;
    alignas(64) std::atomic<uint64_t> head_{0};  // written by the producer
    alignas(64) std::atomic<uint64_t> tail_{0};  // written by the consumer
};

}  // namespace nvmeddp::pmd
