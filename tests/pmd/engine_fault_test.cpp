// Faults around a connection's life, each ending with correct data or a clear error on the affected
// I/O and no leaked registration (the statistics prove it): the target disconnecting mid-PDU, a
// reset during a read, the host removing a connection whose I/Os are registered while data still
// arrives. Each test feeds frames through the engine after the point it claims something about, so
// that "nothing was written" is something the engine did, not something that holds by construction.
#include <gtest/gtest.h>

#include <cstring>

#include "engine_rig.hpp"

using namespace nvmeddp;
using namespace nvmeddp::pmd_test;

namespace {


// Index of the first frame carrying stream bytes at or after `offset`.
size_t frame_at(const EngineRig& rig, uint64_t offset) {
    size_t i = 0;
    while (i < rig.frames.frames.size() && rig.frames.frames[i].truth.stream_offset + rig.frames.frames[i].truth.length <= offset) ++i;
    return i;
}

// Every read's buffer (guards included), to compare with later.
std::vector<std::vector<std::vector<uint8_t>>> buffers(const EngineRig& rig) {
    std::vector<std::vector<std::vector<uint8_t>>> out;
    for (const auto& r : rig.stream.reads) out.push_back(rig.host->read(r.cid).storage);
    return out;
}

// One frame through the queue's engine in a burst already begun, not given to the host (whose
// transport no longer takes the connection's segments). Returns whether it went to an engine.
bool feed(EngineRig& rig, const std::vector<uint8_t>& frame, ::nvmeddp_pkt_meta& meta) {
    meta = ::nvmeddp_pkt_meta{};
    return rig.queue().process(frame, frame.size(), {}, nullptr, pmd::L4Checksum::Unknown, meta);
}

// Frames [from, to) in bursts of the rig's size, after the connection is gone: returns how many of
// them went to an engine (none should).
size_t feed_after_removal(EngineRig& rig, size_t from, size_t to) {
    size_t offloaded = 0;
    for (size_t i = from; i < to;) {
        rig.queue().begin_burst();
        for (const size_t end = std::min(to, i + rig.options_.frames_per_burst); i < end; ++i) {
            ::nvmeddp_pkt_meta meta{};
            offloaded += feed(rig, rig.frames.frames[i].bytes, meta) ? 1 : 0;
        }
        rig.queue().end_burst();
    }
    return offloaded;
}

// Polls as a host does until the device has let go of the connection (its removal began).
void finish_removal(EngineRig& rig) {
    for (int i = 0; i < 10 && rig.device->connection_count() != 0; ++i) {
        rig.queue().poll_idle();
        rig.device->poll(rig.handle);
    }
    ASSERT_EQ(rig.device->connection_count(), 0u);
    rig.handle = 0;  // the rig's destructor has nothing left to remove
}

// Every registration accounted for: set up = torn down by the host + torn down by the removal.
void expect_no_leak(const EngineRig& rig, uint32_t forced) {
    const ddp::Stats s = rig.device->stats();
    EXPECT_EQ(s.forced_teardowns, forced);
    EXPECT_EQ(s.setup, s.teardown + s.forced_teardowns) << "a registration leaked";
    EXPECT_EQ(s.sk_del, 1u);
}

// Once the removal is complete, the rest of the stream (from frame `from`) reaches no engine, and no
// buffer changes from `snapshot` or loses a guard byte.
void expect_nothing_written_after_removal(EngineRig& rig, size_t from, const std::vector<std::vector<std::vector<uint8_t>>>& snapshot) {
    finish_removal(rig);
    EXPECT_EQ(feed_after_removal(rig, from, rig.frames.frames.size()), 0u);
    const auto after = buffers(rig);
    for (size_t i = 0; i < rig.stream.reads.size(); ++i) {
        EXPECT_EQ(after[i], snapshot[i]) << "read " << i << " written after the host removed the connection";
        EXPECT_TRUE(rig.host->guards_intact(rig.stream.reads[i].cid));
    }
}

}  // namespace

