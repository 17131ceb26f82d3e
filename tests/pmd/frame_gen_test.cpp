// The frame generator against the packet layer: reassembling its frames in TCP order (parse_frame
// for the payload, tcp_seq for the offsets) gives back exactly the stream under every fault plan,
// frame by frame as the ground truth says; corruption changes exactly the chosen byte; loss without
// retransmission leaves exactly the reported holes. Also checks the generator's checksums.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "pmd/packet/frame_parser.hpp"
#include "ddp/tcp_seq.hpp"
#include "pmd_test_support.hpp"
#include "testlib/frame_gen.hpp"
#include "testlib/pdu_stream_gen.hpp"

using namespace nvmeddp::pmd;
using namespace nvmeddp::ddp;
using namespace nvmeddp::testlib;
using nvmeddp::pmd_test::key_of;
using nvmeddp::pmd_test::parse_exact;

namespace {

std::vector<uint8_t> nvme_stream(uint64_t seed) {
    StreamOptions o;
    o.pdu_count = 48;
    o.max_data_len = 5000;
    o.data_digest = true;
    o.seed = seed;
    return generate_stream(o).bytes;
}

struct Reassembly {
    std::vector<uint8_t> bytes;
    std::vector<bool> have;
    uint64_t contiguous = 0;  // rcv_nxt as an offset
    size_t frames = 0;
};

// A receiver that keeps the first copy of every byte, and maps sequence numbers to offsets through an
// anchor at rcv_nxt that moves forward as the in-order prefix grows (so any number of wraps is fine).
// Checks each frame against its ground truth on the way.
Reassembly reassemble(const FrameSequence& seq, const FrameGenOptions& o, size_t stream_len,
                      std::span<const uint8_t> stream) {
    Reassembly r;
    r.bytes.assign(stream_len, 0);
    r.have.assign(stream_len, false);
    SeqAnchor anchor{o.first_seq, 0};
    const FlowKey flow = key_of(o.flow);
    for (size_t i = 0; i < seq.frames.size(); ++i) {
        const auto& f = seq.frames[i];
        SCOPED_TRACE("frame " + std::to_string(i));
        const auto p = parse_exact(f.bytes);
        EXPECT_TRUE(p.ok()) << to_string(p.error);
        if (!p.ok()) continue;
        const TcpSegment& s = p.segment;
        EXPECT_EQ(s.flow, flow);
        EXPECT_EQ(s.seq, f.truth.seq);
        EXPECT_EQ(s.payload_len, f.truth.length);
        EXPECT_EQ(s.payload_offset, f.truth.layout.payload_offset);
        const int64_t off = seq_to_offset(s.seq, anchor);
        EXPECT_EQ(off, static_cast<int64_t>(f.truth.stream_offset));
        if (off < 0 || static_cast<uint64_t>(off) + s.payload_len > stream_len) {
            ADD_FAILURE() << "segment outside the stream: " << off;
            continue;
        }
        const bool corrupted = (f.truth.faults & fault::kCorrupted) != 0;
        for (uint32_t j = 0; j < s.payload_len; ++j) {
            const uint8_t b = f.bytes[s.payload_offset + j];
            const auto at = static_cast<size_t>(off) + j;
            if (!corrupted) {
                EXPECT_EQ(b, stream[at]) << "stream offset " << at;
            }
            if (!r.have[at]) {
                r.have[at] = true;
                r.bytes[at] = b;
            }
        }
        while (r.contiguous < stream_len && r.have[r.contiguous]) ++r.contiguous;
        anchor = SeqAnchor{static_cast<uint32_t>(anchor.seq + (r.contiguous - anchor.offset)), r.contiguous};
        ++r.frames;
    }
    return r;
}

size_t count_fault(const FrameSequence& seq, uint8_t bit) {
    size_t n = 0;
    for (const auto& f : seq.frames) n += (f.truth.faults & bit) != 0;
    return n;
}

struct Config {
    const char* name;
    FrameGenOptions options;
};

std::vector<Config> configs(size_t stream_len) {
    std::vector<Config> out;
    FrameGenOptions plain;
    out.push_back({"ipv4 mss 1448", plain});
    FrameGenOptions v6;
    v6.flow = ipv6_flow();
    v6.flow.c_vlan = 300;
    v6.options = OptionMode::Varying;
    v6.mss = 1440;
    out.push_back({"ipv6 vlan varying options", v6});
    FrameGenOptions small;
    small.flow.s_vlan = 5;
    small.flow.c_vlan = 6;
    small.flow.ipv4_option_words = 2;
    small.options = OptionMode::Timestamps;
    small.mss = 536;
    small.random_segment_sizes = true;
    small.segment_seed = 17;
    out.push_back({"ipv4 qinq small random segments", small});
    FrameGenOptions wrap = v6;
    wrap.first_seq = first_seq_wrapping_at(stream_len / 2);
    out.push_back({"ipv6 wrapping mid-stream", wrap});
    return out;
}

struct Plan {
    const char* name;
    FaultPlan plan;
    uint8_t expect;  // fault bits that must occur
};

std::vector<Plan> plans() {
    std::vector<Plan> out;
    out.push_back({"clean", FaultPlan{}, 0});
    FaultPlan reorder;
    reorder.reorder = 0.3;
    out.push_back({"reorder", reorder, fault::kReordered});
    FaultPlan loss;
    loss.loss = 0.2;
    out.push_back({"loss+retransmit", loss, fault::kRetransmit});
    FaultPlan dup;
    dup.duplicate = 0.25;
    out.push_back({"duplicates", dup, fault::kDuplicate});
    FaultPlan reseg;
    reseg.resegment = 0.3;
    out.push_back({"resegmented retransmissions", reseg, fault::kResegmented});
    FaultPlan all;
    all.reorder = 0.2;
    all.loss = 0.1;
    all.duplicate = 0.1;
    all.resegment = 0.2;
    all.max_displacement = 8;
    out.push_back({"everything", all,
                   fault::kReordered | fault::kRetransmit | fault::kDuplicate | fault::kResegmented});
    return out;
}

}  // namespace

