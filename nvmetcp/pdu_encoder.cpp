#include "nvmetcp/pdu_encoder.hpp"

#include <algorithm>
#include <cstring>

#include "nvmetcp/crc32c.hpp"

namespace nvmeddp::nvmetcp {
namespace {

template <typename Pdu>
Pdu blank(PduType type) noexcept {
    Pdu pdu;
    std::memset(&pdu, 0, sizeof pdu);
    pdu.ch.type = static_cast<uint8_t>(type);
    pdu.ch.hlen = sizeof(Pdu);
    return pdu;
}

bool takes_digests(PduType type) noexcept { return !is_ic(type) && !is_term_req(type); }

}  // namespace

ICReqPdu make_icreq(uint8_t hpda, uint8_t digests, uint32_t maxr2t) noexcept {
    auto pdu = blank<ICReqPdu>(PduType::ICReq);
    pdu.pfv.set(kPfv10);
    pdu.hpda = hpda;
    pdu.dgst = digests;
    pdu.maxr2t.set(maxr2t);
    return pdu;
}

ICRespPdu make_icresp(uint8_t cpda, uint8_t digests, uint32_t maxh2cdata) noexcept {
    auto pdu = blank<ICRespPdu>(PduType::ICResp);
    pdu.pfv.set(kPfv10);
    pdu.cpda = cpda;
    pdu.dgst = digests;
    pdu.maxh2cdata.set(maxh2cdata);
    return pdu;
}

TermReqPdu make_term_req(PduType type, Fes fes, uint32_t fei) noexcept {
    auto pdu = blank<TermReqPdu>(type);
    pdu.fes.set(static_cast<uint16_t>(fes));
    pdu.fei.set(fei);
    return pdu;
}

CapsuleCmdPdu make_capsule_cmd(const NvmeSqe& sqe) noexcept {
    auto pdu = blank<CapsuleCmdPdu>(PduType::CapsuleCmd);
    pdu.sqe = sqe;
    return pdu;
}

CapsuleRespPdu make_capsule_resp(const NvmeCqe& cqe) noexcept {
    auto pdu = blank<CapsuleRespPdu>(PduType::CapsuleResp);
    pdu.cqe = cqe;
    return pdu;
}

C2HDataPdu make_c2h_data(uint16_t cccid, uint32_t datao, uint32_t datal, uint8_t flags) noexcept {
    auto pdu = blank<C2HDataPdu>(PduType::C2HData);
    pdu.ch.flags = flags;
    pdu.cccid.set(cccid);
    pdu.datao.set(datao);
    pdu.datal.set(datal);
    return pdu;
}

H2CDataPdu make_h2c_data(uint16_t cccid, uint16_t ttag, uint32_t datao, uint32_t datal, uint8_t flags) noexcept {
    auto pdu = blank<H2CDataPdu>(PduType::H2CData);
    pdu.ch.flags = flags;
    pdu.cccid.set(cccid);
    pdu.ttag.set(ttag);
    pdu.datao.set(datao);
    pdu.datal.set(datal);
    return pdu;
}

R2TPdu make_r2t(uint16_t cccid, uint16_t ttag, uint32_t r2to, uint32_t r2tl) noexcept {
    auto pdu = blank<R2TPdu>(PduType::R2T);
    pdu.cccid.set(cccid);
    pdu.ttag.set(ttag);
    pdu.r2to.set(r2to);
    pdu.r2tl.set(r2tl);
    return pdu;
}

PduPlan plan_pdu(PduType type, uint32_t data_len, const SendParams& params) noexcept {
    PduPlan plan;
    const uint32_t hlen = expected_hlen(static_cast<uint8_t>(type));
    const bool digests = takes_digests(type);
    plan.header_digest = digests && params.header_digest;
    plan.data_digest = digests && params.data_digest && data_len > 0;
    plan.header_len = hlen + (plan.header_digest ? kDigestLen : 0);
    // TermReq error data follows the header directly (pdo is reserved there).
    plan.data_offset = (data_len > 0 && digests) ? expected_pdo(hlen, plan.header_digest, params.pda) : plan.header_len;
    plan.data_len = data_len;
    plan.plen = plan.data_offset + data_len + (plan.data_digest ? kDigestLen : 0);
    return plan;
}

size_t encode_header(std::span<uint8_t> out, std::span<const uint8_t> header, uint32_t data_len,
                     const SendParams& params) noexcept {
    if (header.size() < sizeof(CommonHeader)) return 0;
    const auto type = static_cast<PduType>(header[0]);
    const uint32_t hlen = expected_hlen(header[0]);
    if (hlen == 0 || header.size() < hlen) return 0;
    const PduPlan plan = plan_pdu(type, data_len, params);
    if (out.size() < plan.data_offset) return 0;

    std::memcpy(out.data(), header.data(), hlen);
    auto* ch = reinterpret_cast<CommonHeader*>(out.data());
    ch->hlen = static_cast<uint8_t>(hlen);
    ch->flags = static_cast<uint8_t>(ch->flags & ~(pdu_flags::kHdgst | pdu_flags::kDdgst));
    if (plan.header_digest) ch->flags |= pdu_flags::kHdgst;
    if (plan.data_digest) ch->flags |= pdu_flags::kDdgst;
    ch->pdo = (data_len > 0 && takes_digests(type)) ? static_cast<uint8_t>(plan.data_offset) : 0;
    ch->plen.set(plan.plen);
    if (plan.header_digest) store_le32(out.data() + hlen, crc32c(out.data(), hlen));
    std::fill(out.data() + plan.header_len, out.data() + plan.data_offset, uint8_t{0});
    return plan.data_offset;
}

size_t encode_pdu(std::span<uint8_t> out, std::span<const uint8_t> header, std::span<const uint8_t> data,
                  const SendParams& params) noexcept {
    if (data.size() > UINT32_MAX) return 0;
    const auto data_len = static_cast<uint32_t>(data.size());
    const PduPlan plan = plan_pdu(static_cast<PduType>(header.empty() ? 0xff : header[0]), data_len, params);
    if (out.size() < plan.plen) return 0;
    const size_t at = encode_header(out, header, data_len, params);
    if (at == 0) return 0;
    if (!data.empty()) std::memcpy(out.data() + at, data.data(), data.size());  // data() may be null when empty
    if (plan.data_digest) store_le32(out.data() + at + data.size(), crc32c(data));
    return plan.plen;
}

}  // namespace nvmeddp::nvmetcp
