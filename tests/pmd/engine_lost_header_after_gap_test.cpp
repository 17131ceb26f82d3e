// A lost header completed from the bytes kept after the gap, and the rest of a PDU placed after a
// confirmed speculation: padding after the gap, PDUs that ended before the gap was filled, holes on
// both sides of a confirmation. Judged by the realistic host.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "pmd/engine_expectations.hpp"
#include "pmd/engine_rig.hpp"

using namespace nvmeddp;
using pmd_test::EngineRig;
using pmd_test::expect_outcomes_as_without_offload;
using pmd_test::RigOptions;

namespace {

RigOptions reads(uint32_t commands, uint32_t len) {
    RigOptions o;
    o.stream.commands = commands;
    o.stream.min_len = o.stream.max_len = len;
    o.stream.data_digest = true;
    o.stream.other_pdu_rate = 0;
    o.stream.seed = 3;
    return o;
}

std::vector<const testlib::PduRecord*> c2hs(const EngineRig& rig) {
    std::vector<const testlib::PduRecord*> out;
    for (const auto& p : rig.stream.pdus) {
        if (p.type == nvmetcp::PduType::C2HData) out.push_back(&p);
    }
    return out;
}

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

void arrive(EngineRig& rig, const Ranges& ranges) {
    rig.frames.frames.clear();
    for (const auto& [b, e] : ranges) rig.frames.frames.push_back(rig.frame_of(b, static_cast<uint32_t>(e - b)));
}

void cut(Ranges& out, uint64_t from, uint64_t to, uint64_t mss = 1400) {
    for (uint64_t at = from; at < to; at += mss) out.emplace_back(at, std::min(to, at + mss));
}

// At most one copy of each stream byte marked NVMEDDP_PKT_CRC (fuzz_engine's invariant, ddp_mbuf.h).
std::string crc_twice(const EngineRig& rig) {
    std::vector<uint8_t> n(rig.stream.bytes.size(), 0);
    for (size_t i = 0; i < rig.metas.size(); ++i) {
        if (!rig.metas[i] || (rig.metas[i]->flags & NVMEDDP_PKT_CRC) == 0) continue;
        const auto& t = rig.frames.frames[i].truth;
        for (uint64_t b = t.stream_offset; b < t.stream_offset + t.length; ++b) {
            if (++n[b] > 1) return "stream offset " + std::to_string(b) + " marked CRC in two copies";
        }
    }
    return "";
}

}  // namespace

// With padding (CPDA 7: data at 32, header 24), the gap ends inside the padding, 4 bytes before
// the data: the header is wholly in the gap, the padding's rest is the first bytes after it.
// regain_framing_in_lost_pdu now starts the seen run at data_begin_, so [gap end, data_begin) is a
// hole of the PDU though its bytes were seen (and digested, and their packet marked CRC).
//   (a) the retransmission is exactly the lost packet: that hole is never filled, the PDU never
//       complete, its digest never checked (though every data byte was digested), and the slot
//       stays taken until 1 GiB of stream later;
//   (b) the retransmission is resegmented to end at data_begin: it fills that "hole" and is marked
//       CRC as well: two copies of the padding's last 4 bytes marked CRC.
TEST(EngineLostHeaderAfterGap, PaddingSeenAfterTheGapIsNotAHole) {
    for (const bool resegmented : {false, true}) {
        SCOPED_TRACE(resegmented ? "retransmission ends at data_begin" : "retransmission = lost packet");
        RigOptions o = reads(4, 20000);
        o.stream.pda = 7;
        EngineRig rig(o);
        const auto c = c2hs(rig);
        const uint64_t h = c.at(1)->offset;
        ASSERT_EQ(c.at(1)->pdo, 32u);
        const uint64_t total = rig.stream.bytes.size();
        Ranges r;
        cut(r, 0, h);
        const std::pair<uint64_t, uint64_t> lost{h, h + 28};
        r.emplace_back(h + 28, h + 1400);
        r.emplace_back(h + 1400, h + 2800);
        r.emplace_back(resegmented ? std::pair<uint64_t, uint64_t>{h, h + 32} : lost);
        cut(r, h + 2800, total);
        arrive(rig, r);
        rig.run();
        expect_outcomes_as_without_offload(rig);
        EXPECT_EQ(rig.read_problem(), "");
        EXPECT_EQ(rig.stats().framing_regained, 1u);
        EXPECT_EQ(crc_twice(rig), "");
        // (a) every byte of the PDU's data was digested by the device (after the gap, then in
        // order), each from the one copy marked CRC: verifiable. (b) the retransmission also holds
        // seen bytes, so it is not marked CRC and the host computes the digest: right.
        EXPECT_EQ(rig.host->totals().digests_recomputed, resegmented ? 1u : 0u);
    }
}

