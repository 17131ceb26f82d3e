#include "pmd/engine/gap_pdu_pool.hpp"

namespace nvmeddp::pmd {

GapPduPool::GapPduPool(uint32_t pdus)
    : storage_(std::make_unique<GapPdus::Pdu[]>(pdus)), free_(std::make_unique<GapPdus::Pdu*[]>(pdus)) {
    stats_.pdus = pdus;
    // Handed out from the first: a queue that meets few losses keeps few of them in its caches.
    for (uint32_t i = 0; i < pdus; ++i) free_[i] = &storage_[pdus - 1 - i];
}

GapPdus::Pdu* GapPduPool::take() noexcept {
    if (stats_.lent == stats_.pdus) {
        ++stats_.refused;
        return nullptr;
    }
    GapPdus::Pdu* pdu = free_[stats_.pdus - stats_.lent - 1];
    ++stats_.lent;
    ++stats_.loans;
    if (stats_.lent > stats_.most_lent) stats_.most_lent = stats_.lent;
    return pdu;
}

void GapPduPool::give_back(GapPdus::Pdu* pdu) noexcept {
    free_[stats_.pdus - stats_.lent] = pdu;
    --stats_.lent;
}

}  // namespace nvmeddp::pmd
