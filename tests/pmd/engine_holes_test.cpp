// PDUs with holes (pmd/engine/gap_pdus.hpp): a packet lost or overtaken inside a C2HData whose
// header the engine accepted. When the missing bytes come (a retransmission, the overtaken packet),
// the engine places them and, once the PDU is whole, checks its digest across the runs. Judged by
// the realistic host (tests/testlib): every read's bytes and status as without the offload, and
// what the host copied and computed itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "pmd/engine_expectations.hpp"
#include "pmd/engine_rig.hpp"

using namespace nvmeddp;
using pmd_test::EngineRig;
using pmd_test::expect_outcomes_as_without_offload;
using pmd_test::RigOptions;

namespace {

// Reads of one C2HData each, long enough that a frame can be held back until the PDU has ended.
RigOptions one_pdu_reads(uint32_t commands, uint32_t len) { return pmd_test::equal_reads(commands, len); }

// Indices (in arrival order) of the frames that lie wholly inside the data of C2HData number k.
std::vector<size_t> frames_inside_pdu(const EngineRig& rig, size_t k) {
    std::vector<const testlib::PduRecord*> c2h;
    for (const auto& p : rig.stream.pdus) {
        if (p.type == nvmetcp::PduType::C2HData) c2h.push_back(&p);
    }
    std::vector<size_t> out;
    const uint64_t d0 = c2h.at(k)->offset + c2h.at(k)->pdo;
    const uint64_t d1 = d0 + c2h.at(k)->datal;
    for (size_t i = 0; i < rig.frames.frames.size(); ++i) {
        const auto& t = rig.frames.frames[i].truth;
        if (t.stream_offset >= d0 && t.stream_offset + t.length <= d1) out.push_back(i);
    }
    return out;
}

// Moves the frames at `held` (ascending indices) to the end of the arrival order, in that order.
void deliver_last(EngineRig& rig, const std::vector<size_t>& held) {
    auto& fr = rig.frames.frames;
    std::vector<testlib::GeneratedFrame> late;
    for (auto it = held.rbegin(); it != held.rend(); ++it) {
        late.insert(late.begin(), fr[*it]);
        fr.erase(fr.begin() + static_cast<ptrdiff_t>(*it));
    }
    fr.insert(fr.end(), late.begin(), late.end());
}

// Moves the frame at `index` `by` places later in the arrival order.
void deliver_later(EngineRig& rig, size_t index, size_t by) {
    auto& fr = rig.frames.frames;
    const testlib::GeneratedFrame late = fr[index];
    fr.erase(fr.begin() + static_cast<ptrdiff_t>(index));
    fr.insert(fr.begin() + static_cast<ptrdiff_t>(index + by), late);
}

// A copy of `frame` with the payload byte at `at` altered and a valid checksum: a lying peer, or a
// corruption TCP cannot see.
testlib::GeneratedFrame lying_copy(const EngineRig& rig, const testlib::GeneratedFrame& frame, size_t at) {
    const auto& t = frame.truth;
    std::vector<uint8_t> altered(rig.stream.bytes.begin() + static_cast<ptrdiff_t>(t.stream_offset),
                                 rig.stream.bytes.begin() + static_cast<ptrdiff_t>(t.stream_offset + t.length));
    altered.at(at) ^= 0x40;
    testlib::TcpFields tcp;
    tcp.seq = t.seq;
    testlib::GeneratedFrame lying = frame;
    lying.bytes = testlib::build_frame(rig.options_.frames.flow, tcp, altered).bytes;
    return lying;
}

// Arrival at the end: the frames at `second`, then `then...` (copies), then the one at `first`;
// both taken out of their places (first < second).
void second_then_first(EngineRig& rig, size_t first, size_t second, const std::vector<testlib::GeneratedFrame>& then) {
    auto& fr = rig.frames.frames;
    const testlib::GeneratedFrame a = fr[first], b = fr[second];
    fr.erase(fr.begin() + static_cast<ptrdiff_t>(second));
    fr.erase(fr.begin() + static_cast<ptrdiff_t>(first));
    fr.push_back(b);
    fr.insert(fr.end(), then.begin(), then.end());
    fr.push_back(a);
}

size_t metas_with(const EngineRig& rig, uint8_t flags) {
    return static_cast<size_t>(std::count_if(rig.metas.begin(), rig.metas.end(),
                                             [&](const auto& m) { return m && (m->flags & flags) == flags; }));
}


// Reads of one 30000-byte C2HData each, run as generated (clean), and the same frames to be
// delivered otherwise (rig); `held` is the frame with C2HData 10's header.
// replace: the probability that the host's receiver keeps a later copy of bytes it holds out of order.
struct LostHeaderCase {
    RigOptions options;
    EngineRig clean;
    EngineRig rig;
    size_t held = 0;
    explicit LostHeaderCase(double replace = 0.5) : options(with_replace(one_pdu_reads(5, 30000), replace)), clean(options), rig(options) {
        clean.run();
        held = rig.frame_with_header(10);
    }
    static RigOptions with_replace(RigOptions o, double replace) {
        o.receiver.replace = replace;
        return o;
    }
};

// Runs the frames: every read as without the offload, and right.
void run_expecting_right_reads(EngineRig& rig) {
    rig.run();
    expect_outcomes_as_without_offload(rig);
    EXPECT_EQ(rig.read_problem(), "");
}

}  // namespace

