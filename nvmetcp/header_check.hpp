// Validation of received PDU headers: what may be trusted before a single length field is used.
//
// Two stages, matching what the receiver has in hand:
//   check_common_header()  on the first 8 bytes, before reading further: type, hlen, flags, pdo, plen.
//                          After it passes, hlen/pdo/plen describe a PDU that fits its type, the
//                          negotiated digests and the receiver's limits, so the parser may use them.
//   check_full_header()    on the complete header (hlen bytes), after the header digest: the
//                          type-specific fields (datal against plen, datao overflow, IC parameters).
// Every failure names the FES and the offending field's offset (FEI) for a TermReq.
// quick_stream_header() passes the headers a host receives most (C2HData, CapsuleResp), whole in
// hand, in one go, and only those both stages pass; anything else is left to them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nvmetcp/parse_error.hpp"
#include "nvmetcp/pdu.hpp"
#include "nvmetcp/wire_int.hpp"

namespace nvmeddp::nvmetcp {

// Which side receives: the host receives controller-to-host PDUs, the controller host-to-controller.
enum class Role : uint8_t { Host, Controller };

struct ReceiveLimits {
    // Largest PDU data section accepted in one C2HData/H2CData/CapsuleCmd. plen beyond it is refused
    // before any of its bytes are read (Linux nvmet sends a whole 4 MiB read in one C2HData).
    uint32_t max_data_len = 16u << 20;
    // Controller side: MAXH2CDATA it announced; an H2CData larger than that is FES 5.
    uint32_t maxh2cdata = 128u << 10;
};

// The connection parameters the receiver checks headers against.
struct ReceiveParams {
    Role role = Role::Host;
    bool header_digest = false;  // HDGST negotiated
    bool data_digest = false;    // DDGST negotiated
    uint32_t pda = 0;            // alignment the receiver asked for (host: HPDA, controller: CPDA)
    ReceiveLimits limits{};
};

// Length of the data section a PDU carries, derived from a common header that passed the check.
struct PduLayout {
    uint32_t header_len = 0;   // hlen + header digest
    uint32_t data_offset = 0;  // pdo, or header_len when there is no data
    uint32_t data_len = 0;     // bytes of data (TermReq: error data)
    bool has_data_digest = false;
};

// True for types the receiver of `role` may get (C2H types for the host, H2C for the controller).
bool is_receivable(Role role, uint8_t type) noexcept;

// Validates a common header against the connection; on success fills layout.
ParseError check_common_header(const CommonHeader& ch, const ReceiveParams& params, PduLayout& layout) noexcept;

// check_common_header() for a header after the connection's start, where an IC PDU (only ever the
// first PDU of a connection) is a PDU sequence error: what a receiver that follows a stream from its
// middle (the offload engine, the resync header search) accepts.
// Inline, with the next one: both sit on the offload engine's per-header path.
inline ParseError check_stream_header(const CommonHeader& ch, const ReceiveParams& params, PduLayout& layout) noexcept {
    if (is_ic(ch.pdu_type())) return fatal_error(ErrorKind::UnexpectedPdu, Fes::PduSequenceError, ch_offset::kType);
    return check_common_header(ch, params, layout);
}

// The header digest of a complete header, when the layout has one (header points at header_len
// bytes: hlen, then HDGST).
ParseError header_digest_mismatch(const uint8_t* header, uint32_t hlen) noexcept;  // Ok or the error
inline ParseError check_header_digest(const uint8_t* header, const PduLayout& layout) noexcept {
    const uint32_t hlen = header[ch_offset::kHlen];
    if (layout.header_len <= hlen) return {};  // no header digest
    return header_digest_mismatch(header, hlen);
}

// Validates the type-specific fields of a complete header (header points at hlen bytes).
ParseError check_full_header(const uint8_t* header, const PduLayout& layout, const ReceiveParams& params) noexcept;

// The headers a host receives most, in one go: a C2HData or a CapsuleResp of a connection with
// PDA 0, all of whose header (and header digest) lies in the `have` bytes at `h`. True, with its
// layout, when check_stream_header(), check_header_digest() and check_full_header() would all pass
// it; false when it is not such a header or any of them would fail, and the caller runs them (they
// say why). Never more lenient than they are: tested against them on every field. Always inlined:
// the engine asks it on every PDU's header, and as a call it took 48 instructions against 35 (callgrind).
[[gnu::always_inline]] inline bool quick_stream_header(const uint8_t* h, uint32_t have, const ReceiveParams& params, PduLayout& layout) noexcept {
    using namespace pdu_flags;
    static_assert(kHlenData == kHlenCapsuleResp);
    if (params.role != Role::Host || params.pda != 0 || have < kHlenData || h[ch_offset::kHlen] != kHlenData) return false;
    const uint8_t flags = h[ch_offset::kFlags];
    if (((flags & kHdgst) != 0) != params.header_digest) return false;
    const uint32_t header_len = kHlenData + (params.header_digest ? kDigestLen : 0);
    if (have < header_len) return false;
    const uint32_t plen = load_le32(h + ch_offset::kPlen);
    PduLayout quick;
    if (h[ch_offset::kType] == static_cast<uint8_t>(PduType::C2HData)) {
        if (((flags & kDdgst) != 0) != params.data_digest) return false;
        if ((flags & kSuccess) != 0 && (flags & kLastPdu) == 0) return false;
        if (h[ch_offset::kPdo] != header_len) return false;
        const uint32_t trailer = params.data_digest ? kDigestLen : 0;
        if (plen <= header_len + trailer) return false;  // no data: the general checks name the error
        const uint32_t data_len = plen - header_len - trailer;
        if (data_len > params.limits.max_data_len) return false;
        const uint32_t datao = load_le32(h + offsetof(C2HDataPdu, datao));
        if (load_le32(h + offsetof(C2HDataPdu, datal)) != data_len || uint64_t{datao} + data_len > UINT32_MAX) return false;
        quick = {header_len, header_len, data_len, params.data_digest};
    } else if (h[ch_offset::kType] == static_cast<uint8_t>(PduType::CapsuleResp)) {
        // No data, so no data digest, and nothing after the header; PDO is not looked at.
        if ((flags & kDdgst) != 0 || plen != header_len) return false;
        quick = {header_len, header_len, 0, false};
    } else {
        return false;
    }
    if (params.header_digest && header_digest_mismatch(h, kHlenData)) return false;
    layout = quick;
    return true;
}

}  // namespace nvmeddp::nvmetcp
