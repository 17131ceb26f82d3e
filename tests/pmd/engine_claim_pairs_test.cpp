// Contract v3's second run, end to end: the engine claims the end of one read and the start of the
// next in one packet (run 2: the next C2HData, of any command), the realistic host (DdpHostModel)
// applies it, and every read's bytes are as without the offload, clean and under faults. Where the
// bytes between the two PDUs were not framed from the packet itself (a header split over two
// packets, or one taken from an earlier copy) the claim has no run 2.
#include <gtest/gtest.h>

#include "pmd/engine_expectations.hpp"
#include "pmd/engine_rig.hpp"

namespace nvmeddp::pmd_test {
namespace {

double copied_share(const EngineRig& rig) {
    const auto& t = rig.host->totals();
    return static_cast<double>(t.copied) / static_cast<double>(t.copied + t.claimed_placed);
}

size_t claims_with_run2(const EngineRig& rig) {
    size_t n = 0;
    for (const auto& m : rig.metas) n += m && m->place2_len > 0;
    return n;
}

// Bytes the claims name (both runs): on a clean stream the host takes every one of them.
uint64_t bytes_claimed(const EngineRig& rig) {
    uint64_t n = 0;
    for (const auto& m : rig.metas) n += m ? uint64_t{m->place_len} + m->place2_len : 0;
    return n;
}

// Stream offsets of each C2HData's header.
std::vector<uint64_t> c2h_headers(const EngineRig& rig) {
    std::vector<uint64_t> out;
    for (const auto& p : rig.stream.pdus) {
        if (p.type == nvmetcp::PduType::C2HData) out.push_back(p.offset);
    }
    return out;
}

// 4 KiB reads, each its own C2HData and CapsuleResp: at either MSS most packets carry the end of a
// read and the start of the next. Measured (seed 3, 64 reads): MSS 1448: nothing copied (a packet
// holds data of two reads at most); 8948: 15.2% (a packet holds data of three reads: the claim names
// two of them).
TEST(EngineClaimPairs, FourKiBReadsCopyLittleAtEitherMss) {
    for (const uint32_t mss : {1448u, 8948u}) {
        SCOPED_TRACE(mss);
        RigOptions o = equal_reads(64, 4096);
        o.frames.mss = mss;
        EngineRig rig(o);
        rig.run();
        expect_outcomes_as_without_offload(rig);
        EXPECT_GT(claims_with_run2(rig), 20u);
        EXPECT_EQ(rig.host->totals().claimed_placed, bytes_claimed(rig));
        EXPECT_LT(copied_share(rig), mss == 1448 ? 0.01 : 0.16) << rig.host->totals().copied;
    }
}

// Some reads left unregistered: their C2HData lies between two placed runs, which are then no pair
// (run 2 is the C2HData right after run 1's); the host takes every claimed byte.
TEST(EngineClaimPairs, AnUnplacedC2HDataBetweenIsNoPair) {
    for (const uint32_t mss : {1448u, 8948u}) {
        SCOPED_TRACE(mss);
        RigOptions o = equal_reads(32, 4096);
        o.frames.mss = mss;
        for (uint16_t cid = 1; cid < 32; cid += 3) o.unregistered.push_back(cid);
        EngineRig rig(o);
        rig.run();
        expect_outcomes_as_without_offload(rig);
        EXPECT_GT(claims_with_run2(rig), 5u);
        EXPECT_EQ(rig.host->totals().claimed_placed, bytes_claimed(rig));
    }
}

TEST(EngineClaimPairs, FourKiBReadsUnderFaultsHaveTheirBytesAsWithoutOffload) {
    for (const uint32_t mss : {1448u, 8948u}) {
        for (uint64_t seed = 1; seed <= 6; ++seed) {
            SCOPED_TRACE(testing::Message() << "mss " << mss << " seed " << seed);
            RigOptions o = equal_reads(48, 4096);
            o.frames.mss = mss;
            o.faults.seed = seed;
            o.faults.loss = 0.03;
            o.faults.reorder = 0.03;
            o.faults.duplicate = 0.03;
            o.faults.lying = 0.02;
            o.faults.resegment = 0.02;
            o.faults.wire_corrupt = 0.01;
            EngineRig rig(o);
            rig.run();
            expect_outcomes_as_without_offload(rig);
            EXPECT_GT(claims_with_run2(rig), 0u);
        }
    }
}

// A read boundary inside a packet, but the next read's header split over two packets: the second
// packet holds the first data bytes, yet run 2 needs the bytes between framed from one packet.
TEST(EngineClaimPairs, AHeaderSplitOverTwoPacketsGivesNoRunTwo) {
    RigOptions o = equal_reads(4, 4096);
    o.stream.success_flag = true;  // no CapsuleResp between: the C2HData follows the digest directly
    o.make_frames = false;
    EngineRig rig(o);
    const uint64_t h = c2h_headers(rig).at(2);
    // Packet k: [h - 1000, h + 10) ends inside the header; packet k+1 has the rest and 1000 data bytes.
    rig.cut_at({h - 1000, h + 10, h + 1034});
    rig.run();
    expect_outcomes_as_without_offload(rig);
    ASSERT_EQ(rig.metas.size(), 4u);
    ASSERT_TRUE(rig.metas[2]);
    EXPECT_EQ(rig.metas[2]->place2_len, 0);
    EXPECT_EQ(rig.metas[2]->place_len, 1010);  // read 3's first data bytes, as a run of their own
    EXPECT_EQ(rig.host->totals().claims_refused, 0u);

    // The same boundary inside one packet: a pair.
    RigOptions o2 = o;
    EngineRig whole(o2);
    whole.cut_at({h - 1000, h + 1034});
    whole.run();
    expect_outcomes_as_without_offload(whole);
    ASSERT_TRUE(whole.metas[1]);
    EXPECT_EQ(whole.metas[1]->place_len, 1000 - 4);  // read 2's last bytes (its DDGST follows) ...
    EXPECT_EQ(whole.metas[1]->place2_len, 1010);     // ... and read 3's first
}

// A packet whose first bytes (the end of read 2 and read 3's header) the engine saw before in another
// copy, and whose new bytes start inside that header's data: the header is not from this packet.
TEST(EngineClaimPairs, AHeaderSeenInAnEarlierCopyGivesNoRunTwo) {
    RigOptions o = equal_reads(4, 4096);
    o.stream.success_flag = true;
    o.make_frames = false;
    EngineRig rig(o);
    const uint64_t h = c2h_headers(rig).at(2);
    rig.cut_at({h - 1000});
    auto& fr = rig.frames.frames;
    // [h - 1000, h + 100) then, overlapping it, [h - 1000, h + 2000): its new bytes are data only.
    fr.insert(fr.begin() + 1, rig.frame_of(h - 1000, 1100));
    fr.insert(fr.begin() + 2, rig.frame_of(h - 1000, 3000));
    fr.resize(3);
    fr.push_back(rig.frame_of(h + 2000, static_cast<uint32_t>(rig.stream.bytes.size() - (h + 2000))));
    rig.run();
    expect_outcomes_as_without_offload(rig);
    ASSERT_TRUE(rig.metas[1] && rig.metas[2]);
    EXPECT_EQ(rig.metas[1]->place2_len, 100 - 24);  // the first copy: header and data in it, a pair
    EXPECT_EQ(rig.metas[2]->place2_len, 0);         // the second: only new data of read 3
    EXPECT_EQ(rig.metas[2]->place_len, 1900);
}

}  // namespace
}  // namespace nvmeddp::pmd_test