// The hole of a PDU that has ended is filled by the last frame of the run: its data is placed then,
// and the digest verified across the hole travels on that frame as a verdict ahead
// (NVMEDDP_PKT_DIGEST_AHEAD), which the host applies when it reaches the PDU's end.
TEST(EngineHoles, AHoleFilledAfterItsPduEndedIsPlacedAndVerifiedAhead) {
    for (const bool wrap : {false, true}) {
        SCOPED_TRACE(wrap ? "sequence numbers wrap inside the hole's PDU" : "no wrap");
        RigOptions o = one_pdu_reads(4, 30000);
        EngineRig clean(o);
        clean.run();
        if (wrap) {
            // Find where the held frame will be, then put the wrap inside its PDU.
            EngineRig probe(o);
            o.frames.first_seq = testlib::first_seq_wrapping_at(probe.frames.frames[frames_inside_pdu(probe, 1)[3]].truth.stream_offset + 100);
        }
        EngineRig rig(o);
        const size_t held = frames_inside_pdu(rig, 1)[3];
        const uint32_t held_len = rig.frames.frames[held].truth.length;
        deliver_last(rig, {held});
        run_expecting_right_reads(rig);
        const auto& t = rig.host->totals();
        const ddp::Stats s = rig.stats();
        EXPECT_EQ(t.copied, clean.host->totals().copied);
        EXPECT_EQ(s.late_placed_bytes, held_len);
        EXPECT_EQ(t.digests_recomputed, 0u);
        EXPECT_EQ(t.digests_trusted, clean.host->totals().digests_trusted);
        EXPECT_EQ(s.digest_combined, 1u);
        EXPECT_EQ(s.digest_fallback, 0u);
        EXPECT_EQ(metas_with(rig, NVMEDDP_PKT_DIGEST_AHEAD | NVMEDDP_PKT_DIGEST_OK | NVMEDDP_PKT_CRC | NVMEDDP_PKT_PLACED), 1u);
    }
}

// The frame that fills the hole was altered on the way with a valid checksum (a lying peer, or a
// corruption TCP cannot see): the digest across the hole does not match, nothing is trusted, and the
// read fails its digest exactly as without the offload.
TEST(EngineHoles, ALyingFrameFillingAHoleFailsTheDigestAsWithoutOffload) {
    RigOptions o = one_pdu_reads(4, 30000);
    EngineRig rig(o);
    const size_t held = frames_inside_pdu(rig, 2)[5];
    rig.frames.frames[held] = lying_copy(rig, rig.frames.frames[held], 17);
    deliver_last(rig, {held});
    rig.run();
    expect_outcomes_as_without_offload(rig);
    const ddp::Stats s = rig.stats();
    EXPECT_EQ(s.digest_failed, 1u);
    EXPECT_EQ(s.digest_combined, 0u);
    EXPECT_EQ(rig.host->totals().digest_failures, 1u);
    EXPECT_EQ(metas_with(rig, NVMEDDP_PKT_DIGEST_AHEAD), 0u);
}

// A second copy of a frame that filled a hole finds no hole: it is not placed again, and gives no
// verdict. The host still waits for an earlier hole when both copies come, so its receiver may keep
// either; the second has the same CRC32C as the one the device digested (digested_copies.hpp), so it
// is marked CRC too and the digest is trusted whichever copy the host kept; its bytes are the ones
// the first copy placed, so it is claimed as placed there and the host copies neither.
TEST(EngineHoles, ASecondCopyOfAFrameThatFilledAHoleIsNotTakenAgain) {
    for (const bool replace : {false, true}) {
        SCOPED_TRACE(replace ? "the receiver keeps the later copy" : "the receiver keeps the first copy");
        RigOptions o = one_pdu_reads(4, 30000);
        o.receiver.replace = replace ? 1.0 : 0.0;
        EngineRig rig(o);
        const std::vector<size_t> inside = frames_inside_pdu(rig, 1);
        const size_t first = inside[2], second = inside[5];
        const uint64_t both_len = rig.frames.frames[first].truth.length + rig.frames.frames[second].truth.length;
        // Arrival at the end: the second hole's frame, a copy of it, then the first hole's frame.
        second_then_first(rig, first, second, {rig.frames.frames[second]});
        run_expecting_right_reads(rig);
        EXPECT_EQ(rig.stats().late_placed_bytes, both_len);
        const size_t n = rig.metas.size();
        ASSERT_TRUE(rig.metas[n - 2] && rig.metas[n - 1]);
        EXPECT_EQ(rig.metas[n - 2]->flags & (NVMEDDP_PKT_CRC | NVMEDDP_PKT_PLACED | NVMEDDP_PKT_DIGEST_OK),
                  NVMEDDP_PKT_CRC | NVMEDDP_PKT_PLACED);
        EXPECT_EQ(rig.metas[n - 1]->flags & NVMEDDP_PKT_DIGEST_AHEAD, NVMEDDP_PKT_DIGEST_AHEAD);
        EXPECT_EQ(rig.stats().digest_combined, 1u);
        EXPECT_EQ(rig.stats().copies_matched, 1u);
        EXPECT_EQ(rig.stats().copies_claimed, 1u);
        EXPECT_EQ(rig.host->totals().copied, 0u);
        EXPECT_EQ(rig.host->totals().digests_recomputed, 0u);
        EXPECT_EQ(rig.crc_copies_problem(), "");
    }
}

