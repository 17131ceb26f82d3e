// The offload contract under a realistic receiver (issue 9): one regression test per defect that let
// a real host end up with a wrong byte, judged by what the host holds after its TCP receiver
// (checksums, trimming, out-of-order queue, coalescing) and its parser consumed the claims, against
// the same host without the offload.
#include <gtest/gtest.h>

#include <memory>

#include "engine_rig.hpp"

using namespace nvmeddp;
using namespace nvmeddp::pmd_test;

namespace {

RigOptions contract_base() {
    RigOptions o;
    o.stream.commands = 6;
    o.stream.min_len = 3000;
    o.stream.max_len = 9000;
    o.stream.data_digest = true;
    o.stream.seed = 11;
    return o;
}

void expect_same_outcome_and_right(const EngineRig& rig) {
    EXPECT_EQ(rig.differential_problem(), "");
    EXPECT_EQ(rig.read_problem(), "");
    EXPECT_EQ(rig.host->totals().wrong_claims, 0u);
    EXPECT_EQ(rig.host->totals().false_digest_claims, 0u);
}

}  // namespace

// Defect 1: a bit of datao flipped on the wire (the frame's checksum is then wrong). The host's TCP
// drops the frame and takes the clean retransmission; the engine followed the corrupt one and
// claimed the rest of the PDU placed at the wrong offset, digest "verified".
TEST(EngineContract, AFrameWithABadChecksumIsNeverFollowed) {
    RigOptions o = contract_base();
    EngineRig rig(o);
    auto& fr = rig.frames.frames;
    // The frame that holds the first C2HData header; its datao's lowest byte gets a flipped bit.
    const testlib::PduRecord* pdu = nullptr;
    for (const auto& p : rig.stream.pdus) {
        if (p.type == nvmetcp::PduType::C2HData && p.datao == 0 && p.offset > 0) {
            pdu = &p;
            break;
        }
    }
    ASSERT_NE(pdu, nullptr);
    size_t at = 0;
    while (at < fr.size() && !(fr[at].truth.stream_offset <= pdu->offset + 12 && pdu->offset + 16 <= fr[at].truth.stream_offset + fr[at].truth.length)) ++at;
    ASSERT_LT(at, fr.size()) << "no frame holds the whole datao field";
    testlib::GeneratedFrame clean = fr[at];
    fr[at].bytes[fr[at].truth.layout.payload_offset + (pdu->offset + 12 - fr[at].truth.stream_offset)] ^= 0x08;
    fr.insert(fr.begin() + static_cast<ptrdiff_t>(at + 2), clean);  // the retransmission, two frames later
    rig.run();
    expect_same_outcome_and_right(rig);
    EXPECT_EQ(rig.stats().bad_checksum, 1u);
    ASSERT_TRUE(rig.metas[at]);
    EXPECT_EQ(rig.metas[at]->flags, NVMEDDP_PKT_CSUM_BAD);
}

// Defect 2: a C2HData shorter than its header (datal < 24): the remaining-bytes counter was charged
// with the header and wrapped, so any later gap was "bridged" and bytes from the middle of another
// PDU were parsed as a header and placed. The counter is gone (each part ends at a sequence number);
// this checks the outcome and that no claim is refused over many seeds of tiny PDUs and loss.
TEST(EngineContract, SmallPdusAndAGapNeverMisframe) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
        SCOPED_TRACE(testing::Message() << "seed " << seed);
        RigOptions o = contract_base();
        o.stream.max_pdu_data = 1 + seed % 20;  // 1..20 bytes of data per PDU
        o.stream.min_len = 200;
        o.stream.max_len = 600;
        o.frames.mss = 97;
        o.faults.seed = seed;
        o.faults.loss = 0.05;
        o.faults.reorder = 0.05;
        EngineRig rig(o);
        rig.run();
        expect_same_outcome_and_right(rig);
        // The outcome is safe by contract even if the engine misframed (the host refuses claims its
        // framing disagrees with); with identical copies of every byte none should be refused.
        EXPECT_EQ(rig.host->totals().claims_refused, 0u);
        EXPECT_EQ(rig.stats().place_rewrite + rig.stats().place_behind_host, 0u);
    }
}

// Defect 3: the MARK was trusted without the 5-tuple: frames of another flow carrying this
// connection's MARK (a removed rule, a reused id) were fed to its engine.
TEST(EngineContract, AForeignFrameWithOurMarkIsNotFollowed) {
    RigOptions o = contract_base();
    o.marks = RigOptions::Marks::Own;
    o.foreign_rate = 1.0;  // a foreign frame after every frame
    EngineRig rig(o);
    rig.run();
    EXPECT_EQ(rig.foreign_followed, 0u);
    expect_same_outcome_and_right(rig);
    EXPECT_GT(rig.queue().counters().stale_mark.get(), 0u);
    EXPECT_EQ(rig.stats().resync_requests, 0u);  // the connection's stream never jumped
}

