// Building NVMe/TCP PDUs for sending.
//
// make_*() return a header struct with its type-specific fields set. encode_header() completes the
// common header (hlen, pdo, plen, digest flags) for the data that will follow and writes header,
// header digest and padding; a zero-copy sender then sends the data and the data digest from where
// they are. encode_pdu() writes the whole PDU into one buffer (tests, the built-in target).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "nvmetcp/parse_error.hpp"
#include "nvmetcp/pdu.hpp"

namespace nvmeddp::nvmetcp {

// What the sender puts on the wire, from the IC exchange.
struct SendParams {
    bool header_digest = false;
    bool data_digest = false;
    uint32_t pda = 0;  // the receiver's requested alignment (HPDA when the controller sends)
};

ICReqPdu make_icreq(uint8_t hpda, uint8_t digests, uint32_t maxr2t) noexcept;
ICRespPdu make_icresp(uint8_t cpda, uint8_t digests, uint32_t maxh2cdata) noexcept;
TermReqPdu make_term_req(PduType type, Fes fes, uint32_t fei) noexcept;
CapsuleCmdPdu make_capsule_cmd(const NvmeSqe& sqe) noexcept;
CapsuleRespPdu make_capsule_resp(const NvmeCqe& cqe) noexcept;
C2HDataPdu make_c2h_data(uint16_t cccid, uint32_t datao, uint32_t datal, uint8_t flags) noexcept;
H2CDataPdu make_h2c_data(uint16_t cccid, uint16_t ttag, uint32_t datao, uint32_t datal, uint8_t flags) noexcept;
R2TPdu make_r2t(uint16_t cccid, uint16_t ttag, uint32_t r2to, uint32_t r2tl) noexcept;

// Where the parts of a PDU go for a given type and data length.
struct PduPlan {
    uint32_t header_len = 0;   // hlen (+ HDGST)
    uint32_t data_offset = 0;  // PDO (header_len when there is no data)
    uint32_t data_len = 0;
    uint32_t plen = 0;         // total, including the data digest
    bool header_digest = false;
    bool data_digest = false;
};

PduPlan plan_pdu(PduType type, uint32_t data_len, const SendParams& params) noexcept;

// Writes header, HDGST and zeroed padding (plan.data_offset bytes) for `data_len` bytes of data.
// header is the hlen bytes of a make_*() struct. Returns bytes written, or 0 if out is too small.
size_t encode_header(std::span<uint8_t> out, std::span<const uint8_t> header, uint32_t data_len,
                     const SendParams& params) noexcept;

// Writes the whole PDU (header, HDGST, padding, data, DDGST). Returns plen, or 0 if out is too small.
size_t encode_pdu(std::span<uint8_t> out, std::span<const uint8_t> header, std::span<const uint8_t> data,
                  const SendParams& params) noexcept;

template <typename Pdu>
std::span<const uint8_t> header_bytes(const Pdu& pdu) noexcept {
    return {reinterpret_cast<const uint8_t*>(&pdu), sizeof(Pdu)};
}

template <typename Pdu>
size_t encode_pdu(std::span<uint8_t> out, const Pdu& pdu, std::span<const uint8_t> data,
                  const SendParams& params) noexcept {
    return encode_pdu(out, header_bytes(pdu), data, params);
}

}  // namespace nvmeddp::nvmetcp
