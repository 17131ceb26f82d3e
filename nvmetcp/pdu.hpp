// NVMe/TCP PDU wire formats (NVMe/TCP transport specification 1.0): one struct per PDU type.
//
// Every struct is the exact wire layout (alignment 1, see wire_int.hpp); the static_asserts pin each
// size and field offset so that a layout mistake fails the build, not a test run.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nvmetcp/wire_int.hpp"

namespace nvmeddp::nvmetcp {

enum class PduType : uint8_t {
    ICReq = 0x00,
    ICResp = 0x01,
    H2CTermReq = 0x02,
    C2HTermReq = 0x03,
    CapsuleCmd = 0x04,
    CapsuleResp = 0x05,
    H2CData = 0x06,
    C2HData = 0x07,
    R2T = 0x09,
};

// Common header flags (CH.FLAGS).
namespace pdu_flags {
inline constexpr uint8_t kHdgst = 0x01;    // HDGSTF: a header digest follows the header
inline constexpr uint8_t kDdgst = 0x02;    // DDGSTF: a data digest follows the data
inline constexpr uint8_t kLastPdu = 0x04;  // LAST_PDU: last data PDU of the command
inline constexpr uint8_t kSuccess = 0x08;  // SUCCESS: C2HData completes the command (no CapsuleResp)
}  // namespace pdu_flags

inline constexpr uint32_t kDigestLen = 4;
inline constexpr uint8_t kHlenIc = 128;
inline constexpr uint8_t kHlenTermReq = 24;
inline constexpr uint8_t kHlenCapsuleCmd = 72;
inline constexpr uint8_t kHlenCapsuleResp = 24;
inline constexpr uint8_t kHlenData = 24;  // H2CData, C2HData
inline constexpr uint8_t kHlenR2T = 24;
inline constexpr uint32_t kTermReqMaxErrorData = 128;
inline constexpr uint32_t kTermReqMaxPlen = kHlenTermReq + kTermReqMaxErrorData;  // 152
inline constexpr uint32_t kMaxCpda = 31;  // CPDA/HPDA are 0's based dwords, 5 bits
inline constexpr uint16_t kPfv10 = 0;     // PDU format version 1.0

// ICReq/ICResp DGST field bits.
namespace ic_digest {
inline constexpr uint8_t kHeader = 0x01;
inline constexpr uint8_t kData = 0x02;
}  // namespace ic_digest

struct CommonHeader {
    uint8_t type;
    uint8_t flags;
    uint8_t hlen;
    uint8_t pdo;
    le32 plen;