// Defect 4: a teardown completed in the middle of a PDU, then a gap inside that PDU: the engine
// walked the freed buffer list (heap-use-after-free under ASan). The list is freed here right after
// the teardown, as a host may.
TEST(EngineContract, ATeardownThenAGapInThatPduTouchesNothingFreed) {
    RigOptions o = contract_base();
    o.stream.commands = 2;
    o.stream.min_len = o.stream.max_len = 20000;
    o.stream.other_pdu_rate = 0;
    EngineRig rig(o);
    const auto& read = rig.stream.reads[0];
    const testlib::PduRecord* pdu = nullptr;
    for (const auto& p : rig.stream.pdus) {
        if (p.type == nvmetcp::PduType::C2HData && p.cid == read.cid) pdu = &p;
    }
    ASSERT_NE(pdu, nullptr);
    // A registration of our own for that command, on a buffer list we free after the teardown.
    auto segments = std::make_unique<std::vector<ddp::BufferSegment>>();
    std::vector<uint8_t> buffer(read.data.size());
    for (size_t at = 0; at < buffer.size(); at += 4096) {
        segments->push_back({buffer.data() + at, std::min<size_t>(4096, buffer.size() - at)});
    }
    rig.host->abort_read(read.cid);
    rig.host_off->abort_read(read.cid);
    rig.device->poll(rig.handle);
    ASSERT_EQ(rig.device->setup(rig.handle, read.cid, *segments, buffer.size()), ddp::Status::Ok);
    auto& fr = rig.frames.frames;
    size_t mid = 0;
    while (fr[mid].truth.stream_offset < pdu->offset + pdu->plen / 3) ++mid;
    rig.run_frames(0, mid);
    ASSERT_EQ(rig.device->teardown(rig.handle, read.cid), ddp::Status::Ok);
    segments.reset();
    fr.erase(fr.begin() + static_cast<ptrdiff_t>(mid));  // the gap, inside that PDU's data
    rig.run_frames(mid, fr.size());
    EXPECT_EQ(rig.stats().resync_requests, 0u);
    EXPECT_EQ(rig.stats().place_torn_down, 1u);
}

// The VLAN is part of the flow (issue 9): the same 5-tuple on another VLAN is another connection's,
// and neither its MARK-less frames nor a MARK make the engine follow it.
TEST(EngineContract, AFrameOfAnotherVlanIsAnotherFlow) {
    RigOptions o = contract_base();
    o.frames.flow.c_vlan = 100;
    EngineRig rig(o);
    rig.run();
    expect_same_outcome_and_right(rig);
    EXPECT_GT(rig.stats().placed_bytes, 0u);  // the connection's own tagged frames are offloaded
    testlib::FlowSpec other = o.frames.flow;
    other.c_vlan = 101;
    const std::vector<uint8_t> payload(64, 1);
    const uint32_t own = rig.driver->conn_id(rig.handle);
    for (const uint32_t* mark : {static_cast<const uint32_t*>(nullptr), &own}) {
        ::nvmeddp_pkt_meta meta{};
        const auto frame = testlib::build_frame(other, {}, payload).bytes;
        rig.queue().begin_burst();
        EXPECT_FALSE(rig.queue().process(frame, frame.size(), {}, mark, pmd::L4Checksum::Unknown, meta));
        rig.queue().end_burst();
    }
    other.c_vlan.reset();  // untagged
    const auto untagged = testlib::build_frame(other, {}, payload).bytes;
    ::nvmeddp_pkt_meta meta{};
    rig.queue().begin_burst();
    EXPECT_FALSE(rig.queue().process(untagged, untagged.size(), {}, nullptr, pmd::L4Checksum::Unknown, meta));
    rig.queue().end_burst();
}

