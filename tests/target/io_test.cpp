// I/O through the built-in target: reads of every size checked byte by byte against the namespace
// pattern, C2HData splitting and the SUCCESS flag, writes in capsule and through R2T, many commands
// in flight, and the per-command errors.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <set>

#include "target_fixture.hpp"

namespace nvmeddp::nvmetcp::target::testing {
namespace {

using namespace nvme;

struct Io {
    RunningTarget target;
    uint16_t cntlid = 0;
    std::unique_ptr<TestClient> admin, queue;

    explicit Io(const TargetConfig& config = test_config(), const QueueOptions& options = {}) : target(config) {
        admin = admin_session(target, &cntlid);
        if (admin) queue = io_session(target, cntlid, 1, options);
    }
    uint32_t block_size() const { return target.config().block_size; }
};

std::optional<Completion> read_blocks(TestClient& q, uint64_t slba, uint32_t nlb, uint32_t block_size) {
    return q.execute(make_read(q.next_cid(), 1, slba, nlb, nlb * block_size));
}

std::vector<uint8_t> distinct_bytes(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 9));
    return v;
}

// Writes `data` at slba through R2T: answers each R2T with H2CData PDUs of at most `pdu_size`.
std::optional<Completion> write_via_r2t(TestClient& q, uint64_t slba, const std::vector<uint8_t>& data,
                                        uint32_t block_size, uint32_t pdu_size, size_t* r2t_count = nullptr) {
    const uint16_t cid = q.next_cid();
    const auto len = static_cast<uint32_t>(data.size());
    q.send_command(make_write(cid, 1, slba, len / block_size, len, false));
    uint32_t done = 0;
    size_t r2ts = 0;
    while (done < len) {
        auto r2t = q.wait_r2t();
        if (!r2t) return std::nullopt;
        ++r2ts;
        EXPECT_EQ(r2t->cccid.get(), cid);
        EXPECT_EQ(r2t->r2to.get(), done);
        const uint32_t end = r2t->r2to.get() + r2t->r2tl.get();
        for (uint32_t at = r2t->r2to.get(); at < end;) {
            const uint32_t n = std::min(pdu_size, end - at);
            const uint8_t flags = at + n == end ? pdu_flags::kLastPdu : 0;
            q.send_pdu(make_h2c_data(cid, r2t->ttag.get(), at, n, flags), {data.data() + at, n});
            at += n;
        }
        done = end;
    }
    if (r2t_count) *r2t_count = r2ts;
    return q.wait_completion(cid);
}

TEST(TargetIo, ReadsOfEverySizeMatchThePattern) {
    TargetConfig config = test_config();
    config.namespace_bytes = 32ull << 20;
    Io io(config);
    ASSERT_TRUE(io.queue);
    uint64_t slba = 3;
    for (uint32_t nlb : {1u, 2u, 7u, 8u, 64u, 255u, 1024u, 2048u, 4096u, 8192u}) {  // 512 B .. 4 MiB
        auto r = read_blocks(*io.queue, slba, nlb, 512);
        ASSERT_TRUE(r) << nlb;
        ASSERT_TRUE(r->status().ok()) << status_text(r->status());
        EXPECT_FALSE(r->by_success_flag);
        ASSERT_EQ(r->data.size(), nlb * 512u);
        EXPECT_EQ(pattern_mismatch(r->data, slba * 512), r->data.size()) << nlb;
        ASSERT_EQ(r->c2h_headers.size(), 1u);  // one C2HData per command by default
        EXPECT_EQ(r->c2h_headers[0].ch.flags & pdu_flags::kLastPdu, pdu_flags::kLastPdu);
        slba += nlb + 1;
    }
    // The end of the namespace is readable, one block past it is not.
    const uint64_t blocks = config.namespace_bytes / 512;
    auto last = read_blocks(*io.queue, blocks - 1, 1, 512);
    ASSERT_TRUE(last && last->status().ok());
    EXPECT_EQ(pattern_mismatch(last->data, (blocks - 1) * 512), 512u);
    auto past = read_blocks(*io.queue, blocks - 1, 2, 512);
    ASSERT_TRUE(past);
    EXPECT_EQ(past->status(), status::kLbaOutOfRange);
    auto beyond_mdts = read_blocks(*io.queue, 0, 8193, 512);
    ASSERT_TRUE(beyond_mdts);
    EXPECT_EQ(beyond_mdts->status(), status::kInvalidField);
}