// A gap ending inside a C2HData header of a PDU that has ended by the time the retransmission comes
// (small reads): the header is completed from the bytes kept after the gap, and its whole body came
// after the gap. Kept track of as a PDU with holes, it would never complete (its run begins before
// its body) and hold a slot until GapPdus::kHorizon (1 GiB) later; after kSlots of these, a PDU with
// an ordinary hole would not be tracked.
TEST(EngineLostHeaderAfterGap, LostHeadersOfEndedPdusDoNotHoldSlots) {
    RigOptions o = reads(40, 600);
    o.frames_per_burst = 1;
    EngineRig rig(o);
    const auto c = c2hs(rig);
    const uint64_t total = rig.stream.bytes.size();
    Ranges r;
    uint64_t at = 0;
    size_t events = 0;
    for (size_t k = 2; k + 4 < c.size() && events < pmd::GapPdus::kSlots; k += 3, ++events) {
        const uint64_t h = c[k]->offset;
        ASSERT_EQ(rig.stream.pdus.at(0).type, nvmetcp::PduType::C2HData);
        // The CapsuleResp before it and 10 bytes of its header are lost; the frame after the gap
        // runs past this PDU's end; the retransmission comes after it.
        cut(r, at, h - 24);
        const std::pair<uint64_t, uint64_t> lost{h - 24, h + 10};
        r.emplace_back(h + 10, h + 1000);
        r.push_back(lost);
        at = h + 1000;
    }
    ASSERT_EQ(events, pmd::GapPdus::kSlots);
    // Then an ordinary hole inside a later PDU's data, filled two frames later.
    const uint64_t d = c[c.size() - 2]->offset + c[c.size() - 2]->pdo;
    cut(r, at, d + 100);
    const std::pair<uint64_t, uint64_t> hole{d + 100, d + 300};
    r.emplace_back(d + 300, d + 400);
    r.emplace_back(d + 400, d + 500);
    r.push_back(hole);
    cut(r, d + 500, total);
    arrive(rig, r);
    rig.run();
    expect_outcomes_as_without_offload(rig);
    EXPECT_EQ(rig.read_problem(), "");
    const ddp::Stats s = rig.stats();
    EXPECT_EQ(s.gap_untracked, 0u);
    EXPECT_EQ(s.late_placed_bytes, 200u);
}

// A speculated C2HData with a hole from before the confirmation (bridged while speculating, not
// tracked), confirmed by a lost CapsuleResp's chain mid-PDU, then a second hole after the
// confirmation: track_hole opens the slot with the run [body_begin, rcv_nxt_) (the first hole
// counted as seen: copied by the host), the second hole is placed when it comes.
TEST(EngineLostHeaderAfterGap, AHoleBeforeAndAHoleAfterAConfirmationInsideOnePdu) {
    RigOptions o = reads(3, 20000);
    EngineRig rig(o);
    const uint64_t hr = rig.stream.pdus.at(1).offset;
    ASSERT_EQ(rig.stream.pdus.at(1).type, nvmetcp::PduType::CapsuleResp);
    const uint64_t total = rig.stream.bytes.size();
    Ranges r;
    cut(r, 0, hr - 50);
    const std::pair<uint64_t, uint64_t> lost{hr - 50, hr + 12}, h1{hr + 1400, hr + 2800}, h2{hr + 5600, hr + 7000};
    r.emplace_back(hr + 12, hr + 1400);
    r.emplace_back(hr + 2800, hr + 4200);
    r.push_back(lost);
    r.emplace_back(hr + 4200, hr + 5600);
    r.emplace_back(hr + 7000, hr + 8400);
    r.push_back(h2);
    r.push_back(h1);
    cut(r, hr + 8400, total);
    arrive(rig, r);
    rig.run();
    expect_outcomes_as_without_offload(rig);
    EXPECT_EQ(rig.read_problem(), "");
    EXPECT_EQ(rig.host->totals().wrong_claims, 0u);
    EXPECT_EQ(rig.engine()->mode(), pmd::ConnectionEngine::Mode::InSync);
    EXPECT_EQ(rig.stats().late_placed_bytes, 1400u + 50u - 4u);  // h2, and the tail of PDU 0 (not its DDGST)
    EXPECT_EQ(crc_twice(rig), "");
}
