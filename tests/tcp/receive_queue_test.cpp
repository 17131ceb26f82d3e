#include <gtest/gtest.h>

#include <vector>

#include "pmd/dpdk/mbuf_meta.hpp"
#include "tcp/receive_queue.hpp"
#include "tcp_test_support.hpp"

namespace nvmeddp::tcp {
namespace {

// The byte the sender puts at a sequence number: every test's stream is this one, so delivered
// bytes can be checked wherever they came from.
uint8_t truth(uint32_t seq) { return static_cast<uint8_t>(seq * 131u + (seq >> 8) * 7u + 3u); }

std::vector<uint8_t> truth_bytes(uint32_t seq, uint32_t len) {
    std::vector<uint8_t> v(len);
    for (uint32_t i = 0; i < len; ++i) v[i] = truth(seq + i);
    return v;
}

// What deliver() handed up for one segment.
struct Delivered {
    uint32_t seq;
    uint32_t len;
    uint32_t tag;  // the conn_id put into its DDP metadata when it was made
    bool has_meta;
    std::vector<uint8_t> bytes;
};

class ReceiveQueueTest : public testing::Test {
protected:
    void SetUp() override {
        if (tcp_test::eal_error().empty()) in_use_before_ = tcp_test::mbufs_in_use();
    }
    void TearDown() override {
        if (tcp_test::eal_error().empty()) {
            EXPECT_EQ(tcp_test::mbufs_in_use(), in_use_before_) << "mbufs leaked";
        }
    }

    // A segment of the truth stream, as a chain of `chunk`-byte mbufs, whose metadata carries `tag`.
    static RxSegment segment(uint32_t seq, uint32_t len, uint32_t tag, size_t chunk = 2048) {
        rte_mbuf* m = tcp_test::mbuf_of(truth_bytes(seq, len), chunk);
        EXPECT_NE(m, nullptr);
        nvmeddp_pkt_meta meta{};
        meta.conn_id = tag;
        meta.place_seq = seq;
        pmd::MbufMeta::set(m, meta);
        return RxSegment{m, Seq(seq), len};
    }

    static std::vector<Delivered> deliver_all(ReceiveQueue& q) {
        std::vector<Delivered> out;
        q.deliver([&](std::span<RxSegment> segs) {
            for (const RxSegment& s : segs) {
                out.push_back({s.seq.raw(), s.len, pmd::MbufMeta::get(s.m)->conn_id, pmd::MbufMeta::has(s.m),
                               tcp_test::bytes_of(s.m)});
                EXPECT_EQ(s.m->pkt_len, s.len);
            }
        });
        return out;
    }

    // Every delivered segment holds the truth at its sequence numbers, carries metadata, and
    // follows the one before it; returns the tags in order.
    static std::vector<uint32_t> check_stream(const std::vector<Delivered>& d, uint32_t from) {
        std::vector<uint32_t> tags;
        uint32_t at = from;
        for (const Delivered& s : d) {
            EXPECT_EQ(s.seq, at);
            EXPECT_EQ(s.bytes, truth_bytes(s.seq, s.len)) << "segment at " << s.seq;
            EXPECT_TRUE(s.has_meta);
            tags.push_back(s.tag);
            at += s.len;
        }
        return tags;
    }