struct SplitCase {
    bool disable_flow_control;
    bool send_success;
};

class TargetC2HSplit : public ::testing::TestWithParam<SplitCase> {};

TEST_P(TargetC2HSplit, SeveralPdusLastAndSuccessFlags) {
    const SplitCase p = GetParam();
    TargetConfig config = test_config();
    config.c2h_split = 12288;
    config.send_success = p.send_success;
    QueueOptions options;
    options.disable_sq_flow_control = p.disable_flow_control;
    options.data_digest = true;
    options.header_digest = true;
    Io io(config, options);
    ASSERT_TRUE(io.queue);
    const uint32_t len = 100 * 512;  // 51200: 4 PDUs of 12288 and one of 2048
    auto r = read_blocks(*io.queue, 10, 100, 512);
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->status().ok());
    ASSERT_EQ(r->data.size(), len);
    EXPECT_EQ(pattern_mismatch(r->data, 10 * 512), len);
    EXPECT_FALSE(r->digest_mismatch);
    ASSERT_EQ(r->c2h_headers.size(), 5u);
    uint32_t expected_offset = 0;
    for (size_t i = 0; i < r->c2h_headers.size(); ++i) {
        const auto& h = r->c2h_headers[i];
        const bool last = i + 1 == r->c2h_headers.size();
        EXPECT_EQ(h.datao.get(), expected_offset);
        EXPECT_EQ(h.datal.get(), last ? 2048u : 12288u);
        EXPECT_EQ((h.ch.flags & pdu_flags::kLastPdu) != 0, last) << i;
        EXPECT_EQ((h.ch.flags & pdu_flags::kSuccess) != 0, last && p.disable_flow_control && p.send_success) << i;
        expected_offset += h.datal.get();
    }
    EXPECT_EQ(r->by_success_flag, p.disable_flow_control && p.send_success);
}

INSTANTIATE_TEST_SUITE_P(FlowControlAndSuccess, TargetC2HSplit,
                         ::testing::Values(SplitCase{false, true}, SplitCase{true, true}, SplitCase{true, false}));

TEST(TargetIo, FlowControlDisabledSqHead) {
    QueueOptions options;
    options.disable_sq_flow_control = true;
    TargetConfig config = test_config();
    config.send_success = false;
    RunningTarget t(config);
    uint16_t cntlid = 0;
    auto admin = admin_session(t, &cntlid);
    ASSERT_TRUE(admin);
    TestClient q(t.port());
    ASSERT_TRUE(q.initialize());
    auto connected = q.connect(1, cntlid, 32, true, config.subnqn);
    ASSERT_TRUE(connected && connected->status().ok());
    EXPECT_EQ(connected->cqe.sqhd.get(), 0xFFFF);
    EXPECT_EQ(connected->cqe.sqid.get(), 1);
    auto flush = q.execute(make_flush(q.next_cid(), 1));
    ASSERT_TRUE(flush && flush->status().ok());
    EXPECT_EQ(flush->cqe.sqid.get(), 1);
}

