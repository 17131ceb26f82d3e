#include "pmd/engine/gap_pdus.hpp"

#include <algorithm>

#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/crc32c_combine.hpp"
#include "nvmetcp/wire_int.hpp"
#include "pmd/engine/gap_pdu_pool.hpp"

namespace nvmeddp::pmd {

using ddp::TcpSeq;

uint32_t GapPdus::Pdu::data_bytes(TcpSeq begin, TcpSeq end) const noexcept {
    const TcpSeq b = std::max(begin, data_begin);
    const TcpSeq e = std::min(end, data_end);
    return b < e ? b.bytes_to(e) : 0;
}

void GapPdus::Pdu::keep_digest_bytes(TcpSeq begin, TcpSeq end, const uint8_t* src, TcpSeq src_seq) noexcept {
    const TcpSeq digest_end = std::min(pdu_end, data_end + nvmetcp::kDigestLen);
    for (TcpSeq s = std::max(begin, data_end); s < std::min(end, digest_end); s += 1) digest[data_end.bytes_to(s)] = src[src_seq.bytes_to(s)];
}

GapPdus::Run GapPdus::Pdu::next_hole(TcpSeq from, TcpSeq until) const noexcept {
    TcpSeq at = std::max(from, body_begin);
    const TcpSeq stop = std::min(until, pdu_end);
    for (uint8_t i = 0; i < run_count && at < stop; ++i) {
        const Run& r = runs[i];
        if (r.end <= at) continue;
        if (r.begin <= at) {  // inside a run: the hole (if any) starts where it ends
            at = r.end;
            continue;
        }
        return {at, std::min(r.begin, stop), 0};  // a hole up to the next run
    }
    return at < stop ? Run{at, stop, 0} : Run{at, at, 0};
}

bool GapPdus::Pdu::room_for(TcpSeq begin, TcpSeq end) const noexcept {
    if (run_count < kRunsPerPdu) return true;
    for (uint8_t i = 0; i < run_count; ++i) {
        if (runs[i].end == begin || runs[i].begin == end) return true;
    }
    return false;
}

bool GapPdus::Pdu::add(const Run& run) noexcept {
    if (run.begin == run.end) return true;
    uint8_t i = 0;
    while (i < run_count && runs[i].end < run.begin) ++i;
    // runs[i] is the first run that ends at or after run.begin: the left neighbour when it ends
    // exactly there; the run after the new one is the next (or that one, when it is no neighbour).
    const bool joins_left = i < run_count && runs[i].end == run.begin;
    const uint8_t after = joins_left ? i + 1 : i;
    const bool joins_right = after < run_count && runs[after].begin == run.end;
    if (joins_left) {
        Run& left = runs[i];
        left.crc = nvmetcp::crc32c_join(left.crc, run.crc, data_bytes(run.begin, run.end));
        left.end = run.end;
        if (joins_right) {
            const Run& right = runs[after];
            left.crc = nvmetcp::crc32c_join(left.crc, right.crc, data_bytes(right.begin, right.end));
            left.end = right.end;
            std::move(runs.begin() + after + 1, runs.begin() + run_count, runs.begin() + after);
            --run_count;
        }
        return true;
    }
    if (joins_right) {
        Run& right = runs[after];
        right.crc = nvmetcp::crc32c_join(run.crc, right.crc, data_bytes(right.begin, right.end));
        right.begin = run.begin;
        return true;
    }
    if (run_count == kRunsPerPdu) return false;
    std::move_backward(runs.begin() + i, runs.begin() + run_count, runs.begin() + run_count + 1);
    runs[i] = run;
    ++run_count;
    return true;
}

void GapPdus::Pdu::forfeit_smallest_hole() noexcept {
    if (run_count < 2) return;
    uint8_t best = 0;
    for (uint8_t i = 1; i + 1 < run_count; ++i) {
        if (runs[i].end.bytes_to(runs[i + 1].begin) < runs[best].end.bytes_to(runs[best + 1].begin)) best = i;
    }
    runs[best].end = runs[best + 1].end;
    runs[best].crc = 0;
    std::move(runs.begin() + best + 2, runs.begin() + run_count, runs.begin() + best + 1);
    --run_count;
    check_digest = false;
}

bool GapPdus::Pdu::digest_matches() const noexcept {
    if (!complete() || !check_digest) return false;
    // The run's CRC started from 0; the digest starts from the seed, shifted over all the data.
    const uint32_t raw = nvmetcp::crc32c_join(nvmetcp::Crc32c::kSeed, runs[0].crc, data_begin.bytes_to(data_end));
    return ~raw == nvmetcp::load_le32(digest);
}

int GapPdus::open() noexcept {
    for (uint32_t k = 0; k < kSlots; ++k) {
        if ((used_ & (1u << k)) == 0) {
            Pdu* pdu = pool_->take();
            if (pdu == nullptr) return kNone;
            *pdu = Pdu{};
            slots_[k] = pdu;
            used_ |= 1u << k;
            return static_cast<int>(k);
        }
    }
    return kNone;
}

void GapPdus::close(int slot) noexcept {
    Pdu*& pdu = slots_[static_cast<size_t>(slot)];
    used_ &= ~(1u << slot);
    pdu->claim = {};
    pool_->give_back(pdu);
    pdu = nullptr;
}

void GapPdus::close_all() noexcept {
    for (uint32_t k = 0; k < kSlots; ++k) {
        if (in_use(static_cast<int>(k))) close(static_cast<int>(k));
    }
}

void GapPdus::forget_older_than(TcpSeq now) noexcept {
    for (uint32_t k = 0; k < kSlots; ++k) {
        if ((used_ & (1u << k)) != 0 && slots_[k]->ended && slots_[k]->pdu_end.bytes_to(now) > kHorizon) close(static_cast<int>(k));
    }
}

}  // namespace nvmeddp::pmd
