#include "nvmetcp/header_check.hpp"

#include <algorithm>

#include "nvmetcp/crc32c.hpp"

namespace nvmeddp::nvmetcp {
namespace {

using namespace pdu_flags;

bool may_carry_data(PduType t) { return is_data_pdu(t) || t == PduType::CapsuleCmd; }

ParseError header_field(ErrorKind kind, uint32_t fei) {
    return fatal_error(kind, Fes::InvalidHeaderField, fei);
}

// With PDA 0 data follows the header (and its digest) directly. With PDA > 0 the sender pads so that
// data starts aligned; senders differ in how (round the header up to the alignment, as the spec's
// intent; or SPDK's max(header, alignment)), so both are accepted and nothing else is.
bool pdo_acceptable(uint32_t pdo, uint32_t header_len, uint32_t pda) {
    if (pda == 0) return pdo == header_len;
    const uint32_t align = data_alignment(pda);
    const uint32_t rounded = (header_len + align - 1) / align * align;
    return pdo == rounded || pdo == std::max(header_len, align);
}

// IC and TermReq PDUs never carry digests and have fixed or bounded lengths.
ParseError check_unframed(const CommonHeader& ch, PduLayout& layout) {
    const PduType type = ch.pdu_type();
    const uint32_t plen = ch.plen.get();
    if (ch.flags & (kHdgst | kDdgst)) return header_field(ErrorKind::BadDigestFlags, ch_offset::kFlags);
    if (is_ic(type)) {
        if (plen != kHlenIc) return header_field(ErrorKind::BadPlen, ch_offset::kPlen);
        layout = {kHlenIc, kHlenIc, 0, false};
        return {};
    }
    if (plen < kHlenTermReq || plen > kTermReqMaxPlen) return header_field(ErrorKind::BadPlen, ch_offset::kPlen);
    layout = {kHlenTermReq, kHlenTermReq, plen - kHlenTermReq, false};
    return {};
}

ParseError check_framed(const CommonHeader& ch, const ReceiveParams& params, PduLayout& layout) {
    const PduType type = ch.pdu_type();
    const uint32_t plen = ch.plen.get();
    const bool hdgst_flag = ch.flags & kHdgst;
    const bool ddgst_flag = ch.flags & kDdgst;

    if (hdgst_flag != params.header_digest) return header_field(ErrorKind::BadDigestFlags, ch_offset::kFlags);
    const uint32_t header_len = ch.hlen + (hdgst_flag ? kDigestLen : 0);
    if (plen < header_len) return header_field(ErrorKind::BadPlen, ch_offset::kPlen);

    const bool no_data = !may_carry_data(type) || (type == PduType::CapsuleCmd && plen == header_len);
    if (no_data) {
        if (ddgst_flag) return header_field(ErrorKind::BadDigestFlags, ch_offset::kFlags);
        if (plen != header_len) return header_field(ErrorKind::BadPlen, ch_offset::kPlen);
        layout = {header_len, header_len, 0, false};
        return {};
    }

    if (ddgst_flag != params.data_digest) return header_field(ErrorKind::BadDigestFlags, ch_offset::kFlags);
    if (!pdo_acceptable(ch.pdo, header_len, params.pda)) return header_field(ErrorKind::BadPdo, ch_offset::kPdo);
    const uint32_t trailer = ddgst_flag ? kDigestLen : 0;
    if (plen < ch.pdo + trailer) return header_field(ErrorKind::BadPlen, ch_offset::kPlen);
    if (plen == ch.pdo + trailer) return header_field(ErrorKind::DataLengthZero, ch_offset::kPlen);
    const uint32_t data_len = plen - ch.pdo - trailer;
    if (data_len > params.limits.max_data_len) {
        return fatal_error(ErrorKind::DataLimitExceeded, Fes::DataLimitExceeded, ch_offset::kPlen);
    }
    layout = {header_len, ch.pdo, data_len, ddgst_flag};
    return {};
}

template <typename Pdu>
Pdu load(const uint8_t* header) {
    Pdu pdu;
    std::copy_n(header, sizeof(Pdu), reinterpret_cast<uint8_t*>(&pdu));
    return pdu;
}

// datao/datal of C2HData and H2CData (same offsets), r2to/r2tl of R2T.
ParseError check_transfer_fields(uint32_t offset, uint32_t length, uint32_t expected_len, bool check_expected) {
    constexpr uint32_t kOffsetField = offsetof(C2HDataPdu, datao);
    constexpr uint32_t kLengthField = offsetof(C2HDataPdu, datal);
    if (length == 0) return header_field(ErrorKind::DataLengthZero, kLengthField);
    if (check_expected && length != expected_len) return header_field(ErrorKind::DatalMismatch, kLengthField);
    if (uint64_t{offset} + length > UINT32_MAX) {
        return fatal_error(ErrorKind::DataOutOfRange, Fes::DataOutOfRange, kOffsetField);
    }
    return {};
}

ParseError check_ic_common(uint16_t pfv, uint8_t pda) {
    if (pfv != kPfv10) return fatal_error(ErrorKind::UnsupportedPfv, Fes::UnsupportedParameter, offsetof(ICReqPdu, pfv));
    if (pda > kMaxCpda) return header_field(ErrorKind::BadIcParameter, offsetof(ICReqPdu, hpda));
    return {};
}

}  // namespace

bool is_receivable(Role role, uint8_t type) noexcept {
    switch (static_cast<PduType>(type)) {
        case PduType::ICResp:
        case PduType::C2HTermReq:
        case PduType::CapsuleResp:
        case PduType::C2HData:
        case PduType::R2T:
            return role == Role::Host;
        case PduType::ICReq:
        case PduType::H2CTermReq:
        case PduType::CapsuleCmd:
        case PduType::H2CData:
            return role == Role::Controller;
    }
    return false;
}

ParseError check_common_header(const CommonHeader& ch, const ReceiveParams& params, PduLayout& layout) noexcept {
    if (!is_receivable(params.role, ch.type)) return header_field(ErrorKind::UnknownPduType, ch_offset::kType);
    if (ch.hlen != expected_hlen(ch.type)) return header_field(ErrorKind::BadHlen, ch_offset::kHlen);
    const PduType type = ch.pdu_type();
    if (type == PduType::C2HData && (ch.flags & kSuccess) && !(ch.flags & kLastPdu)) {
        return header_field(ErrorKind::BadFlags, ch_offset::kFlags);
    }
    if (is_ic(type) || is_term_req(type)) return check_unframed(ch, layout);
    return check_framed(ch, params, layout);
}

ParseError header_digest_mismatch(const uint8_t* header, uint32_t hlen) noexcept {
    if (crc32c(header, hlen) != load_le32(header + hlen)) {
        return fatal_error(ErrorKind::HeaderDigestMismatch, Fes::HeaderDigestError, hlen);
    }
    return {};
}

ParseError check_full_header(const uint8_t* header, const PduLayout& layout, const ReceiveParams& params) noexcept {
    switch (static_cast<PduType>(header[0])) {
        case PduType::C2HData: {
            const auto pdu = load<C2HDataPdu>(header);
            return check_transfer_fields(pdu.datao.get(), pdu.datal.get(), layout.data_len, true);
        }
        case PduType::H2CData: {
            const auto pdu = load<H2CDataPdu>(header);
            if (auto error = check_transfer_fields(pdu.datao.get(), pdu.datal.get(), layout.data_len, true)) {
                return error;
            }
            if (pdu.datal.get() > params.limits.maxh2cdata) {
                return fatal_error(ErrorKind::DataLimitExceeded, Fes::DataLimitExceeded, offsetof(H2CDataPdu, datal));
            }
            return {};
        }
        case PduType::R2T: {
            const auto pdu = load<R2TPdu>(header);
            return check_transfer_fields(pdu.r2to.get(), pdu.r2tl.get(), 0, false);
        }
        case PduType::ICResp: {
            const auto pdu = load<ICRespPdu>(header);
            if (auto error = check_ic_common(pdu.pfv.get(), pdu.cpda)) return error;
            const uint32_t maxh2cdata = pdu.maxh2cdata.get();
            if (maxh2cdata < 4096 || maxh2cdata % 4 != 0) {
                return header_field(ErrorKind::BadIcParameter, offsetof(ICRespPdu, maxh2cdata));
            }
            return {};
        }
        case PduType::ICReq: {
            const auto pdu = load<ICReqPdu>(header);
            return check_ic_common(pdu.pfv.get(), pdu.hpda);
        }
        default:
            return {};
    }
}

}  // namespace nvmeddp::nvmetcp
