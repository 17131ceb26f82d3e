// One packet's placement claim (contract v2, include/nvmeddp/ddp_mbuf.h), built as the engine
// places bytes: a run of placed bytes, and optionally a second run of the same registration that
// continues the first in the buffer (the next PDU of a command split into several C2HData).
//
// Placed bytes that fit neither run are not claimed: the host copies them (again), which costs a
// copy and nothing else. Where a packet carries the end of one read and the start of the next, the
// claim names the registration with more bytes in the packet (finish()), so the host copies the
// smaller part. A claim is about sequence numbers, never payload offsets, so a host that trims or
// reorders packets applies it exactly.
#pragma once

#include <cstdint>

#include "ddp/tcp_seq.hpp"
#include "nvmeddp/ddp_mbuf.h"

namespace nvmeddp::pmd {

class ClaimBuilder {
public:
    void reset(::nvmeddp_pkt_meta* meta) noexcept {
        meta_ = meta;
        other_ = {};
    }

    // `len` bytes starting at `seq` of this packet were written at buffer offset `buf_off` of the
    // registration (cccid, tag).
    void placed(ddp::TcpSeq seq, uint32_t len, uint64_t buf_off, uint16_t cccid, uint16_t tag) noexcept {
        ::nvmeddp_pkt_meta& m = *meta_;
        if (len == 0 || buf_off + len > UINT32_MAX) return;
        const auto off = static_cast<uint32_t>(buf_off);
        if (m.place_len == 0) {
            m.place_seq = seq.raw();
            m.place_buf_off = off;
            m.place_len = static_cast<uint16_t>(len);
            m.place_cccid = cccid;
            m.place_tag = tag;
            return;
        }
        if (cccid != m.place_cccid || tag != m.place_tag) {
            note_other(seq, len, off, cccid, tag);
            return;
        }
        const ddp::TcpSeq run1_end = ddp::TcpSeq(m.place_seq) + m.place_len;
        const uint32_t run2_buf = m.place_buf_off + m.place_len;
        if (m.place2_len == 0) {
            if (seq == run1_end && off == run2_buf) {  // continues the first run
                m.place_len = static_cast<uint16_t>(m.place_len + len);
            } else if (seq > run1_end && off == run2_buf) {  // the next PDU, right after it in the buffer
                m.place2_gap = static_cast<uint16_t>(run1_end.bytes_to(seq));
                m.place2_len = static_cast<uint16_t>(len);
            }
            return;
        }
        const ddp::TcpSeq run2_end = run1_end + m.place2_gap + m.place2_len;
        if (seq == run2_end && off == run2_buf + m.place2_len) m.place2_len = static_cast<uint16_t>(m.place2_len + len);
    }

    // The packet is done: claims the other registration's run instead when it holds more bytes.
    void finish() noexcept {
        ::nvmeddp_pkt_meta& m = *meta_;
        if (other_.len <= uint32_t{m.place_len} + m.place2_len) return;
        m.place_seq = other_.seq.raw();
        m.place_buf_off = other_.buf_off;
        m.place_len = static_cast<uint16_t>(other_.len);
        m.place_cccid = other_.cccid;
        m.place_tag = other_.tag;
        m.place2_gap = 0;
        m.place2_len = 0;
    }

private:
    // The first run of another registration in this packet, while it continues in sequence and buffer.
    struct OtherRun {
        ddp::TcpSeq seq;
        uint32_t len = 0;
        uint32_t buf_off = 0;
        uint16_t cccid = 0;
        uint16_t tag = 0;
    };

    void note_other(ddp::TcpSeq seq, uint32_t len, uint32_t off, uint16_t cccid, uint16_t tag) noexcept {
        if (other_.len == 0) {
            other_ = {seq, len, off, cccid, tag};
        } else if (cccid == other_.cccid && tag == other_.tag && seq == other_.seq + other_.len && off == other_.buf_off + other_.len) {
            other_.len += len;
        }
    }

    ::nvmeddp_pkt_meta* meta_ = nullptr;
    OtherRun other_{};
};

}  // namespace nvmeddp::pmd
