// ClaimBuilder: the runs a packet's claim names (contract v3). Run 2 is the data of the C2HData after
// run 1's, of any command, from its first byte, and only when the engine framed the bytes between
// from this packet; otherwise the claim is the single run with the most bytes.
#include <gtest/gtest.h>

#include "pmd/engine/placement_claim.hpp"

using namespace nvmeddp;
using ddp::TcpSeq;
using pmd::RunPdu;

namespace {

// A C2HData of the packet: its ordinal, whether it was framed here, and where its data lies.
RunPdu pdu(uint32_t ordinal, bool framed_here, uint32_t data_begin, uint32_t data_end) {
    RunPdu r{};
    r.ordinal = ordinal;
    r.framed_here = framed_here;
    r.data_begin = TcpSeq(data_begin);
    r.data_end = TcpSeq(data_end);
    return r;
}

// A C2HData whose bytes fill a hole below the stream's front: [pdu_start, pdu_end) with its data
// after a 24-byte header, a 4-byte data digest at its end; framed_here: the engine framed it from
// headers that came whole in the packet, from framed_from on.
RunPdu hole_fill(uint32_t pdu_start, uint32_t pdu_end, bool framed_here, uint32_t framed_from = UINT32_MAX) {
    RunPdu r{};
    r.hole_fill = true;
    r.framed_here = framed_here;
    r.framed_from = TcpSeq(framed_from == UINT32_MAX ? pdu_start : framed_from);
    r.pdu_end = TcpSeq(pdu_end);
    r.data_begin = TcpSeq(pdu_start + 24);
    r.data_end = TcpSeq(pdu_end - 4);
    return r;
}

}  // namespace

TEST(ClaimBuilder, PairsTheEndOfOneReadWithTheStartOfTheNextCommand) {
    ::nvmeddp_pkt_meta m{};
    pmd::ClaimBuilder b;
    b.reset(&m);
    const RunPdu a = pdu(0, false, 0, 1100);     // read 1, open when the packet came
    const RunPdu n = pdu(1, true, 1128, 5224);   // read 2's C2HData, after a 28-byte header
    b.placed(TcpSeq(1000), 100, 3996, 1, 7, a);  // the end of read 1
    b.placed(TcpSeq(1128), 600, 0, 2, 9, n);     // the start of read 2 ...
    b.placed(TcpSeq(1728), 600, 600, 2, 9, n);   // ... in two chunks
    b.finish();
    EXPECT_EQ(m.place_cccid, 1);
    EXPECT_EQ(m.place_tag, 7);
    EXPECT_EQ(m.place_seq, 1000u);
    EXPECT_EQ(m.place_len, 100);
    EXPECT_EQ(m.place_buf_off, 3996u);
    EXPECT_EQ(m.place2_tag, 9);
    EXPECT_EQ(m.place2_len, 1200);
}

TEST(ClaimBuilder, NoRunTwoWhenTheHeaderBetweenWasNotFramedFromThisPacket) {
    // A header that straddles two packets, or one taken from an earlier copy: the engine says the
    // PDU was not framed here; the claim is the larger run alone.
    ::nvmeddp_pkt_meta m{};
    pmd::ClaimBuilder b;
    b.reset(&m);
    b.placed(TcpSeq(1000), 100, 3996, 1, 7, pdu(0, false, 0, 1100));
    b.placed(TcpSeq(1128), 1200, 0, 2, 9, pdu(1, false, 1128, 5224));
    b.finish();
    EXPECT_EQ(m.place_cccid, 2);
    EXPECT_EQ(m.place_seq, 1128u);
    EXPECT_EQ(m.place_len, 1200);
    EXPECT_EQ(m.place2_len, 0);
    EXPECT_EQ(m.place2_tag, 0);
}

TEST(ClaimBuilder, NoRunTwoUnlessRunOneEndsItsPduAndRunTwoStartsItsData) {
    ::nvmeddp_pkt_meta m{};
    pmd::ClaimBuilder b;
    b.reset(&m);
    b.placed(TcpSeq(1000), 90, 3996, 1, 7, pdu(0, false, 0, 1100));  // stops 10 bytes short of its data end
    b.placed(TcpSeq(1128), 100, 0, 2, 9, pdu(1, true, 1128, 5224));
    b.finish();
    EXPECT_EQ(m.place_cccid, 2);
    EXPECT_EQ(m.place2_len, 0);

    m = {};
    b.reset(&m);
    b.placed(TcpSeq(1000), 100, 3996, 1, 7, pdu(0, false, 0, 1100));
    b.placed(TcpSeq(1138), 90, 10, 2, 9, pdu(1, true, 1128, 5224));  // not from its first data byte
    b.finish();
    EXPECT_EQ(m.place_cccid, 1);
    EXPECT_EQ(m.place2_len, 0);
}