namespace {

// Reads whose host's receiver keeps the later copy of bytes it holds out of order (replace 1.0).
RigOptions keeping_later_copies() {
    RigOptions o = one_pdu_reads(4, 30000);
    o.receiver.replace = 1.0;
    return o;
}

using FrameEdit = std::function<testlib::GeneratedFrame(const EngineRig&, const testlib::GeneratedFrame&)>;

testlib::GeneratedFrame as_sent(const EngineRig&, const testlib::GeneratedFrame& f) { return f; }

// Inside PDU 1: its third frame overtaken by three later ones (a hole), and `copy` arriving right
// after the fifth frame (made `first` when it came first), which the host holds out of order
// meanwhile. Returns the fifth frame's payload length.
size_t hole_then_copy_of_a_later_frame(EngineRig& rig, const FrameEdit& copy, const FrameEdit& first = as_sent) {
    const std::vector<size_t> inside = frames_inside_pdu(rig, 1);
    auto& fr = rig.frames.frames;
    const testlib::GeneratedFrame overtaken = fr[inside[2]];
    const testlib::GeneratedFrame extra = copy(rig, fr[inside[4]]);
    fr[inside[4]] = first(rig, fr[inside[4]]);
    fr.insert(fr.begin() + static_cast<ptrdiff_t>(inside[5] + 1), overtaken);
    fr.insert(fr.begin() + static_cast<ptrdiff_t>(inside[4] + 1), extra);
    fr.erase(fr.begin() + static_cast<ptrdiff_t>(inside[2]));
    return fr[inside[4] - 1].truth.length;
}

}  // namespace

// A duplicate of a frame that came after a hole, while the host holds it out of order: the host keeps
// the duplicate, which carries no new byte. Its CRC32C is the first copy's, so it is marked CRC and
// the digest verified across the hole is trusted; its bytes are those the first copy placed, so it is
// claimed and the host copies nothing.
TEST(EngineHoles, ALaterCopyTheHostKeepsOfAFrameAfterAHoleKeepsTheDigestTheDevices) {
    for (const uint32_t segments : {1u, 29u}) {  // 29 of about 1 KB: the comparison crosses segments
        SCOPED_TRACE(testing::Message() << segments << " segments per buffer");
        RigOptions o = keeping_later_copies();
        o.segments_per_buffer = segments;
        EngineRig rig(o);
        hole_then_copy_of_a_later_frame(rig, as_sent);
        run_expecting_right_reads(rig);
        EXPECT_EQ(rig.stats().copies_matched, 1u);
        EXPECT_EQ(rig.stats().copies_claimed, 1u);
        EXPECT_EQ(rig.host->totals().copied, 0u);
        EXPECT_EQ(rig.stats().digest_combined, 1u);
        EXPECT_EQ(rig.host->totals().digests_recomputed, 0u);
        EXPECT_EQ(rig.host->totals().digest_failures, 0u);
        EXPECT_EQ(rig.crc_copies_problem(), "");
    }
}

// The same with a lying duplicate (one byte altered, valid checksum): its CRC32C differs, it is not
// marked CRC, and the host computes the digest over what it kept and fails the read, as without the
// offload, although the device verified the right copy.
TEST(EngineHoles, ALyingLaterCopyTheHostKeepsIsNeverCoveredByTheDevicesDigest) {
    EngineRig rig(keeping_later_copies());
    hole_then_copy_of_a_later_frame(rig, [](const EngineRig& r, const testlib::GeneratedFrame& f) { return lying_copy(r, f, 700); });
    rig.run();
    expect_outcomes_as_without_offload(rig);
    EXPECT_EQ(rig.stats().copies_matched, 0u);
    EXPECT_EQ(rig.stats().copies_claimed, 0u);
    EXPECT_EQ(rig.stats().digest_combined, 1u);  // the device's copy was right
    EXPECT_EQ(rig.host->totals().digests_recomputed, 1u);
    EXPECT_EQ(rig.host->totals().digest_failures, 1u);
    EXPECT_EQ(rig.crc_copies_problem(), "");
}

// A copy cut differently (a retransmission that also takes the next frame's first bytes) matches no
// range the device remembered: it is not marked CRC, and the host that kept part of it computes the
// digest itself.
TEST(EngineHoles, ALaterCopyCutDifferentlyIsNotMarked) {
    EngineRig rig(keeping_later_copies());
    hole_then_copy_of_a_later_frame(rig, [](const EngineRig& r, const testlib::GeneratedFrame& f) {
        return r.frame_of(f.truth.stream_offset, f.truth.length + 700);
    });
    run_expecting_right_reads(rig);
    EXPECT_EQ(rig.stats().copies_matched, 0u);
    EXPECT_EQ(rig.stats().copies_claimed, 0u);
    EXPECT_EQ(rig.host->totals().digests_recomputed, 1u);
    EXPECT_EQ(rig.crc_copies_problem(), "");
}

// The other way round: the device placed a lying first copy (one byte altered, valid checksum), and
// the host keeps the right later one. Its bytes are not the buffer's, so it is not claimed: the host
// copies it over the lying byte and computes the digest itself over what it kept, and the read is
// right, as without the offload. (A claim made without comparing would leave the lying byte in a read
// that succeeds.)
TEST(EngineHoles, ARightLaterCopyOfALyingFrameThatWasPlacedIsTheHostsToCopy) {
    EngineRig rig(keeping_later_copies());
    const size_t len = hole_then_copy_of_a_later_frame(rig, as_sent, [](const EngineRig& r, const testlib::GeneratedFrame& f) {
        return lying_copy(r, f, 700);
    });
    run_expecting_right_reads(rig);
    EXPECT_EQ(rig.stats().copies_matched, 0u);
    EXPECT_EQ(rig.stats().copies_claimed, 0u);
    EXPECT_EQ(rig.stats().digest_failed, 1u);  // over the lying copy
    EXPECT_EQ(rig.host->totals().copied, len);
    EXPECT_EQ(rig.host->totals().digests_recomputed, 1u);
    EXPECT_EQ(rig.host->totals().digest_failures, 0u);
}

