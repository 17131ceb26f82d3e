// Our NVMe/TCP host against our built-in target, in one process over kernel sockets on 127.0.0.1:
// every byte read is checked against the namespace pattern, every write read back and found in the
// target's namespace once it stopped; transfer sizes, digests, PDU splitting on both sides, PDU data
// alignment, SQ flow control and SUCCESS, many deep queues, the target's injected faults, discovery,
// keep alive, shutdown and a refused Connect.
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "host_target_harness.hpp"
#include "nvmetcp/host/discovery.hpp"
#include "nvmetcp/nvme_data.hpp"

namespace nvmeddp::nvmetcp::host::itest {
namespace {

using target::TargetConfig;

// What the host writes: a pattern of its own at the same byte addresses, so that a write landing
// anywhere but where it was aimed shows, and so does a write that did not happen.
constexpr uint32_t kWritePattern = 0x57;
constexpr uint32_t kGuardBytes = 4096;  // around a write: must still hold the namespace pattern

// A target and a controller connected to it.
struct Rig {
    TargetThread target;
    HostSession host;

    explicit Rig(const TargetConfig& target_config, const ControllerConfig* controller_config = nullptr)
        : target(target_config), host(controller_config ? *controller_config : host_config(target_config), target.port()) {}

    Controller& ctrl() { return host.controller(); }
};

// The write of `length` bytes at `address`: the write pattern, written, read back and checked.
void write_and_read_back(Rig& rig, uint16_t queue, uint64_t address, uint32_t length) {
    IoRecord write(address, length);
    fill_pattern(kWritePattern, address, write.buffer);
    ASSERT_TRUE(write_and_wait(rig.host, queue, write));
    ASSERT_EQ(write.completions, 1);
    ASSERT_TRUE(write.completion.status.ok()) << status_text(write.completion.status) << " " << write.reason;

    IoRecord back(address, length);
    ASSERT_TRUE(read_and_wait(rig.host, queue, back));
    ASSERT_TRUE(back.completion.status.ok()) << status_text(back.completion.status) << " " << back.reason;
    EXPECT_EQ(pattern_mismatch(kWritePattern, address, back.buffer), "") << "reading back a write";
}

void read_and_check(Rig& rig, uint16_t queue, uint64_t address, uint32_t length) {
    IoRecord read(address, length);
    ASSERT_TRUE(read_and_wait(rig.host, queue, read));
    ASSERT_EQ(read.completions, 1);
    ASSERT_TRUE(read.completion.status.ok()) << status_text(read.completion.status) << " " << read.reason;
    EXPECT_EQ(read.completion.bytes, length);
    EXPECT_EQ(pattern_mismatch(kNamespacePattern, address, read.buffer), "");
}

// After the target stopped: the write pattern exactly over [address, address + length), the namespace
// pattern in the guard bytes on either side.
void expect_written(const TargetThread& target, uint64_t address, uint32_t length) {
    const auto ns = target.namespace_bytes();
    ASSERT_GE(ns.size(), address + length + kGuardBytes);
    ASSERT_GE(address, kGuardBytes);
    EXPECT_EQ(pattern_mismatch(kWritePattern, address, ns.subspan(address, length)), "") << "the written range";
    EXPECT_EQ(pattern_mismatch(kNamespacePattern, address - kGuardBytes, ns.subspan(address - kGuardBytes, kGuardBytes)), "")
        << "before the written range";
    EXPECT_EQ(pattern_mismatch(kNamespacePattern, address + length, ns.subspan(address + length, kGuardBytes)), "")
        << "after the written range";
}

// --- sizes x digests ------------------------------------------------------------------------------

enum Digests { kNoDigests, kHeaderDigest, kDataDigest, kBothDigests };
const char* digests_name(int d) {
    static const char* const names[] = {"NoDigest", "HeaderDigest", "DataDigest", "BothDigests"};
    return names[d];
}

class HostTargetSizes : public ::testing::TestWithParam<std::tuple<uint32_t, int>> {};

TEST_P(HostTargetSizes, ReadsAndWritesEveryByte) {
    const auto [size, digests] = GetParam();
    const bool header_digest = digests == kHeaderDigest || digests == kBothDigests;
    const bool data_digest = digests == kDataDigest || digests == kBothDigests;
    TargetConfig tc = small_target_config();
    ControllerConfig cc = host_config(tc);
    cc.header_digest = header_digest;
    cc.data_digest = data_digest;
    Rig rig(tc, &cc);
    ASSERT_TRUE(rig.host.bring_up()) << rig.ctrl().failure();
    EXPECT_EQ(rig.ctrl().block_size(), tc.block_size);
    EXPECT_EQ(rig.ctrl().namespace_blocks(), tc.namespace_bytes / tc.block_size);
    Queue& q = rig.ctrl().io_queue(0);
    EXPECT_EQ(q.send_params().header_digest, header_digest);
    EXPECT_EQ(q.send_params().data_digest, data_digest);
    EXPECT_GE(q.config().max_data_len, 4u << 20);

    const uint64_t read_at = (3ull << 20) + 5 * 512;   // not aligned to anything larger than a block
    const uint64_t write_at = (20ull << 20) + 3 * 512;
    read_and_check(rig, 0, read_at, size);
    write_and_read_back(rig, 0, write_at, size);

    const QueueStats& s = q.stats();
    EXPECT_EQ(s.digest_errors, 0u);
    if (data_digest) {
        EXPECT_EQ(s.digests_computed, s.c2h_pdus) << "every C2HData's digest checked";
    } else {
        EXPECT_EQ(s.digests_computed, 0u);
    }
    EXPECT_EQ(rig.target.stats().digest_errors, 0u);
    EXPECT_EQ(rig.target.stats().errors_sent, 0u);
    EXPECT_EQ(rig.target.stats().errors_received, 0u);

    rig.target.stop();
    expect_written(rig.target, write_at, size);
    EXPECT_EQ(pattern_mismatch(kNamespacePattern, read_at, rig.target.namespace_bytes().subspan(read_at, size)), "")
        << "a read changed the namespace";
}

INSTANTIATE_TEST_SUITE_P(SizesDigests, HostTargetSizes,
                         ::testing::Combine(::testing::Values(512u, 4096u, 64u << 10, 1u << 20, 4u << 20),
                                            ::testing::Values(kNoDigests, kHeaderDigest, kDataDigest, kBothDigests)),
                         [](const auto& param_info) {
                             return std::to_string(std::get<0>(param_info.param)) + "B_" + digests_name(std::get<1>(param_info.param));
                         });

// --- how the transfers are cut into PDUs, and aligned ---------------------------------------------

struct Shape {
    const char* name;
    uint32_t c2h_split = 0, r2t_split = 0, maxh2cdata = 128u << 10, block_size = 512;
    uint8_t cpda = 0, hpda = 0;
    bool digests = false;
    uint32_t read_size = 256u << 10, write_size = 64u << 10;
};

void PrintTo(const Shape& shape, std::ostream* out) { *out << shape.name; }

uint64_t pieces(uint64_t total, uint64_t piece) { return piece == 0 ? 1 : (total + piece - 1) / piece; }

class HostTargetShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(HostTargetShapes, SplitsAndAlignsAsConfigured) {
    const Shape& shape = GetParam();
    TargetConfig tc = small_target_config();
    tc.c2h_split = shape.c2h_split;
    tc.r2t_split = shape.r2t_split;
    tc.maxh2cdata = shape.maxh2cdata;
    tc.cpda = shape.cpda;
    tc.block_size = shape.block_size;
    ControllerConfig cc = host_config(tc);
    cc.hpda = shape.hpda;
    cc.header_digest = cc.data_digest = shape.digests;
    Rig rig(tc, &cc);
    ASSERT_TRUE(rig.host.bring_up()) << rig.ctrl().failure();
    Queue& q = rig.ctrl().io_queue(0);
    EXPECT_EQ(q.send_params().pda, shape.cpda) << "the host pads its data PDUs as the target asked";
    EXPECT_EQ(q.receive_params().pda, shape.hpda);
    EXPECT_EQ(q.maxh2cdata(), shape.maxh2cdata);
    EXPECT_EQ(q.config().in_capsule_data, tc.in_capsule_data);

