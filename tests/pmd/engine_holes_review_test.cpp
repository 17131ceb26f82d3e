// Adversarial cases for PDUs with holes and headers lost in gaps (connection_engine_holes.cpp,
// connection_engine_lost_header.cpp): orders of arrival, cuts and copies that a realistic network
// produces, each judged by the realistic host (same outcome as without the offload, no claim the
// buffer contradicts, no digest trusted that the bytes kept do not match, guards intact).
#include <gtest/gtest.h>

#include <algorithm>

#include "pmd/engine_expectations.hpp"
#include "pmd/engine_rig.hpp"

using namespace nvmeddp;
using pmd_test::EngineRig;
using pmd_test::expect_outcomes_as_without_offload;
using pmd_test::RigOptions;

namespace {

RigOptions one_pdu_reads(uint32_t commands, uint32_t len) {
    RigOptions o;
    o.stream.commands = commands;
    o.stream.min_len = o.stream.max_len = len;
    o.stream.data_digest = true;
    o.stream.other_pdu_rate = 0;
    o.stream.seed = 3;
    return o;
}

const testlib::PduRecord& c2h(const EngineRig& rig, size_t k) {
    size_t n = 0;
    for (const auto& p : rig.stream.pdus) {
        if (p.type == nvmetcp::PduType::C2HData && n++ == k) return p;
    }
    throw std::out_of_range("no such C2HData");
}

// Frames of the given stream ranges [begin, end), in this order.
void arrive(EngineRig& rig, const std::vector<std::pair<uint64_t, uint64_t>>& ranges) {
    rig.frames.frames.clear();
    for (const auto& [b, e] : ranges) rig.frames.frames.push_back(rig.frame_of(b, static_cast<uint32_t>(e - b)));
}

// Cuts [from, to) into frames of at most mss bytes.
void cut(std::vector<std::pair<uint64_t, uint64_t>>& out, uint64_t from, uint64_t to, uint64_t mss = 1400) {
    for (uint64_t at = from; at < to; at += mss) out.emplace_back(at, std::min(to, at + mss));
}


}  // namespace

// A packet ends inside a header after its common header (the engine has 12 of its 24 bytes, and
// the layout), the next packet is lost: the lost header is kept with the 12 bytes it has. The
// retransmission must add only the header's missing bytes to it. (A PDU with a hole still open
// before it, so that the engine looks at the retransmission at all.)
TEST(EngineHolesReview, ALostHeaderWhoseCommonHeaderWasSeenTakesOnlyItsMissingBytes) {
    RigOptions o = one_pdu_reads(4, 6000);
    EngineRig rig(o);
    const uint64_t h = c2h(rig, 1).offset;
    const uint64_t total = rig.stream.bytes.size();
    const uint64_t d0 = c2h(rig, 0).offset + c2h(rig, 0).pdo;
    std::vector<std::pair<uint64_t, uint64_t>> r;
    // A hole in PDU 0 that stays open a while (the engine keeps track of a PDU with holes).
    cut(r, 0, d0 + 1000);
    const std::pair<uint64_t, uint64_t> hole0{d0 + 1000, d0 + 2000};
    cut(r, d0 + 2000, h + 12);
    const std::pair<uint64_t, uint64_t> lost{h + 12, h + 1412};
    r.emplace_back(h + 1412, h + 2800);
    r.emplace_back(h + 2800, h + 4200);
    r.push_back(lost);
    cut(r, h + 4200, total);
    r.push_back(hole0);
    arrive(rig, r);
    rig.run();
    expect_outcomes_as_without_offload(rig);
    EXPECT_EQ(rig.read_problem(), "");
    // Before the fix the retransmission was copied whole into the lost header's 132 bytes (the
    // bytes wanted counted from 8 while 12 were there: an unsigned wrap), over the engine's fields.
    const ddp::Stats s = rig.stats();
    EXPECT_EQ(s.framing_regained, 1u);
    EXPECT_EQ(s.resync_requests, 0u);
    EXPECT_EQ(rig.host->totals().digests_recomputed, 0u);
}