TEST(FrameGen, ReassemblyGivesBackTheStreamUnderEveryFaultPlan) {
    for (uint64_t seed = 1; seed <= 3; ++seed) {
        const auto stream = nvme_stream(seed);
        for (const auto& config : configs(stream.size())) {
            for (auto plan : plans()) {
                plan.plan.seed = seed * 1000 + 7;
                SCOPED_TRACE(std::string(config.name) + " / " + plan.name + " / seed " + std::to_string(seed));
                const auto seq = generate_frames(stream, config.options, plan.plan);
                EXPECT_TRUE(seq.missing.empty());
                const auto r = reassemble(seq, config.options, stream.size(), stream);
                EXPECT_EQ(r.contiguous, stream.size());
                EXPECT_TRUE(r.bytes == stream);
                for (uint8_t bit = 1; bit != 0; bit = static_cast<uint8_t>(bit << 1)) {
                    if (plan.expect & bit) {
                        EXPECT_GT(count_fault(seq, bit), 0u) << "fault bit " << int{bit};
                    }
                }
                if (plan.expect == 0) {
                    ASSERT_EQ(seq.frames.size(), seq.segments.size());
                    for (size_t i = 0; i < seq.frames.size(); ++i) {
                        EXPECT_EQ(seq.frames[i].truth.segment, i);
                        EXPECT_EQ(seq.frames[i].truth.faults, 0);
                        EXPECT_EQ(seq.frames[i].truth.stream_offset, seq.segments[i].offset);
                    }
                }
            }
        }
    }
}

TEST(FrameGen, WraparoundReallyHappensMidStream) {
    const auto stream = nvme_stream(4);
    FrameGenOptions o;
    o.first_seq = first_seq_wrapping_at(stream.size() / 2);
    const auto seq = generate_frames(stream, o);
    size_t before = 0;
    size_t after = 0;
    for (const auto& f : seq.frames) (f.truth.seq >= o.first_seq ? before : after) += 1;
    EXPECT_GT(before, 10u);
    EXPECT_GT(after, 10u);
    // Raw comparisons would put the second half first; serial ones do not.
    const uint32_t last = seq.frames.back().truth.seq;
    EXPECT_LT(last, o.first_seq);
    EXPECT_TRUE(seq_lt(o.first_seq, last));
}

TEST(FrameGen, CorruptionChangesExactlyTheChosenByte) {
    const auto stream = nvme_stream(5);
    for (uint64_t target : {uint64_t{0}, uint64_t{12345}, uint64_t{stream.size() - 1}}) {
        FaultPlan plan;
        plan.seed = target + 1;
        plan.reorder = 0.2;
        plan.duplicate = 0.2;
        plan.resegment = 0.2;
        plan.corrupt_offset = target;
        plan.corrupt_xor = 0x81;
        FrameGenOptions o;
        o.first_seq = first_seq_wrapping_at(target);
        const auto seq = generate_frames(stream, o, plan);
        ASSERT_TRUE(seq.corrupted_frame);
        EXPECT_EQ(count_fault(seq, fault::kCorrupted), 1u);
        const auto& bad = seq.frames[*seq.corrupted_frame].truth;
        EXPECT_TRUE(bad.stream_offset <= target && target < bad.stream_offset + bad.length);
        const auto r = reassemble(seq, o, stream.size(), stream);
        ASSERT_EQ(r.bytes.size(), stream.size());
        size_t differing = 0;
        for (size_t i = 0; i < stream.size(); ++i) differing += r.bytes[i] != stream[i];
        EXPECT_EQ(differing, 1u);
        EXPECT_EQ(r.bytes[target], stream[target] ^ 0x81);
        // The corrupted frame is still a valid TCP segment: the damage got past the TCP checksum.
        EXPECT_TRUE(parse_exact(seq.frames[*seq.corrupted_frame].bytes).ok());
    }
}