    unsigned in_use_before_ = 0;
};

using Tags = std::vector<uint32_t>;
using Blocks = std::vector<SackBlock>;

Blocks sack_of(const ReceiveQueue& q, size_t max = 4) {
    Blocks b(max);
    b.resize(q.sack_blocks(b.data(), max));
    return b;
}

SackBlock block(uint32_t l, uint32_t r) { return {Seq(l), Seq(r)}; }

TEST_F(ReceiveQueueTest, InOrderSegmentsGoStraightToTheReadyList) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(8, 8);
    q.reset(Seq(1000));
    for (uint32_t i = 0; i < 3; ++i) {
        const RxInsert r = q.insert(segment(1000 + 100 * i, 100, i + 1));
        EXPECT_TRUE(r.kept);
        EXPECT_EQ(r.in_order_bytes, 100u);
        EXPECT_EQ(r.ooo_bytes, 0u);
        EXPECT_EQ(r.duplicate_bytes, 0u);
    }
    EXPECT_EQ(q.rcv_nxt(), Seq(1300));
    EXPECT_EQ(q.ready_count(), 3u);
    EXPECT_EQ(q.ready_bytes(), 300u);
    EXPECT_EQ(q.ooo_segments(), 0u);
    EXPECT_EQ(q.ooo_end(), Seq(1300));
    EXPECT_EQ(check_stream(deliver_all(q), 1000), (Tags{1, 2, 3}));
    EXPECT_EQ(q.ready_count(), 0u);
    EXPECT_EQ(q.ready_bytes(), 0u);
    EXPECT_EQ(q.deliver([](std::span<RxSegment>) { ADD_FAILURE() << "called with nothing ready"; }), 0u);
}

TEST_F(ReceiveQueueTest, OutOfOrderSegmentsWaitUntilTheHoleIsFilled) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(8, 8);
    q.reset(Seq(0));
    RxInsert r = q.insert(segment(200, 100, 3));
    EXPECT_TRUE(r.kept);
    EXPECT_EQ(r.ooo_bytes, 100u);
    EXPECT_EQ(r.in_order_bytes, 0u);
    r = q.insert(segment(100, 100, 2));
    EXPECT_EQ(r.ooo_bytes, 100u);
    EXPECT_EQ(q.rcv_nxt(), Seq(0));
    EXPECT_EQ(q.ooo_segments(), 2u);
    EXPECT_EQ(q.ooo_bytes(), 200u);
    EXPECT_EQ(q.ooo_end(), Seq(300));
    EXPECT_EQ(q.ready_count(), 0u);
    EXPECT_EQ(sack_of(q), (Blocks{block(100, 300)}));
    r = q.insert(segment(0, 100, 1));
    EXPECT_EQ(r.in_order_bytes, 300u);
    EXPECT_EQ(r.duplicate_bytes, 0u);
    EXPECT_EQ(q.rcv_nxt(), Seq(300));
    EXPECT_EQ(q.ooo_segments(), 0u);
    EXPECT_EQ(q.ooo_bytes(), 0u);
    EXPECT_EQ(q.ooo_end(), Seq(300));
    EXPECT_TRUE(sack_of(q).empty());
    EXPECT_EQ(check_stream(deliver_all(q), 0), (Tags{1, 2, 3}));
}

TEST_F(ReceiveQueueTest, DuplicatesAreFreedOrTrimmed) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(8, 8);
    q.reset(Seq(0));
    q.insert(segment(0, 100, 1));
    // Wholly before rcv_nxt.
    RxInsert r = q.insert(segment(20, 50, 2));
    EXPECT_FALSE(r.kept);
    EXPECT_FALSE(r.no_room);
    EXPECT_EQ(r.duplicate_bytes, 50u);
    // The same out-of-order segment twice.
    EXPECT_TRUE(q.insert(segment(300, 100, 3)).kept);
    r = q.insert(segment(300, 100, 4));
    EXPECT_FALSE(r.kept);
    EXPECT_EQ(r.duplicate_bytes, 100u);
    EXPECT_EQ(r.ooo_bytes, 0u);
    // Inside a queued segment.
    r = q.insert(segment(320, 30, 5));
    EXPECT_FALSE(r.kept);
    EXPECT_EQ(r.duplicate_bytes, 30u);
    EXPECT_EQ(q.ooo_segments(), 1u);
    // Reaching back before rcv_nxt: trimmed, its metadata still on it.
    r = q.insert(segment(60, 140, 6));
    EXPECT_TRUE(r.kept);
    EXPECT_EQ(r.duplicate_bytes, 40u);
    EXPECT_EQ(r.in_order_bytes, 100u);
    EXPECT_EQ(q.rcv_nxt(), Seq(200));
    const auto d = deliver_all(q);
    EXPECT_EQ(check_stream(d, 0), (Tags{1, 6}));
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[1].len, 100u);
    // An empty segment counts nothing and is freed.
    r = q.insert(segment(200, 0, 7));
    EXPECT_FALSE(r.kept);
    EXPECT_EQ(r.duplicate_bytes, 0u);
    EXPECT_EQ(q.ready_count(), 0u);
}