TEST(ClaimBuilder, NoRunTwoAcrossAC2HDataBetween) {
    // Ordinals 0 and 2: a C2HData (unregistered, unplaced) lies between the two.
    ::nvmeddp_pkt_meta m{};
    pmd::ClaimBuilder b;
    b.reset(&m);
    b.placed(TcpSeq(1000), 100, 3996, 1, 7, pdu(0, false, 0, 1100));
    b.placed(TcpSeq(1300), 90, 0, 3, 4, pdu(2, true, 1300, 2000));
    b.finish();
    EXPECT_EQ(m.place_cccid, 1);
    EXPECT_EQ(m.place2_len, 0);
}

TEST(ClaimBuilder, ChoosesTheBestPairAmongThreePdus) {
    ::nvmeddp_pkt_meta m{};
    pmd::ClaimBuilder b;
    b.reset(&m);
    b.placed(TcpSeq(1000), 200, 3896, 1, 7, pdu(0, false, 0, 1200));
    b.placed(TcpSeq(1228), 4096, 0, 2, 9, pdu(1, true, 1228, 5324));
    b.placed(TcpSeq(5352), 3000, 0, 3, 5, pdu(2, true, 5352, 9448));
    b.finish();
    // (1,2): 4296, (2,3): 7096: the second pair.
    EXPECT_EQ(m.place_cccid, 2);
    EXPECT_EQ(m.place_seq, 1228u);
    EXPECT_EQ(m.place_len, 4096);
    EXPECT_EQ(m.place2_tag, 5);
    EXPECT_EQ(m.place2_len, 3000);
}

TEST(ClaimBuilder, TheNextPduOfTheSameCommandIsAPairToo) {
    ::nvmeddp_pkt_meta m{};
    pmd::ClaimBuilder b;
    b.reset(&m);
    b.placed(TcpSeq(5000), 500, 1000, 3, 1, pdu(0, false, 4000, 5500));
    b.placed(TcpSeq(5528), 400, 1500, 3, 1, pdu(1, true, 5528, 6528));  // the command's next C2HData
    b.placed(TcpSeq(6560), 50, 9000, 4, 2, pdu(2, true, 6560, 6610));    // another read, smaller
    b.finish();
    EXPECT_EQ(m.place_cccid, 3);
    EXPECT_EQ(m.place_len, 500);
    EXPECT_EQ(m.place2_tag, 1);
    EXPECT_EQ(m.place2_len, 400);
}

TEST(ClaimBuilder, ASingleRunBeatsASmallerPair) {
    ::nvmeddp_pkt_meta m{};
    pmd::ClaimBuilder b;
    b.reset(&m);
    b.placed(TcpSeq(1000), 10, 0, 1, 7, pdu(0, false, 0, 1010));
    b.placed(TcpSeq(1038), 10, 0, 2, 9, pdu(1, true, 1038, 1048));
    b.placed(TcpSeq(3000), 500, 0, 5, 3, RunPdu{});  // a hole filled: never paired, but a run
    b.finish();
    EXPECT_EQ(m.place_cccid, 5);
    EXPECT_EQ(m.place_len, 500);
    EXPECT_EQ(m.place2_len, 0);
}

// A lost header's retransmission that also brings the end of the PDU before it: both fill holes, and
// pair when the engine framed the second from headers that came whole in this packet from the first
// one's end on (its own, or a CapsuleResp's before it too).
TEST(ClaimBuilder, PairsTheHoleFillsOfTwoAdjacentPdusWhenTheSecondsHeaderCameHere) {
    const RunPdu first = hole_fill(0, 4128, false);  // data 24..4124, digest, then the next header
    {
        ::nvmeddp_pkt_meta m{};
        pmd::ClaimBuilder b;
        b.reset(&m);
        b.placed(TcpSeq(3000), 1124, 2976, 1, 7, first);                          // the end of its data
        b.placed(TcpSeq(4152), 300, 0, 2, 9, hole_fill(4128, 8256, true));        // the next one's first data
        b.finish();
        EXPECT_EQ(m.place_cccid, 1);
        EXPECT_EQ(m.place_len, 1124);
        EXPECT_EQ(m.place2_tag, 9);
        EXPECT_EQ(m.place2_len, 300);
    }
    {  // a 24-byte CapsuleResp between, its header framed from this packet too
        ::nvmeddp_pkt_meta m{};
        pmd::ClaimBuilder b;
        b.reset(&m);
        b.placed(TcpSeq(3000), 1124, 2976, 1, 7, first);
        b.placed(TcpSeq(4176), 300, 0, 2, 9, hole_fill(4152, 8280, true, 4128));
        b.finish();
        EXPECT_EQ(m.place2_len, 300);
    }
    // Not paired: the second's header came (partly) in another packet; PDUs not adjacent; the first
    // run stops short of its PDU's data end; a hole fill with a run of the packet's own framing.
    const struct {
        const char* why;
        uint32_t first_len;
        RunPdu second;
    } cases[] = {
        {"header not from this packet", 1124, hole_fill(4128, 8256, false)},
        {"a PDU between, framed elsewhere", 1124, hole_fill(4152, 8280, true)},
        {"run 1 short of its data end", 1000, hole_fill(4128, 8256, true)},
        {"run 2 of the packet's framing", 1124, pdu(1, true, 4152, 8252)},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.why);
        ::nvmeddp_pkt_meta m{};
        pmd::ClaimBuilder b;
        b.reset(&m);
        b.placed(TcpSeq(3000), c.first_len, 2976, 1, 7, first);
        b.placed(c.second.data_begin, 300, 0, 2, 9, c.second);
        b.finish();
        EXPECT_EQ(m.place_cccid, 1);
        EXPECT_EQ(m.place2_len, 0);
    }
}

