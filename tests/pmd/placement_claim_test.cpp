// ClaimBuilder: the runs a packet's claim names. Where a packet carries the end of one read and the
// start of the next, the claim names the registration with more bytes in it.
#include <gtest/gtest.h>

#include "pmd/engine/placement_claim.hpp"

using namespace nvmeddp;
using ddp::TcpSeq;

TEST(ClaimBuilder, NamesTheRegistrationWithMoreBytesInThePacket) {
    ::nvmeddp_pkt_meta m{};
    pmd::ClaimBuilder b;
    b.reset(&m);
    b.placed(TcpSeq(1000), 100, 2900, 1, 7);     // the end of read 1
    b.placed(TcpSeq(1128), 600, 0, 2, 9);        // the start of read 2 (after its header) ...
    b.placed(TcpSeq(1728), 600, 600, 2, 9);      // ... in two chunks
    b.finish();
    EXPECT_EQ(m.place_cccid, 2);
    EXPECT_EQ(m.place_tag, 9);
    EXPECT_EQ(m.place_seq, 1128u);
    EXPECT_EQ(m.place_len, 1200);
    EXPECT_EQ(m.place_buf_off, 0u);
    EXPECT_EQ(m.place2_len, 0);

    m = {};
    b.reset(&m);
    b.placed(TcpSeq(1000), 1300, 1700, 1, 7);  // most of the packet: read 1
    b.placed(TcpSeq(2328), 100, 0, 2, 9);
    b.finish();
    EXPECT_EQ(m.place_cccid, 1);
    EXPECT_EQ(m.place_len, 1300);
}

TEST(ClaimBuilder, ASecondRunOfTheSameRegistrationContinuesItInTheBuffer) {
    ::nvmeddp_pkt_meta m{};
    pmd::ClaimBuilder b;
    b.reset(&m);
    b.placed(TcpSeq(5000), 500, 1000, 3, 1);
    b.placed(TcpSeq(5528), 400, 1500, 3, 1);  // the next PDU of the command, after a 28-byte header
    b.placed(TcpSeq(6000), 50, 9000, 4, 2);   // another read, smaller than both runs together
    b.finish();
    EXPECT_EQ(m.place_cccid, 3);
    EXPECT_EQ(m.place_len, 500);
    EXPECT_EQ(m.place2_gap, 28);
    EXPECT_EQ(m.place2_len, 400);
}
