// Errors of the NVMe/TCP receive path, as values.
//
// A fatal error carries what a TermReq needs: the Fatal Error Status (FES) and the Fatal Error
// Information (FEI, for header field errors the byte offset of the offending field in the PDU header).
// A data digest mismatch is not fatal to the connection: it fails the one command (NVMe status
// "transient transport error"), so it carries no FES.
#pragma once

#include <cstdint>

namespace nvmeddp::nvmetcp {

// NVMe/TCP Fatal Error Status codes (TermReq FES field).
enum class Fes : uint16_t {
    None = 0,
    InvalidHeaderField = 1,
    PduSequenceError = 2,
    HeaderDigestError = 3,
    DataOutOfRange = 4,
    DataLimitExceeded = 5,  // also "R2T limit exceeded"
    UnsupportedParameter = 6,
};

// What exactly was wrong: finer than FES, for logs, statistics and tests.
enum class ErrorKind : uint8_t {
    None = 0,
    UnknownPduType,          // type not valid in this direction
    BadHlen,                 // hlen differs from the fixed value for the type
    BadPdo,                  // pdo not allowed for the type, below header+digest, or misaligned
    BadPlen,                 // plen inconsistent with type, hlen, pdo, digests or limits
    BadDigestFlags,          // HDGSTF/DDGSTF differ from what was negotiated
    BadFlags,                // e.g. SUCCESS without LAST_PDU, LAST_PDU on a non-data PDU
    UnexpectedPdu,           // PDU not allowed in the current connection state (e.g. IC twice)
    UnsupportedPfv,          // ICReq/ICResp PDU format version not 1.0
    BadIcParameter,          // ICReq/ICResp field out of its range (hpda/cpda, maxh2cdata)
    HeaderDigestMismatch,    // HDGST does not match the header
    DataLengthZero,          // a data PDU that carries no data
    DatalMismatch,           // datal differs from the data length plen and pdo give
    DataOutOfRange,          // datao/datal outside the command's transfer, or out of order
    UnknownCommand,          // data PDU for a command id the receiver does not know
    DataLimitExceeded,       // H2CData larger than MAXH2CDATA
    DataDigestMismatch,      // DDGST does not match the data (not fatal: fails the command)
    TermReqReceived,         // the peer terminated the connection
};

struct ParseError {
    ErrorKind kind = ErrorKind::None;
    Fes fes = Fes::None;
    uint32_t fei = 0;            // field offset within the PDU header (FEI)
    uint64_t pdu_offset = 0;     // stream offset of the first byte of the offending PDU
    bool fatal = false;          // the connection must be terminated

    explicit operator bool() const noexcept { return kind != ErrorKind::None; }
};

inline constexpr ParseError fatal_error(ErrorKind kind, Fes fes, uint32_t fei) noexcept {
    return ParseError{kind, fes, fei, 0, true};
}

const char* to_string(ErrorKind kind) noexcept;
const char* to_string(Fes fes) noexcept;

// "invalid header field (FES 1) at FEI 3: bad pdo" into buf; returns buf.
const char* describe(const ParseError& error, char* buf, unsigned len) noexcept;

}  // namespace nvmeddp::nvmetcp
