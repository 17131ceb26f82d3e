// The fault shim (pmd/fault/) on real ethdev ports: the text form of its rates, and every fault on
// a net_ring port looped back onto itself (what tx queue q sends, rx queue q returns) or on our
// net_nvmeddp NIC (which sets rx checksum flags): what arrives, in which order, how many times, with
// which bytes and flags, the counters, reproducibility from the seed, release of held frames by time
// on empty rx polls and by flush_tx, and no mbuf leaked (held frames included).
#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "dpdk_test_support.hpp"
#include "pmd/fault/fault_rates.hpp"
#include "pmd/fault/fault_shim.hpp"
#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/l4_checksum.hpp"
#include "testlib/frame_gen.hpp"

using namespace nvmeddp;
using namespace nvmeddp::dpdk_test;
using pmd::FaultCounters;
using pmd::FaultRates;
using pmd::FaultShim;
using pmd::FaultShimOptions;

namespace {

// --- the text form -----------------------------------------------------------------------------------

std::string parse_error(const std::string& text) {
    std::string error;
    const auto r = pmd::parse_fault_rates(text, &error);
    EXPECT_FALSE(r.has_value()) << text;
    return error;
}

// --- frames --------------------------------------------------------------------------------------------

constexpr uint32_t kPayload = 100;

uint32_t seq_of_index(size_t i) { return 1000 + static_cast<uint32_t>(i) * kPayload; }

// Frame i of a test: a TCP segment with its own sequence number and payload bytes.
std::vector<uint8_t> tcp_frame(size_t i, bool ipv6 = false, uint32_t payload_len = kPayload) {
    std::vector<uint8_t> payload(payload_len);
    for (size_t k = 0; k < payload.size(); ++k) payload[k] = static_cast<uint8_t>(i * 31 + k * 7 + 1);
    testlib::TcpFields tcp;
    tcp.seq = seq_of_index(i);
    return testlib::build_frame(ipv6 ? testlib::ipv6_flow() : testlib::ipv4_flow(), tcp, payload).bytes;
}

std::vector<std::vector<uint8_t>> tcp_frames(size_t n, bool ipv6 = false) {
    std::vector<std::vector<uint8_t>> frames;
    for (size_t i = 0; i < n; ++i) frames.push_back(tcp_frame(i, ipv6));
    return frames;
}

// An ARP request: not TCP, so never corrupted.
std::vector<uint8_t> arp_frame(uint8_t tag) {
    std::vector<uint8_t> f(60, 0);
    std::memset(f.data(), 0xFF, 6);
    f[6] = 0x02;
    f[11] = tag;
    f[12] = 0x08;
    f[13] = 0x06;
    for (size_t k = 14; k < 42; ++k) f[k] = static_cast<uint8_t>(k + tag);
    return f;
}

pmd::TcpSegment segment_of(const std::vector<uint8_t>& frame) {
    const pmd::FrameParse p = pmd::parse_frame(frame);
    EXPECT_TRUE(p.ok()) << pmd::to_string(p.error);
    return p.segment;
}

bool checksum_ok(const std::vector<uint8_t>& frame) { return pmd::tcp_checksum_ok(frame, segment_of(frame)); }

struct Received {
    std::vector<uint8_t> bytes;
    uint64_t ol_flags = 0;
};

// Sends frames through tx queue q in bursts, each frame as segments of at most `seg` bytes, with
// `flags` in ol_flags. Frames the burst did not send (the shim took them, or the PMD refused) are
// freed as a careful caller does: rte_pktmbuf_free skips the nulls the shim leaves behind.
size_t send(uint16_t port, uint16_t q, const std::vector<std::vector<uint8_t>>& frames, size_t burst = 16,
            size_t seg = 2048, uint64_t flags = 0) {
    size_t sent = 0;
    for (size_t i = 0; i < frames.size(); i += burst) {
        const size_t n = std::min(burst, frames.size() - i);
        rte_mbuf* tx[64];
        for (size_t k = 0; k < n; ++k) {
            tx[k] = to_mbuf(frames[i + k], seg);
            EXPECT_NE(tx[k], nullptr) << "mbuf pool exhausted";
            if (tx[k] == nullptr) return sent;
            tx[k]->ol_flags = flags;
        }
        const uint16_t done = rte_eth_tx_burst(port, q, tx, static_cast<uint16_t>(n));
        for (size_t k = done; k < n; ++k) rte_pktmbuf_free(tx[k]);
        sent += done;
    }
    return sent;
}

// One rx poll of up to `max` frames, copied out and freed.
size_t poll_rx(uint16_t port, uint16_t q, std::vector<Received>& out, uint16_t max = 64) {
    rte_mbuf* rx[256];
    const uint16_t n = rte_eth_rx_burst(port, q, rx, max);
    for (uint16_t k = 0; k < n; ++k) {
        out.push_back({payload_of(rx[k], 0, rx[k]->pkt_len), rx[k]->ol_flags});
        rte_pktmbuf_free(rx[k]);
    }
    return n;
}

// Polls rx queue q (and flushes tx queue q) until the shim holds nothing more and one more poll
// brought nothing, or a second has passed.
std::vector<Received> drain(uint16_t port, uint16_t q, FaultShim& shim, uint16_t max = 64) {
    std::vector<Received> got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (std::chrono::steady_clock::now() < deadline) {
        shim.flush_tx(q);
        const size_t n = poll_rx(port, q, got, max);
        if (n == 0 && shim.rx_counters().held_now == 0 && shim.tx_counters().held_now == 0) break;
    }
    return got;
}

std::vector<uint32_t> seqs_of(const std::vector<Received>& got) {
    std::vector<uint32_t> seqs;
    for (const Received& r : got) seqs.push_back(segment_of(r.bytes).seq);
    return seqs;
}

std::vector<uint32_t> sorted(std::vector<uint32_t> v) {
    std::sort(v.begin(), v.end());
    return v;
}

std::vector<uint32_t> expected_seqs(size_t n) {
    std::vector<uint32_t> v;
    for (size_t i = 0; i < n; ++i) v.push_back(seq_of_index(i));
    return v;
}

std::unique_ptr<FaultShim> attach_shim(uint16_t port, const FaultShimOptions& o, uint16_t queues = 1) {
    std::string error;
    auto shim = FaultShim::attach(port, queues, queues, o, &error);
    EXPECT_NE(shim, nullptr) << error;
    return shim;
}

unsigned in_use() { return rte_mempool_in_use_count(pool()); }

// The ports of these tests, made once for the binary (a process has at most RTE_MAX_ETHPORTS, 32
// here, and the other test files make theirs too) and handed out empty: whatever a failed test left
// in a ring is taken out first. Each test attaches its own shim and destroys it before it ends.
uint16_t clean(uint16_t port, uint16_t queues) {
    if (port == UINT16_MAX) return port;
    for (uint16_t q = 0; q < queues; ++q) {
        rte_mbuf* rx[64];
        for (uint16_t n; (n = rte_eth_rx_burst(port, q, rx, 64)) > 0;) rte_pktmbuf_free_bulk(rx, n);
    }
    return port;
}

uint16_t ring_port() {
    static const uint16_t port = loopback_ring_port("ring_fault1", 1);
    return clean(port, 1);
}

uint16_t ring_port_with_two_queues() {
    static const uint16_t port = loopback_ring_port("ring_fault2", 2);
    return clean(port, 2);
}

uint16_t checksumming_nic() {
    static const uint16_t port = nvmeddp_nic("net_nvmeddp_fault", 1);
    return clean(port, 1);
}

// The payload positions where two frames of equal length differ.
std::vector<size_t> differing_bytes(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
    std::vector<size_t> at;
    EXPECT_EQ(a.size(), b.size());
    for (size_t k = 0; k < std::min(a.size(), b.size()); ++k) {
        if (a[k] != b[k]) at.push_back(k);
    }
    return at;
}

}  // namespace