TEST(ClaimBuilder, RunsPastTheArrayAreNotCandidates) {
    ::nvmeddp_pkt_meta m{};
    pmd::ClaimBuilder b;
    b.reset(&m);
    for (int i = 0; i < pmd::ClaimBuilder::kMaxRuns; ++i) {
        b.placed(TcpSeq(1000 + 100 * i), 10, 0, static_cast<uint16_t>(i), 1, RunPdu{});
    }
    b.placed(TcpSeq(9000), 900, 0, 99, 1, RunPdu{});
    b.finish();
    EXPECT_NE(m.place_cccid, 99);
    EXPECT_EQ(m.place_len, 10);
}

// InOrderClaim makes ClaimBuilder's choice as the runs come, for the packets the straight paths take:
// one run or none per C2HData, in stream order, every run but the last ending its PDU's data and
// every run but the first starting it. Random such packets, with lengths from a small set so that
// ties (where the order of the candidates decides) are common: both must write the same claim.
TEST(InOrderClaim, ChoosesAsClaimBuilderDoesForPacketsTakenInOrder) {
    uint64_t state = 0x1234567;
    auto next = [&state](uint32_t bound) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<uint32_t>((state >> 33) % bound);
    };
    int pairs = 0;
    int singles_after_the_first = 0;
    for (int trial = 0; trial < 20000; ++trial) {
        ::nvmeddp_pkt_meta by_list{};
        ::nvmeddp_pkt_meta in_order{};
        pmd::ClaimBuilder list;
        list.reset(&by_list);
        pmd::InOrderClaim claim(in_order);
        const int pdus = 1 + static_cast<int>(next(pmd::ClaimBuilder::kMaxRuns));
        uint32_t seq = 0xFFFFF000u + next(8192);  // across the wrap too
        for (int k = 0; k < pdus; ++k) {
            const uint32_t lens[] = {1, 2, 3, 100, 65535, 65536};
            const uint32_t data_len = lens[next(6)];
            // The first PDU's run starts inside its data, the last's may end short of its end.
            const uint32_t skip = k == 0 ? next(data_len) : 0;
            const uint32_t short_by = k + 1 == pdus ? next(data_len - skip) : 0;
            const uint32_t data_begin = seq + 24;
            const uint32_t run_seq = data_begin + skip;
            const uint32_t len = next(4) == 0 ? 0 : data_len - skip - short_by;  // a quarter not placed
            const uint64_t buf_off = next(8) == 0 ? UINT32_MAX - 10 : next(1u << 20);  // sometimes not claimable
            const bool framed_here = k > 0 && next(5) != 0;
            const auto cccid = static_cast<uint16_t>(k + 1);
            const auto tag = static_cast<uint16_t>(100 + k);
            if (len != 0) list.placed(TcpSeq(run_seq), len, buf_off, cccid, tag, pdu(static_cast<uint32_t>(k), framed_here, data_begin, data_begin + data_len));
            claim.pdu(TcpSeq(run_seq), len, buf_off, cccid, tag, framed_here);
            seq = data_begin + data_len + 4 + (next(2) == 0 ? 24 : 0);  // its digest, maybe a CapsuleResp
        }
        list.finish();
        EXPECT_EQ(claim.claimed(), by_list.place_len != 0);
        ASSERT_EQ(in_order.place_seq, by_list.place_seq) << "trial " << trial;
        ASSERT_EQ(in_order.place_buf_off, by_list.place_buf_off) << "trial " << trial;
        ASSERT_EQ(in_order.place_len, by_list.place_len) << "trial " << trial;
        ASSERT_EQ(in_order.place_cccid, by_list.place_cccid) << "trial " << trial;
        ASSERT_EQ(in_order.place_tag, by_list.place_tag) << "trial " << trial;
        ASSERT_EQ(in_order.place2_tag, by_list.place2_tag) << "trial " << trial;
        ASSERT_EQ(in_order.place2_len, by_list.place2_len) << "trial " << trial;
        if (by_list.place2_len != 0) ++pairs;
        if (by_list.place2_len == 0 && by_list.place_cccid > 1) ++singles_after_the_first;
    }
    // Both kinds of claim, and single runs other than the first, were chosen often.
    EXPECT_GT(pairs, 2000);
    EXPECT_GT(singles_after_the_first, 2000);
}
