#include "pmd/engine/digested_copies.hpp"

#include <algorithm>

namespace nvmeddp::pmd {

const DigestedCopies::Entry* DigestedCopies::find(ddp::TcpSeq seq, uint32_t len) const noexcept {
    for (uint32_t k = 0; k < count_; ++k) {
        if (entries_[k].seq == seq && entries_[k].len == len) return &entries_[k];
    }
    return nullptr;
}

void DigestedCopies::remember(ddp::TcpSeq seq, uint32_t len, uint32_t crc, const Placement& placed) noexcept {
    // A range held already: its entry goes (it is re-added as the newest).
    if (const Entry* held = find(seq, len)) {
        const auto k = held - entries_.data();
        std::move(entries_.begin() + k + 1, entries_.begin() + count_, entries_.begin() + k);
        --count_;
    }
    if (count_ == kEntries) {
        std::move(entries_.begin() + 1, entries_.end(), entries_.begin());
        --count_;
    }
    entries_[count_++] = Entry{seq, len, crc, placed};
}

bool DigestedCopies::matches(ddp::TcpSeq seq, uint32_t len, uint32_t crc) const noexcept {
    const Entry* e = find(seq, len);
    return e != nullptr && e->crc == crc;
}

void DigestedCopies::forget_older_than(ddp::TcpSeq now) noexcept {
    uint32_t kept = 0;
    for (uint32_t k = 0; k < count_; ++k) {
        if (entries_[k].seq.bytes_to(now) <= kHorizon) entries_[kept++] = entries_[k];
    }
    count_ = kept;
}

}  // namespace nvmeddp::pmd