// === FaultRates text ======================================================================================

TEST(FaultRates, ParsesEveryKey) {
    std::string error;
    const auto r = pmd::parse_fault_rates(
        "drop=0.01,reorder=0.01,dup=0.005,delay=0.01,delay_us=500,depth=4,corrupt=0.001,lie=0.0005", &error);
    ASSERT_TRUE(r.has_value()) << error;
    EXPECT_EQ(r->drop, 0.01);
    EXPECT_EQ(r->reorder, 0.01);
    EXPECT_EQ(r->duplicate, 0.005);
    EXPECT_EQ(r->delay, 0.01);
    EXPECT_EQ(r->delay_us, 500u);
    EXPECT_EQ(r->reorder_depth, 4u);
    EXPECT_EQ(r->corrupt, 0.001);
    EXPECT_EQ(r->lie, 0.0005);
    EXPECT_TRUE(r->any());

    // Empty (or blank) is all off, with the default parameters; spaces around items are fine.
    for (const char* off : {"", "  "}) {
        const auto none = pmd::parse_fault_rates(off, &error);
        ASSERT_TRUE(none.has_value()) << error;
        EXPECT_EQ(*none, FaultRates{});
        EXPECT_FALSE(none->any());
    }
    const auto spaced = pmd::parse_fault_rates(" drop = 1 , lie=0 ", &error);
    ASSERT_TRUE(spaced.has_value()) << error;
    EXPECT_EQ(spaced->drop, 1.0);
    EXPECT_EQ(spaced->lie, 0.0);
    // Parameters alone switch nothing on.
    EXPECT_FALSE(pmd::parse_fault_rates("delay_us=1,depth=9", &error)->any());
}

TEST(FaultRates, PrintsOnlyWhatIsOnAndReadsBackExactly) {
    EXPECT_EQ(pmd::to_string(FaultRates{}), "");
    FaultRates r;
    r.drop = 0.01;
    EXPECT_EQ(pmd::to_string(r), "drop=0.01");
    r.reorder = 0.25;
    r.delay = 1;
    EXPECT_EQ(pmd::to_string(r), "drop=0.01,reorder=0.25,depth=3,delay=1,delay_us=2000");

    std::vector<FaultRates> cases(4);
    cases[0].duplicate = 0.1;  // not exactly representable: the shortest form still reads back equal
    cases[0].corrupt = 1e-7;
    cases[0].lie = 1.0 / 3;
    cases[1].delay_us = 7;       // a parameter that differs from the default, its rate off
    cases[1].reorder_depth = 256;
    cases[2].drop = 1;
    cases[2].reorder = 0.5;
    cases[2].reorder_depth = 1;
    cases[2].delay = 0.125;
    cases[2].delay_us = 0;
    // cases[3]: all off
    for (const FaultRates& c : cases) {
        const std::string text = pmd::to_string(c);
        std::string error;
        const auto back = pmd::parse_fault_rates(text, &error);
        ASSERT_TRUE(back.has_value()) << text << ": " << error;
        EXPECT_EQ(*back, c) << text;
        EXPECT_EQ(pmd::to_string(*back), text);
    }
}