// The target's connection fails in the middle of the third read's data. The host removes the
// connection (with the third and fourth read registered) while the engine is inside a burst whose
// frames still hold the rest of that PDU: the registrations are retired at once, so the engine,
// which still has the connection until its next burst, must write none of those bytes (the per-
// packet still_valid check). Everything the target had sent after that arrives once the removal took
// effect and goes to no engine.
TEST(EngineFaults, TargetDisconnectsMidPdu) {
    EngineRig rig(pmd_test::equal_reads(4, 20000));
    const testlib::PduRecord& p = rig.stream.pdus[4];  // the third read's C2HData
    ASSERT_EQ(p.type, nvmetcp::PduType::C2HData);
    ASSERT_EQ(p.cid, rig.stream.reads[2].cid);
    const size_t cut = frame_at(rig, p.offset + p.plen / 2);
    const size_t pdu_last = frame_at(rig, p.offset + p.plen - 1);  // the frame with its digest's last byte
    ASSERT_LT(cut, pdu_last);
    rig.run_frames(0, cut);
    const auto& t = rig.host->totals();
    EXPECT_EQ(t.wrong_claims, 0u);
    // The first two reads completed and are right; the third and fourth never will.
    for (size_t i = 0; i < 2; ++i) EXPECT_EQ(rig.host->contents(rig.stream.reads[i].cid), rig.stream.reads[i].data);
    EXPECT_FALSE(rig.host->read(rig.stream.reads[2].cid).completed);
    const ddp::Stats before = rig.stats();
    ASSERT_GT(before.placed_bytes, 0u);
    const auto snapshot = buffers(rig);

    // The engine's next burst has begun when the host, on its own lcore, removes the connection.
    rig.queue().begin_burst();
    uint32_t forced = 0;
    EXPECT_EQ(rig.device->remove_connection(rig.handle, nullptr, nullptr, &forced), ddp::Status::InProgress)
        << "the engine is inside a burst: the device cannot have let go yet";
    EXPECT_EQ(forced, 2u);
    size_t offloaded = 0;
    for (size_t i = cut; i <= pdu_last; ++i) {
        ::nvmeddp_pkt_meta meta{};
        const bool on = feed(rig, rig.frames.frames[i].bytes, meta);
        offloaded += on ? 1 : 0;
        EXPECT_EQ(meta.flags & NVMEDDP_PKT_PLACED, 0) << "frame " << i << " claims placement after the teardown";
        EXPECT_EQ(meta.place_len, 0u) << "frame " << i;
    }
    // The queue applies the removal only at its next burst: these frames did reach the engine.
    EXPECT_EQ(offloaded, pdu_last + 1 - cut);
    const ddp::Stats during = rig.stats();
    EXPECT_EQ(during.placed_bytes, before.placed_bytes) << "placed into a torn-down registration";
    EXPECT_EQ(during.place_torn_down, before.place_torn_down + 1);
    rig.queue().end_burst();

    expect_nothing_written_after_removal(rig, pdu_last + 1, snapshot);
    EXPECT_EQ(rig.device->stats().placed_bytes, before.placed_bytes);
    expect_no_leak(rig, 2);
}

