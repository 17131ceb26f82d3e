#include "pmd/packet/flow_classifier.hpp"

#include <algorithm>
#include <bit>

namespace nvmeddp::pmd {

const char* to_string(ClassifierStatus status) noexcept {
    switch (status) {
        case ClassifierStatus::Ok: return "ok";
        case ClassifierStatus::TableFull: return "classifier table full";
        case ClassifierStatus::DuplicateKey: return "flow already classified";
        case ClassifierStatus::NotFound: return "flow not in the classifier";
    }
    return "unknown classifier status";
}

FlowClassifier::FlowClassifier(size_t max_entries, uint64_t seed)
    : max_entries_(std::clamp<size_t>(max_entries, 1, kMaxEntriesLimit)), seed_(seed) {
    // At least 8 slots so that tiny tables still have room to probe; twice the entries caps the load.
    const size_t slots = std::bit_ceil(std::max<size_t>(8, 2 * max_entries_));
    mask_ = slots - 1;
    tags_ = std::make_unique<uint16_t[]>(slots);  // value-initialised: all empty
    slots_ = std::make_unique<Slot[]>(slots);
}

ClassifierStatus FlowClassifier::insert(const FlowKey& key, uint32_t connection_id, uint16_t queue) noexcept {
    const uint64_t h = key.hash(seed_);
    const uint16_t tag = tag_of(h);
    size_t i = h & mask_;
    for (; tags_[i] != 0; i = (i + 1) & mask_) {
        if (tags_[i] == tag && slots_[i].key == key) return ClassifierStatus::DuplicateKey;
    }
    if (size_ == max_entries_) return ClassifierStatus::TableFull;
    tags_[i] = tag;
    slots_[i] = Slot{key, FlowTarget{connection_id, queue}};
    ++size_;
    return ClassifierStatus::Ok;
}

ClassifierStatus FlowClassifier::erase(const FlowKey& key) noexcept {
    const uint64_t h = key.hash(seed_);
    const uint16_t tag = tag_of(h);
    size_t hole = h & mask_;
    for (;; hole = (hole + 1) & mask_) {
        if (tags_[hole] == 0) return ClassifierStatus::NotFound;
        if (tags_[hole] == tag && slots_[hole].key == key) break;
    }
    // Backward shift: walk the rest of the cluster; an entry whose home is not between the hole and
    // its own slot (cyclically) would become unreachable past the hole, so it moves into the hole,
    // and its old slot becomes the hole. The walk ends at the first empty slot.
    for (size_t j = (hole + 1) & mask_; tags_[j] != 0; j = (j + 1) & mask_) {
        if (distance(home_of(slots_[j].key), j) >= distance(hole, j)) {
            tags_[hole] = tags_[j];
            slots_[hole] = slots_[j];
            hole = j;
        }
    }
    tags_[hole] = 0;
    --size_;
    return ClassifierStatus::Ok;
}

void FlowClassifier::clear() noexcept {
    std::fill_n(tags_.get(), capacity(), uint16_t{0});
    size_ = 0;
}

size_t FlowClassifier::max_probe_distance() const noexcept {
    size_t longest = 0;
    for (size_t i = 0; i < capacity(); ++i) {
        if (tags_[i] != 0) longest = std::max(longest, distance(home_of(slots_[i].key), i));
    }
    return longest;
}

bool FlowClassifier::check_invariants() const noexcept {
    size_t count = 0;
    for (size_t i = 0; i < capacity(); ++i) {
        if (tags_[i] == 0) continue;
        ++count;
        const FlowKey& key = slots_[i].key;
        const uint64_t h = key.hash(seed_);
        if (tags_[i] != tag_of(h)) return false;
        // From home to i: no empty slot, and no other copy of the key.
        for (size_t j = h & mask_; j != i; j = (j + 1) & mask_) {
            if (tags_[j] == 0 || (tags_[j] == tags_[i] && slots_[j].key == key)) return false;
        }
    }
    return count == size_ && size_ <= max_entries_;
}

}  // namespace nvmeddp::pmd