// A PDU with more holes at once than a slot has runs gives up its smallest hole: its digest falls
// back to the host, and the bytes of that hole are the host's to copy; the other holes are still
// placed when their frames come.
TEST(EngineHoles, MoreHolesThanRunsGiveUpOneHoleAndTheDigest) {
    RigOptions o = one_pdu_reads(3, 60000);
    EngineRig rig(o);
    const std::vector<size_t> inside = frames_inside_pdu(rig, 1);
    std::vector<size_t> held;
    for (size_t k = 1; k < inside.size() && held.size() < pmd::GapPdus::kRunsPerPdu + 1; k += 2) held.push_back(inside[k]);
    ASSERT_EQ(held.size(), pmd::GapPdus::kRunsPerPdu + 1);
    deliver_last(rig, held);
    run_expecting_right_reads(rig);
    const ddp::Stats s = rig.stats();
    EXPECT_EQ(s.gap_untracked, 0u);
    EXPECT_EQ(s.digest_fallback, 1u);
    EXPECT_EQ(s.digest_combined, 0u);
    EXPECT_EQ(rig.host->totals().digests_recomputed, 1u);
    // n holes inside the PDU need n + 1 runs: the extra ones cost a hole each (every held frame is a
    // whole MSS); the frames of the other holes are placed when they come.
    const size_t given_up = held.size() + 1 - pmd::GapPdus::kRunsPerPdu;
    EXPECT_EQ(s.late_placed_bytes, (held.size() - given_up) * o.frames.mss);
}

// More PDUs with holes at once than the table has slots: the first kSlots are tracked and verified
// when their frames come, the others fall back.
TEST(EngineHoles, MorePdusWithHolesThanSlotsFallBackOnlyForTheExtraOnes) {
    constexpr size_t kExtra = 2;
    RigOptions o = one_pdu_reads(pmd::GapPdus::kSlots + kExtra + 1, 9000);
    o.gap_pdus = 4 * pmd::GapPdus::kSlots;  // the connection's slots run out, not the queue's pool
    EngineRig rig(o);
    std::vector<size_t> held;
    uint64_t tracked_bytes = 0;
    for (size_t k = 0; k < pmd::GapPdus::kSlots + kExtra; ++k) {
        held.push_back(frames_inside_pdu(rig, k).at(1));
        if (k < pmd::GapPdus::kSlots) tracked_bytes += rig.frames.frames[held.back()].truth.length;
    }
    deliver_last(rig, held);
    run_expecting_right_reads(rig);
    const ddp::Stats s = rig.stats();
    EXPECT_EQ(s.gap_untracked, kExtra);
    EXPECT_EQ(s.digest_combined, pmd::GapPdus::kSlots);
    EXPECT_EQ(s.late_placed_bytes, tracked_bytes);
    EXPECT_EQ(rig.host->totals().digests_recomputed, kExtra);
    EXPECT_EQ(rig.queue().gap_pool().stats().refused, 0u);
    EXPECT_EQ(rig.queue().gap_pool().stats().most_lent, pmd::GapPdus::kSlots);
}

// The queue's pool of PDUs with holes (gap_pdu_pool.hpp) smaller than a connection's table: the
// PDUs with holes beyond it fall back as those beyond the table's slots do, and every PDU lent is
// back in the pool once its hole is filled.
TEST(EngineHoles, MorePdusWithHolesThanTheQueuesPoolFallBackOnlyForTheExtraOnes) {
    constexpr uint32_t kPool = 3;
    constexpr size_t kExtra = 2;
    RigOptions o = one_pdu_reads(kPool + kExtra + 1, 9000);
    o.gap_pdus = kPool;
    EngineRig rig(o);
    ASSERT_EQ(rig.queue().gap_pool().stats().items, kPool);
    std::vector<size_t> held;
    uint64_t tracked_bytes = 0;
    for (size_t k = 0; k < kPool + kExtra; ++k) {
        held.push_back(frames_inside_pdu(rig, k).at(1));
        if (k < kPool) tracked_bytes += rig.frames.frames[held.back()].truth.length;
    }
    deliver_last(rig, held);
    run_expecting_right_reads(rig);
    const ddp::Stats s = rig.stats();
    EXPECT_EQ(s.gap_untracked, kExtra);
    EXPECT_EQ(s.digest_combined, kPool);
    EXPECT_EQ(s.late_placed_bytes, tracked_bytes);
    EXPECT_EQ(rig.host->totals().digests_recomputed, kExtra);
    const nvmetcp::LendingStats p = rig.queue().gap_pool().stats();
    EXPECT_EQ(p.refused, kExtra);
    EXPECT_EQ(p.most_lent, kPool);
    EXPECT_EQ(p.lent, 0u) << "every PDU judged went back to the pool";
}

