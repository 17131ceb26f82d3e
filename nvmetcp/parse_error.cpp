#include "nvmetcp/parse_error.hpp"

#include <cstdio>

namespace nvmeddp::nvmetcp {

const char* to_string(ErrorKind kind) noexcept {
    switch (kind) {
        case ErrorKind::None: return "no error";
        case ErrorKind::UnknownPduType: return "PDU type not valid in this direction";
        case ErrorKind::BadHlen: return "hlen does not match the PDU type";
        case ErrorKind::BadPdo: return "pdo below header+digest or not aligned to the negotiated PDA";
        case ErrorKind::BadPlen: return "plen inconsistent with type, header, pdo and digests";
        case ErrorKind::BadDigestFlags: return "HDGSTF/DDGSTF differ from the negotiated digests";
        case ErrorKind::BadFlags: return "SUCCESS set without LAST_PDU";
        case ErrorKind::UnexpectedPdu: return "PDU not allowed in this connection state";
        case ErrorKind::UnsupportedPfv: return "unsupported PDU format version";
        case ErrorKind::BadIcParameter: return "IC parameter out of range";
        case ErrorKind::HeaderDigestMismatch: return "header digest mismatch";
        case ErrorKind::DataLengthZero: return "data PDU without data";
        case ErrorKind::DatalMismatch: return "datal differs from plen - pdo - digest";
        case ErrorKind::DataOutOfRange: return "data offset/length outside the command's transfer";
        case ErrorKind::UnknownCommand: return "data for an unknown command id";
        case ErrorKind::DataLimitExceeded: return "data length over the negotiated limit";
        case ErrorKind::DataDigestMismatch: return "data digest mismatch";
        case ErrorKind::TermReqReceived: return "peer sent a TermReq";
    }
    return "unknown error";
}

const char* to_string(Fes fes) noexcept {
    switch (fes) {
        case Fes::None: return "none";
        case Fes::InvalidHeaderField: return "invalid PDU header field";
        case Fes::PduSequenceError: return "PDU sequence error";
        case Fes::HeaderDigestError: return "header digest error";
        case Fes::DataOutOfRange: return "data transfer out of range";
        case Fes::DataLimitExceeded: return "data transfer limit exceeded";
        case Fes::UnsupportedParameter: return "unsupported parameter";
    }
    return "unknown FES";
}

const char* describe(const ParseError& error, char* buf, unsigned len) noexcept {
    if (error.fes == Fes::None) {
        std::snprintf(buf, len, "%s (PDU at stream offset %llu)", to_string(error.kind),
                      static_cast<unsigned long long>(error.pdu_offset));
    } else {
        std::snprintf(buf, len, "%s (FES %u) at FEI %u: %s (PDU at stream offset %llu)", to_string(error.fes),
                      static_cast<unsigned>(error.fes), error.fei, to_string(error.kind),
                      static_cast<unsigned long long>(error.pdu_offset));
    }
    return buf;
}

}  // namespace nvmeddp::nvmetcp
