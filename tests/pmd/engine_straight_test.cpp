// The engine's straight paths (connection_engine_straight.cpp) take the usual packets "exactly as the
// state machine would": the same metadata, counters and state. Checked by running the same frames
// twice: as they come (one-segment payloads, which the straight paths take), and each cut into an
// mbuf chain of two segments at a random point of its payload (which only the state machine takes).
// Every packet's metadata, the connection's statistics and the reads' bytes must be the same, in
// order and under faults (where the straight paths give way to the state machine part of the time).
#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>

#include "ddp/stat_names.hpp"
#include "engine_rig.hpp"

using namespace nvmeddp;
using namespace nvmeddp::pmd_test;

namespace {

std::string describe(const std::optional<::nvmeddp_pkt_meta>& m) {
    if (!m) return "(not followed)";
    std::ostringstream s;
    s << "place_seq " << m->place_seq << " buf_off " << m->place_buf_off << " len " << m->place_len << " cccid " << m->place_cccid
      << " tag " << m->place_tag << " place2_tag " << m->place2_tag << " place2_len " << m->place2_len << " flags 0x" << std::hex
      << static_cast<unsigned>(m->flags) << std::dec << " digest_pdu_seq " << m->digest_pdu_seq << " conn_id " << m->conn_id;
    return s.str();
}

bool same(const std::optional<::nvmeddp_pkt_meta>& a, const std::optional<::nvmeddp_pkt_meta>& b) {
    if (a.has_value() != b.has_value()) return false;
    if (!a) return true;
    return a->conn_id == b->conn_id && a->place_seq == b->place_seq && a->place_buf_off == b->place_buf_off &&
           a->place_len == b->place_len && a->place_cccid == b->place_cccid && a->place_tag == b->place_tag &&
           a->place2_tag == b->place2_tag && a->place2_len == b->place2_len && a->flags == b->flags &&
           a->digest_pdu_seq == b->digest_pdu_seq;
}

struct Seen {
    uint64_t pairs = 0;      // packets claiming two runs (the end of one C2HData and the start of the next)
    uint64_t verdicts = 0;   // packets with a digest verdict
};

// Runs o's frames whole and chained; everything the engine said must match. Returns what the
// whole run's metadata showed, so a caller can check that its workload had the packets it is about.
Seen expect_same_as_state_machine(const RigOptions& o) {
    RigOptions chained = o;
    chained.chain_seed = 0x5eed + o.stream.seed;
    EngineRig whole(o);
    EngineRig machine(chained);
    whole.run();
    machine.run();
    // Each as without the offload (a lying byte in a header fails the host's parse on and off alike).
    for (EngineRig* rig : {&whole, &machine}) {
        const auto& t = rig->host->totals();
        EXPECT_EQ(rig->differential_problem(), "");
        EXPECT_EQ(t.wrong_claims, 0u) << t.first_wrong_claim;
        EXPECT_EQ(t.false_digest_claims, 0u) << t.first_false_digest_claim;
        for (const auto& r : rig->stream.reads) EXPECT_TRUE(rig->host->guards_intact(r.cid));
    }
    EXPECT_EQ(whole.host->totals().parse_failed, machine.host->totals().parse_failed);
    Seen seen;
    EXPECT_EQ(whole.metas.size(), machine.metas.size());
    for (size_t i = 0; i < std::min(whole.metas.size(), machine.metas.size()); ++i) {
        if (!same(whole.metas[i], machine.metas[i])) {
            ADD_FAILURE() << "frame " << i << " (stream offset " << whole.frames.frames[i].truth.stream_offset << ", "
                          << whole.frames.frames[i].truth.length << " bytes):\n  whole:   " << describe(whole.metas[i])
                          << "\n  chained: " << describe(machine.metas[i]);
            break;
        }
        const auto& m = whole.metas[i];
        if (m && m->place2_len > 0) ++seen.pairs;
        if (m && (m->flags & (NVMEDDP_PKT_DIGEST_OK | NVMEDDP_PKT_DIGEST_BAD)) != 0) ++seen.verdicts;
    }
    const ddp::Stats a = whole.stats();
    const ddp::Stats b = machine.stats();
    for (const ddp::StatName& n : ddp::kStatNames) EXPECT_EQ(a.*n.field, b.*n.field) << n.name;
    for (const auto& r : whole.stream.reads) {
        EXPECT_EQ(static_cast<int>(whole.host->status(r.cid)), static_cast<int>(machine.host->status(r.cid))) << "read " << r.cid;
    }
    return seen;
}

RigOptions small_reads(uint32_t mss, bool ddgst, bool hdgst) {
    RigOptions o;
    o.stream.commands = 40;
    o.stream.min_len = 512;
    o.stream.max_len = 12288;
    o.stream.max_pdu_data = 4096;
    o.stream.data_digest = ddgst;
    o.stream.header_digest = hdgst;
    o.stream.seed = 11;
    o.frames.mss = mss;
    return o;
}

}  // namespace