namespace {

// One frame of the rig's flow with this payload at this sequence number, through the engine only
// (the host does not see it); its metadata.
::nvmeddp_pkt_meta engine_only(EngineRig& rig, uint32_t seq, const std::vector<uint8_t>& payload) {
    testlib::TcpFields tcp;
    tcp.seq = seq;
    const testlib::BuiltFrame f = testlib::build_frame(rig.options_.frames.flow, tcp, payload);
    ::nvmeddp_pkt_meta meta{};
    rig.queue().begin_burst();
    EXPECT_TRUE(rig.queue().process(f.bytes, f.bytes.size(), {}, nullptr, pmd::L4Checksum::Unknown, meta));
    rig.queue().end_burst();
    return meta;
}

}  // namespace

// A PDU whose hole the engine never sees filled (the retransmission reached the host some other
// way: on another queue, in more mbuf segments than the engine takes, not matched by steering)
// stays in the table. 4 GiB of stream later its sequence numbers are those of new bytes: a copy of
// new bytes that the engine has seen already must not be taken for the old hole (placed into the
// old command's buffer, and marked NVMEDDP_PKT_CRC a second time). The 4 GiB pass here as gaps
// while the engine is out of sync (nothing it does then depends on the bytes it did not see).
TEST(EngineHolesReview, AHoleLeftOpenIsNotFilledByNewBytesFourGibLater) {
    RigOptions o = one_pdu_reads(1, 6000);
    EngineRig rig(o);
    const uint64_t d0 = c2h(rig, 0).offset + c2h(rig, 0).pdo;
    const uint64_t total = rig.stream.bytes.size();
    const uint64_t hole_off = d0 + 1000;
    std::vector<std::pair<uint64_t, uint64_t>> r;
    cut(r, 0, hole_off);
    cut(r, d0 + 2000, total);  // [d0 + 1000, d0 + 2000) never reaches the engine
    arrive(rig, r);
    rig.run();
    ASSERT_EQ(rig.engine()->mode(), pmd::ConnectionEngine::Mode::InSync);
    const uint16_t cid = rig.stream.reads[0].cid;
    const std::vector<uint8_t> before = rig.host->contents(cid);

    const uint32_t end_seq = o.frames.first_seq + static_cast<uint32_t>(total);
    const uint32_t hole_seq = o.frames.first_seq + static_cast<uint32_t>(hole_off);
    const std::vector<uint8_t> filler(1000, 0xAB);
    for (uint32_t k = 0; k < 4; ++k) engine_only(rig, end_seq + 100 + k * (1u << 30), filler);
    ASSERT_NE(rig.engine()->mode(), pmd::ConnectionEngine::Mode::InSync);
    // A C2HData of command 77 (not registered) just before the old hole's sequence numbers, found by
    // the search and confirmed by the host: in sync again.
    const uint32_t header_seq = hole_seq - 200;
    const uint32_t datal = 2000;
    std::vector<uint8_t> header(nvmetcp::kHlenData, 0);
    header[0] = static_cast<uint8_t>(nvmetcp::PduType::C2HData);
    header[1] = nvmetcp::pdu_flags::kDdgst | nvmetcp::pdu_flags::kLastPdu;
    header[2] = nvmetcp::kHlenData;
    header[3] = nvmetcp::kHlenData;
    const uint32_t plen = nvmetcp::kHlenData + datal + nvmetcp::kDigestLen;
    for (int k = 0; k < 4; ++k) header[4 + k] = static_cast<uint8_t>(plen >> (8 * k));
    header[8] = 77;
    for (int k = 0; k < 4; ++k) header[16 + k] = static_cast<uint8_t>(datal >> (8 * k));
    engine_only(rig, header_seq, header);
    ASSERT_EQ(rig.engine()->mode(), pmd::ConnectionEngine::Mode::Speculating);
    rig.device->on_pdu_header(rig.handle, header_seq);
    engine_only(rig, header_seq + nvmetcp::kHlenData, std::vector<uint8_t>(200 - nvmetcp::kHlenData, 0xCD));
    ASSERT_EQ(rig.engine()->mode(), pmd::ConnectionEngine::Mode::InSync);
    // New bytes at the old hole's sequence numbers, then a copy of them.
    const ::nvmeddp_pkt_meta first = engine_only(rig, hole_seq, filler);
    EXPECT_EQ(first.flags & NVMEDDP_PKT_CRC, NVMEDDP_PKT_CRC);
    const ::nvmeddp_pkt_meta copy = engine_only(rig, hole_seq, filler);
    EXPECT_EQ(copy.flags & (NVMEDDP_PKT_CRC | NVMEDDP_PKT_PLACED), 0) << "a copy of bytes seen before taken for the old hole";
    const std::vector<uint8_t> after = rig.host->contents(cid);
    size_t changed = 0;
    for (size_t k = 0; k < after.size(); ++k) changed += after[k] != before[k];
    EXPECT_EQ(changed, 0u) << "command 77's bytes written into command " << cid << "'s buffer";
    EXPECT_EQ(rig.stats().late_placed_bytes, 0u);
}