TEST_F(ReceiveQueueTest, PartialOverlapsAtFrontAndBackKeepBothCopies) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(8, 8);
    q.reset(Seq(0));
    q.insert(segment(100, 100, 2));
    RxInsert r = q.insert(segment(50, 100, 1));  // over the queued one's front
    EXPECT_TRUE(r.kept);
    EXPECT_EQ(r.ooo_bytes, 50u);
    EXPECT_EQ(r.duplicate_bytes, 50u);
    r = q.insert(segment(180, 80, 3));  // over its back
    EXPECT_TRUE(r.kept);
    EXPECT_EQ(r.ooo_bytes, 60u);
    EXPECT_EQ(r.duplicate_bytes, 20u);
    EXPECT_EQ(q.ooo_segments(), 3u);
    EXPECT_EQ(q.ooo_bytes(), 210u);
    EXPECT_EQ(q.ooo_end(), Seq(260));
    EXPECT_EQ(sack_of(q), (Blocks{block(50, 260)}));
    // Filling the hole with a segment that overlaps the first queued one too.
    r = q.insert(segment(0, 70, 0));
    EXPECT_EQ(r.in_order_bytes, 260u);
    EXPECT_EQ(r.duplicate_bytes, 20u);
    const auto d = deliver_all(q);
    EXPECT_EQ(check_stream(d, 0), (Tags{0, 1, 2, 3}));
    ASSERT_EQ(d.size(), 4u);
    EXPECT_EQ(d[1].len, 80u);  // [70, 150)
    EXPECT_EQ(d[2].len, 50u);  // [150, 200)
    EXPECT_EQ(d[3].len, 60u);  // [200, 260)
}

TEST_F(ReceiveQueueTest, ANewCopyReplacesTheQueuedSegmentsItCovers) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(8, 8);
    q.reset(Seq(0));
    q.insert(segment(100, 50, 1));
    q.insert(segment(160, 10, 2));
    q.insert(segment(300, 10, 3));
    const unsigned held = tcp_test::mbufs_in_use();
    const RxInsert r = q.insert(segment(90, 110, 4));
    EXPECT_TRUE(r.kept);
    EXPECT_EQ(r.ooo_bytes, 50u);
    EXPECT_EQ(r.duplicate_bytes, 60u);
    EXPECT_EQ(q.ooo_segments(), 2u);
    EXPECT_EQ(tcp_test::mbufs_in_use(), held - 1);  // two freed, one taken
    EXPECT_EQ(q.ooo_bytes(), 120u);
    q.insert(segment(0, 90, 0));
    q.insert(segment(200, 100, 5));
    EXPECT_EQ(q.rcv_nxt(), Seq(310));
    EXPECT_EQ(check_stream(deliver_all(q), 0), (Tags{0, 4, 5, 3}));
}

TEST_F(ReceiveQueueTest, ASegmentCoveredByQueuedNeighboursTogetherIsADuplicate) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(8, 8);
    q.reset(Seq(0));
    q.insert(segment(100, 100, 1));
    q.insert(segment(150, 100, 2));
    const RxInsert r = q.insert(segment(120, 110, 3));
    EXPECT_FALSE(r.kept);
    EXPECT_EQ(r.duplicate_bytes, 110u);
    EXPECT_EQ(q.ooo_segments(), 2u);
    EXPECT_EQ(q.ooo_bytes(), 150u);
}

TEST_F(ReceiveQueueTest, WorksAcrossSequenceWraparound) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(8, 8);
    const uint32_t start = 0xFFFFFF00u;
    q.reset(Seq(start));
    q.insert(segment(0x50, 0x50, 3));          // after the wrap
    q.insert(segment(0xFFFFFFC0u, 0x60, 2));   // across it: [..C0, 0x20)
    EXPECT_EQ(q.ooo_segments(), 2u);
    EXPECT_EQ(q.ooo_bytes(), 0xB0u);
    EXPECT_EQ(q.ooo_end(), Seq(0xA0));
    EXPECT_EQ(sack_of(q), (Blocks{block(0xFFFFFFC0u, 0x20), block(0x50, 0xA0)}));
    RxInsert r = q.insert(segment(0x10, 0x40, 4));  // joins the two runs
    EXPECT_EQ(r.ooo_bytes, 0x30u);
    EXPECT_EQ(r.duplicate_bytes, 0x10u);
    EXPECT_EQ(sack_of(q), (Blocks{block(0xFFFFFFC0u, 0xA0)}));
    r = q.insert(segment(start, 0xC0, 1));
    EXPECT_EQ(r.in_order_bytes, 0x1A0u);
    EXPECT_EQ(q.rcv_nxt(), Seq(0xA0));
    EXPECT_EQ(check_stream(deliver_all(q), start), (Tags{1, 2, 4, 3}));
    // Old data from before the wrap is a duplicate, not something far ahead.
    r = q.insert(segment(0xFFFFFFF0u, 0x20, 5));
    EXPECT_FALSE(r.kept);
    EXPECT_EQ(r.duplicate_bytes, 0x20u);
}