// Defect 2's mechanism, deterministically: a gap that starts inside one PDU and ends past its end
// must lose the framing, never "bridge" to where the gap ends as if a header began there. Here the
// gap ends exactly on a copy of a real C2HData header planted in another PDU's data (a payload may
// hold anything): an engine that bridged would take it for a header and place that PDU's data as the
// planted command's. The host then refuses those claims (its framing disagrees); none may come.
TEST(EngineContract, AGapPastAPduEndIsNeverBridgedOntoWhatLooksLikeAHeader) {
    RigOptions o = contract_base();
    o.stream.data_digest = false;  // the planted bytes need not fit a digest
    o.stream.commands = 4;
    o.stream.min_len = o.stream.max_len = 3000;
    o.stream.max_pdu_data = 512;
    o.stream.other_pdu_rate = 0;
    EngineRig rig(o);
    const auto& pdus = rig.stream.pdus;
    size_t i = 0;
    while (i + 3 < pdus.size() && !(pdus[i].type == nvmetcp::PduType::C2HData && pdus[i + 1].type == nvmetcp::PduType::C2HData &&
                                    pdus[i + 1].datal >= 400 && pdus[i + 3].type == nvmetcp::PduType::C2HData)) {
        ++i;
    }
    ASSERT_LT(i + 3, pdus.size());
    const testlib::PduRecord p1 = pdus[i], p2 = pdus[i + 1], planted = pdus[i + 3];
    const uint64_t fake_at = p2.offset + p2.pdo + 100;
    std::copy_n(rig.stream.bytes.begin() + static_cast<ptrdiff_t>(planted.offset), planted.pdo,
                rig.stream.bytes.begin() + static_cast<ptrdiff_t>(fake_at));
    const uint64_t gap_from = p1.offset + p1.plen - 10;  // inside p1's data: its header is known
    rig.cut_at({gap_from, fake_at, fake_at + 600});
    auto& fr = rig.frames.frames;
    size_t hole = 0;
    while (fr[hole].truth.stream_offset != gap_from) ++hole;
    const testlib::GeneratedFrame late = fr[hole];
    fr.erase(fr.begin() + static_cast<ptrdiff_t>(hole));
    fr.push_back(late);  // retransmitted at the end: the host then takes everything
    rig.run();
    EXPECT_EQ(rig.differential_problem(), "");
    EXPECT_EQ(rig.host->totals().claims_refused, 0u) << "the engine placed by a header that was not one";
    EXPECT_EQ(rig.stats().place_rewrite, 0u);
    EXPECT_GT(rig.stats().resync_requests, 0u);  // the framing was lost and searched for
}

// What the host declared final the device no longer writes: a read whose buffer the host marks
// filled before its data arrives is not placed at all (and comes out right, copied).
TEST(EngineContract, TheDeviceNeverWritesBelowWhatTheHostDeclaredFinal) {
    RigOptions o = contract_base();
    EngineRig rig(o);
    const auto& victim = rig.stream.reads[2];
    ASSERT_EQ(rig.device->filled(rig.handle, victim.cid, victim.data.size()), ddp::Status::Ok);
    rig.run();
    expect_same_outcome_and_right(rig);
    EXPECT_GT(rig.stats().place_behind_host, 0u);
    EXPECT_EQ(rig.stats().placed_bytes + victim.data.size(), rig.registered_data_bytes());
}

// A completion ends the command for the host, which tears the registration down and hands the
// buffer back to its user; but the host sees the completion only after the engine's burst, in which
// later packets may follow it, so the engine itself stops at the completion: data of the command
// that comes after it (a target that completed before sending all of it) is not placed, whether
// the CapsuleResp came in a packet of its own (taken without the state machine) or cut across two
// packets (taken by it).
TEST(EngineContract, DataAfterItsCommandsCompletionIsNeverPlaced) {
    for (bool lone_response : {true, false}) {
        for (bool hdgst : {false, true}) {
            SCOPED_TRACE(testing::Message() << "lone response " << lone_response << " hdgst " << hdgst);
            RigOptions o = contract_base();
            o.stream.commands = 2;
            o.stream.min_len = o.stream.max_len = 4096;
            o.stream.max_pdu_data = 2048;  // two C2HData per read, then its CapsuleResp
            o.stream.header_digest = hdgst;
            o.stream.other_pdu_rate = 0;
            EngineRig rig(o);
            auto& pdus = rig.stream.pdus;
            ASSERT_GE(pdus.size(), 6u);
            ASSERT_EQ(pdus[1].type, nvmetcp::PduType::C2HData);
            ASSERT_EQ(pdus[2].type, nvmetcp::PduType::CapsuleResp);
            ASSERT_EQ(pdus[1].cid, pdus[2].cid);
            // The first read's CapsuleResp moved before its second C2HData.
            std::vector<uint8_t>& b = rig.stream.bytes;
            const auto at = [&](uint64_t off) { return b.begin() + static_cast<ptrdiff_t>(off); };
            std::vector<uint8_t> response(at(pdus[2].offset), at(pdus[2].offset + pdus[2].plen));
            b.erase(at(pdus[2].offset), at(pdus[2].offset + pdus[2].plen));
            b.insert(at(pdus[1].offset), response.begin(), response.end());
            pdus[2].offset = pdus[1].offset;
            pdus[1].offset += pdus[2].plen;
            std::swap(pdus[1], pdus[2]);
            std::vector<uint64_t> cuts;
            for (const auto& p : pdus) {
                cuts.push_back(p.offset);
                if (p.type == nvmetcp::PduType::CapsuleResp && !lone_response) cuts.push_back(p.offset + 10);
            }
            rig.cut_at(cuts);
            rig.run();
            EXPECT_EQ(rig.differential_problem(), "");
            EXPECT_EQ(rig.host->totals().wrong_claims, 0u);
            const ddp::Stats s = rig.stats();
            EXPECT_EQ(s.place_rewrite, 1u) << "the C2HData after the completion was not refused for it";
            EXPECT_EQ(s.placed_bytes, 2048u + 4096u) << "bytes placed after their command's completion";
            EXPECT_EQ(rig.read_problem().find("guard"), std::string::npos) << rig.read_problem();
        }
    }
}