TEST(FrameGen, LossWithoutRetransmissionLeavesExactlyTheReportedHoles) {
    const auto stream = nvme_stream(6);
    FaultPlan plan;
    plan.seed = 66;
    plan.loss = 0.15;
    plan.retransmit_lost = false;
    plan.reorder = 0.1;
    FrameGenOptions o;
    o.options = OptionMode::Varying;
    const auto seq = generate_frames(stream, o, plan);
    ASSERT_FALSE(seq.missing.empty());
    EXPECT_LT(seq.frames.size(), seq.segments.size());
    const auto r = reassemble(seq, o, stream.size(), stream);
    std::vector<bool> hole(stream.size(), false);
    for (const auto& m : seq.missing) {
        for (uint64_t i = m.offset; i < m.end(); ++i) hole[i] = true;
    }
    for (size_t i = 0; i < stream.size(); ++i) {
        ASSERT_EQ(r.have[i], !hole[i]) << i;
        if (r.have[i]) {
            ASSERT_EQ(r.bytes[i], stream[i]) << i;
        }
    }
    EXPECT_EQ(r.contiguous, seq.missing.front().offset);
}

TEST(FrameGen, ChecksumsAreValid) {
    const auto stream = nvme_stream(7);
    for (const auto& config : configs(stream.size())) {
        SCOPED_TRACE(config.name);
        const auto seq = generate_frames(stream, config.options);
        for (const auto& f : seq.frames) {
            const auto& l = f.truth.layout;
            std::span<const uint8_t> bytes(f.bytes);
            const bool v6 = config.options.flow.ipv6;
            uint32_t pseudo = 0;
            const uint32_t seg_len = static_cast<uint32_t>(l.ip_end - l.l4_offset);
            if (!v6) {
                // The IPv4 header sums to 0xFFFF with its checksum in place.
                ASSERT_EQ(internet_checksum(bytes.subspan(l.l3_offset, l.l4_offset - l.l3_offset)), 0);
                const auto addrs = bytes.subspan(l.l3_offset + 12, 8);
                for (size_t i = 0; i < 8; i += 2) pseudo += static_cast<uint32_t>(addrs[i] << 8 | addrs[i + 1]);
            } else {
                const auto addrs = bytes.subspan(l.l3_offset + 8, 32);
                for (size_t i = 0; i < 32; i += 2) pseudo += static_cast<uint32_t>(addrs[i] << 8 | addrs[i + 1]);
            }
            pseudo += seg_len + 6;
            ASSERT_EQ(internet_checksum(bytes.subspan(l.l4_offset, seg_len), pseudo), 0);
        }
    }
}

TEST(FrameGen, SmallSegmentsArePaddedToTheEthernetMinimum) {
    std::vector<uint8_t> stream(10, 0x77);
    FrameGenOptions o;
    o.mss = 3;
    const auto seq = generate_frames(stream, o);
    ASSERT_EQ(seq.frames.size(), 4u);
    for (const auto& f : seq.frames) {
        EXPECT_EQ(f.bytes.size(), 60u);
        EXPECT_LT(f.truth.layout.ip_end, 60);
        const auto p = parse_exact(f.bytes);
        ASSERT_TRUE(p.ok());
        EXPECT_EQ(p.segment.payload_len, f.truth.length);
    }
}

// cut_at: a segment ends at every cut as well as at the MSS (a sender that writes each PDU by
// itself), with fixed and random segment sizes; the segments still tile the stream.
TEST(FrameGen, SegmentsAlsoEndAtEveryCut) {
    const auto stream = nvme_stream(7);
    for (bool random : {false, true}) {
        SCOPED_TRACE(testing::Message() << "random sizes " << random);
        FrameGenOptions o;
        o.mss = 1000;
        o.random_segment_sizes = random;
        o.cut_at = {24, 48, 1500, 1501, 2999, stream.size() - 1, stream.size() + 5};
        const auto seq = generate_frames(stream, o);
        std::vector<uint64_t> ends;
        uint64_t at = 0;
        for (const auto& r : seq.segments) {
            ASSERT_EQ(r.offset, at);
            ASSERT_GT(r.length, 0u);
            ASSERT_LE(r.length, o.mss);
            at += r.length;
            ends.push_back(at);
        }
        EXPECT_EQ(at, stream.size());
        for (uint64_t c : o.cut_at) {
            if (c >= stream.size()) continue;
            EXPECT_NE(std::find(ends.begin(), ends.end(), c), ends.end()) << "no segment ends at " << c;
        }
    }
}