// A RST from the target in the middle of the second read's data, in sequence (at the byte the engine
// expects next) and with a good checksum. It carries no stream bytes, and the engine does not look at
// TCP flags: acting on a reset is the host's business (its TCP resets the socket, its NVMe/TCP layer
// removes the connection). So the RST must change nothing the engine does: the frames behind it in
// the same burst are followed, placed and verified exactly as they are by a twin rig that never saw
// the RST. Once the host removed the connection (second and third read still registered), nothing
// more is written and every registration is accounted for.
TEST(EngineFaults, ResetDuringAReadChangesNothingAndRemovalReleasesEverything) {
    const RigOptions o = pmd_test::equal_reads(3, 30000);
    EngineRig rig(o);
    EngineRig twin(o);  // the same connection and frames, no RST
    const testlib::PduRecord& p = rig.stream.pdus[2];  // the second read's C2HData
    ASSERT_EQ(p.type, nvmetcp::PduType::C2HData);
    ASSERT_EQ(p.cid, rig.stream.reads[1].cid);
    const size_t middle = frame_at(rig, p.offset + p.plen / 2);
    const size_t pdu_last = frame_at(rig, p.offset + p.plen - 1);  // the frame with its digest's last byte
    ASSERT_LT(middle, pdu_last);
    rig.run_frames(0, middle);
    twin.run_frames(0, middle);

    // The RST: at the engine's next expected byte, a pure RST (flags 0x04), checksums valid.
    const uint32_t next = rig.engine()->rcv_nxt().raw();
    ASSERT_EQ(next, rig.frames.frames[middle].truth.seq) << "the RST must be in sequence";
    ASSERT_EQ(rig.engine()->mode(), pmd::ConnectionEngine::Mode::InSync);
    testlib::TcpFields rst;
    rst.seq = next;
    rst.ack = o.frames.ack;
    rst.flags = 0x04;
    const testlib::BuiltFrame frame = testlib::build_frame(o.frames.flow, rst, {});
    ASSERT_TRUE(testlib::checksums_ok(frame.bytes, frame.layout, o.frames.flow.ipv6));
    ASSERT_EQ(frame.layout.payload_len, 0u);
    ASSERT_EQ(frame.bytes[frame.layout.l4_offset + 13], 0x04) << "the TCP flags byte";

    const ddp::Stats before = rig.stats();
    const uint64_t verified_before = rig.queue().counters().checksum_verified.get();
    const uint64_t bad_before = rig.queue().counters().bad_checksum.get();
    const uint64_t no_payload_before = rig.queue().counters().no_payload.get();

    rig.queue().begin_burst();
    twin.queue().begin_burst();
    // A segment without payload gives the engine nothing to take: it is passed on without a lookup,
    // without metadata, and its checksum is not summed.
    ::nvmeddp_pkt_meta meta{};
    EXPECT_FALSE(feed(rig, frame.bytes, meta)) << "a payload-less RST gets no metadata";
    EXPECT_EQ(rig.queue().counters().no_payload.get(), no_payload_before + 1);
    EXPECT_EQ(rig.queue().counters().checksum_verified.get(), verified_before);
    EXPECT_EQ(rig.queue().counters().bad_checksum.get(), bad_before);
    EXPECT_EQ(rig.engine()->mode(), pmd::ConnectionEngine::Mode::InSync);
    EXPECT_EQ(rig.engine()->rcv_nxt().raw(), next);

    // The rest of the PDU, already in the rx ring behind the RST (the host's TCP drops it: it is not
    // given to the host). Frame by frame the engine must do what it does without the RST.
    for (size_t i = middle; i <= pdu_last; ++i) {
        ::nvmeddp_pkt_meta m{};
        ::nvmeddp_pkt_meta tm{};
        ASSERT_TRUE(feed(rig, rig.frames.frames[i].bytes, m));
        ASSERT_TRUE(feed(twin, twin.frames.frames[i].bytes, tm));
        EXPECT_EQ(std::memcmp(&m, &tm, sizeof m), 0) << "frame " << i << ": flags " << int{m.flags} << " vs "
                                                      << int{tm.flags} << ", placed " << m.place_len << " vs " << tm.place_len;
    }
    rig.queue().end_burst();
    twin.queue().end_burst();
    const ddp::Stats after_rst = rig.stats();
    const ddp::Stats twin_stats = twin.stats();
    EXPECT_EQ(after_rst.packets, twin_stats.packets);  // the RST was not looked up
    EXPECT_EQ(after_rst.bytes, twin_stats.bytes);
    EXPECT_EQ(after_rst.drop, twin_stats.drop);
    EXPECT_EQ(after_rst.placed_bytes, twin_stats.placed_bytes);
    EXPECT_GT(after_rst.placed_bytes, before.placed_bytes) << "the rest of the read's data was placed";
    EXPECT_EQ(after_rst.digest_offloaded, twin_stats.digest_offloaded);
    EXPECT_EQ(after_rst.digest_offloaded, before.digest_offloaded + 1) << "the read's digest verified across the RST";
    EXPECT_EQ(after_rst.digest_failed, 0u);
    EXPECT_EQ(after_rst.resync_requests, 0u);
    EXPECT_EQ(rig.engine()->mode(), twin.engine()->mode());
    EXPECT_EQ(rig.engine()->rcv_nxt(), twin.engine()->rcv_nxt());
    for (const auto& r : rig.stream.reads) {
        EXPECT_EQ(rig.host->read(r.cid).storage, twin.host->read(r.cid).storage) << "cid " << r.cid;
    }

    // The host's transport reports the reset: it removes the connection with the second and third
    // read registered. What the target had sent after that goes to no engine and writes nothing.
    const auto snapshot = buffers(rig);
    uint32_t forced = 0;
    const ddp::Status s = rig.device->remove_connection(rig.handle, nullptr, nullptr, &forced);
    EXPECT_TRUE(s == ddp::Status::Ok || s == ddp::Status::InProgress);
    EXPECT_EQ(forced, 2u);
    expect_nothing_written_after_removal(rig, pdu_last + 1, snapshot);
    EXPECT_EQ(rig.device->stats().placed_bytes, after_rst.placed_bytes);
    expect_no_leak(rig, 2);
    EXPECT_EQ(rig.host->contents(rig.stream.reads[0].cid), rig.stream.reads[0].data);
    EXPECT_FALSE(rig.host->read(rig.stream.reads[1].cid).completed);
    EXPECT_EQ(rig.host->totals().wrong_claims, 0u);
}

