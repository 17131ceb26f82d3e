// Software 5-tuple classifier: FlowKey -> (connection id, rx queue).
//
// Used on ports that reject the rte_flow rules which would otherwise steer and mark an offloaded
// connection's packets in hardware: the engine then looks every received TCP segment up here. The
// lookup is on the per-packet path; insert and erase are control-path operations (connection offload
// add/delete) but still allocate nothing, so they can run on the lcore that owns the queue.
//
// Table: open addressing with linear probing over a power-of-two array of slots, sized at
// construction to at least twice max_entries, so the load never exceeds 1/2 and expected probe
// lengths stay near 1.5 (hit) and 2.5 (miss). Deletion shifts later entries of the cluster back
// (backward-shift deletion) instead of leaving tombstones, so long add/delete churn never degrades
// lookups and the table never needs rebuilding. A parallel array of 16-bit tags (0 = empty,
// otherwise 15 bits of the hash) is what a probe reads: a miss usually touches only that array (16
// KiB for 4K connections, L1-resident), and a full key comparison happens only on a tag match.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "pmd/packet/flow_key.hpp"

namespace nvmeddp::pmd {

// Where a classified packet goes.
struct FlowTarget {
    uint32_t connection_id = 0;
    uint16_t queue = 0;

    friend bool operator==(const FlowTarget&, const FlowTarget&) = default;
};

enum class ClassifierStatus : uint8_t {
    Ok = 0,
    TableFull,     // max_entries already present
    DuplicateKey,  // the key is already present (its target is left unchanged)
    NotFound,      // erase of a key that is not present
};

const char* to_string(ClassifierStatus status) noexcept;

class FlowClassifier {
public:
    static constexpr uint64_t kDefaultSeed = 0x6E766D6564647000ull;
    // Largest max_entries accepted; larger requests are clamped (2^24 connections is far beyond any
    // device limit: the mlx5 driver offloads 4K connections, its hardware 64K).
    static constexpr size_t kMaxEntriesLimit = size_t{1} << 24;

    // Allocates all memory the table will ever use. `seed` keys the hash (use a random one per port).
    explicit FlowClassifier(size_t max_entries, uint64_t seed = kDefaultSeed);

    FlowClassifier(const FlowClassifier&) = delete;
    FlowClassifier& operator=(const FlowClassifier&) = delete;
    FlowClassifier(FlowClassifier&&) noexcept = default;
    FlowClassifier& operator=(FlowClassifier&&) noexcept = default;

    ClassifierStatus insert(const FlowKey& key, uint32_t connection_id, uint16_t queue) noexcept;
    ClassifierStatus erase(const FlowKey& key) noexcept;
    void clear() noexcept;

    // The per-packet lookup: the entry's target, or null. (Returning a pointer rather than an
    // optional matters here: GCC builds the optional on the stack with a byte store for its flag and
    // reads it back as a wider word, a store-forwarding stall of ~10 ns per packet in bench_engine.)
    const FlowTarget* find(const FlowKey& key) const noexcept { return probe_slot(key, key.hash(seed_)); }
    std::optional<FlowTarget> lookup(const FlowKey& key) const noexcept {
        const FlowTarget* t = find(key);
        return t == nullptr ? std::nullopt : std::optional<FlowTarget>(*t);
    }

    // Lookup of a burst of keys (out[i] for keys[i]; out.size() >= keys.size()). Hashes a group of
    // keys and prefetches their first probe slot (tag and entry) before probing any of them, so the
    // cache misses of a burst overlap instead of adding up; with a few thousand connections the
    // entries outgrow L1 and this is most of the cost of a lookup (see bench/bench_packet.cpp).
    static constexpr size_t kBurstGroup = 32;
    void lookup_burst(std::span<const FlowKey* const> keys, std::span<std::optional<FlowTarget>> out) const noexcept {
        uint64_t hashes[kBurstGroup];
        for (size_t base = 0; base < keys.size(); base += kBurstGroup) {
            const size_t n = std::min(kBurstGroup, keys.size() - base);
            for (size_t i = 0; i < n; ++i) {
                hashes[i] = keys[base + i]->hash(seed_);
                const size_t home = hashes[i] & mask_;
                __builtin_prefetch(&tags_[home]);
                __builtin_prefetch(&slots_[home]);
            }
            for (size_t i = 0; i < n; ++i) out[base + i] = probe(*keys[base + i], hashes[i]);
        }
    }

    size_t size() const noexcept { return size_; }
    size_t max_entries() const noexcept { return max_entries_; }
    size_t capacity() const noexcept { return mask_ + 1; }  // slots, a power of two
    bool full() const noexcept { return size_ == max_entries_; }

    // Longest distance of any entry from its home slot (0 = every entry sits at home).
    size_t max_probe_distance() const noexcept;
    // Verifies the table's structure: every entry reachable from its home slot without crossing an
    // empty slot, tags matching keys, no key twice, size right. For tests and debug checks; O(n^2)
    // in the worst case.
    bool check_invariants() const noexcept;

private:
    struct Slot {
        FlowKey key;
        FlowTarget target;
    };

    const FlowTarget* probe_slot(const FlowKey& key, uint64_t h) const noexcept {
        const uint16_t tag = tag_of(h);
        for (size_t i = h & mask_;; i = (i + 1) & mask_) {
            const uint16_t t = tags_[i];
            if (t == tag && slots_[i].key == key) return &slots_[i].target;
            // Terminates: the load cap keeps at least half of the slots empty.
            if (t == 0) return nullptr;
        }
    }
    std::optional<FlowTarget> probe(const FlowKey& key, uint64_t h) const noexcept {
        const FlowTarget* t = probe_slot(key, h);
        return t == nullptr ? std::nullopt : std::optional<FlowTarget>(*t);
    }

    static uint16_t tag_of(uint64_t hash) noexcept { return static_cast<uint16_t>(hash >> 49) | 0x8000u; }
    size_t home_of(const FlowKey& key) const noexcept { return key.hash(seed_) & mask_; }
    size_t distance(size_t from, size_t to) const noexcept { return (to - from) & mask_; }

    std::unique_ptr<uint16_t[]> tags_;
    std::unique_ptr<Slot[]> slots_;
    size_t mask_ = 0;
    size_t size_ = 0;
    size_t max_entries_ = 0;
    uint64_t seed_ = kDefaultSeed;
};

}  // namespace nvmeddp::pmd