TEST(FaultRates, SaysWhichKeyOrValueIsWrong) {
    struct Case {
        const char* text;
        const char* says;
    };
    const Case cases[] = {
        {"loss=0.1", "unknown key \"loss\""},
        {"drop=0.1,Drop=0.1", "unknown key \"Drop\""},
        {"drop=abc", "drop=abc: not a number"},
        {"drop=0.1x", "drop=0.1x: not a number"},
        {"drop=nan", "drop=nan: not a number"},
        {"dup=inf", "dup=inf: not a number"},
        {"drop=+0.5", "drop=+0.5: not a number"},
        {"drop=1.5", "drop=1.500000: a rate must be in [0, 1]"},
        {"lie=-0.1", "lie=-0.100000: a rate must be in [0, 1]"},
        {"corrupt=", "corrupt: no value"},
        {"delay", "delay: expected key=value"},
        {"drop=0.1,,lie=0.1", "empty item"},
        {"drop=0.1,", "empty item"},
        {",drop=0.1", "empty item"},
        {"drop=0.1,drop=0.2", "drop given twice"},
        {"depth=0", "depth=0: must be in [1, 256]"},
        {"depth=257", "depth=257: must be in [1, 256]"},
        {"depth=1.5", "depth=1.5: not a whole number"},
        {"delay_us=-1", "delay_us=-1: not a whole number"},
        {"delay_us=10000001", "delay_us=10000001: must be in [0, 10000000]"},
        {"delay_us=99999999999999999999999", "delay_us=99999999999999999999999: too large"},
    };
    for (const Case& c : cases) {
        const std::string error = parse_error(c.text);
        EXPECT_NE(error.find(c.says), std::string::npos) << c.text << " -> " << error;
    }
    // The error pointer may be null.
    EXPECT_FALSE(pmd::parse_fault_rates("drop=2", nullptr).has_value());

    // Rates made in code are held to the same bounds.
    FaultRates r;
    EXPECT_EQ(pmd::validate_fault_rates(r), "");
    r.reorder_depth = 0;
    EXPECT_NE(pmd::validate_fault_rates(r).find("depth=0"), std::string::npos);
    r = FaultRates{};
    r.drop = std::nan("");
    EXPECT_NE(pmd::validate_fault_rates(r).find("a rate must be in [0, 1]"), std::string::npos);
}

// === the shim on a port ===================================================================================

TEST(FaultShim, AttachRefusesWhatItCannotDo) {
    REQUIRE_EAL();
    const uint16_t port = ring_port();
    ASSERT_NE(port, UINT16_MAX);
    std::string error;
    FaultShimOptions o;
    EXPECT_EQ(FaultShim::attach(RTE_MAX_ETHPORTS - 1, 1, 1, o, &error), nullptr);
    EXPECT_NE(error.find("does not exist"), std::string::npos) << error;
    EXPECT_EQ(FaultShim::attach(port, 2, 1, o, &error), nullptr);
    EXPECT_NE(error.find("1 rx and 1 tx queues configured"), std::string::npos) << error;
    EXPECT_EQ(FaultShim::attach(port, 1, 3, o, &error), nullptr);
    o.tx.duplicate = 0.5;
    EXPECT_EQ(FaultShim::attach(port, 1, 1, o, &error), nullptr);
    EXPECT_NE(error.find("mempool"), std::string::npos) << error;
    o.tx.duplicate = 0;
    o.rx.reorder_depth = 0;
    EXPECT_EQ(FaultShim::attach(port, 1, 1, o, &error), nullptr);
    EXPECT_NE(error.find("rx depth=0"), std::string::npos) << error;

    // A refused attach left no callback behind: frames pass untouched.
    const unsigned before = in_use();
    EXPECT_EQ(send(port, 0, tcp_frames(3)), 3u);
    std::vector<Received> got;
    EXPECT_EQ(poll_rx(port, 0, got), 3u);
    EXPECT_EQ(in_use(), before);
}