// A connection removed while a PDU of it still has a hole (its frame never came): the PDU goes back
// to the queue's pool when the engine applies the removal.
TEST(EngineHoles, ARemovedConnectionsPdusWithHolesGoBackToThePool) {
    RigOptions o = one_pdu_reads(3, 9000);
    o.gap_pdus = 1;
    EngineRig rig(o);
    const size_t lost = frames_inside_pdu(rig, 0).at(1);
    rig.frames.frames.erase(rig.frames.frames.begin() + static_cast<ptrdiff_t>(lost));
    rig.run();
    ASSERT_EQ(rig.queue().gap_pool().stats().lent, 1u) << "the PDU with the hole holds the pool's one";
    rig.device->remove_connection(rig.handle);
    for (int i = 0; i < 1000 && rig.device->connection_count() != 0; ++i) {
        rig.queue().poll_idle();
        rig.device->poll(rig.handle);
    }
    ASSERT_EQ(rig.device->connection_count(), 0u);
    rig.handle = 0;  // removed here: not again by the rig
    EXPECT_EQ(rig.queue().gap_pool().stats().lent, 0u);
    EXPECT_EQ(rig.queue().gap_pool().stats().refused, 0u);
}

// Lost bytes from inside one PDU into the next one's header: the framing is lost after the gap (and
// found again by resync), but the PDU the gap began in is known to its end, and the frame that
// brings its tail is placed.
TEST(EngineHoles, AGapIntoTheNextHeaderStillPlacesThePdusTail) {
    RigOptions o = one_pdu_reads(5, 20000);
    EngineRig rig(o);
    size_t held = rig.frame_with_header(8);
    ASSERT_LT(held, rig.frames.frames.size());
    // The held frame begins inside a PDU's data (not at a header), so its first bytes are a tail.
    deliver_last(rig, {held});
    run_expecting_right_reads(rig);
    const ddp::Stats s = rig.stats();
    EXPECT_GE(s.resync_requests, 1u);
    EXPECT_GT(s.late_placed_bytes, 0u);
    EXPECT_EQ(s.digest_combined, 1u);  // verified by the device; the frame also holds unseen bytes of the next PDU, so not CRC
}

// The key case for the verdict ahead: the device digests the first copy of a hole's bytes and
// verifies the PDU, but the host's receiver keeps a later copy that was altered on the way (valid
// checksum). That copy is not marked CRC, so the host does not apply the verdict: it computes the
// digest over what it kept and fails the read, as without the offload.
TEST(EngineHoles, AVerdictAheadNeverCoversALyingCopyTheHostKept) {
    RigOptions o = one_pdu_reads(4, 30000);
    o.receiver.replace = 1.0;
    EngineRig rig(o);
    const std::vector<size_t> inside = frames_inside_pdu(rig, 1);
    const size_t first = inside[2], second = inside[5];
    second_then_first(rig, first, second, {lying_copy(rig, rig.frames.frames[second], 100)});
    rig.run();
    expect_outcomes_as_without_offload(rig);
    EXPECT_EQ(rig.stats().digest_combined, 1u);  // the device's copy was right
    EXPECT_EQ(rig.host->totals().digest_failures, 1u);  // the host's was not, and it knows
    EXPECT_EQ(rig.host->totals().digests_recomputed, 1u);
}

// A frame with a PDU header is lost and retransmitted a few frames later: the framing is lost with
// it, but the engine knows where the header starts, takes it from the retransmission, and is in
// sync again inside that PDU without the host's resync. The PDU the gap began in is verified across
// its hole; the one whose header was lost is placed from the gap on (only its bytes seen without
// framing are the host's to copy), and verified too: the engine digested those bytes while it waited.
TEST(EngineHoles, ALostHeaderIsTakenFromTheRetransmissionAndTheFramingRegained) {
    LostHeaderCase c;
    EngineRig& clean = c.clean;
    EngineRig& rig = c.rig;
    auto& fr = rig.frames.frames;
    const size_t held = c.held;
    ASSERT_LT(held + 4, fr.size());
    deliver_later(rig, held, 3);
    uint64_t seen_without_framing = 0;
    for (size_t k = held; k < held + 3; ++k) seen_without_framing += fr[k].truth.length;
    run_expecting_right_reads(rig);
    const ddp::Stats s = rig.stats();
    EXPECT_EQ(s.framing_regained, 1u);
    EXPECT_EQ(s.resync_requests, 0u);
    EXPECT_GT(s.late_placed_bytes, 0u);
    EXPECT_EQ(s.digest_combined, 2u);  // the PDU the gap began in, and the one whose header was lost
    const auto& t = rig.host->totals();
    // The frame that brings the lost header late also brings the end of the PDU before it: both
    // fill holes, and the claim pairs them as the clean run's did (run 2 the lost header's PDU,
    // framed from the header this frame brought). Only the bytes seen without framing are copied.
    const size_t late = held + 3;  // where the held frame arrived
    ASSERT_TRUE(clean.metas[held] && rig.metas[late]);
    ASSERT_GT(clean.metas[held]->place2_len, 0u);
    EXPECT_EQ(rig.metas[late]->place_seq, clean.metas[held]->place_seq);
    EXPECT_EQ(rig.metas[late]->place_len, clean.metas[held]->place_len);
    EXPECT_EQ(rig.metas[late]->place2_len, clean.metas[held]->place2_len);
    EXPECT_EQ(t.copied, clean.host->totals().copied + seen_without_framing);
    EXPECT_EQ(t.digests_recomputed, 0u);
    for (size_t k = held; k <= held + 3; ++k) {  // every byte of each taken (or digested) once
        ASSERT_TRUE(rig.metas[k]);
        EXPECT_EQ(rig.metas[k]->flags & NVMEDDP_PKT_CRC, NVMEDDP_PKT_CRC) << k;
    }
}

