#include "nvmetcp/header_search.hpp"

#include <cstring>


namespace nvmeddp::nvmetcp {
namespace {

// Judges a candidate at `at`; returns None when any visible field rules it out.
CandidateStrength judge(std::span<const uint8_t> bytes, size_t at, const ReceiveParams& params, uint32_t& plen) {
    CommonHeader ch;
    std::memcpy(&ch, bytes.data() + at, sizeof ch);
    PduLayout layout;
    if (check_stream_header(ch, params, layout)) return CandidateStrength::None;
    plen = ch.plen.get();

    CandidateStrength strength = CandidateStrength::Plausible;
    const size_t avail = bytes.size() - at;
    if (avail >= layout.header_len) {
        const uint8_t* header = bytes.data() + at;
        if (check_full_header(header, layout, params) || check_header_digest(header, layout)) return CandidateStrength::None;
        if (layout.header_len > ch.hlen) strength = CandidateStrength::Confirmed;  // the digest matched
    }
    if (avail >= size_t{plen} + sizeof(CommonHeader)) {
        CommonHeader next;
        std::memcpy(&next, bytes.data() + at + plen, sizeof next);
        PduLayout next_layout;
        if (check_stream_header(next, params, next_layout)) return CandidateStrength::None;
        strength = CandidateStrength::Confirmed;
    }
    return strength;
}

}  // namespace

HeaderCandidate find_pdu_header(std::span<const uint8_t> bytes, const ReceiveParams& params, size_t from) noexcept {
    if (bytes.size() < sizeof(CommonHeader)) return {};
    const size_t last = bytes.size() - sizeof(CommonHeader);
    for (size_t at = from; at <= last; ++at) {
        // Cheap filter first: the hlen byte must be one a PDU type of this direction uses.
        const uint8_t hlen = bytes[at + 2];
        if (hlen != kHlenData && hlen != kHlenCapsuleCmd) continue;
        uint32_t plen = 0;
        const CandidateStrength strength = judge(bytes, at, params, plen);
        if (strength != CandidateStrength::None) return {at, strength, plen};
    }
    return {};
}

}  // namespace nvmeddp::nvmetcp