TEST_F(ReceiveQueueTest, TrimsChainsAcrossSegmentBoundariesKeepingTheMetadata) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(8, 8);
    q.reset(Seq(0));
    q.insert(segment(0, 250, 1));
    // A retransmission as a chain of five 100-byte mbufs whose first 250 bytes are old.
    const unsigned before = tcp_test::mbufs_in_use();
    RxInsert r = q.insert(segment(0, 500, 2, 100));
    EXPECT_EQ(r.duplicate_bytes, 250u);
    EXPECT_EQ(r.in_order_bytes, 250u);
    EXPECT_EQ(tcp_test::mbufs_in_use(), before + 4);  // head kept (empty), the second freed, the third cut
    // A queued chain trimmed when it becomes in order.
    q.insert(segment(600, 400, 4, 64));
    q.insert(segment(500, 230, 3));
    EXPECT_EQ(q.rcv_nxt(), Seq(1000));
    std::vector<uint16_t> nb_segs;
    q.deliver([&](std::span<RxSegment> segs) {
        for (const RxSegment& s : segs) nb_segs.push_back(s.m->nb_segs);
    });
    // [600, 1000) in seven 64-byte mbufs, cut by 130: empty head, the second freed, five left after it.
    EXPECT_EQ(nb_segs, (std::vector<uint16_t>{1, 4, 1, 6}));
    q.insert(segment(1000, 10, 5));
    q.insert(segment(900, 300, 6, 32));
    const auto d = deliver_all(q);
    EXPECT_EQ(check_stream(d, 1000), (Tags{5, 6}));
}

TEST_F(ReceiveQueueTest, TrimmedChainsDeliverTheRightBytes) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(8, 8);
    q.reset(Seq(0));
    q.insert(segment(0, 250, 1));
    q.insert(segment(0, 500, 2, 100));
    q.insert(segment(600, 400, 4, 64));
    q.insert(segment(500, 230, 3));
    EXPECT_EQ(check_stream(deliver_all(q), 0), (Tags{1, 2, 3, 4}));
}

TEST_F(ReceiveQueueTest, SackBlocksMergeRunsAndComeMostRecentFirst) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(16, 8);
    q.reset(Seq(0));
    q.insert(segment(100, 100, 1));
    q.insert(segment(300, 100, 2));
    q.insert(segment(500, 100, 3));
    q.insert(segment(700, 100, 4));
    q.insert(segment(900, 100, 5));
    EXPECT_EQ(sack_of(q), (Blocks{block(900, 1000), block(700, 800), block(500, 600), block(300, 400)}));
    EXPECT_EQ(sack_of(q, 2), (Blocks{block(900, 1000), block(700, 800)}));
    q.insert(segment(400, 50, 6));  // touches the run at 300: one block, now the newest
    EXPECT_EQ(sack_of(q), (Blocks{block(300, 450), block(900, 1000), block(700, 800), block(500, 600)}));
    q.insert(segment(200, 100, 7));  // joins 100..200 with 300..450
    EXPECT_EQ(sack_of(q), (Blocks{block(100, 450), block(900, 1000), block(700, 800), block(500, 600)}));
    q.insert(segment(520, 10, 8));  // a duplicate is not queued: the order stays
    EXPECT_EQ(sack_of(q, 1), (Blocks{block(100, 450)}));
    EXPECT_EQ(q.sack_blocks(nullptr, 0), 0u);
}

TEST_F(ReceiveQueueTest, AFullOutOfOrderQueuePrunesFromTheEnd) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(3, 8);
    q.reset(Seq(0));
    q.insert(segment(100, 10, 1));
    q.insert(segment(200, 10, 2));
    q.insert(segment(300, 10, 3));
    RxInsert r = q.insert(segment(400, 10, 4));  // after everything: dropped
    EXPECT_FALSE(r.kept);
    EXPECT_TRUE(r.no_room);
    EXPECT_EQ(q.ooo_segments(), 3u);
    EXPECT_EQ(q.ooo_end(), Seq(310));
    r = q.insert(segment(150, 10, 5));  // before the last: the last goes
    EXPECT_TRUE(r.kept);
    EXPECT_FALSE(r.no_room);
    EXPECT_EQ(q.ooo_segments(), 3u);
    EXPECT_EQ(q.ooo_end(), Seq(210));
    EXPECT_EQ(q.ooo_bytes(), 30u);
    r = q.insert(segment(200, 20, 6));  // replaces a queued one: needs no room
    EXPECT_TRUE(r.kept);
    EXPECT_EQ(q.ooo_segments(), 3u);
    EXPECT_EQ(q.ooo_end(), Seq(220));
    r = q.insert(segment(0, 100, 0));  // in order: no room needed there
    EXPECT_EQ(r.in_order_bytes, 110u);
    EXPECT_EQ(q.ooo_segments(), 2u);
    EXPECT_EQ(check_stream(deliver_all(q), 0), (Tags{0, 1}));
    ReceiveQueue none(0, 8);
    none.reset(Seq(0));
    r = none.insert(segment(10, 10, 1));
    EXPECT_TRUE(r.no_room);
}