TEST(TargetIo, WritesInCapsuleAndThroughR2TReadBack) {
    TargetConfig config = test_config();
    config.maxh2cdata = 16384;
    Io io(config);
    ASSERT_TRUE(io.queue);
    TestClient& q = *io.queue;

    const auto small = distinct_bytes(4096, 11);
    auto in_capsule = q.execute(make_write(q.next_cid(), 1, 100, 8, 4096, true), small);
    ASSERT_TRUE(in_capsule);
    ASSERT_TRUE(in_capsule->status().ok()) << status_text(in_capsule->status());

    const auto big = distinct_bytes(300 * 512, 29);  // 150 KiB: several H2CData of 16 KiB
    size_t r2ts = 0;
    auto via_r2t = write_via_r2t(q, 200, big, 512, config.maxh2cdata, &r2ts);
    ASSERT_TRUE(via_r2t);
    ASSERT_TRUE(via_r2t->status().ok()) << status_text(via_r2t->status());
    EXPECT_EQ(r2ts, 1u);  // one R2T for the whole write

    auto back_small = read_blocks(q, 100, 8, 512);
    ASSERT_TRUE(back_small && back_small->status().ok());
    EXPECT_EQ(back_small->data, small);
    auto back_big = read_blocks(q, 200, 300, 512);
    ASSERT_TRUE(back_big && back_big->status().ok());
    EXPECT_EQ(back_big->data, big);
    // Neighbours untouched.
    auto before = read_blocks(q, 199, 1, 512);
    ASSERT_TRUE(before && before->status().ok());
    EXPECT_EQ(pattern_mismatch(before->data, 199 * 512), 512u);
    auto after = read_blocks(q, 500, 1, 512);
    ASSERT_TRUE(after && after->status().ok());
    EXPECT_EQ(pattern_mismatch(after->data, 500 * 512), 512u);

    const auto stats = io.target.stats();
    EXPECT_EQ(stats.writes, 2u);
    EXPECT_EQ(stats.bytes_written, small.size() + big.size());
    EXPECT_EQ(stats.r2ts, 1u);
    EXPECT_EQ(stats.h2c_pdus, (big.size() + 16383) / 16384);

    // In-capsule data beyond what the queue takes (8 KiB by default) fails the command.
    const auto too_big = distinct_bytes(16384, 3);
    auto refused = q.execute(make_write(q.next_cid(), 1, 0, 32, 16384, true), too_big);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status(), status::kSglLengthInvalid);

    io.target.stop();  // the namespace is stable now
    const auto ns = io.target.target().namespace_bytes();
    EXPECT_EQ(std::memcmp(ns.data() + 200 * 512, big.data(), big.size()), 0);
}

TEST(TargetIo, R2TSplitAndAlignedH2CData) {
    TargetConfig config = test_config();
    config.r2t_split = 32768;
    config.cpda = 7;  // H2CData data aligned to 32 bytes
    QueueOptions options;
    options.header_digest = true;
    options.data_digest = true;
    Io io(config, options);
    ASSERT_TRUE(io.queue);
    EXPECT_EQ(io.queue->icresp().cpda, 7);
    const auto data = distinct_bytes(100000 / 512 * 512, 77);  // 99840 bytes: R2Ts of 32 KiB x3 + rest
    size_t r2ts = 0;
    auto w = write_via_r2t(*io.queue, 1000, data, 512, 8192, &r2ts);
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->status().ok()) << status_text(w->status());
    EXPECT_EQ(r2ts, 4u);
    auto back = read_blocks(*io.queue, 1000, static_cast<uint32_t>(data.size() / 512), 512);
    ASSERT_TRUE(back && back->status().ok());
    EXPECT_EQ(back->data, data);
}