    // A read, cut into C2HData PDUs of c2h_split bytes.
    const uint64_t read_at = 1ull << 20;
    QueueStats before = q.stats();
    read_and_check(rig, 0, read_at, shape.read_size);
    EXPECT_EQ(q.stats().c2h_pdus - before.c2h_pdus, pieces(shape.read_size, shape.c2h_split));
    EXPECT_EQ(q.stats().c2h_bytes - before.c2h_bytes, shape.read_size);

    // A write in capsule (no R2T, no H2CData), at in_capsule_data exactly.
    const uint64_t capsule_at = 8ull << 20;
    before = q.stats();
    {
        IoRecord write(capsule_at, tc.in_capsule_data);
        fill_pattern(kWritePattern, capsule_at, write.buffer);
        ASSERT_TRUE(write_and_wait(rig.host, 0, write));
        EXPECT_TRUE(write.completion.status.ok()) << status_text(write.completion.status) << " " << write.reason;
    }
    EXPECT_EQ(q.stats().r2ts - before.r2ts, 0u);
    EXPECT_EQ(q.stats().h2c_pdus - before.h2c_pdus, 0u);

    // One block more than fits in capsule: R2T and H2CData.
    const uint64_t above_at = 10ull << 20;
    const uint32_t above = tc.in_capsule_data + shape.block_size;
    before = q.stats();
    write_and_read_back(rig, 0, above_at, above);
    EXPECT_EQ(q.stats().r2ts - before.r2ts, pieces(above, shape.r2t_split));
    EXPECT_GE(q.stats().h2c_pdus - before.h2c_pdus, 1u);

    // A larger write: R2Ts of r2t_split bytes, each answered by H2CData of at most MAXH2CDATA bytes.
    const uint64_t write_at = 12ull << 20;
    before = q.stats();
    write_and_read_back(rig, 0, write_at, shape.write_size);
    const uint64_t per_r2t = shape.r2t_split != 0 ? shape.r2t_split : shape.write_size;
    uint64_t h2c_pdus = 0;
    for (uint64_t at = 0; at < shape.write_size; at += per_r2t) {
        h2c_pdus += pieces(std::min<uint64_t>(per_r2t, shape.write_size - at), shape.maxh2cdata);
    }
    EXPECT_EQ(q.stats().r2ts - before.r2ts, pieces(shape.write_size, shape.r2t_split));
    EXPECT_EQ(q.stats().h2c_pdus - before.h2c_pdus, h2c_pdus);
    EXPECT_EQ(q.stats().h2c_bytes - before.h2c_bytes, shape.write_size);

