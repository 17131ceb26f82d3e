// Test helpers: the controller-to-host byte stream of a series of READ commands (C2HData PDUs, one or
// several per command, then a CapsuleResp or the SUCCESS flag), optionally interleaved with PDUs of
// other commands, with the ground truth a placement test needs: each read's data and where every PDU
// sits in the stream.
#pragma once

#include <cstdint>
#include <vector>

#include "nvmetcp/pdu.hpp"

namespace nvmeddp::testlib {

struct ReadStreamOptions {
    bool header_digest = false;
    bool data_digest = false;
    uint32_t pda = 0;              // HPDA: C2HData padding
    uint32_t commands = 16;
    uint32_t min_len = 4096;
    uint32_t max_len = 65536;
    // Largest C2HData data length; 0 sends each command in one C2HData (as Linux nvmet does), else
    // splits it (as SPDK does).
    uint32_t max_pdu_data = 0;
    bool success_flag = false;     // complete with SUCCESS on the last C2HData, not a CapsuleResp
    double other_pdu_rate = 0.0;   // probability of a PDU of another command (CapsuleResp, R2T) between PDUs
    uint16_t first_cid = 0;        // reads use first_cid, first_cid + 1, ...
    // When not empty, read i uses cids[i % cids.size()] instead (a host that hands out command ids
    // in an order of its own, e.g. from a LIFO free list).
    std::vector<uint16_t> cids{};
    uint64_t seed = 1;
};

struct GeneratedRead {
    uint16_t cid = 0;
    std::vector<uint8_t> data;
    uint64_t first_pdu = 0;  // stream offset of its first PDU (where it would be, if it has none)
};

struct PduRecord {
    nvmetcp::PduType type{};
    uint64_t offset = 0;  // stream offset of the first byte
    uint32_t plen = 0;
    uint16_t cid = 0;
    uint32_t datao = 0;   // C2HData
    uint32_t datal = 0;
    uint32_t pdo = 0;     // data offset within the PDU
    bool read = false;    // belongs to one of the reads
};

struct ReadStream {
    std::vector<uint8_t> bytes;
    std::vector<GeneratedRead> reads;
    std::vector<PduRecord> pdus;
};

ReadStream generate_read_stream(const ReadStreamOptions& options);

// Other-command ids used between reads: never one of the reads' ids.
inline constexpr uint16_t kOtherCidBase = 0xF000;

}  // namespace nvmeddp::testlib