// With a reserve, the out-of-order queue holds kInlineSegments itself, borrows a queue sized for
// the window beyond that (the entries move into it, in order), and gives it back once what waits
// fits in half the inline entries: the stream comes out whole either way.
TEST_F(ReceiveQueueTest, AQueueBorrowsFromTheReserveBeyondItsInlineEntriesAndGivesItBack) {
    REQUIRE_TCP_EAL();
    constexpr uint32_t kInline = ReceiveQueue::kInlineSegments;
    OutOfOrderReserve reserve(1, 64);
    ReceiveQueue q(64, 8, &reserve);
    q.reset(Seq(0));
    // Segments 1..kInline out of order (a hole at 0..100), newest last: no loan yet.
    for (uint32_t i = 1; i <= kInline; ++i) EXPECT_TRUE(q.insert(segment(i * 100, 100, i)).kept);
    EXPECT_FALSE(q.borrowing());
    EXPECT_EQ(reserve.stats().lent, 0u);
    // One more: borrowed, nothing pruned.
    const RxInsert r = q.insert(segment((kInline + 1) * 100, 100, kInline + 1));
    EXPECT_TRUE(r.kept);
    EXPECT_FALSE(r.no_room);
    EXPECT_TRUE(q.borrowing());
    EXPECT_EQ(reserve.stats().lent, 1u);
    EXPECT_EQ(reserve.stats().loans, 1u);
    EXPECT_EQ(q.ooo_segments(), kInline + 1);
    EXPECT_EQ(q.ooo_bytes(), (kInline + 1) * 100u);
    EXPECT_EQ(sack_of(q, 1), (Blocks{block(100, (kInline + 2) * 100)}));
    // The hole filled: the ready list (8) takes what it can, the rest waits parked and still counts.
    EXPECT_EQ(q.insert(segment(0, 100, 0)).in_order_bytes, 800u);
    // Two wait, parked: few enough for the inline entries, so they move back and the loan returns.
    EXPECT_EQ(q.ooo_segments(), 2u);
    EXPECT_FALSE(q.borrowing());
    EXPECT_EQ(reserve.stats().lent, 0u);
    std::vector<Delivered> got = deliver_all(q);  // makes room: the two move up
    EXPECT_EQ(q.ooo_segments(), 0u);
    for (const Delivered& d : deliver_all(q)) got.push_back(d);
    Tags want;
    for (uint32_t i = 0; i <= kInline + 1; ++i) want.push_back(i);
    EXPECT_EQ(check_stream(got, 0), want);
    // Inline again: the next hole queues there.
    EXPECT_TRUE(q.insert(segment(2000, 100, 20)).kept);
    EXPECT_FALSE(q.borrowing());
    EXPECT_EQ(reserve.stats().most_lent, 1u);
    EXPECT_EQ(reserve.stats().refused, 0u);
}