namespace {

// Indices (in arrival order) of the frames that lie wholly inside the data of C2HData number k.
std::vector<size_t> frames_inside_pdu(const EngineRig& rig, size_t k) {
    const testlib::PduRecord& p = c2h(rig, k);
    const uint64_t d0 = p.offset + p.pdo;
    const uint64_t d1 = d0 + p.datal;
    std::vector<size_t> out;
    for (size_t i = 0; i < rig.frames.frames.size(); ++i) {
        const auto& t = rig.frames.frames[i].truth;
        if (t.stream_offset >= d0 && t.stream_offset + t.length <= d1) out.push_back(i);
    }
    return out;
}

}  // namespace

// A PDU with as many runs as a slot holds (7 holes) gets the second half of a hole first: that run
// touches only the run after it, and must be joined to it in place, not inserted as a ninth (past
// the end of the slot's runs, over the PDU after it in memory, which a fresh pool lends next: here
// the one with a hole after it, whose late bytes would then go to the wrong place).
TEST(EngineHolesReview, TheTailOfAHoleInAPduWithAFullSlotJoinsTheRunAfterIt) {
    RigOptions o = one_pdu_reads(3, 40000);
    o.frames.mss = 1000;
    EngineRig rig(o);
    const std::vector<size_t> x = frames_inside_pdu(rig, 0);
    const std::vector<size_t> y = frames_inside_pdu(rig, 1);
    ASSERT_GE(x.size(), 20u);
    ASSERT_GE(y.size(), 5u);
    // X: six holes of one frame, one of two; Y: one hole.
    const std::vector<size_t> x_holes{x[1], x[3], x[5], x[7], x[9], x[11], x[13], x[14]};
    auto& fr = rig.frames.frames;
    std::vector<testlib::GeneratedFrame> late;
    late.push_back(fr[x[14]]);  // the second half of the two-frame hole, first
    late.push_back(fr[y[2]]);
    late.push_back(fr[x[13]]);
    for (size_t k = 0; k < 6; ++k) late.push_back(fr[x_holes[k]]);
    std::vector<size_t> held = x_holes;
    held.push_back(y[2]);
    std::sort(held.begin(), held.end());
    for (auto it = held.rbegin(); it != held.rend(); ++it) fr.erase(fr.begin() + static_cast<ptrdiff_t>(*it));
    fr.insert(fr.end(), late.begin(), late.end());
    uint64_t late_bytes = 0;
    for (const auto& f : late) late_bytes += f.truth.length;
    rig.run();
    expect_outcomes_as_without_offload(rig);
    EXPECT_EQ(rig.read_problem(), "");
    const ddp::Stats s = rig.stats();
    EXPECT_EQ(s.late_placed_bytes, late_bytes);
    EXPECT_EQ(s.gap_untracked, 0u);
    EXPECT_EQ(s.digest_combined, 2u);
    EXPECT_EQ(rig.host->totals().digests_recomputed, 0u);
}