// Two frames lost, the first with a PDU header, and their retransmissions come in the wrong order:
// the bytes after the header before the header. The engine keeps those bytes as seen (the host
// copies them; the device never places over them) and still takes the header when it comes: in sync
// again without the host's resync. (It gave up on the header before, and stayed out of sync until
// the next header after the PDU, 30 KB later, was confirmed by the host.)
TEST(EngineHoles, ALostHeaderStillTakenAfterARetransmissionOfTheBytesAfterIt) {
    LostHeaderCase c;
    EngineRig& clean = c.clean;
    EngineRig& rig = c.rig;
    auto& fr = rig.frames.frames;
    const size_t held = c.held;
    ASSERT_LT(held + 6, fr.size());
    // Arrival: held+2, held+3, held+4, held+1, held, held+5 ...
    deliver_later(rig, held + 1, 3);
    deliver_later(rig, held, 4);
    uint64_t not_placed = 0;  // seen without framing after the gap, and the bytes after the header that came before it
    for (size_t k = held; k < held + 4; ++k) not_placed += fr[k].truth.length;
    run_expecting_right_reads(rig);
    const ddp::Stats s = rig.stats();
    EXPECT_EQ(s.framing_regained, 1u);
    EXPECT_EQ(s.resync_requests, 0u);
    EXPECT_EQ(rig.engine()->mode(), pmd::ConnectionEngine::Mode::InSync);
    const auto& t = rig.host->totals();
    EXPECT_EQ(t.copied, clean.host->totals().copied + not_placed);
    EXPECT_EQ(t.digests_recomputed, 1u);  // the PDU with the seen bytes: its digest is the host's
}

namespace {

// Puts frames [from, from + order.size()) in the arrival order `order` (offsets from `from`).
void arrive_in_order(EngineRig& rig, size_t from, const std::vector<size_t>& order) {
    auto& fr = rig.frames.frames;
    const std::vector<testlib::GeneratedFrame> was(fr.begin() + static_cast<ptrdiff_t>(from),
                                                   fr.begin() + static_cast<ptrdiff_t>(from + order.size()));
    for (size_t k = 0; k < order.size(); ++k) fr[from + k] = was.at(order[k]);
}

// Runs the case's frames: every read right, the lost header taken without the host's resync, and the
// host copying what it copied in the clean run and `not_placed` bytes more.
void expect_header_taken_copying(LostHeaderCase& c, uint64_t not_placed) {
    run_expecting_right_reads(c.rig);
    const ddp::Stats s = c.rig.stats();
    EXPECT_EQ(s.framing_regained, 1u);
    EXPECT_EQ(s.resync_requests, 0u);
    EXPECT_EQ(c.rig.host->totals().copied, c.clean.host->totals().copied + not_placed);
}

}  // namespace

// Two separate ranges of the gap come before the lost header (held+1 and held+3, apart): the engine
// keeps one seen range only, so it stops waiting for the header (every byte it takes must be one
// it has not seen, and it would not know the second range's) and waits for the host's resync as
// before. Every read is right; nothing seen before the header is placed.
TEST(EngineHoles, TwoSeparateRangesBeforeALostHeaderEndTheWaitForIt) {
    LostHeaderCase c;
    EngineRig& rig = c.rig;
    ASSERT_LT(c.held + 6, rig.frames.frames.size());
    arrive_in_order(rig, c.held, {4, 1, 3, 0, 2});
    run_expecting_right_reads(rig);
    const ddp::Stats s = rig.stats();
    EXPECT_EQ(s.framing_regained, 0u);
    EXPECT_GE(s.resync_requests, 1u);
    EXPECT_EQ(rig.engine()->mode(), pmd::ConnectionEngine::Mode::InSync);  // the host's resync
}

// The same two ranges, touching (held+1, then held+2): one seen range, grown. The header is taken
// when it comes, without the host: the bytes seen are the host's to copy, the rest is placed.
TEST(EngineHoles, TouchingRangesBeforeALostHeaderAreOneSeenRange) {
    LostHeaderCase c;
    EngineRig& rig = c.rig;
    const auto& fr = rig.frames.frames;
    ASSERT_LT(c.held + 6, fr.size());
    arrive_in_order(rig, c.held, {4, 1, 2, 0, 3});
    uint64_t not_placed = 0;  // the gap bytes seen before the header, and those seen out of sync after it
    for (const size_t k : {1, 2, 4}) not_placed += fr[c.held + k].truth.length;
    expect_header_taken_copying(c, not_placed);
}

// A second gap while the engine waits out of sync for the lost header (held+2 overtaken too): its
// bytes were never seen, so when the header regains the framing they are a hole of the PDU, placed
// when they come, not bytes the host copies. Only what came without framing is copied.
TEST(EngineHoles, ASecondGapWhileALostHeaderIsAwaitedIsPlacedWhenItComes) {
    LostHeaderCase c;
    EngineRig& rig = c.rig;
    const auto& fr = rig.frames.frames;
    ASSERT_LT(c.held + 6, fr.size());
    const uint64_t not_placed = fr[c.held + 1].truth.length + fr[c.held + 3].truth.length;
    const uint64_t second_gap = fr[c.held + 2].truth.length;
    arrive_in_order(rig, c.held, {1, 3, 0, 2, 4});
    expect_header_taken_copying(c, not_placed);
    EXPECT_GE(rig.stats().late_placed_bytes, second_gap);
}