// In order, 4 KiB PDUs and smaller: most packets at MSS 1448 that end one C2HData begin the next.
TEST(EngineStraight, PacketsAcrossPduBoundariesAsTheStateMachineTakesThem) {
    for (uint32_t mss : {1448u, 536u, 8948u}) {
        for (bool ddgst : {false, true}) {
            for (bool hdgst : {false, true}) {
                SCOPED_TRACE(testing::Message() << "mss " << mss << " ddgst " << ddgst << " hdgst " << hdgst);
                const Seen seen = expect_same_as_state_machine(small_reads(mss, ddgst, hdgst));
                EXPECT_GT(seen.pairs, 5u) << "few packets end one C2HData and begin the next: the comparison proves little";
                if (ddgst) {
                    EXPECT_GT(seen.verdicts, 5u);
                }
            }
        }
    }
}

// Completion by SUCCESS, PDUs of other commands between (CapsuleResps, R2Ts), padding (which the
// straight paths leave to the state machine), registrations shorter than the reads.
TEST(EngineStraight, OtherPdusSuccessFlagPaddingAndShortRegistrations) {
    for (int variant = 0; variant < 8; ++variant) {
        SCOPED_TRACE(testing::Message() << "variant " << variant);
        // At MSS 8948 the refused registrations and the other PDUs fall between whole C2HData of a packet.
        RigOptions o = small_reads(variant < 4 ? 1448 : 8948, true, variant % 2 == 0);
        o.stream.success_flag = variant % 4 == 1;
        o.stream.other_pdu_rate = variant % 4 == 2 ? 0.4 : 0.0;
        o.stream.pda = variant % 4 == 3 ? 3 : 0;
        o.short_registrations = {{3, 1000}, {7, 100}};
        o.unregistered = {5};
        expect_same_as_state_machine(o);
    }
}

// Loss, reordering, duplicates, corruption on the wire and past the checksum (a digest that fails),
// a resegmenting middlebox, segments of random sizes, the sequence number wrapping, a read torn down
// while its data arrives: the straight paths are taken between the state machine's turns, and must
// leave it the same state.
TEST(EngineStraight, UnderFaultsTheSameAsTheStateMachine) {
    for (uint64_t seed = 1; seed <= 40; ++seed) {
        SCOPED_TRACE(testing::Message() << "seed " << seed);
        RigOptions o = small_reads(seed % 3 == 0 ? 8948 : 1448, seed % 2 == 0, seed % 4 == 1);
        o.stream.seed = seed;
        o.faults.seed = seed;
        o.faults.reorder = 0.05;
        o.faults.loss = 0.03;
        o.faults.duplicate = 0.05;
        o.faults.resegment = seed % 5 == 0 ? 0.2 : 0.0;
        o.faults.wire_corrupt = 0.02;
        o.faults.lying = seed % 4 == 2 ? 0.02 : 0.0;
        o.frames.random_segment_sizes = seed % 3 == 1;
        o.frames.segment_seed = seed;
        if (seed % 4 == 3) o.frames.first_seq = testlib::first_seq_wrapping_at(static_cast<uint64_t>(seed) * 1000);
        if (seed % 5 == 1) o.abort_after = std::pair<uint16_t, size_t>(static_cast<uint16_t>(seed % 6), 20 + seed * 7);
        o.frames_per_burst = 1 + seed % 16;
        expect_same_as_state_machine(o);
    }
}