// The loan taken by a segment landing between queued ones (the entries shift inside the borrowed
// queue), kept while more than half the inline entries wait (so a count moving by one does not
// borrow and give back each time), and given back by deliver() as parked segments move up.
TEST_F(ReceiveQueueTest, ALoanIsKeptUntilWhatWaitsFitsHalfTheInlineEntries) {
    REQUIRE_TCP_EAL();
    static_assert(ReceiveQueue::kInlineSegments == 8, "the segment counts below assume 8");
    OutOfOrderReserve reserve(1, 64);
    ReceiveQueue q(64, 2, &reserve);
    q.reset(Seq(0));
    for (const uint32_t i : {2u, 3u, 4u, 6u, 7u, 8u, 9u, 10u}) EXPECT_TRUE(q.insert(segment(i * 100, 100, i)).kept);
    EXPECT_FALSE(q.borrowing());
    EXPECT_TRUE(q.insert(segment(500, 100, 5)).kept);  // into the gap: borrows
    EXPECT_TRUE(q.borrowing());
    EXPECT_EQ(sack_of(q), (Blocks{block(200, 1100)}));
    // The hole filled: the ready list (2) takes 0..300, eight wait parked: the loan stays.
    EXPECT_EQ(q.insert(segment(0, 200, 0)).in_order_bytes, 300u);
    EXPECT_EQ(q.ooo_segments(), 8u);
    EXPECT_TRUE(q.borrowing());
    std::vector<Delivered> got = deliver_all(q);  // two move up: six wait
    EXPECT_EQ(q.ooo_segments(), 6u);
    EXPECT_TRUE(q.borrowing()) << "more than half the inline entries still wait";
    for (const Delivered& d : deliver_all(q)) got.push_back(d);  // four wait: given back
    EXPECT_EQ(q.ooo_segments(), 4u);
    EXPECT_FALSE(q.borrowing());
    EXPECT_EQ(reserve.stats().lent, 0u);
    while (q.ready_count() > 0) {
        for (const Delivered& d : deliver_all(q)) got.push_back(d);
    }
    EXPECT_EQ(check_stream(got, 0), (Tags{0, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
    EXPECT_EQ(reserve.stats().loans, 1u);
}

// Every queue of the reserve lent: a queue's inline entries are its capacity (pruned from the end,
// as a full queue is), and it borrows once one is given back; nothing wrong is ever delivered.
TEST_F(ReceiveQueueTest, WithTheReserveLentAQueueKeepsWhatItsInlineEntriesHold) {
    REQUIRE_TCP_EAL();
    constexpr uint32_t kInline = ReceiveQueue::kInlineSegments;
    OutOfOrderReserve reserve(1, 64);
    ReceiveQueue a(64, 64, &reserve), b(64, 64, &reserve);
    a.reset(Seq(0));
    b.reset(Seq(0));
    for (uint32_t i = 1; i <= kInline + 1; ++i) a.insert(segment(i * 100, 100, i));
    ASSERT_TRUE(a.borrowing());
    // b: kInline segments with holes between them, then one after them all: no room.
    for (uint32_t i = 1; i <= kInline; ++i) EXPECT_TRUE(b.insert(segment(i * 200, 100, i)).kept);
    RxInsert r = b.insert(segment((kInline + 1) * 200, 100, kInline + 1));
    EXPECT_TRUE(r.no_room);
    EXPECT_FALSE(r.kept);
    EXPECT_FALSE(b.borrowing());
    EXPECT_EQ(reserve.stats().refused, 1u);
    r = b.insert(segment(350, 10, 50));  // in a hole: kept, the highest pruned
    EXPECT_TRUE(r.kept);
    EXPECT_EQ(b.ooo_segments(), kInline);
    EXPECT_EQ(b.ooo_end(), Seq((kInline - 1) * 200 + 100));
    EXPECT_EQ(reserve.stats().refused, 2u);
    // a's hole filled and delivered: its loan comes back, and b can borrow it.
    a.insert(segment(0, 100, 0));
    EXPECT_EQ(check_stream(deliver_all(a), 0).size(), kInline + 2);
    EXPECT_FALSE(a.borrowing());
    EXPECT_TRUE(b.insert(segment(kInline * 200, 100, kInline)).kept);
    EXPECT_TRUE(b.borrowing());
    EXPECT_EQ(b.ooo_segments(), kInline + 1);
    // The sender's retransmission covers everything: the right bytes come out, the loan goes back.
    EXPECT_EQ(b.insert(segment(0, kInline * 200 + 100, 99)).in_order_bytes, kInline * 200 + 100);
    EXPECT_EQ(check_stream(deliver_all(b), 0), (Tags{99}));
    EXPECT_FALSE(b.borrowing());
    EXPECT_EQ(reserve.stats().lent, 0u);
    EXPECT_EQ(reserve.stats().most_lent, 1u);
    // drop_out_of_order and destruction give a loan back too.
    for (uint32_t i = 1; i <= kInline + 1; ++i) a.insert(segment(5000 + i * 100, 100, i));
    EXPECT_TRUE(a.borrowing());
    a.drop_out_of_order();
    EXPECT_EQ(reserve.stats().lent, 0u);
    {
        ReceiveQueue c(64, 8, &reserve);
        c.reset(Seq(0));
        for (uint32_t i = 1; i <= kInline + 1; ++i) c.insert(segment(i * 100, 100, i));
        EXPECT_EQ(reserve.stats().lent, 1u);
    }
    EXPECT_EQ(reserve.stats().lent, 0u);
}

// A full ready list loses nothing: in-order segments park in the out-of-order queue (reported as
// parked, not out of order, and never as SACK blocks) and move into the ready list as deliver()
// makes room, with their own mbufs and metadata.
TEST_F(ReceiveQueueTest, AFullReadyListParksInOrderDataUntilDeliverMakesRoom) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(8, 2);
    q.reset(Seq(0));
    q.insert(segment(0, 100, 1));
    q.insert(segment(100, 100, 2));
    RxInsert r = q.insert(segment(200, 100, 3));
    EXPECT_TRUE(r.kept);
    EXPECT_FALSE(r.no_room);
    EXPECT_EQ(r.parked_bytes, 100u);
    EXPECT_EQ(r.in_order_bytes, 0u);
    EXPECT_EQ(r.ooo_bytes, 0u);
    EXPECT_EQ(q.rcv_nxt(), Seq(200));
    EXPECT_EQ(q.ooo_segments(), 1u);
    EXPECT_TRUE(sack_of(q).empty()) << "not beyond rcv_nxt: no SACK block";
    // A copy reaching back before rcv_nxt is trimmed to it; here it adds nothing.
    r = q.insert(segment(150, 100, 33));
    EXPECT_FALSE(r.kept);
    EXPECT_EQ(r.duplicate_bytes, 100u);
    EXPECT_EQ(r.parked_bytes, 0u);
    // One that reaches past the parked one parks its new bytes only.
    r = q.insert(segment(250, 100, 4));
    EXPECT_TRUE(r.kept);
    EXPECT_EQ(r.parked_bytes, 50u);
    EXPECT_EQ(r.duplicate_bytes, 50u);
    q.insert(segment(500, 100, 6));
    EXPECT_EQ(sack_of(q), (Blocks{block(500, 600)}));
    EXPECT_EQ(check_stream(deliver_all(q), 0), (Tags{1, 2}));
    // deliver() moved the parked two into the ready list: rcv_nxt advances only now.
    EXPECT_EQ(q.rcv_nxt(), Seq(350));
    EXPECT_EQ(q.ready_count(), 2u);
    EXPECT_EQ(q.ooo_segments(), 1u);
    EXPECT_EQ(q.ooo_bytes(), 100u);
    const auto d = deliver_all(q);
    EXPECT_EQ(check_stream(d, 200), (Tags{3, 4}));
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[1].len, 50u) << "the second copy trimmed to where the first ends";
    r = q.insert(segment(350, 150, 5));
    EXPECT_EQ(r.in_order_bytes, 250u);
    EXPECT_EQ(check_stream(deliver_all(q), 350), (Tags{5, 6}));
}

// A hole fills and three queued segments become in order at once: two fit the ready list, the third
// waits in the queue (no SACK block for it) and follows at the next delivery, in order.
TEST_F(ReceiveQueueTest, SegmentsThatBecomeInOrderAtOnceWaitForRoomInOrder) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(8, 2);
    q.reset(Seq(200));
    q.insert(segment(400, 100, 5));
    q.insert(segment(300, 100, 4));
    const RxInsert r = q.insert(segment(200, 100, 3));
    EXPECT_EQ(r.in_order_bytes, 200u);
    EXPECT_EQ(q.rcv_nxt(), Seq(400));
    EXPECT_EQ(q.ooo_segments(), 1u);
    EXPECT_TRUE(sack_of(q).empty()) << "not beyond rcv_nxt: no SACK block";
    q.insert(segment(600, 100, 7));
    EXPECT_EQ(sack_of(q), (Blocks{block(600, 700)}));
    EXPECT_EQ(check_stream(deliver_all(q), 200), (Tags{3, 4}));
    EXPECT_EQ(q.rcv_nxt(), Seq(500)) << "deliver() moved the waiting one into the ready list";
    EXPECT_EQ(q.ready_count(), 1u);
    EXPECT_EQ(q.ooo_segments(), 1u);
    EXPECT_EQ(check_stream(deliver_all(q), 400), (Tags{5}));
    q.drop_out_of_order();
}