// The same second gap, but its frame comes before the lost header: the host has that copy, so the
// bytes count as seen, and a later copy of them is not placed (late placement as without that copy)
// while the host still holds the first out of order (the frame with the header comes in two parts,
// the second after the copy: a hole below it for the host).
TEST(EngineHoles, ASecondGapFilledBeforeTheLostHeaderIsNotPlacedAgain) {
    uint64_t late_placed[2] = {};
    for (const bool copy_after : {false, true}) {
        SCOPED_TRACE(copy_after ? "with a copy after the header" : "no copy after the header");
        LostHeaderCase c(1.0);
        EngineRig& rig = c.rig;
        auto& fr = rig.frames.frames;
        ASSERT_LT(c.held + 6, fr.size());
        const testlib::GeneratedFrame second_gap = fr[c.held + 2];
        const auto held = fr[c.held].truth;
        const auto header = std::find_if(rig.stream.pdus.begin(), rig.stream.pdus.end(), [&](const auto& p) {
            return p.offset > held.stream_offset && p.offset + 124 < held.stream_offset + held.length;
        });
        ASSERT_NE(header, rig.stream.pdus.end());
        const uint64_t cut = header->offset + 124;  // the header and 100 bytes of data in the first part
        const testlib::GeneratedFrame first_part = rig.frame_of(held.stream_offset, static_cast<uint32_t>(cut - held.stream_offset));
        const testlib::GeneratedFrame second_part = rig.frame_of(cut, static_cast<uint32_t>(held.stream_offset + held.length - cut));
        // Arrival: held+1, held+3, held+2, the header's part of held, [a copy of held+2], the rest of held, held+4 ...
        arrive_in_order(rig, c.held, {1, 3, 2, 0, 4});
        fr[c.held + 3] = first_part;
        fr.insert(fr.begin() + static_cast<ptrdiff_t>(c.held + 4), second_part);
        if (copy_after) fr.insert(fr.begin() + static_cast<ptrdiff_t>(c.held + 4), second_gap);
        run_expecting_right_reads(rig);
        EXPECT_EQ(rig.stats().framing_regained, 1u);
        late_placed[copy_after] = rig.stats().late_placed_bytes;
    }
    EXPECT_GT(late_placed[0], 0u);
    EXPECT_EQ(late_placed[1], late_placed[0]);
}

// A retransmission cut differently brings the header's last bytes with the frame after it before
// the header's own first bytes come: the header would be taken from bytes already seen, so the
// engine does not take it (it waits for the host's resync), and every read is right.
TEST(EngineHoles, ALostHeaderPartlySeenBeforeItsFirstBytesIsNotTaken) {
    LostHeaderCase c;
    EngineRig& rig = c.rig;
    auto& fr = rig.frames.frames;
    ASSERT_LT(c.held + 6, fr.size());
    const auto& held = fr[c.held].truth;
    const auto header_in_held = std::find_if(rig.stream.pdus.begin(), rig.stream.pdus.end(), [&](const auto& p) {
        return p.offset > held.stream_offset && p.offset < held.stream_offset + held.length;
    });
    ASSERT_NE(header_in_held, rig.stream.pdus.end());
    const testlib::PduRecord& pdu = *header_in_held;
    ASSERT_GT(pdu.offset + 12, held.stream_offset);
    ASSERT_LT(pdu.offset + 12, held.stream_offset + held.length);
    // Arrival: held+2 (the gap), [header + 12, end of held+1) again, held, held+1, held+3 ...
    const uint64_t from = pdu.offset + 12;
    const auto to = fr[c.held + 1].truth.stream_offset + fr[c.held + 1].truth.length;
    const testlib::GeneratedFrame recut = rig.frame_of(from, static_cast<uint32_t>(to - from));
    arrive_in_order(rig, c.held, {2, 0, 1});
    fr.insert(fr.begin() + static_cast<ptrdiff_t>(c.held + 1), recut);
    run_expecting_right_reads(rig);
    EXPECT_EQ(rig.stats().framing_regained, 0u);
}

// A retransmission that covers the lost header and the gap bytes seen after it (held+1 came first,
// then one frame with held and held+1): the header is taken from it; the bytes already seen are not
// placed from it (a receiver may keep either copy of them), the rest is.
TEST(EngineHoles, ARetransmissionOverTheHeaderAndTheSeenBytesTakesOnlyTheHeader) {
    LostHeaderCase c;
    EngineRig& rig = c.rig;
    auto& fr = rig.frames.frames;
    ASSERT_LT(c.held + 6, fr.size());
    const auto& a = fr[c.held].truth;
    const auto& b = fr[c.held + 1].truth;
    uint64_t not_placed = b.length + fr[c.held + 2].truth.length;  // seen before the header; out of sync after the gap
    const testlib::GeneratedFrame both = rig.frame_of(a.stream_offset, a.length + b.length);
    // Arrival: held+2 (the gap), held+1, then held and held+1 as one frame, held+3 ...
    arrive_in_order(rig, c.held, {2, 1, 0});
    fr[c.held + 2] = both;
    expect_header_taken_copying(c, not_placed);
}

// Small PDUs: the lost frame holds several headers. The engine follows the chain of PDUs through the
// retransmission (each one in the gap placed and verified), and the header the chain leads to
// confirms the resync candidate it had found after the gap.
TEST(EngineHoles, PdusInAGapAreFollowedThroughTheRetransmission) {
    RigOptions o = one_pdu_reads(6, 3000);
    o.stream.max_pdu_data = 300;
    EngineRig rig(o);
    auto& fr = rig.frames.frames;
    size_t held = fr.size();
    for (size_t i = 6; i < fr.size(); ++i) {  // a frame with two headers in it
        const auto& t = fr[i].truth;
        size_t headers = 0;
        for (const auto& p : rig.stream.pdus) headers += p.offset > t.stream_offset && p.offset + 30 < t.stream_offset + t.length;
        if (headers >= 3) {
            held = i;
            break;
        }
    }
    ASSERT_LT(held + 3, fr.size());
    deliver_later(rig, held, 2);
    run_expecting_right_reads(rig);
    const ddp::Stats s = rig.stats();
    EXPECT_EQ(s.framing_regained, 1u);
    EXPECT_GE(s.digest_combined, 2u);  // the PDUs wholly in the gap (and the one it began in)
    EXPECT_EQ(rig.engine()->mode(), pmd::ConnectionEngine::Mode::InSync);
}

