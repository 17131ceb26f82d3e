// One packet's placement claim (contract v3, include/nvmeddp/ddp_mbuf.h), built as the engine
// places bytes: the runs placed in the packet are noted (a few, in a fixed array), and finish()
// claims the best of them: a pair (a run that ends its C2HData PDU's data, and the run of the next
// C2HData PDU from its first data byte, of any command) or a single run, whichever has more bytes.
//
// Run 2 names neither its command nor its offset: the host reads them from the PDU's header, as the
// engine did. So a pair is claimed only when the engine framed everything from the end of run 1's
// PDU to run 2's first byte from this packet's bytes (the caller says so per run:
// RunPdu::framed_here), and nothing but non-data PDUs lies between the two. For runs of the
// packet's own framing (new bytes, at the stream's front) that is consecutive ordinals. Runs that
// fill holes below the stream's front are not part of that framing; two of them pair when the
// engine framed run 2's PDU from headers that came whole in one chunk of this packet, from the end
// of run 1's PDU on, with no C2HData between (a lost header's retransmission that also carries the
// end of the PDU before it).
//
// Placed bytes that fit no claimed run are not claimed: the host copies them (again), which costs a
// copy and nothing else. A claim is about sequence numbers, never payload offsets, so a host that
// trims or reorders packets applies it exactly.
#pragma once

#include <cstdint>

#include "ddp/tcp_seq.hpp"
#include "nvmeddp/ddp_mbuf.h"

namespace nvmeddp::pmd {

// The C2HData PDU a placed run belongs to: as the engine framed it in this packet (new bytes), or
// as it keeps track of it with holes (a hole fill).
struct RunPdu {
    static constexpr uint32_t kUnframed = UINT32_MAX;  // bytes below the stream's front (hole fills)
    // C2HData PDUs whose header the engine completed in this packet before this one's, plus one (0:
    // the PDU was open when the packet came); kUnframed: not part of the packet's framing.
    uint32_t ordinal = kUnframed;
    // New bytes: every byte from the end of the C2HData PDU before this one (ordinal - 1) to this
    // PDU's first data byte was framed from this packet. A hole fill: below.
    bool framed_here = false;
    ddp::TcpSeq data_begin;  // the PDU's first data byte
    ddp::TcpSeq data_end;    // one past its last
    // A hole fill (ordinal kUnframed). framed_here then says that the engine framed this PDU from
    // headers that came whole in one chunk of this packet, from framed_from on (non-data PDUs, then
    // this one's);
    // pdu_end is where the PDU ends, for pairing with the fill of the C2HData after it.
    bool hole_fill = false;
    ddp::TcpSeq framed_from;
    ddp::TcpSeq pdu_end;
};

// A run a claim can name: len bytes from seq, placed at buffer offset buf_off of registration
// (cccid, tag).
struct PlacedRun {
    ddp::TcpSeq seq;
    uint32_t len = 0;
    uint32_t buf_off = 0;
    uint16_t cccid = 0;
    uint16_t tag = 0;

    // Writes it into m as the claim's run 1.
    [[gnu::always_inline]] void write_as_run1(::nvmeddp_pkt_meta& m) const noexcept {
        m.place_seq = seq.raw();
        m.place_buf_off = buf_off;
        m.place_len = static_cast<uint16_t>(len);
        m.place_cccid = cccid;
        m.place_tag = tag;
    }
};

class ClaimBuilder {
public:
    // Runs a packet can note; past them, further runs are not candidates (the host copies them).
    static constexpr int kMaxRuns = 8;

    void reset(::nvmeddp_pkt_meta* meta) noexcept {
        meta_ = meta;
        count_ = 0;
    }

    // Whether a claim can name `len` bytes placed at buffer offset `buf_off`: a run of at most
    // 64 KiB - 1 (a packet's payload) within the first 4 GiB of the buffer.
    static constexpr bool claimable(uint32_t len, uint64_t buf_off) noexcept {
        return len != 0 && len <= UINT16_MAX && buf_off + len <= UINT32_MAX;
    }

    // `len` bytes starting at `seq` of this packet were written at buffer offset `buf_off` of the
    // registration (cccid, tag), as data of `pdu`.
    void placed(ddp::TcpSeq seq, uint32_t len, uint64_t buf_off, uint16_t cccid, uint16_t tag, const RunPdu& pdu) noexcept {
        if (!claimable(len, buf_off)) return;
        const auto off = static_cast<uint32_t>(buf_off);
        if (count_ > 0) {
            Run& last = runs_[count_ - 1];
            const bool continues = last.pdu.ordinal == pdu.ordinal && last.pdu.data_begin == pdu.data_begin &&
                                   last.cccid == cccid && last.tag == tag && last.seq + last.len == seq &&
                                   last.buf_off + last.len == off;
            if (continues) {
                // A claim's run is at most 64 KiB - 1 (claimable); the rest is not claimed.
                if (last.len + len <= UINT16_MAX) last.len += len;
                return;
            }
        }
        if (count_ == kMaxRuns) return;
        runs_[count_++] = Run{{seq, len, off, cccid, tag}, pdu};
    }