// The same at the table: a run that touches only the run after it, added to a PDU whose runs are
// all in use, is joined to it; nothing is written past the PDU's runs (the next slot's PDU).
TEST(EngineHolesReview, ARunJoiningOnlyItsRightNeighbourInAFullPduStaysInItsRuns) {
    pmd::GapPduPool pool(pmd::GapPdus::kSlots);
    pmd::GapPdus gaps(pool);
    const int a = gaps.open();
    const int b = gaps.open();
    ASSERT_EQ(b, a + 1);
    ASSERT_EQ(&gaps.at(b), &gaps.at(a) + 1) << "the overrun this looks for would land in b's PDU";
    pmd::GapPdus::Pdu& g = gaps.at(a);
    g.body_begin = g.data_begin = ddp::TcpSeq(1000);
    g.data_end = g.pdu_end = ddp::TcpSeq(1000 + 100 * pmd::GapPdus::kRunsPerPdu);
    for (uint32_t k = 0; k < pmd::GapPdus::kRunsPerPdu; ++k) {  // runs [1000 + 100k, 1050 + 100k)
        const ddp::TcpSeq begin(1000 + 100 * k);
        ASSERT_TRUE(g.room_for(begin, begin + 50));
        g.add({begin, begin + 50, 0});
    }
    ASSERT_EQ(g.run_count, pmd::GapPdus::kRunsPerPdu);
    gaps.at(b).pdu_start = ddp::TcpSeq(777);
    gaps.at(b).body_begin = ddp::TcpSeq(801);
    // [1080, 1100): the tail of the first hole, touching the second run only.
    ASSERT_TRUE(g.room_for(ddp::TcpSeq(1080), ddp::TcpSeq(1100)));
    g.add({ddp::TcpSeq(1080), ddp::TcpSeq(1100), 0});
    EXPECT_EQ(g.run_count, pmd::GapPdus::kRunsPerPdu);
    EXPECT_EQ(g.runs[1].begin, ddp::TcpSeq(1080));
    EXPECT_EQ(g.runs[1].end, ddp::TcpSeq(1150));
    EXPECT_EQ(gaps.at(b).pdu_start, ddp::TcpSeq(777));
    EXPECT_EQ(gaps.at(b).body_begin, ddp::TcpSeq(801));
    const pmd::GapPdus::Run hole = g.next_hole(g.body_begin, g.pdu_end);
    EXPECT_EQ(hole.begin, ddp::TcpSeq(1050));
    EXPECT_EQ(hole.end, ddp::TcpSeq(1080));
}

// --- a lost header completed from the bytes kept after the gap; the rest of a PDU placed after a
// confirmed speculation ------------------------------------------------------------------------------

