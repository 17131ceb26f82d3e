// Faults around a connection's life, each ending with correct data or a clear error on the affected
// I/O and no leaked registration (the statistics prove it): the target disconnecting mid-PDU, a
// reset during a read, the host removing a connection whose I/Os are registered while data still
// arrives.
#include <gtest/gtest.h>

#include "engine_rig.hpp"

using namespace nvmeddp;
using namespace nvmeddp::pmd_test;

namespace {

RigOptions reads(uint32_t commands, uint32_t len) {
    RigOptions o;
    o.stream.commands = commands;
    o.stream.min_len = o.stream.max_len = len;
    o.stream.data_digest = true;
    o.stream.seed = 3;
    return o;
}

// Index of the first frame carrying stream bytes at or after `offset`.
size_t frame_at(const EngineRig& rig, uint64_t offset) {
    size_t i = 0;
    while (i < rig.frames.frames.size() && rig.frames.frames[i].truth.stream_offset + rig.frames.frames[i].truth.length <= offset) ++i;
    return i;
}

// Removes the connection as a host does when the transport fails, and checks that every
// registration was accounted for: set up = torn down by the host + torn down by the removal.
void remove_and_check_no_leak(EngineRig& rig, uint32_t expected_forced) {
    ddp::Stats before{};
    ASSERT_EQ(rig.device->connection_stats(rig.handle, before), ddp::Status::Ok);
    uint32_t forced = 0;
    const ddp::Status s = rig.device->remove_connection(rig.handle, nullptr, nullptr, &forced);
    ASSERT_TRUE(s == ddp::Status::Ok || s == ddp::Status::InProgress);
    for (int i = 0; i < 10 && rig.device->connection_count() != 0; ++i) {
        rig.queue().poll_idle();
        rig.device->poll(rig.handle);
    }
    ASSERT_EQ(rig.device->connection_count(), 0u);
    EXPECT_EQ(forced, expected_forced);
    const ddp::Stats after = rig.device->stats();
    EXPECT_EQ(after.setup, after.teardown + after.forced_teardowns) << "a registration leaked";
    EXPECT_EQ(after.sk_del, 1u);
    rig.handle = 0;  // the rig's destructor has nothing left to remove
}

}  // namespace

TEST(EngineFaults, TargetDisconnectsMidPdu) {
    EngineRig rig(reads(4, 20000));
    const testlib::PduRecord& p = rig.stream.pdus[4];  // the third read's C2HData
    ASSERT_EQ(p.type, nvmetcp::PduType::C2HData);
    const size_t cut = frame_at(rig, p.offset + p.plen / 2);
    rig.run_frames(0, cut);  // and then nothing more: the connection died
    const auto& t = rig.host->totals();
    EXPECT_EQ(t.wrong_claims, 0u);
    // The first two reads completed and are right; the third and fourth never will.
    for (size_t i = 0; i < 2; ++i) EXPECT_EQ(rig.host->contents(rig.stream.reads[i].cid), rig.stream.reads[i].data);
    EXPECT_FALSE(rig.host->read(rig.stream.reads[2].cid).completed);
    const auto snapshot = rig.host->read(rig.stream.reads[2].cid).storage;
    remove_and_check_no_leak(rig, 2);
    EXPECT_EQ(rig.host->read(rig.stream.reads[2].cid).storage, snapshot);
    for (const auto& r : rig.stream.reads) EXPECT_TRUE(rig.host->guards_intact(r.cid));
}

TEST(EngineFaults, ResetDuringAReadChangesNothingAndRemovalReleasesEverything) {
    EngineRig rig(reads(3, 30000));
    const testlib::PduRecord& p = rig.stream.pdus[2];
    const size_t middle = frame_at(rig, p.offset + p.plen / 2);
    rig.run_frames(0, middle);
    // A RST from the target: no payload, the engine has nothing to do with it.
    testlib::TcpFields rst;
    rst.seq = rig.frames.frames[middle].truth.seq;
    rst.flags = 0x04;  // RST
    const auto frame = testlib::build_frame(rig.options_.frames.flow, rst, {}).bytes;
    ::nvmeddp_pkt_meta meta{};
    rig.queue().begin_burst();
    EXPECT_TRUE(rig.queue().process(frame, frame.size(), {}, nullptr, pmd::L4Checksum::Unknown, meta));
    rig.queue().end_burst();
    EXPECT_EQ(meta.flags, 0u);
    EXPECT_EQ(rig.engine()->mode(), pmd::ConnectionEngine::Mode::InSync);
    // The host's transport reports the reset: it removes the connection with read 2 and 3 registered.
    remove_and_check_no_leak(rig, 2);
    EXPECT_EQ(rig.host->contents(rig.stream.reads[0].cid), rig.stream.reads[0].data);
    EXPECT_EQ(rig.host->totals().wrong_claims, 0u);
}

TEST(EngineFaults, RemovalWhileDataStillArrivesStopsAllWritesOnceComplete) {
    EngineRig rig(reads(3, 60000));
    const testlib::PduRecord& p = rig.stream.pdus[2];
    const size_t middle = frame_at(rig, p.offset + p.plen / 3);
    rig.run_frames(0, middle);
    // Removal begins while the engine is between bursts; the queue applies it at its next burst.
    uint32_t forced = 0;
    EXPECT_EQ(rig.device->remove_connection(rig.handle, nullptr, nullptr, &forced), ddp::Status::InProgress);
    EXPECT_EQ(forced, 2u);
    std::vector<std::vector<std::vector<uint8_t>>> snapshots;
    for (const auto& r : rig.stream.reads) snapshots.push_back(rig.host->read(r.cid).storage);
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
    EXPECT_EQ(s.setup, s.teardown + s.forced_teardowns);
    rig.handle = 0;
}