TEST(FaultShim, RatesOffPassEverythingUnchangedInOrder) {
    REQUIRE_EAL();
    const uint16_t port = ring_port();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = in_use();
    {
        FaultShimOptions o;
        o.pool = pool();
        auto shim = attach_shim(port, o);
        ASSERT_NE(shim, nullptr);
        auto frames = tcp_frames(50);
        frames.push_back(arp_frame(1));
        EXPECT_EQ(send(port, 0, frames, 16, 64), frames.size());
        const auto got = drain(port, 0, *shim);
        ASSERT_EQ(got.size(), frames.size());
        for (size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(got[i].bytes, frames[i]) << "frame " << i;
        const FaultCounters rx = shim->rx_counters();
        const FaultCounters tx = shim->tx_counters();
        EXPECT_EQ(rx.frames, frames.size());
        EXPECT_EQ(tx.frames, frames.size());
        for (const FaultCounters& c : {rx, tx}) {
            EXPECT_EQ(c.dropped + c.reordered + c.duplicated + c.delayed + c.corrupted + c.lied + c.held_now, 0u);
        }
    }
    EXPECT_EQ(in_use(), before);
}

TEST(FaultShim, DropAllLetsNothingThroughInEitherDirection) {
    REQUIRE_EAL();
    const uint16_t port = ring_port();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = in_use();
    for (const bool on_tx : {false, true}) {
        SCOPED_TRACE(on_tx ? "tx" : "rx");
        FaultShimOptions o;
        (on_tx ? o.tx : o.rx).drop = 1;
        auto shim = attach_shim(port, o);
        ASSERT_NE(shim, nullptr);
        const size_t sent = send(port, 0, tcp_frames(40));
        EXPECT_EQ(sent, on_tx ? 0u : 40u);  // on tx, rte_eth_tx_burst reports none sent
        EXPECT_TRUE(drain(port, 0, *shim).empty());
        const FaultCounters c = on_tx ? shim->tx_counters() : shim->rx_counters();
        EXPECT_EQ(c.frames, 40u);
        EXPECT_EQ(c.dropped, 40u);
    }
    EXPECT_EQ(in_use(), before);

    // The caller's tx array: what the shim took is null past the count it returned.
    FaultShimOptions o;
    o.tx.drop = 1;
    auto shim = attach_shim(port, o);
    rte_mbuf* tx[2] = {to_mbuf(tcp_frame(0)), to_mbuf(tcp_frame(1))};
    EXPECT_EQ(rte_eth_tx_burst(port, 0, tx, 2), 0);
    EXPECT_EQ(tx[0], nullptr);
    EXPECT_EQ(tx[1], nullptr);
    shim.reset();
    EXPECT_EQ(in_use(), before);
}

TEST(FaultShim, DropsOnEveryQueueAndSumsTheCounters) {
    REQUIRE_EAL();
    const uint16_t port = ring_port_with_two_queues();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = in_use();
    {
        FaultShimOptions o;
        o.rx.drop = 0.5;
        auto shim = attach_shim(port, o, 2);
        ASSERT_NE(shim, nullptr);
        size_t arrived = 0;
        for (uint16_t q = 0; q < 2; ++q) {
            EXPECT_EQ(send(port, q, tcp_frames(100)), 100u);
            arrived += drain(port, q, *shim).size();
        }
        const FaultCounters c = shim->rx_counters();
        EXPECT_EQ(c.frames, 200u);
        EXPECT_EQ(c.dropped, 200u - arrived);
        EXPECT_GT(c.dropped, 60u);   // about 100 of 200
        EXPECT_LT(c.dropped, 140u);
        EXPECT_EQ(shim->tx_counters().frames, 200u);
    }
    EXPECT_EQ(in_use(), before);
}

// Reordering and delay, in each direction: every frame arrives exactly once, in another order.
TEST(FaultShim, ReorderAndDelayDeliverEveryFrameOnceInAnotherOrder) {
    REQUIRE_EAL();
    const uint16_t port = ring_port();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = in_use();
    for (const bool on_tx : {false, true}) {
        for (const bool delay : {false, true}) {
            SCOPED_TRACE(testing::Message() << (on_tx ? "tx " : "rx ") << (delay ? "delay" : "reorder"));
            FaultShimOptions o;
            FaultRates& r = on_tx ? o.tx : o.rx;
            (delay ? r.delay : r.reorder) = 0.2;
            r.reorder_depth = 4;
            r.delay_us = 300;
            o.seed = 11;
            auto shim = attach_shim(port, o);
            ASSERT_NE(shim, nullptr);
            const size_t n = 300;
            // Small bursts with a poll after each, so frames pass held ones across bursts too.
            std::vector<Received> got;
            const auto frames = tcp_frames(n);
            for (size_t i = 0; i < n; i += 8) {
                const std::vector<std::vector<uint8_t>> part(frames.begin() + i, frames.begin() + std::min(n, i + 8));
                send(port, 0, part, 8);
                poll_rx(port, 0, got);
            }
            for (const Received& r2 : drain(port, 0, *shim)) got.push_back(r2);
            const auto seqs = seqs_of(got);
            EXPECT_EQ(sorted(seqs), expected_seqs(n));  // each exactly once
            EXPECT_NE(seqs, expected_seqs(n));          // not in sending order
            const FaultCounters c = on_tx ? shim->tx_counters() : shim->rx_counters();
            EXPECT_EQ(c.frames, n);
            EXPECT_GT(delay ? c.delayed : c.reordered, 20u);
            EXPECT_EQ(delay ? c.reordered : c.delayed, 0u);
            EXPECT_EQ(c.held_now, 0u);
            EXPECT_EQ(c.dropped + c.duplicated, 0u);
            if (!delay && !on_tx) {
                // On rx, with later frames flowing, a reordered frame is passed by 1..depth frames
                // (more only when traffic stalls and delay_us releases it).
                size_t within_depth = 0;
                for (size_t k = 0; k < seqs.size(); ++k) {
                    const size_t sent_at = (seqs[k] - 1000) / kPayload;
                    if (sent_at + 4 >= k) ++within_depth;
                }
                EXPECT_GT(within_depth, seqs.size() * 9 / 10);
            }
        }
    }
    EXPECT_EQ(in_use(), before);
}

TEST(FaultShim, ReorderedFramesComeRightAfterTheFramesThatPassedThem) {
    REQUIRE_EAL();
    const uint16_t port = ring_port();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = in_use();
    {
        // Depth 1: a held frame comes out right after the next frame that is not held, with any held
        // just before it, in sending order. Nothing is released by time within the test.
        FaultShimOptions o;
        o.rx.reorder = 0.5;
        o.rx.reorder_depth = 1;
        o.rx.delay_us = 5'000'000;
        o.seed = 5;
        auto shim = attach_shim(port, o);
        ASSERT_NE(shim, nullptr);
        const size_t n = 64;
        EXPECT_EQ(send(port, 0, tcp_frames(n), 64), n);
        std::vector<Received> got;
        poll_rx(port, 0, got, 128);
        const FaultCounters c = shim->rx_counters();
        EXPECT_EQ(got.size() + c.held_now, n);
        EXPECT_GT(c.reordered, 16u);
        // The frames that went straight through are those sent later than all before them; each
        // is followed by the frames sent between it and the previous such frame.
        const auto seqs = seqs_of(got);
        std::vector<uint32_t> expected;
        uint32_t last_fresh = 0;
        bool first = true;
        for (uint32_t s : seqs) {
            if (!first && s < last_fresh) continue;
            expected.push_back(s);
            for (uint32_t h = first ? seq_of_index(0) : last_fresh + kPayload; h < s; h += kPayload) expected.push_back(h);
            last_fresh = s;
            first = false;
        }
        EXPECT_EQ(seqs, expected);
        // Those still held are the last ones sent, after the last frame that went through.
        EXPECT_EQ(c.held_now, (seq_of_index(n) - last_fresh) / kPayload - 1);
        EXPECT_NE(seqs, sorted(seqs));
    }
    EXPECT_EQ(in_use(), before);  // the frames still held were freed with the shim
}

TEST(FaultShim, DuplicatesGoRightAfterTheOriginal) {
    REQUIRE_EAL();
    const uint16_t port = ring_port();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = in_use();
    {
        // rx, rate 1: every frame twice, the copy (a separate mbuf chain) right after it, as long as
        // the caller's array has room (64 slots, 16 frames per poll).
        FaultShimOptions o;
        o.rx.duplicate = 1;
        o.pool = pool();
        auto shim = attach_shim(port, o);
        ASSERT_NE(shim, nullptr);
        auto frames = tcp_frames(47);
        frames.push_back(arp_frame(2));
        std::vector<Received> got;
        for (size_t i = 0; i < frames.size(); i += 16) {
            EXPECT_EQ(send(port, 0, {frames.begin() + i, frames.begin() + i + 16}, 16, 64), 16u);
            EXPECT_EQ(poll_rx(port, 0, got, 64), 32u);
        }
        ASSERT_EQ(got.size(), 2 * frames.size());
        for (size_t i = 0; i < frames.size(); ++i) {
            EXPECT_EQ(got[2 * i].bytes, frames[i]) << i;
            EXPECT_EQ(got[2 * i + 1].bytes, frames[i]) << i;
        }
        EXPECT_EQ(shim->rx_counters().duplicated, frames.size());

        // With no room in the caller's array there is no copy: a poll for 4 of 4 waiting frames.
        EXPECT_EQ(send(port, 0, tcp_frames(4)), 4u);
        got.clear();
        EXPECT_EQ(poll_rx(port, 0, got, 4), 4u);
        EXPECT_EQ(seqs_of(got), expected_seqs(4));
        EXPECT_EQ(shim->rx_counters().duplicated, frames.size());
    }
    {
        // tx: a copy only fits where a dropped frame left a slot.
        FaultShimOptions o;
        o.tx.duplicate = 1;
        o.pool = pool();
        auto shim = attach_shim(port, o);
        EXPECT_EQ(send(port, 0, tcp_frames(32)), 32u);
        EXPECT_EQ(drain(port, 0, *shim).size(), 32u);
        EXPECT_EQ(shim->tx_counters().duplicated, 0u);
    }
    {
        FaultShimOptions o;
        o.tx.duplicate = 0.5;
        o.tx.drop = 0.5;
        o.pool = pool();
        o.seed = 3;
        auto shim = attach_shim(port, o);
        const size_t n = 200;
        send(port, 0, tcp_frames(n));
        const auto got = drain(port, 0, *shim);
        const FaultCounters c = shim->tx_counters();
        EXPECT_GT(c.duplicated, 10u);
        EXPECT_LT(c.duplicated, c.dropped);  // some copies found no free slot
        EXPECT_EQ(got.size(), n - c.dropped + c.duplicated);
        const auto seqs = seqs_of(got);
        size_t copies = 0;
        for (size_t k = 1; k < seqs.size(); ++k) copies += seqs[k] == seqs[k - 1] ? 1 : 0;
        EXPECT_EQ(copies, c.duplicated);
        for (size_t k = 1; k < seqs.size(); ++k) EXPECT_LE(seqs[k - 1], seqs[k]);  // order kept
    }
    EXPECT_EQ(in_use(), before);
}

// corrupt on rx, after a NIC that checks checksums (net_nvmeddp): the payload byte is changed, the
// TCP checksum no longer matches, and the flag the NIC had set (GOOD) now says BAD.
TEST(FaultShim, CorruptBreaksTheChecksumAndTheRxFlagSaysBad) {
    REQUIRE_EAL();
    const uint16_t port = checksumming_nic();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = in_use();
    {
        FaultShimOptions o;
        o.rx.corrupt = 1;
        auto shim = attach_shim(port, o);
        ASSERT_NE(shim, nullptr);
        std::vector<std::vector<uint8_t>> frames;
        for (size_t i = 0; i < 20; ++i) frames.push_back(tcp_frame(i, i % 2 == 1, i == 4 ? 1 : 900));
        frames.push_back(tcp_frame(20, false, 0));  // a pure ACK: no payload to corrupt
        frames.push_back(arp_frame(3));             // not TCP
        for (size_t seg : {2048u, 128u}) {          // whole, and chains with the payload in later segments
            SCOPED_TRACE(testing::Message() << "segments of " << seg);
            EXPECT_EQ(send(port, 0, frames, 16, seg), frames.size());
            std::vector<Received> got;
            while (poll_rx(port, 0, got) > 0) {
            }
            ASSERT_EQ(got.size(), frames.size());
            for (size_t i = 0; i < 20; ++i) {
                SCOPED_TRACE(testing::Message() << "frame " << i);
                const auto diff = differing_bytes(got[i].bytes, frames[i]);
                ASSERT_EQ(diff.size(), 1u);
                const pmd::TcpSegment seg_info = segment_of(frames[i]);
                EXPECT_GE(diff[0], seg_info.payload_offset);
                EXPECT_LT(diff[0], seg_info.payload_offset + seg_info.payload_len);
                EXPECT_FALSE(checksum_ok(got[i].bytes));
                EXPECT_EQ(got[i].ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_BAD);
            }
            EXPECT_EQ(got[20].bytes, frames[20]);
            EXPECT_EQ(got[20].ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
            EXPECT_EQ(got[21].bytes, frames[21]);
        }
        EXPECT_EQ(shim->rx_counters().corrupted, 40u);
        EXPECT_EQ(shim->rx_counters().frames, 2 * frames.size());
    }
    EXPECT_EQ(in_use(), before);
}

// lie on rx: a payload byte changed and the checksum made valid again (IPv4 and IPv6, single and
// chained mbufs); the NIC's GOOD stays.
TEST(FaultShim, LieChangesAPayloadByteAndKeepsTheChecksumValid) {
    REQUIRE_EAL();
    const uint16_t port = checksumming_nic();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = in_use();
    {
        FaultShimOptions o;
        o.rx.lie = 1;
        o.seed = 99;
        auto shim = attach_shim(port, o);
        ASSERT_NE(shim, nullptr);
        std::vector<std::vector<uint8_t>> frames;
        for (size_t i = 0; i < 30; ++i) frames.push_back(tcp_frame(i, i % 3 == 0, static_cast<uint32_t>(1 + i * 97)));
        frames.push_back(arp_frame(4));
        for (size_t seg : {2048u, 80u, 200u}) {  // 80: all headers (74 for IPv6) in the first
            SCOPED_TRACE(testing::Message() << "segments of " << seg);
            EXPECT_EQ(send(port, 0, frames, 16, seg), frames.size());
            std::vector<Received> got;
            while (poll_rx(port, 0, got) > 0) {
            }
            ASSERT_EQ(got.size(), frames.size());
            for (size_t i = 0; i < 30; ++i) {
                SCOPED_TRACE(testing::Message() << "frame " << i);
                const auto diff = differing_bytes(got[i].bytes, frames[i]);
                const pmd::TcpSegment seg_info = segment_of(frames[i]);
                // The payload byte, and the checksum field (unless the new sum happens to equal the old).
                size_t payload_diffs = 0;
                for (size_t at : diff) {
                    const bool in_payload = at >= seg_info.payload_offset && at < seg_info.payload_offset + seg_info.payload_len;
                    const bool in_checksum = at == seg_info.l4_offset + 16u || at == seg_info.l4_offset + 17u;
                    EXPECT_TRUE(in_payload || in_checksum) << "byte " << at;
                    payload_diffs += in_payload ? 1 : 0;
                }
                EXPECT_EQ(payload_diffs, 1u);
                EXPECT_TRUE(checksum_ok(got[i].bytes));
                EXPECT_EQ(got[i].ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
            }
            EXPECT_EQ(got[30].bytes, frames[30]);
        }
        EXPECT_EQ(shim->rx_counters().lied, 90u);
        EXPECT_EQ(shim->rx_counters().corrupted, 0u);
    }
    EXPECT_EQ(in_use(), before);
}

// On tx a frame may ask the NIC for its TCP checksum. A lie is then just the flipped byte (the NIC
// sums it); a corruption gets its checksum computed before the byte is flipped and the request
// cleared, so no NIC can make it valid.
TEST(FaultShim, TxCorruptAndLieRespectTheChecksumOffloadRequest) {
    REQUIRE_EAL();
    const uint16_t port = ring_port();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = in_use();
    const uint64_t offload = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
    std::vector<std::vector<uint8_t>> frames;
    for (size_t i = 0; i < 10; ++i) {
        frames.push_back(tcp_frame(i));
        const pmd::TcpSegment s = segment_of(frames.back());
        frames.back()[s.l4_offset + 16] = 0xAB;  // what the NIC is to overwrite
        frames.back()[s.l4_offset + 17] = 0xCD;
    }
    for (const bool lie : {false, true}) {
        SCOPED_TRACE(lie ? "lie" : "corrupt");
        FaultShimOptions o;
        (lie ? o.tx.lie : o.tx.corrupt) = 1;
        auto shim = attach_shim(port, o);
        ASSERT_NE(shim, nullptr);
        EXPECT_EQ(send(port, 0, frames, 16, 80, offload), frames.size());
        const auto got = drain(port, 0, *shim);
        ASSERT_EQ(got.size(), frames.size());
        for (size_t i = 0; i < frames.size(); ++i) {
            SCOPED_TRACE(testing::Message() << "frame " << i);
            const pmd::TcpSegment s = segment_of(frames[i]);
            std::vector<size_t> payload_diff;
            for (size_t at : differing_bytes(got[i].bytes, frames[i])) {
                if (at >= s.payload_offset) payload_diff.push_back(at);
            }
            ASSERT_EQ(payload_diff.size(), 1u);
            if (lie) {
                EXPECT_EQ(differing_bytes(got[i].bytes, frames[i]).size(), 1u);  // checksum left to the NIC
                EXPECT_EQ(got[i].ol_flags & RTE_MBUF_F_TX_L4_MASK, RTE_MBUF_F_TX_TCP_CKSUM);
            } else {
                EXPECT_EQ(got[i].ol_flags & RTE_MBUF_F_TX_L4_MASK, RTE_MBUF_F_TX_L4_NO_CKSUM);
                EXPECT_FALSE(checksum_ok(got[i].bytes));
                auto restored = got[i].bytes;  // the checksum is that of the clean bytes
                restored[payload_diff[0]] = frames[i][payload_diff[0]];
                EXPECT_TRUE(checksum_ok(restored));
            }
        }
        EXPECT_EQ(lie ? shim->tx_counters().lied : shim->tx_counters().corrupted, frames.size());
    }
    {
        // A TSO frame is the NIC's to cut and sum: left alone.
        FaultShimOptions o;
        o.tx.corrupt = 1;
        auto shim = attach_shim(port, o);
        EXPECT_EQ(send(port, 0, {tcp_frame(0)}, 1, 2048, offload | RTE_MBUF_F_TX_TCP_SEG), 1u);
        const auto got = drain(port, 0, *shim);
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0].bytes, tcp_frame(0));
        EXPECT_EQ(shim->tx_counters().corrupted, 0u);
    }
    EXPECT_EQ(in_use(), before);
}

namespace {

// Every fault at once, in both directions; what arrives, byte for byte, and the counters.
struct Outcome {
    std::vector<std::vector<uint8_t>> frames;
    FaultCounters rx, tx;
};

Outcome run_mixed(uint16_t port, uint64_t seed) {
    FaultShimOptions o;
    const auto rates = pmd::parse_fault_rates(
        "drop=0.05,reorder=0.1,depth=4,dup=0.05,delay=0.05,delay_us=50000,corrupt=0.05,lie=0.05", nullptr);
    EXPECT_TRUE(rates.has_value());
    o.rx = o.tx = *rates;
    o.seed = seed;
    o.pool = pool();
    auto shim = attach_shim(port, o);
    Outcome out;
    if (shim == nullptr) return out;
    const auto frames = tcp_frames(400);
    std::vector<Received> got;
    for (size_t i = 0; i < frames.size(); i += 10) {
        send(port, 0, std::vector<std::vector<uint8_t>>(frames.begin() + i, frames.begin() + i + 10), 10);
        poll_rx(port, 0, got, 256);
    }
    for (Received& r : drain(port, 0, *shim, 256)) got.push_back(std::move(r));
    for (Received& r : got) out.frames.push_back(std::move(r.bytes));
    out.rx = shim->rx_counters();
    out.tx = shim->tx_counters();
    return out;
}

bool same(const FaultCounters& a, const FaultCounters& b) {
    return a.frames == b.frames && a.dropped == b.dropped && a.reordered == b.reordered &&
           a.duplicated == b.duplicated && a.delayed == b.delayed && a.corrupted == b.corrupted && a.lied == b.lied &&
           a.held_now == b.held_now;
}

}  // namespace

TEST(FaultShim, SameSeedSameRunAndTheCountersAddUp) {
    REQUIRE_EAL();
    const uint16_t port = ring_port();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = in_use();
    // Nothing is released by time while the frames are sent (delay_us is longer than that takes),
    // and every poll has room for all waiting frames and their copies, so the run depends on the
    // seed alone. The order in which the last held frames come out depends on when the polls
    // happen, so what is compared is what each frame became and how often it arrived.
    const auto run_sorted = [&](uint64_t seed) {
        Outcome o = run_mixed(port, seed);
        std::sort(o.frames.begin(), o.frames.end());
        return o;
    };
    const Outcome a = run_sorted(7);
    const Outcome b = run_sorted(7);
    const Outcome c = run_sorted(8);
    EXPECT_EQ(a.frames, b.frames);
    EXPECT_TRUE(same(a.rx, b.rx));
    EXPECT_TRUE(same(a.tx, b.tx));
    EXPECT_NE(a.frames, c.frames);

    // The counters of one run: tx saw 400, rx saw what tx let through; all of it arrived or was
    // dropped on rx; every fault happened.
    EXPECT_EQ(a.tx.frames, 400u);
    EXPECT_EQ(a.rx.frames, a.tx.frames - a.tx.dropped + a.tx.duplicated);
    EXPECT_EQ(a.frames.size(), a.rx.frames - a.rx.dropped + a.rx.duplicated);
    for (const FaultCounters& d : {a.rx, a.tx}) {
        EXPECT_GT(d.dropped, 0u);
        EXPECT_GT(d.reordered, 0u);
        EXPECT_GT(d.delayed, 0u);
        EXPECT_GT(d.corrupted, 0u);
        EXPECT_GT(d.lied, 0u);
        EXPECT_EQ(d.held_now, 0u);
    }
    EXPECT_GT(a.rx.duplicated, 0u);
    // Frames with a bad checksum: those corrupted (a frame corrupted twice may, rarely, be right
    // again; with these rates and seed it is not).
    size_t bad = 0;
    for (const auto& f : a.frames) bad += checksum_ok(f) ? 0 : 1;
    EXPECT_GE(bad, a.rx.corrupted);
    EXPECT_LE(bad, a.rx.corrupted + a.tx.corrupted + a.rx.duplicated + a.tx.duplicated);
    EXPECT_EQ(in_use(), before);
}

// Held rx frames come out on time on polls that find the ring empty: DPDK 22.11 runs rx callbacks
// on every rte_eth_rx_burst, whatever the PMD returned.
TEST(FaultShim, HeldRxFramesComeOutOnEmptyPollsOnceDue) {
    REQUIRE_EAL();
    const uint16_t port = ring_port();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = in_use();
    {
        FaultShimOptions o;
        o.rx.delay = 1;
        o.rx.delay_us = 20'000;
        auto shim = attach_shim(port, o);
        ASSERT_NE(shim, nullptr);
        EXPECT_EQ(send(port, 0, tcp_frames(10)), 10u);
        std::vector<Received> got;
        EXPECT_EQ(poll_rx(port, 0, got), 0u);  // all taken and held; the ring is now empty
        EXPECT_EQ(shim->rx_counters().held_now, 10u);
        EXPECT_EQ(poll_rx(port, 0, got), 0u);  // not due yet
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
        EXPECT_EQ(poll_rx(port, 0, got, 4), 4u);  // due, on an empty ring: as many as the caller has room for
        EXPECT_EQ(poll_rx(port, 0, got), 6u);
        EXPECT_EQ(seqs_of(got), expected_seqs(10));
        EXPECT_EQ(shim->rx_counters().held_now, 0u);
        EXPECT_EQ(shim->rx_counters().delayed, 10u);
    }
    EXPECT_EQ(in_use(), before);
}

TEST(FaultShim, FlushTxSendsHeldFramesOnceDue) {
    REQUIRE_EAL();
    const uint16_t port = ring_port();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = in_use();
    {
        FaultShimOptions o;
        o.tx.delay = 1;
        o.tx.delay_us = 20'000;
        auto shim = attach_shim(port, o);
        ASSERT_NE(shim, nullptr);
        EXPECT_EQ(send(port, 0, tcp_frames(12)), 0u);  // all held: none reported sent
        std::vector<Received> got;
        EXPECT_EQ(poll_rx(port, 0, got), 0u);
        EXPECT_EQ(shim->flush_tx(0), 0u);  // not due yet
        EXPECT_EQ(shim->flush_tx(5), 0u);  // no such queue
        EXPECT_EQ(shim->tx_counters().held_now, 12u);
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
        EXPECT_EQ(shim->flush_tx(0), 12u);
        EXPECT_EQ(shim->tx_counters().held_now, 0u);
        EXPECT_EQ(shim->tx_counters().frames, 12u);  // flushed frames pass the callback uncounted
        EXPECT_EQ(poll_rx(port, 0, got), 12u);
        EXPECT_EQ(seqs_of(got), expected_seqs(12));
        EXPECT_EQ(shim->flush_tx(0), 0u);
    }
    EXPECT_EQ(in_use(), before);
}

TEST(FaultShim, AFullHoldReleasesTheOldestAndDestroyingTheShimFreesTheRest) {
    REQUIRE_EAL();
    const uint16_t port = ring_port();
    ASSERT_NE(port, UINT16_MAX);
    const unsigned before = in_use();
    {
        FaultShimOptions o;
        o.rx.delay = 1;
        o.rx.delay_us = 10'000'000;
        o.tx.delay = 1;
        o.tx.delay_us = 10'000'000;
        auto shim = attach_shim(port, o);
        ASSERT_NE(shim, nullptr);
        const size_t n = 300;  // 256 held at most per queue and direction
        EXPECT_EQ(send(port, 0, tcp_frames(n), 10), n - 256);
        EXPECT_EQ(shim->tx_counters().held_now, 256u);
        std::vector<Received> got;
        for (int polls = 0; polls < 10; ++polls) poll_rx(port, 0, got);
        EXPECT_TRUE(got.empty());  // the 44 released by tx were held again on rx
        EXPECT_EQ(shim->rx_counters().held_now, n - 256);
        EXPECT_EQ(shim->tx_counters().delayed, n);
        EXPECT_EQ(in_use(), before + 256 + (n - 256));
        const std::string summary = shim->summary();
        EXPECT_NE(summary.find("faults rx [delay=1,delay_us=10000000]: frames 44"), std::string::npos) << summary;
        EXPECT_NE(summary.find("faults tx [delay=1,delay_us=10000000]: frames 300"), std::string::npos) << summary;
        EXPECT_NE(summary.find("held 256"), std::string::npos) << summary;
    }
    EXPECT_EQ(in_use(), before);

    FaultShimOptions o;
    o.rx.delay = 1;
    o.rx.delay_us = 10'000'000;
    auto shim = attach_shim(port, o);
    EXPECT_EQ(send(port, 0, tcp_frames(300), 10), 300u);
    std::vector<Received> got;
    for (int polls = 0; polls < 30; ++polls) poll_rx(port, 0, got, 16);  // a poll may return none: all held
    EXPECT_EQ(seqs_of(got), expected_seqs(44));  // the oldest, in order
    EXPECT_EQ(shim->rx_counters().held_now, 256u);
    shim.reset();
    EXPECT_EQ(in_use(), before);
}