namespace {

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

std::vector<const testlib::PduRecord*> c2hs(const EngineRig& rig) {
    std::vector<const testlib::PduRecord*> out;
    for (const auto& p : rig.stream.pdus) {
        if (p.type == nvmetcp::PduType::C2HData) out.push_back(&p);
    }
    return out;
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
        RigOptions o = one_pdu_reads(4, 20000);
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
        EXPECT_EQ(rig.crc_copies_problem(), "");
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
    RigOptions o = one_pdu_reads(40, 600);
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
    RigOptions o = one_pdu_reads(3, 20000);
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
    EXPECT_EQ(rig.crc_copies_problem(), "");
}

namespace {

// Read 0 on cid 4, then reads A and B on cid 5, 6000 bytes each in one C2HData, with data digests
// (B set up by the host as A completes: DdpHostModel::plan_read); the host reacts after every frame.
RigOptions cid_reuse_options() {
    RigOptions o = one_pdu_reads(3, 6000);
    o.stream.cids = {4, 5, 5};
    o.frames_per_burst = 1;
    return o;
}

// Frames [0, a0), A's [a0, a_end), a copy of A's first frame [a0, a0 + 1400), then B's to the end.
// Returns the index of A's first frame and of the copy.
std::pair<size_t, size_t> arrive_with_a_copy(EngineRig& rig, uint64_t a0, uint64_t a_end) {
    Ranges r;
    cut(r, 0, a0);
    const size_t a_first = r.size();
    cut(r, a0, a_end);
    const size_t copy = r.size();
    r.emplace_back(a0, a0 + 1400);
    cut(r, a_end, rig.stream.bytes.size());
    arrive(rig, r);
    return {a_first, copy};
}

// The host hands frames [from, to) to both hosts without the engine seeing them.
void host_only(EngineRig& rig, size_t from, size_t to) {
    for (size_t k = from; k < to; ++k) {
        const auto& f = rig.frames.frames[k];
        rig.host->on_frame(f.bytes, f.truth.layout, nullptr);
        rig.host_off->on_frame(f.bytes, f.truth.layout, nullptr);
    }
}

// cid's first read A completed with `a_data` and was torn down, and the host set its second read up
// on cid in its place.
void expect_set_up_again(const EngineRig& rig, uint16_t cid, const std::vector<uint8_t>& a_data) {
    ASSERT_EQ(rig.host->status(cid, 0), testlib::DdpHostModel::ReadStatus::Ok) << "A completed";
    ASSERT_EQ(rig.host->contents(cid, 0), a_data);
    ASSERT_EQ(rig.host->reads_issued(cid), 2u);
    ASSERT_TRUE(rig.host->read(cid).registered) << "B set up on cid " << cid;
    ASSERT_EQ(rig.host->totals().teardowns_async, 0u);
}

// Frame `copy` (an old copy) reaches the engine: nothing lands in cid's new buffer, and its
// C2HData is refused the registration once.
void expect_copy_writes_nothing(EngineRig& rig, size_t copy, uint16_t cid) {
    const uint64_t refused = rig.stats().place_no_registration;
    const uint64_t placed = rig.stats().placed_bytes;
    rig.run_frames(copy, copy + 1);
    const std::vector<uint8_t> now = rig.host->contents(cid);
    size_t written = 0;
    for (size_t k = 0; k < now.size(); ++k) {
        if (now[k] != testlib::DdpHostModel::kFreshByte && written++ < 8) ADD_FAILURE() << "written by the copy: offset " << k;
    }
    EXPECT_EQ(written, 0u);
    EXPECT_EQ(rig.stats().placed_bytes, placed);
    EXPECT_EQ(rig.stats().place_no_registration, refused + 1) << "the copy's C2HData, refused the new registration";
}

// The rest of the frames from `from` on: cid's read ends with `data`, as without the offload, no
// claim or digest verdict the host took wrong.
void expect_read_ends_with(EngineRig& rig, size_t from, uint16_t cid, const std::vector<uint8_t>& data) {
    rig.run_frames(from, rig.frames.frames.size());
    const auto& t = rig.host->totals();
    EXPECT_FALSE(t.parse_failed);
    EXPECT_EQ(rig.host->status(cid), testlib::DdpHostModel::ReadStatus::Ok);
    EXPECT_TRUE(rig.host->guards_intact(cid));
    EXPECT_EQ(t.wrong_claims, 0u) << t.first_wrong_claim;
    EXPECT_EQ(t.false_digest_claims, 0u) << t.first_false_digest_claim;
    EXPECT_EQ(rig.host->contents(cid), data);
    EXPECT_EQ(rig.host_off->contents(cid), data);
}

}  // namespace

// A lost header recovered from a spurious retransmission after its command id was reused. The
// frame with the header of read A's C2HData (cid 5) reaches the host but not the engine; the engine
// records the lost header and goes out of sync. The host completes A, tears cid 5 down and
// registers read B on it (a new buffer); only then does a copy of the lost frame reach the engine,
// which follows the header. placement_for finds B's registration for cid 5, set up after the host
// parsed A's headers (Registration::may_carry_pdu_at): not A's, so it writes nothing (it wrote A's
// 1376 bytes at B's offset 0 before; the host here copies B's data afterwards and the end was
// right, but a device beside the host could write them between the host's copy of B's bytes and
// its filled()). The host drops that copy as old. Sequence numbers wrap inside the lost frame's data.
TEST(EngineLostHeaderAfterGap, ACopyOfALostHeaderAfterItsCommandIdWasReusedLeavesNothingInTheNewBuffer) {
    RigOptions o = cid_reuse_options();
    const testlib::ReadStream s = testlib::generate_read_stream(o.stream);
    ASSERT_EQ(s.pdus.at(2).type, nvmetcp::PduType::C2HData);
    const uint64_t a0 = s.pdus.at(2).offset;  // P: A's only C2HData
    o.frames.first_seq = testlib::first_seq_wrapping_at(a0 + 700);
    EngineRig rig(o);
    const auto c = c2hs(rig);
    ASSERT_EQ(c.at(1)->offset, a0);
    ASSERT_EQ(c.at(1)->cid, 5);
    ASSERT_EQ(c.at(2)->cid, 5);
    const uint64_t a_end = c.at(2)->offset;  // past A's CapsuleResp: B's C2HData begins here
    const std::vector<uint8_t>& a_data = rig.stream.reads.at(1).data;
    const std::vector<uint8_t>& b_data = rig.stream.reads.at(2).data;
    ASSERT_NE(a_data, b_data);
    // Frames: [0, a0), the lost one [a0, a0 + 1400), the rest of A; its copy; B.
    const auto [lost, copy] = arrive_with_a_copy(rig, a0, a_end);

    rig.run_frames(0, lost);
    host_only(rig, lost, lost + 1);  // the lost frame: the host has it, the engine never sees it
    rig.run_frames(lost + 1, copy);
    ASSERT_NO_FATAL_FAILURE(expect_set_up_again(rig, 5, a_data));

    const uint64_t delivered = rig.host->delivered();
    expect_copy_writes_nothing(rig, copy, 5);
    EXPECT_EQ(rig.host->delivered(), delivered) << "the host took the copy";
    EXPECT_EQ(rig.stats().late_placed_bytes, 0u);
    expect_read_ends_with(rig, copy + 1, 5, b_data);
}

// The same reuse with nothing of A reaching the engine until B is set up: the connection goes quiet
// after A (queue depth 1), the host took all of A's frames, completed A and set up B on cid 5, and
// then a spurious copy of A's first frame reaches the engine, in order (no gap before it). The
// engine opens A's C2HData there and looks cid 5 up: B's registration, set up after the host parsed
// A's headers, so nothing is placed; then B's frames, after a gap that took A's rest.
TEST(EngineLostHeaderAfterGap, ACopyOfAnEarlierCommandsPduAfterItsCommandIdWasReusedLeavesNothingInTheNewBuffer) {
    const RigOptions o = cid_reuse_options();
    EngineRig rig(o);
    const auto c = c2hs(rig);
    ASSERT_EQ(c.at(1)->cid, 5);
    ASSERT_EQ(c.at(2)->cid, 5);
    const uint64_t a0 = c.at(1)->offset;
    const uint64_t a_end = c.at(2)->offset;
    const std::vector<uint8_t>& a_data = rig.stream.reads.at(1).data;
    const std::vector<uint8_t>& b_data = rig.stream.reads.at(2).data;
    // Frames: [0, a0); A's, to the host only; the copy of A's first; B's.
    const auto [a_first, copy] = arrive_with_a_copy(rig, a0, a_end);

    rig.run_frames(0, a_first);
    host_only(rig, a_first, copy);
    ASSERT_NO_FATAL_FAILURE(expect_set_up_again(rig, 5, a_data));

    expect_copy_writes_nothing(rig, copy, 5);
    expect_read_ends_with(rig, copy + 1, 5, b_data);
}
