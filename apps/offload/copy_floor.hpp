// The part of a connection's read data that no receive offload can place: bytes every copy of which
// arrived before the header of their PDU. A device learns where a C2HData PDU's data goes (the
// command, the buffer offset) from its header; a packet of data that comes before it (the header's
// packet lost or overtaken) has passed the device by the time the header tells it, and the host must
// copy those bytes whatever the device does. The demo prints this beside what the host copied, so the
// copies the offload could still avoid are the difference.
//
// Fed the frames in the order the host's TCP gets them (frames damaged on the wire excluded: the host
// drops them), with their stream ranges from the generator's truth.
#pragma once

#include <cstdint>
#include <vector>

#include "testlib/read_stream_gen.hpp"

namespace nvmeddp::offload_app {

class CopyFloor {
public:
    // header_len: the bytes of a C2HData header the device must have (hlen, and HDGST when on).
    CopyFloor(const testlib::ReadStream& stream, uint32_t header_len);

    void on_frame(uint64_t stream_offset, uint32_t len);

    // Read data bytes no copy of which arrived with or after its PDU's header.
    uint64_t unplaceable_bytes() const;

private:
    struct Pdu {
        uint64_t header_begin, header_end;  // stream offsets
        uint64_t data_begin, data_end;
        uint32_t header_have = 0;           // header bytes arrived so far (each counted once)
    };
    std::vector<Pdu> pdus_;                 // the reads' C2HData PDUs, in stream order
    std::vector<uint8_t> arrived_;          // per stream byte: some copy arrived
    std::vector<uint8_t> placeable_;        // per stream byte: a copy arrived once its header had
};

}  // namespace nvmeddp::offload_app
