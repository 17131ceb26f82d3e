// Finding a PDU header in the middle of a stream whose framing was lost (packet loss, reordering).
//
// An offload device that lost track of the PDU boundaries scans received bytes for something that looks
// like a PDU header, then asks the host to confirm its sequence number (resync). A false positive
// costs only a refused request, but each one delays the resumption of offload, so the search asks a
// lot of a candidate: a common header that passes every check the real receiver makes
// (check_common_header), a full header that passes check_full_header when it is in view, a matching
// header digest when digests are on, and a plausible next header at offset + plen when that is in view.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "nvmetcp/header_check.hpp"

namespace nvmeddp::nvmetcp {

enum class CandidateStrength : uint8_t {
    None,      // nothing found
    Plausible, // passes every check that the visible bytes allow
    Confirmed, // header digest matched, or the next header is visible and plausible too
};

struct HeaderCandidate {
    size_t offset = 0;
    CandidateStrength strength = CandidateStrength::None;
    uint32_t plen = 0;
};

// Scans bytes[from..] for the first offset where a PDU header of the receiver's direction could start.
// IC PDUs are never candidates (they occur only at the start of a connection). A candidate whose
// common header starts within the last 7 bytes is not reported: too little to judge.
HeaderCandidate find_pdu_header(std::span<const uint8_t> bytes, const ReceiveParams& params, size_t from = 0) noexcept;

}  // namespace nvmeddp::nvmetcp
