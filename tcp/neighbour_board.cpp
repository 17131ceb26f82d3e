#include "tcp/neighbour_board.hpp"

#include <cstring>

namespace nvmeddp::tcp {
namespace {

uint64_t load_word(const uint8_t* p) noexcept {
    uint64_t w = 0;
    std::memcpy(&w, p, sizeof w);
    return w;
}

}  // namespace

NeighbourBoard::NeighbourBoard(size_t capacity)
    : capacity_(capacity == 0 ? 1 : capacity), entries_(std::make_unique<Entry[]>(capacity_)) {}

bool NeighbourBoard::read(const Entry& e, Snapshot& out) const noexcept {
    const uint32_t before = e.seq.load(std::memory_order_acquire);
    if (before & 1) return false;
    // Acquire loads (no fences: ThreadSanitizer models these exactly): a word written by a writer
    // that started after `before` brings that writer's odd seq with it to the second read of seq.
    uint64_t w[4];
    for (size_t i = 0; i < 4; ++i) w[i] = e.words[i].load(std::memory_order_acquire);
    if (e.seq.load(std::memory_order_relaxed) != before) return false;
    out.ip.family = static_cast<IpAddress::Family>(w[2] >> 48);
    std::memcpy(out.ip.bytes.data(), &w[0], 8);
    std::memcpy(out.ip.bytes.data() + 8, &w[1], 8);
    for (size_t k = 0; k < 6; ++k) out.mac.bytes[k] = static_cast<uint8_t>(w[2] >> (8 * k));
    out.learned_us = w[3];
    return true;
}

void NeighbourBoard::write(Entry& e, const Snapshot& s) noexcept {
    uint64_t mac = 0;
    for (size_t k = 0; k < 6; ++k) mac |= uint64_t{s.mac.bytes[k]} << (8 * k);
    // Release stores after the odd seq: a reader that sees any of these words sees the odd seq, or a
    // newer one, on its second read of seq.
    e.words[0].store(load_word(s.ip.bytes.data()), std::memory_order_release);
    e.words[1].store(load_word(s.ip.bytes.data() + 8), std::memory_order_release);
    e.words[2].store(uint64_t{static_cast<uint8_t>(s.ip.family)} << 48 | mac, std::memory_order_release);
    e.words[3].store(s.learned_us, std::memory_order_release);
}

void NeighbourBoard::post(const IpAddress& ip, const MacAddress& mac, uint64_t learned_us) noexcept {
    if (ip.family == IpAddress::Family::None) return;
    // The entry of this address, else a free one, else the oldest.
    size_t chosen = capacity_, free_slot = capacity_, oldest = 0;
    uint64_t oldest_us = UINT64_MAX;
    for (size_t i = 0; i < capacity_; ++i) {
        Snapshot s;
        if (!read(entries_[i], s)) continue;  // being written: someone else's
        if (s.ip.family == IpAddress::Family::None) {
            if (free_slot == capacity_) free_slot = i;
            continue;
        }
        if (s.ip == ip) {
            chosen = i;
            break;
        }
        if (s.learned_us < oldest_us) {
            oldest_us = s.learned_us;
            oldest = i;
        }
    }
    if (chosen == capacity_) chosen = free_slot != capacity_ ? free_slot : oldest;
    Entry& e = entries_[chosen];
    uint32_t seq = e.seq.load(std::memory_order_relaxed);
    if ((seq & 1) || !e.seq.compare_exchange_strong(seq, seq + 1, std::memory_order_acq_rel)) return;
    write(e, Snapshot{ip, mac, learned_us});
    e.seq.store(seq + 2, std::memory_order_release);
}

bool NeighbourBoard::find(const IpAddress& ip, MacAddress* mac, uint64_t* learned_us) const noexcept {
    for (size_t i = 0; i < capacity_; ++i) {
        Snapshot s;
        // A writer holds an entry for a few stores: read it again rather than miss it.
        bool ok = false;
        for (int attempt = 0; attempt < 64 && !(ok = read(entries_[i], s)); ++attempt) {
        }
        if (!ok || s.ip.family == IpAddress::Family::None || !(s.ip == ip)) continue;
        if (mac != nullptr) *mac = s.mac;
        if (learned_us != nullptr) *learned_us = s.learned_us;
        return true;
    }
    return false;
}

}  // namespace nvmeddp::tcp