TEST(EngineFaults, RemovalWhileDataStillArrivesStopsAllWritesOnceComplete) {
    EngineRig rig(pmd_test::equal_reads(3, 60000));
    const testlib::PduRecord& p = rig.stream.pdus[2];
    const size_t middle = frame_at(rig, p.offset + p.plen / 3);
    rig.run_frames(0, middle);
    const uint64_t placed_before = rig.stats().placed_bytes;
    // Removal begins while the engine is between bursts; the queue applies it at its next burst.
    uint32_t forced = 0;
    EXPECT_EQ(rig.device->remove_connection(rig.handle, nullptr, nullptr, &forced), ddp::Status::InProgress);
    EXPECT_EQ(forced, 2u);
    const auto snapshots = buffers(rig);
    // The rest of the traffic keeps coming: from now on the frames belong to no offloaded connection.
    size_t offloaded_after = 0;
    for (size_t i = middle; i < rig.frames.frames.size(); ++i) {
        const auto& f = rig.frames.frames[i];
        ::nvmeddp_pkt_meta meta{};
        rig.queue().begin_burst();
        offloaded_after += rig.queue().process(f.bytes, f.bytes.size(), {}, nullptr, pmd::L4Checksum::Unknown, meta) ? 1 : 0;
        rig.queue().end_burst();
        rig.device->poll(rig.handle);
    }
    EXPECT_EQ(offloaded_after, 0u);
    EXPECT_EQ(rig.device->connection_count(), 0u);
    for (size_t i = 0; i < rig.stream.reads.size(); ++i) {
        EXPECT_EQ(rig.host->read(rig.stream.reads[i].cid).storage, snapshots[i]) << "written after removal";
    }
    const ddp::Stats s = rig.device->stats();
    EXPECT_EQ(s.placed_bytes, placed_before);
    EXPECT_EQ(s.setup, s.teardown + s.forced_teardowns);
    rig.handle = 0;
}