TEST(TargetIo, CommandErrors) {
    Io io;
    ASSERT_TRUE(io.queue);
    TestClient& q = *io.queue;
    auto other_ns = q.execute(make_read(q.next_cid(), 2, 0, 1, 512));
    ASSERT_TRUE(other_ns);
    EXPECT_EQ(other_ns->status(), status::kInvalidNamespace);
    auto sgl_length = q.execute(make_read(q.next_cid(), 1, 0, 2, 512));
    ASSERT_TRUE(sgl_length);
    EXPECT_EQ(sgl_length->status(), status::kSglLengthInvalid);
    NvmeSqe in_capsule_read = make_write(q.next_cid(), 1, 0, 1, 512, true);
    in_capsule_read.opcode = io_opcode::kRead;
    auto sgl_type = q.execute(in_capsule_read);
    ASSERT_TRUE(sgl_type);
    EXPECT_EQ(sgl_type->status(), status::kSglTypeInvalid);
    const uint64_t blocks = io.target.config().namespace_bytes / 512;
    auto out_of_range = q.execute(make_write(q.next_cid(), 1, blocks, 1, 512, false));
    ASSERT_TRUE(out_of_range);
    EXPECT_EQ(out_of_range->status(), status::kLbaOutOfRange);
    auto identify_on_io = q.execute(make_identify(q.next_cid(), cns::kController, 0));
    ASSERT_TRUE(identify_on_io);
    EXPECT_EQ(identify_on_io->status(), status::kInvalidOpcode);
    auto flush = q.execute(make_flush(q.next_cid(), 1));
    ASSERT_TRUE(flush && flush->status().ok());
    // A write waiting for its data holds its command id.
    q.send_command(make_write(500, 1, 0, 8, 4096, false));
    ASSERT_TRUE(q.wait_r2t());
    auto conflict = q.execute(make_read(500, 1, 0, 1, 512));
    ASSERT_TRUE(conflict);
    EXPECT_EQ(conflict->status(), status::kCommandIdConflict);
}

TEST(TargetIo, SixtyFourReadsInFlight) {
    TargetConfig config = test_config();
    config.c2h_split = 16384;
    QueueOptions options;
    options.depth = 64;
    Io io(config, options);
    ASSERT_TRUE(io.queue);
    TestClient& q = *io.queue;
    std::vector<std::pair<uint16_t, uint64_t>> reads;
    for (uint16_t i = 0; i < 64; ++i) {
        const uint16_t cid = static_cast<uint16_t>(1000 + i);
        const uint64_t slba = i * 300ull;
        q.send_command(make_read(cid, 1, slba, 128, 128 * 512));
        reads.emplace_back(cid, slba);
    }
    for (auto [cid, slba] : reads) {
        auto r = q.wait_completion(cid);
        ASSERT_TRUE(r) << cid;
        ASSERT_TRUE(r->status().ok());
        ASSERT_EQ(r->data.size(), 128u * 512);
        EXPECT_EQ(pattern_mismatch(r->data, slba * 512), r->data.size()) << cid;
        EXPECT_EQ(r->c2h_headers.size(), 4u);
    }
    EXPECT_EQ(io.target.stats().reads, 64u);
}

TEST(TargetIo, ManyQueuesAndHosts) {
    RunningTarget t;
    std::vector<std::unique_ptr<TestClient>> admins, queues;
    std::vector<uint16_t> cntlids;
    for (int host = 0; host < 3; ++host) {
        uint16_t cntlid = 0;
        admins.push_back(admin_session(t, &cntlid));
        ASSERT_TRUE(admins.back());
        cntlids.push_back(cntlid);
        for (uint16_t qid = 1; qid <= 3; ++qid) {
            queues.push_back(io_session(t, cntlid, qid));
            ASSERT_TRUE(queues.back());
        }
    }
    EXPECT_EQ(std::set<uint16_t>(cntlids.begin(), cntlids.end()).size(), 3u);
    for (size_t i = 0; i < queues.size(); ++i) {
        queues[i]->send_command(make_read(7, 1, i * 16, 16, 16 * 512));
    }
    for (size_t i = 0; i < queues.size(); ++i) {
        auto r = queues[i]->wait_completion(7);
        ASSERT_TRUE(r && r->status().ok());
        EXPECT_EQ(pattern_mismatch(r->data, i * 16 * 512), 16u * 512);
    }
    const auto stats = t.stats();
    EXPECT_EQ(stats.controllers, 3u);
    EXPECT_EQ(stats.connections, 12u);
}

}  // namespace
}  // namespace nvmeddp::nvmetcp::target::testing