TEST_F(ReceiveQueueTest, AQueuedSegmentOvertakenWhileTheReadyListIsFullIsFreed) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(8, 2);
    q.reset(Seq(0));
    q.insert(segment(150, 10, 3));
    q.insert(segment(0, 100, 1));
    const RxInsert r = q.insert(segment(100, 100, 2));  // fills the ready list and covers the queued one
    EXPECT_EQ(r.in_order_bytes, 100u);
    EXPECT_EQ(q.ready_count(), 2u);
    EXPECT_EQ(q.ooo_segments(), 0u);
    EXPECT_EQ(q.ooo_bytes(), 0u);
    EXPECT_EQ(q.ooo_end(), Seq(200));
    EXPECT_EQ(check_stream(deliver_all(q), 0), (Tags{1, 2}));
}

TEST_F(ReceiveQueueTest, DropOutOfOrderFreesTheQueue) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(8, 8);
    q.reset(Seq(0));
    q.insert(segment(0, 10, 1));
    const unsigned held = tcp_test::mbufs_in_use();
    q.insert(segment(100, 10, 2));
    q.insert(segment(200, 1000, 3, 300));
    q.drop_out_of_order();
    EXPECT_EQ(tcp_test::mbufs_in_use(), held);
    EXPECT_EQ(q.ooo_segments(), 0u);
    EXPECT_EQ(q.ooo_bytes(), 0u);
    EXPECT_EQ(q.ooo_end(), Seq(10));
    EXPECT_TRUE(sack_of(q).empty());
    EXPECT_EQ(q.ready_count(), 1u);
    // The queue goes on working.
    q.insert(segment(20, 10, 4));
    q.insert(segment(10, 10, 5));
    EXPECT_EQ(check_stream(deliver_all(q), 0), (Tags{1, 5, 4}));
}

