#include "pmd/net_nvmeddp/nic_key_index.hpp"

#include <atomic>
#include <cstring>

namespace nvmeddp::pmd {

namespace {

constexpr uint32_t kMask = NicKeyIndex::kEntries - 1;
// How often a reader tries to read an entry that is being written before it passes over it. The
// writer's critical section is a dozen stores, so the reader only gives up when the writer thread was
// descheduled inside it. Passing over is safe: the entry being written cannot be a key that stays in
// the table (only keys being added, removed or given a new winner are written), so a lookup of such
// a key is unaffected, and a lookup of the key being written misses, as it would a moment earlier.
constexpr int kReadTries = 64;

template <typename T>
std::atomic_ref<T> at(T& v) noexcept {
    return std::atomic_ref<T>(v);
}
template <typename T>
std::atomic_ref<T> at(const T& v) noexcept {
    return std::atomic_ref<T>(const_cast<T&>(v));  // atomic_ref<const T> is C++26; loads only
}

constexpr uint64_t kHasQueue = 1, kHasMark = 2, kDrop = 4, kCount = 8;  // action flags, packed

uint64_t pack(const NicIndexedRule& v) noexcept {
    const NicRuleAction& a = v.action;
    const uint64_t flags = (a.has_queue ? kHasQueue : 0) | (a.has_mark ? kHasMark : 0) | (a.drop ? kDrop : 0) |
                           (a.count ? kCount : 0);
    return uint64_t{v.rule} | uint64_t{a.queue} << 32 | flags << 48;  // w1: the mark
}

NicIndexedRule unpack(uint64_t w0, uint64_t w1) noexcept {
    NicIndexedRule v;
    v.rule = static_cast<uint32_t>(w0);
    v.action.queue = static_cast<uint16_t>(w0 >> 32);
    const uint64_t flags = w0 >> 48;
    v.action.has_queue = (flags & kHasQueue) != 0;
    v.action.has_mark = (flags & kHasMark) != 0;
    v.action.drop = (flags & kDrop) != 0;
    v.action.count = (flags & kCount) != 0;
    v.action.mark = static_cast<uint32_t>(w1);
    return v;
}

}  // namespace

NicKeyIndex::NicKeyIndex(uint64_t seed) : seed_(seed) {}

uint32_t NicKeyIndex::home(const FlowKey& key) const noexcept {
    return static_cast<uint32_t>(key.hash(seed_)) & kMask;
}

NicKeyIndex::State NicKeyIndex::state_of(uint32_t pos) const noexcept {
    return static_cast<State>(at(entries_[pos].state).load(std::memory_order_relaxed));
}

bool NicKeyIndex::key_equals(const Entry& e, const FlowKey& key) const noexcept {
    for (size_t w = 0; w < 5; ++w) {
        if (at(e.key[w]).load(std::memory_order_relaxed) != key.word(w)) return false;
    }
    return true;
}

void NicKeyIndex::write(Entry& e, State state, const FlowKey& key, const NicIndexedRule& value) noexcept {
    const uint32_t seq = at(e.seq).load(std::memory_order_relaxed);
    at(e.seq).store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);  // the odd sequence is seen before any new field
    at(e.state).store(state, std::memory_order_relaxed);
    for (size_t w = 0; w < 5; ++w) at(e.key[w]).store(key.word(w), std::memory_order_relaxed);
    at(e.value[0]).store(pack(value), std::memory_order_relaxed);
    at(e.value[1]).store(uint64_t{value.action.mark}, std::memory_order_relaxed);
    at(e.seq).store(seq + 2, std::memory_order_release);
}

int NicKeyIndex::find(const FlowKey& key) const noexcept {
    uint32_t pos = home(key);
    for (uint32_t probe = 0; probe < kMaxProbe; ++probe, pos = (pos + 1) & kMask) {
        const State s = state_of(pos);
        if (s == kEmpty) return -1;
        if (s == kLive && key_equals(entries_[pos], key)) return static_cast<int>(pos);
    }
    return -1;
}

int NicKeyIndex::insert(const FlowKey& key, const NicIndexedRule& value) noexcept {
    uint32_t pos = home(key);
    for (uint32_t probe = 0; probe < kMaxProbe; ++probe, pos = (pos + 1) & kMask) {
        if (state_of(pos) != kLive) {
            write(entries_[pos], kLive, key, value);
            return static_cast<int>(pos);
        }
    }
    return -1;
}

NicIndexedRule NicKeyIndex::value_at(int pos) const noexcept {
    const Entry& e = entries_[pos];
    return unpack(at(e.value[0]).load(std::memory_order_relaxed), at(e.value[1]).load(std::memory_order_relaxed));
}

void NicKeyIndex::set(int pos, const NicIndexedRule& value) noexcept {
    Entry& e = entries_[pos];
    FlowKey key;
    for (size_t w = 0; w < 5; ++w) {
        const uint64_t word = at(e.key[w]).load(std::memory_order_relaxed);
        std::memcpy(reinterpret_cast<unsigned char*>(&key) + 8 * w, &word, sizeof word);
    }
    write(e, kLive, key, value);
}

void NicKeyIndex::erase(int pos) noexcept {
    const auto p = static_cast<uint32_t>(pos);
    if (state_of((p + 1) & kMask) != kEmpty) {
        write(entries_[p], kTombstone, FlowKey{}, NicIndexedRule{});
        return;
    }
    // Followed by Empty: this entry and the Tombstones just before it end no live key's sequence.
    write(entries_[p], kEmpty, FlowKey{}, NicIndexedRule{});
    for (uint32_t q = (p - 1) & kMask; q != p && state_of(q) == kTombstone; q = (q - 1) & kMask) {
        write(entries_[q], kEmpty, FlowKey{}, NicIndexedRule{});
    }
}

void NicKeyIndex::clear() noexcept {
    for (uint32_t pos = 0; pos < kEntries; ++pos) {
        if (state_of(pos) != kEmpty) write(entries_[pos], kEmpty, FlowKey{}, NicIndexedRule{});
    }
}

bool NicKeyIndex::lookup(const FlowKey& key, NicIndexedRule& out) const noexcept {
    uint32_t pos = home(key);
    for (uint32_t probe = 0; probe < kMaxProbe; ++probe, pos = (pos + 1) & kMask) {
        const Entry& e = entries_[pos];
        for (int tries = 0; tries < kReadTries; ++tries) {
            const uint32_t before = at(e.seq).load(std::memory_order_acquire);
            if ((before & 1) != 0) continue;
            const auto state = static_cast<State>(at(e.state).load(std::memory_order_relaxed));
            const bool equal = state == kLive && key_equals(e, key);
            const uint64_t w0 = equal ? at(e.value[0]).load(std::memory_order_relaxed) : 0;
            const uint64_t w1 = equal ? at(e.value[1]).load(std::memory_order_relaxed) : 0;
            std::atomic_thread_fence(std::memory_order_acquire);  // the reads above happen before the check
            if (at(e.seq).load(std::memory_order_relaxed) != before) continue;
            if (state == kEmpty) return false;
            if (equal) {
                out = unpack(w0, w1);
                return true;
            }
            break;  // another key, or a Tombstone: the next entry
        }
    }
    return false;
}

}  // namespace nvmeddp::pmd