// The gap begins inside a header: its common header (and more) came before it, the rest comes with
// the retransmission. (The fuzzer found the engine copying past its buffer when the first 8 bytes
// had been checked before the gap.)
TEST(EngineHoles, ALostHeaderWhoseFirstBytesCameBeforeTheGap) {
    for (const uint32_t before : {3u, 8u, 12u}) {
        SCOPED_TRACE(before);
        RigOptions o = one_pdu_reads(4, 20000);
        EngineRig rig(o);
        const testlib::PduRecord& third = rig.stream.pdus.at(2);
        const uint64_t cut = third.offset + before;
        std::vector<uint64_t> cuts;
        for (uint64_t at = 1448; at < rig.stream.bytes.size(); at += 1448) {
            if (at < cut && cut < at + 1448) {
                cuts.push_back(at);
                cuts.push_back(cut);
                cuts.push_back(cut + 1000);
            } else {
                cuts.push_back(at);
            }
        }
        rig.cut_at(cuts);
        auto& fr = rig.frames.frames;
        size_t held = 0;
        while (fr[held].truth.stream_offset != cut) ++held;
        deliver_later(rig, held, 2);
        run_expecting_right_reads(rig);
        EXPECT_EQ(rig.stats().framing_regained, 1u);
        EXPECT_EQ(rig.host->totals().digests_recomputed, 0u);
    }
}

namespace {

// Frames of 1448 bytes, except that one ends `into` bytes after the start of PDU `pdu` (and begins
// 100 bytes before that): its index in arrival order.
size_t cut_frame_ending_inside(EngineRig& rig, size_t pdu, uint32_t into) {
    const uint64_t cut = rig.stream.pdus.at(pdu).offset + into;
    std::vector<uint64_t> cuts;
    for (uint64_t at = 1448; at < rig.stream.bytes.size(); at += 1448) {
        if (at + 200 < cut || at > cut + 200) cuts.push_back(at);
    }
    cuts.push_back(cut - 100);
    cuts.push_back(cut);
    std::sort(cuts.begin(), cuts.end());
    rig.cut_at(cuts);
    size_t held = 0;
    while (rig.frames.frames[held].truth.stream_offset + rig.frames.frames[held].truth.length != cut) ++held;
    return held;
}

}  // namespace

// The frame that brings a lost header late ends inside it: the header's last bytes came right after
// the gap, with the packet that began it, and are not sent again. The engine kept them then, so the
// retransmission completes the header: in sync again, the rest of the PDU placed, and its digest
// verified (the header's bytes, and padding, taken out of what it digested after the gap).
TEST(EngineHoles, ALostHeaderThatRunsPastTheGapIsCompletedFromTheBytesKeptAfterIt) {
    for (const auto& [into, pda] : {std::pair{1u, 0u}, {8u, 0u}, {14u, 0u}, {23u, 0u}, {14u, 7u}, {20u, 7u}, {23u, 11u}}) {
        SCOPED_TRACE(testing::Message() << into << " bytes into the header, HPDA " << pda);
        RigOptions o = one_pdu_reads(4, 20000);
        o.stream.pda = pda;  // 7, 11: the data starts at 32, 48: padding among the bytes kept
        EngineRig rig(o);
        ASSERT_EQ(rig.stream.pdus.at(2).type, nvmetcp::PduType::C2HData);
        const size_t held = cut_frame_ending_inside(rig, 2, into);
        deliver_later(rig, held, 2);
        run_expecting_right_reads(rig);
        const ddp::Stats s = rig.stats();
        EXPECT_EQ(s.framing_regained, 1u);
        EXPECT_EQ(rig.host->totals().digests_recomputed, 0u);
        // Copied: the PDU's data in the two frames that came before the header.
        const auto& fr = rig.frames.frames;
        EXPECT_LE(rig.host->totals().copied, uint64_t{fr[held].truth.length} + fr[held + 1].truth.length);
    }
}

// The gap ends inside a CapsuleResp; the C2HData after it begins after the gap, where the engine
// finds its header and speculates. The retransmission completes the CapsuleResp (from the bytes kept
// after the gap), whose end is the candidate: confirmed, the engine places the rest of that C2HData
// (its data before the confirmation is the host's to copy, and its digest to check).
TEST(EngineHoles, AConfirmedSpeculationPlacesTheRestOfThePduItIsIn) {
    for (const uint32_t into : {1u, 12u, 23u}) {
        SCOPED_TRACE(into);
        RigOptions o = one_pdu_reads(4, 20000);
        EngineRig rig(o);
        ASSERT_EQ(rig.stream.pdus.at(1).type, nvmetcp::PduType::CapsuleResp);
        const size_t held = cut_frame_ending_inside(rig, 1, into);
        deliver_later(rig, held, 2);
        run_expecting_right_reads(rig);
        const auto& fr = rig.frames.frames;
        EXPECT_LE(rig.host->totals().copied, uint64_t{fr[held].truth.length} + fr[held + 1].truth.length);
        EXPECT_EQ(rig.engine()->mode(), pmd::ConnectionEngine::Mode::InSync);
    }
}