TEST_F(ReceiveQueueTest, DeliverHandsOwnershipToTheCallbackWhenAsked) {
    REQUIRE_TCP_EAL();
    ReceiveQueue q(8, 3);
    q.reset(Seq(0));
    q.insert(segment(0, 10, 1));
    q.insert(segment(10, 10, 2));
    EXPECT_EQ(q.deliver([](std::span<RxSegment>) {}), 2u);  // freed, not taken
    EXPECT_EQ(tcp_test::mbufs_in_use(), in_use_before_);
    q.insert(segment(20, 10, 3));
    q.insert(segment(30, 10, 4));
    q.insert(segment(40, 10, 5));  // fills the list of three after a delivery
    std::vector<rte_mbuf*> taken;
    std::vector<uint32_t> seqs;
    const uint32_t n = q.deliver([&](std::span<RxSegment> segs) {
        for (RxSegment& s : segs) {
            seqs.push_back(s.seq.raw());
            if (pmd::MbufMeta::get(s.m)->conn_id % 2 == 0) {
                taken.push_back(s.m);
                s.m = nullptr;
            }
        }
    });
    EXPECT_EQ(n, 3u);
    EXPECT_EQ(seqs, (std::vector<uint32_t>{20, 30, 40}));
    ASSERT_EQ(taken.size(), 1u);
    EXPECT_EQ(tcp_test::mbufs_in_use(), in_use_before_ + 1);
    EXPECT_EQ(tcp_test::bytes_of(taken[0]), truth_bytes(30, 10));
    EXPECT_EQ(pmd::MbufMeta::get(taken[0])->place_seq, 30u);
    rte_pktmbuf_free(taken[0]);
}

TEST_F(ReceiveQueueTest, ResetAndDestructionFreeEverything) {
    REQUIRE_TCP_EAL();
    {
        ReceiveQueue q(8, 8);
        q.reset(Seq(5));
        q.insert(segment(5, 10, 1));
        q.insert(segment(50, 10, 2, 4));
        EXPECT_GT(tcp_test::mbufs_in_use(), in_use_before_);
        q.reset(Seq(77));
        EXPECT_EQ(tcp_test::mbufs_in_use(), in_use_before_);
        EXPECT_EQ(q.rcv_nxt(), Seq(77));
        EXPECT_EQ(q.ready_count(), 0u);
        EXPECT_EQ(q.ooo_segments(), 0u);
        q.insert(segment(77, 10, 3));
        q.insert(segment(100, 10, 4));
    }
    // TearDown checks that the destructor freed both.
}

}  // namespace
}  // namespace nvmeddp::tcp