    EXPECT_EQ(q.stats().digest_errors, 0u);
    EXPECT_EQ(q.stats().term_reqs_received, 0u);
    EXPECT_EQ(q.stats().term_reqs_sent, 0u);
    EXPECT_EQ(rig.target.stats().h2c_pdus, q.stats().h2c_pdus);
    EXPECT_EQ(rig.target.stats().r2ts, q.stats().r2ts);
    EXPECT_EQ(rig.target.stats().errors_sent, 0u);
    EXPECT_EQ(rig.target.stats().errors_received, 0u);
    rig.target.stop();
    expect_written(rig.target, capsule_at, tc.in_capsule_data);
    expect_written(rig.target, above_at, above);
    expect_written(rig.target, write_at, shape.write_size);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, HostTargetShapes,
    ::testing::Values(Shape{.name = "Unsplit"},
                      Shape{.name = "C2HSplit4096", .c2h_split = 4096},
                      Shape{.name = "C2HSplit8192WithDigests", .c2h_split = 8192, .digests = true},
                      Shape{.name = "C2HSplitOddSize", .c2h_split = 4096 + 512, .read_size = (256u << 10) + 512},
                      Shape{.name = "R2TSplit8192", .r2t_split = 8192},
                      Shape{.name = "MaxH2CData8192", .maxh2cdata = 8192},
                      Shape{.name = "R2TSplit16384MaxH2CData8192", .r2t_split = 16384, .maxh2cdata = 8192, .digests = true},
                      Shape{.name = "Cpda3", .maxh2cdata = 8192, .cpda = 3},
                      Shape{.name = "Hpda2", .c2h_split = 4096, .hpda = 2},
                      Shape{.name = "CpdaHpdaDigests", .c2h_split = 8192, .r2t_split = 16384, .maxh2cdata = 8192,
                            .cpda = 7, .hpda = 31, .digests = true},
                      Shape{.name = "OddSplitsPaddedWithDigests", .c2h_split = 1001, .r2t_split = 5000, .maxh2cdata = 4100,
                            .cpda = 2, .hpda = 1, .digests = true},
                      Shape{.name = "Block4096", .c2h_split = 8192, .r2t_split = 32768, .block_size = 4096,
                            .digests = true, .write_size = 1u << 20}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

// --- SQ flow control and the SUCCESS flag -----------------------------------------------------------

struct FlowControl {
    const char* name;
    bool disable_sq_flow_control;
    bool target_sends_success;
    bool success_expected;
};

void PrintTo(const FlowControl& p, std::ostream* out) { *out << p.name; }

class HostTargetFlowControl : public ::testing::TestWithParam<FlowControl> {};

TEST_P(HostTargetFlowControl, ReadsCompleteBySuccessFlagOnlyWhenBothSidesAgree) {
    const FlowControl& p = GetParam();
    TargetConfig tc = small_target_config();
    tc.send_success = p.target_sends_success;
    tc.c2h_split = 8192;  // SUCCESS rides on the last of several C2HData PDUs
    ControllerConfig cc = host_config(tc);
    cc.disable_sq_flow_control = p.disable_sq_flow_control;
    cc.data_digest = true;
    Rig rig(tc, &cc);
    ASSERT_TRUE(rig.host.bring_up()) << rig.ctrl().failure();
    Queue& q = rig.ctrl().io_queue(0);
    const QueueStats before = q.stats();

    constexpr int kReads = 8;
    constexpr uint32_t kLength = 20 * 1024;
    IoRecords reads;
    for (int i = 0; i < kReads; ++i) {
        reads.push_back(std::make_unique<IoRecord>((2ull << 20) + uint64_t(i) * 3 * kLength, kLength));
        ASSERT_EQ(rig.ctrl().read(0, reads.back()->byte_address / 512, kLength / 512, reads.back()->data(),
                                  &IoRecord::done, reads.back().get()),
                  SubmitResult::Ok);
    }
    ASSERT_TRUE(rig.host.wait([&] { return completed(reads) == reads.size(); })) << completed(reads) << " completed";
    for (const auto& r : reads) {
        EXPECT_EQ(r->completions, 1);
        EXPECT_TRUE(r->completion.status.ok()) << status_text(r->completion.status) << " " << r->reason;
        EXPECT_EQ(pattern_mismatch(kNamespacePattern, r->byte_address, r->buffer), "");
    }
    const uint64_t success_flags = q.stats().success_flags - before.success_flags;
    const uint64_t capsule_resps = q.stats().capsule_resps - before.capsule_resps;
    if (p.success_expected) {
        EXPECT_EQ(success_flags, uint64_t{kReads});
        EXPECT_EQ(capsule_resps, 0u);
    } else {
        EXPECT_EQ(success_flags, 0u);
        EXPECT_EQ(capsule_resps, uint64_t{kReads});
    }
    // Writes always end with a CapsuleResp.
    write_and_read_back(rig, 0, 6ull << 20, 64u << 10);
    EXPECT_EQ(q.state(), QueueState::Ready);
}

INSTANTIATE_TEST_SUITE_P(FlowControl, HostTargetFlowControl,
                         ::testing::Values(FlowControl{"DisabledTargetSendsSuccess", true, true, true},
                                           FlowControl{"DisabledTargetSendsCapsuleResp", true, false, false},
                                           FlowControl{"Enabled", false, true, false}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// --- several deep queues ---------------------------------------------------------------------------

TEST(HostTarget, FourQueuesOf128ReadsInFlightEach) {
    TargetConfig tc = small_target_config();
    tc.c2h_split = 4096;  // interleave many PDUs
    ControllerConfig cc = host_config(tc);
    cc.io_queues = 4;
    cc.queue_depth = 128;
    cc.data_digest = true;
    Rig rig(tc, &cc);
    ASSERT_TRUE(rig.host.bring_up()) << rig.ctrl().failure();
    ASSERT_EQ(rig.ctrl().io_queue_count(), 4);

    constexpr uint32_t kPerQueue = 128;
    std::vector<QueueStats> before;
    for (uint16_t queue = 0; queue < 4; ++queue) before.push_back(rig.ctrl().io_queue(queue).stats());
    IoRecords reads;
    uint64_t lcg = 12345;
    for (uint16_t queue = 0; queue < 4; ++queue) {
        ASSERT_EQ(rig.ctrl().io_queue(queue).depth(), kPerQueue);
        for (uint32_t i = 0; i < kPerQueue; ++i) {
            lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
            const uint32_t blocks = 1 + static_cast<uint32_t>((lcg >> 33) % 40);  // 512 B .. 20 KiB
            const uint64_t slba = (lcg >> 20) % (tc.namespace_bytes / 512 - blocks);
            reads.push_back(std::make_unique<IoRecord>(slba * 512, blocks * 512));
            IoRecord& r = *reads.back();
            ASSERT_EQ(rig.ctrl().read(queue, slba, blocks, r.data(), &IoRecord::done, &r), SubmitResult::Ok)
                << "queue " << queue << " read " << i;
        }
        EXPECT_EQ(rig.ctrl().io_queue(queue).outstanding(), kPerQueue);
        IoRecord one_too_many(0, 512);
        EXPECT_EQ(rig.ctrl().read(queue, 0, 1, one_too_many.data(), &IoRecord::done, &one_too_many), SubmitResult::QueueFull);
    }
    ASSERT_TRUE(rig.host.wait([&] { return completed(reads) == reads.size(); }))
        << completed(reads) << " of " << reads.size() << " completed";
    rig.host.wait([] { return false; }, 20);  // a late second completion would show here
    for (const auto& r : reads) {
        ASSERT_EQ(r->completions, 1) << "read at " << r->byte_address;
        ASSERT_TRUE(r->completion.status.ok()) << status_text(r->completion.status) << " " << r->reason;
        ASSERT_EQ(pattern_mismatch(kNamespacePattern, r->byte_address, r->buffer), "");
    }
    for (uint16_t queue = 0; queue < 4; ++queue) {
        EXPECT_EQ(rig.ctrl().io_queue(queue).stats().completions - before[queue].completions, kPerQueue);
        uint64_t pdus = 0;  // each read in C2HData PDUs of at most 4 KiB
        for (uint32_t i = 0; i < kPerQueue; ++i) pdus += pieces(reads[queue * kPerQueue + i]->iov.len, 4096);
        EXPECT_EQ(rig.ctrl().io_queue(queue).stats().c2h_pdus - before[queue].c2h_pdus, pdus) << "queue " << queue;
        EXPECT_EQ(rig.ctrl().io_queue(queue).outstanding(), 0u);
    }
    EXPECT_EQ(rig.target.stats().reads, 4u * kPerQueue);
    EXPECT_EQ(rig.ctrl().state(), ControllerState::Ready);
}

// Reads and writes of every kind in flight together on four queues, with everything cut small and
// aligned: C2HData of 4 KiB, R2Ts of 8 KiB answered by H2CData of 4 KiB (MAXH2CDATA's minimum),
// in-capsule writes, 1 MiB writes that overrun the transport's send buffer, padding both ways, digests.
TEST(HostTarget, MixedReadsAndWritesInFlightOnFourQueues) {
    TargetConfig tc = small_target_config();
    tc.namespace_bytes = 64ull << 20;
    tc.c2h_split = 4096;
    tc.r2t_split = 8192;
    tc.maxh2cdata = 4096;
    tc.cpda = 1;
    ControllerConfig cc = host_config(tc);
    cc.io_queues = 4;
    cc.queue_depth = 64;
    cc.header_digest = cc.data_digest = true;
    cc.hpda = 3;
    Rig rig(tc, &cc);
    ASSERT_TRUE(rig.host.bring_up()) << rig.ctrl().failure();

    const uint64_t read_area = 32ull << 20;  // reads below, writes above: each write in a range of its own
    uint64_t next_write = read_area + kGuardBytes;
    IoRecords reads, writes;
    uint64_t lcg = 99;
    auto random = [&lcg](uint64_t bound) {
        lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
        return (lcg >> 24) % bound;
    };
    for (uint16_t queue = 0; queue < 4; ++queue) {
        for (uint32_t i = 0; i < 64; ++i) {
            const bool write = i % 2 == 1;
            const uint32_t blocks = i % 31 == 5 ? 2048 : 1 + static_cast<uint32_t>(random(128));  // 512 B .. 64 KiB, or 1 MiB
            const uint32_t length = blocks * 512;
            if (write) {
                writes.push_back(std::make_unique<IoRecord>(next_write, length));
                next_write += length + kGuardBytes;
                IoRecord& w = *writes.back();
                fill_pattern(kWritePattern, w.byte_address, w.buffer);
                ASSERT_EQ(rig.ctrl().write(queue, w.byte_address / 512, blocks, w.data(), &IoRecord::done, &w), SubmitResult::Ok);
            } else {
                reads.push_back(std::make_unique<IoRecord>(random(read_area / 512 - blocks) * 512, length));
                IoRecord& r = *reads.back();
                ASSERT_EQ(rig.ctrl().read(queue, r.byte_address / 512, blocks, r.data(), &IoRecord::done, &r), SubmitResult::Ok);
            }
        }
    }
    ASSERT_LE(next_write, tc.namespace_bytes);
    ASSERT_TRUE(rig.host.wait([&] { return completed(reads) + completed(writes) == reads.size() + writes.size(); }))
        << completed(reads) << " reads, " << completed(writes) << " writes completed";
    rig.host.wait([] { return false; }, 20);  // a late second completion would show here
    for (const auto& r : reads) {
        ASSERT_EQ(r->completions, 1);
        ASSERT_TRUE(r->completion.status.ok()) << status_text(r->completion.status) << " " << r->reason;
        ASSERT_EQ(pattern_mismatch(kNamespacePattern, r->byte_address, r->buffer), "");
    }
    for (const auto& w : writes) {
        ASSERT_EQ(w->completions, 1);
        ASSERT_TRUE(w->completion.status.ok()) << status_text(w->completion.status) << " " << w->reason;
    }
    EXPECT_EQ(rig.ctrl().state(), ControllerState::Ready);
    EXPECT_EQ(rig.target.stats().writes, writes.size());
    EXPECT_EQ(rig.target.stats().errors_sent + rig.target.stats().errors_received + rig.target.stats().digest_errors, 0u);
    rig.target.stop();
    for (const auto& w : writes) expect_written(rig.target, w->byte_address, w->iov.len);
}

// --- injected faults -------------------------------------------------------------------------------

// 16 reads of 64 KiB on I/O queue 0, all in flight; the fault strikes inside the 5th read's data.
constexpr int kFaultReads = 16;
constexpr uint32_t kFaultReadLength = 64u << 10;
constexpr uint64_t kFaultAfterBytes = 4 * kFaultReadLength + 40000;
constexpr int kReadsBeforeFault = 4;

IoRecords submit_fault_reads(Rig& rig) {
    IoRecords reads;
    for (int i = 0; i < kFaultReads; ++i) {
        reads.push_back(std::make_unique<IoRecord>((1ull << 20) + uint64_t(i) * kFaultReadLength, kFaultReadLength));
        IoRecord& r = *reads.back();
        EXPECT_EQ(rig.ctrl().read(0, r.byte_address / 512, kFaultReadLength / 512, r.data(), &IoRecord::done, &r),
                  SubmitResult::Ok);
    }
    return reads;
}

// The reads whose data and response went out before the fault succeed with the right bytes; every
// other read fails with kHostPathError naming `why`; each completes exactly once; the controller fails.
void expect_fault_outcome(Rig& rig, IoRecords& reads, const std::string& why) {
    ASSERT_TRUE(rig.host.wait([&] { return completed(reads) == reads.size(); }))
        << completed(reads) << " of " << reads.size() << " completed";
    ASSERT_TRUE(rig.host.wait([&] { return rig.ctrl().state() == ControllerState::Failed; }));
    rig.host.wait([] { return false; }, 20);  // a late second completion would show here
    for (int i = 0; i < kFaultReads; ++i) {
        const IoRecord& r = *reads[static_cast<size_t>(i)];
        EXPECT_EQ(r.completions, 1) << "read " << i;
        if (i < kReadsBeforeFault) {
            EXPECT_TRUE(r.completion.status.ok()) << "read " << i << ": " << status_text(r.completion.status) << " " << r.reason;
            EXPECT_EQ(pattern_mismatch(kNamespacePattern, r.byte_address, r.buffer), "") << "read " << i;
        } else {
            EXPECT_EQ(r.completion.status, nvme::status::kHostPathError)
                << "read " << i << ": " << status_text(r.completion.status);
            EXPECT_NE(r.reason.find(why), std::string::npos) << "read " << i << ": " << r.reason;
        }
    }
    Queue& q = rig.ctrl().io_queue(0);
    EXPECT_EQ(q.state(), QueueState::Failed);
    ASSERT_NE(q.failure(), nullptr);
    EXPECT_NE(std::string(q.failure()).find(why), std::string::npos) << q.failure();
    EXPECT_NE(rig.ctrl().failure().find("I/O queue qid 1"), std::string::npos) << rig.ctrl().failure();
    EXPECT_NE(rig.ctrl().failure().find(why), std::string::npos) << rig.ctrl().failure();
    EXPECT_EQ(q.outstanding(), 0u);
    EXPECT_EQ(rig.target.stats().faults_injected, 1u);
}

// How the data around the fault travels: one C2HData per read or several, completed by CapsuleResp
// or by SUCCESS, with or without digests (the cut PDU's digest covers what was sent of it).
struct FaultPath {
    const char* name;
    uint32_t c2h_split;
    bool success;
    bool digests;
};

void PrintTo(const FaultPath& p, std::ostream* out) { *out << p.name; }

class HostTargetFault : public ::testing::TestWithParam<FaultPath> {
protected:
    Rig& start(TargetConfig tc) {
        const FaultPath& p = GetParam();
        tc.c2h_split = p.c2h_split;
        tc.send_success = p.success;
        ControllerConfig cc = host_config(tc);
        cc.disable_sq_flow_control = p.success;
        cc.header_digest = cc.data_digest = p.digests;
        rig_ = std::make_unique<Rig>(tc, &cc);
        return *rig_;
    }
    std::unique_ptr<Rig> rig_;
};

TEST_P(HostTargetFault, C2HTermReqFailsOutstandingReadsWithHostPathError) {
    TargetConfig tc = small_target_config();
    tc.faults.term_after_data_bytes = kFaultAfterBytes;
    Rig& rig = start(tc);
    ASSERT_TRUE(rig.host.bring_up()) << rig.ctrl().failure();
    IoRecords reads = submit_fault_reads(rig);
    expect_fault_outcome(rig, reads, "C2HTermReq");
    const std::string failure = rig.ctrl().io_queue(0).failure();
    EXPECT_NE(failure.find("FES 2"), std::string::npos) << failure;  // PDU sequence error
    EXPECT_NE(failure.find("FEI 0"), std::string::npos) << failure;
    EXPECT_EQ(rig.ctrl().io_queue(0).stats().term_reqs_received, 1u);
    EXPECT_EQ(rig.ctrl().io_queue(0).stats().term_reqs_sent, 0u) << "a host does not answer a TermReq with one";
    EXPECT_EQ(rig.ctrl().io_queue(0).stats().digest_errors, 0u);
    // The read under way got exactly the bytes before the cut.
    EXPECT_EQ(rig.ctrl().io_queue(0).stats().c2h_bytes, kFaultAfterBytes);
    if (GetParam().success) {
        EXPECT_EQ(rig.ctrl().io_queue(0).stats().success_flags, uint64_t{kReadsBeforeFault});
    }
}

TEST_P(HostTargetFault, DisconnectInsideC2HDataFailsOutstandingReadsWithHostPathError) {
    TargetConfig tc = small_target_config();
    tc.faults.disconnect_after_data_bytes = kFaultAfterBytes;
    Rig& rig = start(tc);
    ASSERT_TRUE(rig.host.bring_up()) << rig.ctrl().failure();
    IoRecords reads = submit_fault_reads(rig);
    expect_fault_outcome(rig, reads, "connection closed");
    EXPECT_EQ(rig.ctrl().io_queue(0).stats().term_reqs_received, 0u);
    EXPECT_EQ(rig.ctrl().io_queue(0).stats().term_reqs_sent, 0u);
    EXPECT_EQ(rig.ctrl().io_queue(0).stats().c2h_bytes, kFaultAfterBytes);
}

// The TermReq comes while the host is still sending a large write's H2CData, which the target no
// longer reads: the TermReq (and every data byte before it) must still reach the host and be what
// its queue reports. (A target that closed with the host's bytes unread made the kernel reset the
// connection and drop its unsent output, TermReq included: the host saw only "connection closed".)
TEST_P(HostTargetFault, C2HTermReqIsReportedWhileTheHostIsStillSending) {
    TargetConfig tc = small_target_config();
    tc.faults.term_after_data_bytes = kFaultAfterBytes;
    Rig& rig = start(tc);
    ASSERT_TRUE(rig.host.bring_up()) << rig.ctrl().failure();
    // A 4 MiB write, then the reads, submitted together: the target's R2T goes out ahead of the
    // reads' data, and the host's H2CData behind the reads' commands, so that the host is busy
    // sending H2CData when the reads' data runs into the fault.
    IoRecords writes;
    writes.push_back(std::make_unique<IoRecord>(8ull << 20, 4u << 20));
    IoRecord& w = *writes.back();
    ASSERT_EQ(rig.ctrl().write(0, w.byte_address / 512, w.iov.len / 512, w.data(), &IoRecord::done, &w), SubmitResult::Ok);
    IoRecords reads = submit_fault_reads(rig);
    ASSERT_TRUE(rig.host.wait([&] { return rig.ctrl().state() == ControllerState::Failed; }));
    ASSERT_TRUE(rig.host.wait([&] { return completed(reads) + completed(writes) == reads.size() + writes.size(); }));
    size_t writes_failed = 0;
    for (const auto& each : writes) writes_failed += each->completion.status == nvme::status::kHostPathError ? 1 : 0;
    EXPECT_GT(writes_failed, 0u) << "no write was under way at the fault: the test tests nothing";
    const std::string failure = rig.ctrl().io_queue(0).failure();
    EXPECT_NE(failure.find("C2HTermReq"), std::string::npos) << failure;
    EXPECT_EQ(rig.ctrl().io_queue(0).stats().term_reqs_received, 1u);
    EXPECT_EQ(rig.ctrl().io_queue(0).stats().c2h_bytes, kFaultAfterBytes) << "every byte before the cut arrived";
    for (int i = 0; i < kReadsBeforeFault; ++i) {
        EXPECT_TRUE(reads[static_cast<size_t>(i)]->completion.status.ok()) << "read " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(Faults, HostTargetFault,
                         ::testing::Values(FaultPath{"Unsplit", 0, false, false},
                                           FaultPath{"Split8192Success", 8192, true, false},
                                           FaultPath{"Split4096Digests", 4096, false, true}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

struct DigestFault {
    const char* name;
    // >= 4: the admin queue's bring-up carries three C2HData PDUs (Identify controller, namespace
    // list, namespace), and the target counts and corrupts them as on any connection.
    uint32_t every;
    uint32_t c2h_split;
    bool success;  // SQ flow control off and SUCCESS: the failed digest must still fail the read
};

void PrintTo(const DigestFault& p, std::ostream* out) { *out << p.name; }

class HostTargetDigestFault : public ::testing::TestWithParam<DigestFault> {};

TEST_P(HostTargetDigestFault, ExactlyTheCorruptedReadsFailAndTheConnectionStays) {
    const DigestFault& p = GetParam();
    TargetConfig tc = small_target_config();
    tc.faults.corrupt_data_digest_every = p.every;
    tc.c2h_split = p.c2h_split;
    tc.send_success = p.success;
    ControllerConfig cc = host_config(tc);
    cc.data_digest = true;
    cc.disable_sq_flow_control = p.success;
    Rig rig(tc, &cc);
    ASSERT_TRUE(rig.host.bring_up()) << rig.ctrl().failure();

    constexpr int kReads = 24;
    constexpr uint32_t kLength = 16u << 10;
    const uint32_t pdus_per_read = static_cast<uint32_t>(pieces(kLength, p.c2h_split));
    IoRecords reads;
    for (int i = 0; i < kReads; ++i) {
        reads.push_back(std::make_unique<IoRecord>((4ull << 20) + uint64_t(i) * kLength, kLength));
        IoRecord& r = *reads.back();
        ASSERT_EQ(rig.ctrl().read(0, r.byte_address / 512, kLength / 512, r.data(), &IoRecord::done, &r), SubmitResult::Ok);
    }
    ASSERT_TRUE(rig.host.wait([&] { return completed(reads) == reads.size(); }))
        << completed(reads) << " of " << reads.size() << " completed";
    // The target numbers C2HData PDUs per connection from 1 and corrupts every `every`th; the reads
    // were sent, and so answered, in order.
    uint64_t corrupted = 0;
    for (int i = 0; i < kReads; ++i) {
        const IoRecord& r = *reads[static_cast<size_t>(i)];
        bool hit = false;
        for (uint32_t k = 0; k < pdus_per_read; ++k) hit = hit || (uint64_t(i) * pdus_per_read + k + 1) % p.every == 0;
        corrupted += hit ? 1 : 0;
        EXPECT_EQ(r.completions, 1) << "read " << i;
        if (hit) {
            EXPECT_EQ(r.completion.status, nvme::status::kTransientTransportError)
                << "read " << i << ": " << status_text(r.completion.status);
            EXPECT_NE(r.reason.find("data digest"), std::string::npos) << r.reason;
        } else {
            EXPECT_TRUE(r.completion.status.ok()) << "read " << i << ": " << status_text(r.completion.status) << " " << r.reason;
            EXPECT_EQ(pattern_mismatch(kNamespacePattern, r.byte_address, r.buffer), "") << "read " << i;
        }
    }
    ASSERT_GT(corrupted, 0u);
    ASSERT_LT(corrupted, uint64_t{kReads});
    Queue& q = rig.ctrl().io_queue(0);
    EXPECT_EQ(q.stats().digest_errors, uint64_t{kReads} * pdus_per_read / p.every);
    EXPECT_EQ(rig.target.stats().faults_injected, q.stats().digest_errors);
    if (p.success) {  // every read ended in SUCCESS, the corrupted ones too: they failed all the same
        EXPECT_EQ(q.stats().success_flags, uint64_t{kReads});
    }
    EXPECT_EQ(q.state(), QueueState::Ready);
    EXPECT_EQ(rig.ctrl().state(), ControllerState::Ready);
    EXPECT_EQ(q.stats().term_reqs_sent, 0u);
    // The connection carries on.
    write_and_read_back(rig, 0, 12ull << 20, 4096);
}

INSTANTIATE_TEST_SUITE_P(DigestFaults, HostTargetDigestFault,
                         ::testing::Values(DigestFault{"EverySeventhUnsplit", 7, 0, false},
                                           DigestFault{"EveryFifthSplit8192", 5, 8192, false},
                                           DigestFault{"EveryFourthWithSuccessFlag", 4, 0, true}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// A target whose queues are shallower than the host's 32-entry admin queue: the admin queue still
// connects (CAP.MQES bounds only I/O queues on a fabric), the I/O queue depth follows CAP.MQES and
// the number of I/O queues what Set Features granted.
TEST(HostTarget, ShallowTargetTakesTheAdminQueueAndClampsTheIoQueueDepth) {
    TargetConfig tc = small_target_config();
    tc.max_queue_depth = 16;
    tc.max_io_queues = 2;
    ControllerConfig cc = host_config(tc);
    cc.queue_depth = 64;
    cc.io_queues = 4;
    Rig rig(tc, &cc);
    ASSERT_TRUE(rig.host.bring_up()) << rig.ctrl().failure();
    ASSERT_EQ(rig.ctrl().io_queue_count(), 2) << "as many I/O queues as the target grants";
    ASSERT_EQ(rig.ctrl().io_queue(0).depth(), 16);
    IoRecords reads;
    for (int i = 0; i < 16; ++i) {
        reads.push_back(std::make_unique<IoRecord>(uint64_t(i) * 4096, 4096));
        ASSERT_EQ(rig.ctrl().read(0, uint64_t(i) * 8, 8, reads.back()->data(), &IoRecord::done, reads.back().get()),
                  SubmitResult::Ok);
    }
    IoRecord one_too_many(0, 512);
    EXPECT_EQ(rig.ctrl().read(0, 0, 1, one_too_many.data(), &IoRecord::done, &one_too_many), SubmitResult::QueueFull);
    ASSERT_TRUE(rig.host.wait([&] { return completed(reads) == reads.size(); }));
    for (const auto& r : reads) {
        EXPECT_TRUE(r->completion.status.ok()) << status_text(r->completion.status) << " " << r->reason;
        EXPECT_EQ(pattern_mismatch(kNamespacePattern, r->byte_address, r->buffer), "");
    }
}

// --- discovery, keep alive, shutdown, refusal -----------------------------------------------------

class HostTargetDiscovery : public ::testing::TestWithParam<bool> {};

TEST_P(HostTargetDiscovery, ListsTheSubsystemAtItsPort) {
    TargetThread target(small_target_config());
    SocketTransportFactory factory("127.0.0.1", target.port());
    ControllerConfig cc = host_config(target.config());
    cc.header_digest = cc.data_digest = GetParam();
    DiscoveryClient client(cc, factory);
    std::string error;
    ASSERT_TRUE(client.start(&error)) << error;
    const uint64_t deadline = now_ms() + kBringUpTimeoutMs;
    while (client.state() != DiscoveryClient::State::Done && client.state() != DiscoveryClient::State::Failed &&
           now_ms() < deadline) {
        factory.poll(1);
        client.poll(now_ms());
    }
    ASSERT_EQ(client.state(), DiscoveryClient::State::Done) << client.failure();
    EXPECT_TRUE(client.controller().is_discovery());
    ASSERT_EQ(client.entries().size(), 1u);
    const DiscoveryEntry& e = client.entries()[0];
    EXPECT_EQ(e.subnqn, target.config().subnqn);
    EXPECT_EQ(e.trsvcid, std::to_string(target.port()));
    EXPECT_EQ(e.traddr, "127.0.0.1");
    EXPECT_EQ(e.trtype, nvme::trtype::kTcp);
    EXPECT_EQ(e.adrfam, nvme::adrfam::kIpv4);
    EXPECT_EQ(e.subtype, nvme::subtype::kNvmSubsystem);
    EXPECT_EQ(target.stats().controllers, 1u);
}

INSTANTIATE_TEST_SUITE_P(Digests, HostTargetDiscovery, ::testing::Bool(),
                         [](const auto& param_info) { return param_info.param ? "Digests" : "NoDigests"; });

TEST(HostTarget, KeepAliveHoldsAnIdleControllerPastSeveralKato) {
    constexpr uint32_t kKatoMs = 600;  // keep alives every 300 ms: room for a loaded (sanitized, 2-core) machine
    TargetConfig tc = small_target_config();
    ControllerConfig cc = host_config(tc);
    cc.kato_ms = kKatoMs;

    // Without keep alive (the controller not polled, so it sends none) the target drops it: the guard
    // that makes the next part mean something.
    {
        Rig rig(tc, &cc);
        ASSERT_TRUE(rig.host.bring_up()) << rig.ctrl().failure();
        const uint64_t until = now_ms() + 3 * kKatoMs;
        while (now_ms() < until && rig.target.stats().connections_closed < 2) rig.host.factory().poll(5);
        EXPECT_EQ(rig.target.stats().connections_closed, 2u) << "the target did not enforce its KATO";
        rig.host.wait([&] { return rig.ctrl().state() == ControllerState::Failed; }, 1000);
        EXPECT_EQ(rig.ctrl().state(), ControllerState::Failed);
    }

    Rig rig(tc, &cc);
    ASSERT_TRUE(rig.host.bring_up()) << rig.ctrl().failure();
    rig.host.wait([] { return false; }, 4 * kKatoMs);
    EXPECT_EQ(rig.ctrl().state(), ControllerState::Ready) << rig.ctrl().failure();
    EXPECT_EQ(rig.target.stats().connections_closed, 0u);
    // Half-KATO keep alives: at least six in 2.4 s, beyond the bring-up's admin commands.
    EXPECT_GE(rig.target.stats().admin_commands, 8u + 6u);
    read_and_check(rig, 0, 0, 4096);
}

TEST(HostTarget, ShutdownEndsIdleAndTheTargetClosesEveryConnection) {
    TargetConfig tc = small_target_config();
    ControllerConfig cc = host_config(tc);
    cc.io_queues = 2;
    Rig rig(tc, &cc);
    ASSERT_TRUE(rig.host.bring_up()) << rig.ctrl().failure();
    read_and_check(rig, 1, 4096, 8192);
    EXPECT_EQ(rig.target.stats().connections, 3u);
    EXPECT_EQ(rig.host.factory().open_connections(), 3u);

    // A read still in flight when the shutdown begins fails, once, with the host's reason.
    IoRecord in_flight(1ull << 20, 4u << 20);
    ASSERT_EQ(rig.ctrl().read(0, in_flight.byte_address / 512, in_flight.iov.len / 512, in_flight.data(), &IoRecord::done,
                              &in_flight),
              SubmitResult::Ok);
    rig.ctrl().shutdown();
    EXPECT_TRUE(rig.ctrl().shutting_down());
    EXPECT_EQ(in_flight.completions, 1);
    EXPECT_EQ(in_flight.completion.status, nvme::status::kHostPathError) << status_text(in_flight.completion.status);
    EXPECT_NE(in_flight.reason.find("controller shutdown"), std::string::npos) << in_flight.reason;
    IoRecord late(0, 512);
    EXPECT_EQ(rig.ctrl().read(0, 0, 1, late.data(), &IoRecord::done, &late), SubmitResult::NotReady);
    ASSERT_TRUE(rig.host.wait([&] { return rig.ctrl().state() != ControllerState::Ready; }, 3000));
    EXPECT_EQ(rig.ctrl().state(), ControllerState::Idle);
    EXPECT_EQ(rig.ctrl().failure(), "") << "shutdown completed in time and cleanly";
    EXPECT_EQ(rig.host.factory().open_connections(), 0u);
    EXPECT_TRUE(rig.host.wait([&] { return rig.target.stats().connections_closed == 3; }, 2000))
        << rig.target.stats().connections_closed << " of 3 connections closed at the target";
    EXPECT_EQ(rig.target.stats().errors_received, 0u);
    EXPECT_EQ(rig.target.stats().errors_sent, 0u);
    EXPECT_EQ(in_flight.completions, 1);
    EXPECT_EQ(late.completions, 0);
}

TEST(HostTarget, WrongSubnqnFailsStartNamingTheConnectStatus) {
    TargetConfig tc = small_target_config();
    ControllerConfig cc = host_config(tc);
    cc.subnqn = "nqn.2026-12.io.nvmeddp:nobody";
    Rig rig(tc, &cc);
    EXPECT_FALSE(rig.host.bring_up());
    EXPECT_EQ(rig.ctrl().state(), ControllerState::Failed);
    const std::string& failure = rig.ctrl().failure();
    EXPECT_NE(failure.find("admin queue connect"), std::string::npos) << failure;
    EXPECT_NE(failure.find("Connect (qid 0) failed"), std::string::npos) << failure;
    EXPECT_NE(failure.find("invalid parameters"), std::string::npos) << failure;
    EXPECT_EQ(rig.target.stats().controllers, 0u);
}

// A namespace other than 1: the host takes the first active one by default, or the one it asks for,
// and an inactive one fails the bring-up naming the active ones.
TEST(HostTarget, NamespaceOtherThanOneIsFoundOrRefusedByName) {
    TargetConfig tc = small_target_config();
    tc.nsid = 7;
    TargetThread target(tc);
    for (const uint32_t asked : {0u, 7u}) {
        ControllerConfig cc = host_config(tc);
        cc.nsid = asked;
        HostSession host(cc, target.port());
        ASSERT_TRUE(host.bring_up()) << host.controller().failure();
        EXPECT_EQ(host.controller().nsid(), 7u) << "asked for " << asked;
        IoRecord io(8192, 4096);
        ASSERT_TRUE(read_and_wait(host, 0, io));
        ASSERT_TRUE(io.completion.status.ok()) << io.reason;
        EXPECT_EQ(pattern_mismatch(kNamespacePattern, io.byte_address, io.buffer), "");
    }
    ControllerConfig cc = host_config(tc);
    cc.nsid = 1;
    HostSession host(cc, target.port());
    EXPECT_FALSE(host.bring_up());
    EXPECT_EQ(host.controller().state(), ControllerState::Failed);
    EXPECT_NE(host.controller().failure().find("namespace 1 is not active on " + tc.subnqn + " (active: 7)"),
              std::string::npos)
        << host.controller().failure();
}

}  // namespace
}  // namespace nvmeddp::nvmetcp::host::itest
