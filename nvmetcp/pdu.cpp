#include "nvmetcp/pdu.hpp"

namespace nvmeddp::nvmetcp {

const char* to_string(PduType type) noexcept {
    switch (type) {
        case PduType::ICReq: return "ICReq";
        case PduType::ICResp: return "ICResp";
        case PduType::H2CTermReq: return "H2CTermReq";
        case PduType::C2HTermReq: return "C2HTermReq";
        case PduType::CapsuleCmd: return "CapsuleCmd";
        case PduType::CapsuleResp: return "CapsuleResp";
        case PduType::H2CData: return "H2CData";
        case PduType::C2HData: return "C2HData";
        case PduType::R2T: return "R2T";
    }
    return "unknown";
}

uint8_t expected_hlen(uint8_t type) noexcept {
    switch (static_cast<PduType>(type)) {
        case PduType::ICReq:
        case PduType::ICResp: return kHlenIc;
        case PduType::H2CTermReq:
        case PduType::C2HTermReq: return kHlenTermReq;
        case PduType::CapsuleCmd: return kHlenCapsuleCmd;
        case PduType::CapsuleResp: return kHlenCapsuleResp;
        case PduType::H2CData:
        case PduType::C2HData: return kHlenData;
        case PduType::R2T: return kHlenR2T;
    }
    return 0;
}

}  // namespace nvmeddp::nvmetcp