    // The packet is done: writes the claim (place_*, place2_*) of the most bytes.
    void finish() noexcept {
        ::nvmeddp_pkt_meta& m = *meta_;
        int best1 = -1;
        int best2 = -1;
        uint32_t best = 0;
        for (int i = 0; i < count_; ++i) {
            if (runs_[i].len > best) {
                best = runs_[i].len;
                best1 = i;
                best2 = -1;
            }
            for (int j = i + 1; j < count_; ++j) {
                if (pairs(runs_[i], runs_[j]) && runs_[i].len + runs_[j].len > best) {
                    best = runs_[i].len + runs_[j].len;
                    best1 = i;
                    best2 = j;
                }
            }
        }
        if (best1 < 0) return;
        runs_[best1].write_as_run1(m);
        if (best2 >= 0) {
            m.place2_tag = runs_[best2].tag;
            m.place2_len = static_cast<uint16_t>(runs_[best2].len);
        }
    }

private:
    struct Run : PlacedRun {
        RunPdu pdu;
    };

    // b can be run 2 of a claim whose run 1 is a: a ends its PDU's data, b's PDU is the next C2HData,
    // framed from this packet from a's PDU's end on, and b starts at its first data byte. Two hole
    // fills: b's framing from this packet starts where a's PDU ends (a's data digest and the headers
    // between lie in this packet, since it holds a's last data byte and b's first).
    static bool pairs(const Run& a, const Run& b) noexcept {
        if (a.seq + a.len != a.pdu.data_end || b.seq != b.pdu.data_begin || !b.pdu.framed_here) return false;
        if (a.pdu.hole_fill || b.pdu.hole_fill) {
            return a.pdu.hole_fill && b.pdu.hole_fill && b.pdu.framed_from == a.pdu.pdu_end;
        }
        return a.pdu.ordinal != RunPdu::kUnframed && b.pdu.ordinal == a.pdu.ordinal + 1;
    }

    ::nvmeddp_pkt_meta* meta_ = nullptr;
    Run runs_[kMaxRuns]{};
    int count_ = 0;
};

// ClaimBuilder's choice made as the runs come, for a packet whose C2HData PDUs the engine takes one
// after another in sync at the stream's front (the straight paths): each PDU of the packet has one
// run or none, every run but the last ends its PDU's data and every run but the first starts it.
// The candidates are then each run alone and the runs of two consecutive PDUs (when the later was
// framed from this packet), and finish()'s order (a run alone, then its pair with the next) with
// the first of the most bytes winning gives the same claim with no list and no second loop.
// Tested side by side with ClaimBuilder (placement_claim_test.cpp).
class InOrderClaim {
public:
    // The claim goes into m, whose place fields are zero (start_meta()), as the runs come.
    explicit InOrderClaim(::nvmeddp_pkt_meta& m) noexcept : m_(m) {}

    // The packet's next C2HData: len bytes from seq placed at buffer offset buf_off of registration
    // (cccid, tag); len 0 when none were placed. framed_here as RunPdu's (false for the first).
    [[gnu::always_inline]] void pdu(ddp::TcpSeq seq, uint32_t len, uint64_t buf_off, uint16_t cccid, uint16_t tag, bool framed_here) noexcept {
        if (!ClaimBuilder::claimable(len, buf_off)) {
            prev_.len = 0;
            return;
        }
        const PlacedRun run{seq, len, static_cast<uint32_t>(buf_off), cccid, tag};
        if (prev_.len != 0 && framed_here && prev_.len + len > best_) {
            // With the previous run, it beats itself alone too.
            best_ = prev_.len + len;
            prev_.write_as_run1(m_);
            m_.place2_tag = tag;
            m_.place2_len = static_cast<uint16_t>(len);
        } else if (len > best_) {
            best_ = len;
            run.write_as_run1(m_);
            m_.place2_tag = 0;
            m_.place2_len = 0;
        }
        prev_ = run;
    }

    bool claimed() const noexcept { return best_ != 0; }

private:
    ::nvmeddp_pkt_meta& m_;
    uint32_t best_ = 0;    // bytes of the claim so far
    PlacedRun prev_{};     // the previous PDU's run (len 0: none)
};

}  // namespace nvmeddp::pmd