    PduType pdu_type() const noexcept { return static_cast<PduType>(type); }
};
static_assert(sizeof(CommonHeader) == 8);
static_assert(offsetof(CommonHeader, type) == 0 && offsetof(CommonHeader, flags) == 1 &&
              offsetof(CommonHeader, hlen) == 2 && offsetof(CommonHeader, pdo) == 3 &&
              offsetof(CommonHeader, plen) == 4);

// Byte offsets of the common header fields, used as FEI values in TermReq.
namespace ch_offset {
inline constexpr uint32_t kType = offsetof(CommonHeader, type);
inline constexpr uint32_t kFlags = offsetof(CommonHeader, flags);
inline constexpr uint32_t kHlen = offsetof(CommonHeader, hlen);
inline constexpr uint32_t kPdo = offsetof(CommonHeader, pdo);
inline constexpr uint32_t kPlen = offsetof(CommonHeader, plen);
}  // namespace ch_offset

struct ICReqPdu {
    CommonHeader ch;
    le16 pfv;
    uint8_t hpda;  // host PDU data alignment, 0's based dwords
    uint8_t dgst;  // ic_digest bits requested
    le32 maxr2t;   // 0's based
    uint8_t reserved[112];
};
static_assert(sizeof(ICReqPdu) == kHlenIc);
static_assert(offsetof(ICReqPdu, pfv) == 8 && offsetof(ICReqPdu, hpda) == 10 &&
              offsetof(ICReqPdu, dgst) == 11 && offsetof(ICReqPdu, maxr2t) == 12 &&
              offsetof(ICReqPdu, reserved) == 16);

struct ICRespPdu {
    CommonHeader ch;
    le16 pfv;
    uint8_t cpda;  // controller PDU data alignment, 0's based dwords
    uint8_t dgst;  // ic_digest bits enabled
    le32 maxh2cdata;
    uint8_t reserved[112];
};
static_assert(sizeof(ICRespPdu) == kHlenIc);
static_assert(offsetof(ICRespPdu, pfv) == 8 && offsetof(ICRespPdu, cpda) == 10 &&
              offsetof(ICRespPdu, dgst) == 11 && offsetof(ICRespPdu, maxh2cdata) == 12 &&
              offsetof(ICRespPdu, reserved) == 16);

// H2CTermReq and C2HTermReq share a layout; up to 128 bytes of error data (the offending PDU
// header) follow the 24-byte header.
struct TermReqPdu {
    CommonHeader ch;
    le16 fes;
    le32 fei;
    uint8_t reserved[10];
};
static_assert(sizeof(TermReqPdu) == kHlenTermReq);
static_assert(offsetof(TermReqPdu, fes) == 8 && offsetof(TermReqPdu, fei) == 10 &&
              offsetof(TermReqPdu, reserved) == 14);

// NVMe submission queue entry (64 bytes) as carried in a CapsuleCmd.
struct NvmeSqe {
    uint8_t opcode;
    uint8_t flags;  // FUSE bits 1:0, PSDT bits 7:6 (must be 01b = SGL for fabrics)
    le16 cid;
    le32 nsid;
    le32 cdw2;
    le32 cdw3;
    le64 mptr;
    uint8_t dptr[16];  // SGL descriptor
    le32 cdw10;
    le32 cdw11;
    le32 cdw12;
    le32 cdw13;
    le32 cdw14;
    le32 cdw15;
};
static_assert(sizeof(NvmeSqe) == 64);
static_assert(offsetof(NvmeSqe, cid) == 2 && offsetof(NvmeSqe, nsid) == 4 &&
              offsetof(NvmeSqe, mptr) == 16 && offsetof(NvmeSqe, dptr) == 24 &&
              offsetof(NvmeSqe, cdw10) == 40 && offsetof(NvmeSqe, cdw15) == 60);

// NVMe completion queue entry (16 bytes) as carried in a CapsuleResp.
struct NvmeCqe {
    le32 dw0;
    le32 dw1;
    le16 sqhd;
    le16 sqid;
    le16 cid;
    le16 status;  // bit 0 phase tag, bits 15:1 status field
};
static_assert(sizeof(NvmeCqe) == 16);
static_assert(offsetof(NvmeCqe, sqhd) == 8 && offsetof(NvmeCqe, cid) == 12 &&
              offsetof(NvmeCqe, status) == 14);

struct CapsuleCmdPdu {
    CommonHeader ch;
    NvmeSqe sqe;
};
static_assert(sizeof(CapsuleCmdPdu) == kHlenCapsuleCmd);
static_assert(offsetof(CapsuleCmdPdu, sqe) == 8);

struct CapsuleRespPdu {
    CommonHeader ch;
    NvmeCqe cqe;
};
static_assert(sizeof(CapsuleRespPdu) == kHlenCapsuleResp);
static_assert(offsetof(CapsuleRespPdu, cqe) == 8);

struct H2CDataPdu {
    CommonHeader ch;
    le16 cccid;
    le16 ttag;
    le32 datao;
    le32 datal;
    uint8_t reserved[4];
};
static_assert(sizeof(H2CDataPdu) == kHlenData);
static_assert(offsetof(H2CDataPdu, cccid) == 8 && offsetof(H2CDataPdu, ttag) == 10 &&
              offsetof(H2CDataPdu, datao) == 12 && offsetof(H2CDataPdu, datal) == 16 &&
              offsetof(H2CDataPdu, reserved) == 20);

struct C2HDataPdu {
    CommonHeader ch;
    le16 cccid;
    uint8_t reserved0[2];
    le32 datao;
    le32 datal;
    uint8_t reserved1[4];
};
static_assert(sizeof(C2HDataPdu) == kHlenData);
static_assert(offsetof(C2HDataPdu, cccid) == 8 && offsetof(C2HDataPdu, datao) == 12 &&
              offsetof(C2HDataPdu, datal) == 16 && offsetof(C2HDataPdu, reserved1) == 20);

struct R2TPdu {
    CommonHeader ch;
    le16 cccid;
    le16 ttag;
    le32 r2to;
    le32 r2tl;
    uint8_t reserved[4];
};
static_assert(sizeof(R2TPdu) == kHlenR2T);
static_assert(offsetof(R2TPdu, cccid) == 8 && offsetof(R2TPdu, ttag) == 10 &&
              offsetof(R2TPdu, r2to) == 12 && offsetof(R2TPdu, r2tl) == 16);

// The largest fixed header (IC PDUs) plus a header digest: the parser's header buffer size.
inline constexpr uint32_t kMaxHeaderLen = kHlenIc;

const char* to_string(PduType type) noexcept;

// IC and TermReq PDUs never carry digests or padding; C2HData/H2CData carry command data.
constexpr bool is_ic(PduType t) noexcept { return t == PduType::ICReq || t == PduType::ICResp; }
constexpr bool is_term_req(PduType t) noexcept { return t == PduType::H2CTermReq || t == PduType::C2HTermReq; }
constexpr bool is_data_pdu(PduType t) noexcept { return t == PduType::C2HData || t == PduType::H2CData; }

// The header length the specification fixes for a PDU type, or 0 for a value that is no PDU type.
uint8_t expected_hlen(uint8_t type) noexcept;

// Data alignment in bytes for a 0's based CPDA/HPDA value: (cpda + 1) * 4.
constexpr uint32_t data_alignment(uint32_t cpda) noexcept { return (cpda + 1) * 4; }

// The PDO a sender puts in a data-carrying PDU: header, header digest, then padding up to the
// receiver's alignment. With CPDA 0 no padding is inserted (the spec and every host agree).
constexpr uint32_t expected_pdo(uint32_t hlen, bool header_digest, uint32_t cpda) noexcept {
    uint32_t pdo = hlen + (header_digest ? kDigestLen : 0);
    if (cpda == 0) return pdo;
    const uint32_t align = data_alignment(cpda);
    return (pdo + align - 1) / align * align;
}

}  // namespace nvmeddp::nvmetcp
