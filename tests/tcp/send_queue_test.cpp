#include <gtest/gtest.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "nvmetcp/crc32c.hpp"
#include "tcp/send_queue.hpp"
#include "tcp_test_support.hpp"

namespace nvmeddp::tcp {
namespace {

using tcp_test::bytes_of;
using tcp_test::mbuf_of;
using tcp_test::mbufs_in_use;
using tcp_test::pool;

std::vector<uint8_t> pattern(size_t n, uint32_t seed = 1) {
    std::vector<uint8_t> v(n);
    std::mt19937 rng(seed);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
}

std::vector<uint8_t> sub(const std::vector<uint8_t>& v, size_t at, size_t len) {
    return {v.begin() + static_cast<ptrdiff_t>(at), v.begin() + static_cast<ptrdiff_t>(at + len)};
}

// A pool of its own, freed at the end of the test: small enough to run dry.
class TinyPool {
public:
    TinyPool(unsigned n, uint16_t data_bytes) {
        static std::atomic<int> counter{0};
        const std::string name = "sq_tiny_" + std::to_string(counter++);
        pool_ = rte_pktmbuf_pool_create(name.c_str(), n, 0, 0,
                                        static_cast<uint16_t>(RTE_PKTMBUF_HEADROOM + data_bytes), SOCKET_ID_ANY);
        EXPECT_NE(pool_, nullptr) << rte_strerror(rte_errno);
    }
    ~TinyPool() { rte_mempool_free(pool_); }
    rte_mempool* get() const { return pool_; }
    unsigned in_use() const { return rte_mempool_in_use_count(pool_); }

private:
    rte_mempool* pool_ = nullptr;
};

TEST(SendQueue, AcknowledgeFreesWholeSegmentsAndKeepsThePartlyAcknowledgedOne) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    {
        SendQueue q;
        q.reset(Seq(1'000));
        const auto data = pattern(600);
        ASSERT_TRUE(q.append(mbuf_of(sub(data, 0, 100))));
        ASSERT_TRUE(q.append(mbuf_of(sub(data, 100, 200))));
        ASSERT_TRUE(q.append(mbuf_of(sub(data, 300, 300))));
        EXPECT_EQ(q.size(), 600u);
        EXPECT_EQ(q.end(), Seq(1'600));
        EXPECT_EQ(q.segments(), 3u);
        EXPECT_EQ(mbufs_in_use(), before + 3);

        EXPECT_EQ(q.acknowledge(Seq(1'050)), 50u);  // inside the first segment: kept
        EXPECT_EQ(q.una(), Seq(1'050));
        EXPECT_EQ(q.segments(), 3u);
        std::vector<uint8_t> out(550);
        EXPECT_TRUE(q.copy_out(Seq(1'050), 550, out.data()));
        EXPECT_EQ(out, sub(data, 50, 550));

        EXPECT_EQ(q.acknowledge(Seq(1'100)), 50u);  // exactly the end of the first segment
        EXPECT_EQ(q.segments(), 2u);
        EXPECT_EQ(mbufs_in_use(), before + 2);

        EXPECT_EQ(q.acknowledge(Seq(1'100)), 0u) << "ack == una";
        EXPECT_EQ(q.acknowledge(Seq(1'601)), 0u) << "ack beyond end";
        EXPECT_EQ(q.acknowledge(Seq(900)), 0u) << "old ack";
        EXPECT_EQ(q.una(), Seq(1'100));

        EXPECT_EQ(q.acknowledge(Seq(1'450)), 350u);  // all of the second, half of the third
        EXPECT_EQ(q.segments(), 1u);
        EXPECT_TRUE(q.copy_out(Seq(1'450), 150, out.data()));
        EXPECT_EQ(sub(out, 0, 150), sub(data, 450, 150));
        EXPECT_EQ(q.acknowledge(Seq(1'600)), 150u);
        EXPECT_EQ(q.segments(), 0u);
        EXPECT_EQ(q.size(), 0u);
        EXPECT_EQ(mbufs_in_use(), before);
    }
    EXPECT_EQ(mbufs_in_use(), before);
}

TEST(SendQueue, SequenceNumbersWrap) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    {
        SendQueue q;
        const Seq start(0xFFFF'FF00u);
        q.reset(start);
        const auto data = pattern(600, 2);
        for (size_t at = 0; at < 600; at += 200) ASSERT_TRUE(q.append(mbuf_of(sub(data, at, 200))));
        EXPECT_EQ(q.end(), Seq(0x158));
        // A slice and a copy across the wrap and two chunk boundaries.
        rte_mbuf* s = q.slice(start + 150, 400, pool());
        ASSERT_NE(s, nullptr);
        EXPECT_EQ(bytes_of(s), sub(data, 150, 400));
        rte_pktmbuf_free(s);
        std::vector<uint8_t> out(400);
        EXPECT_TRUE(q.copy_out(start + 150, 400, out.data()));
        EXPECT_EQ(out, sub(data, 150, 400));

        EXPECT_EQ(q.acknowledge(Seq(0x50)), 0x150u);  // 256 + 80 bytes
        EXPECT_EQ(q.una(), Seq(0x50));
        EXPECT_EQ(q.segments(), 2u);
        EXPECT_EQ(q.acknowledge(Seq(0xFFFF'FFF0u)), 0u) << "before una";
        EXPECT_EQ(q.acknowledge(Seq(0x158)), 600u - 0x150u);
        EXPECT_EQ(q.segments(), 0u);
    }
    EXPECT_EQ(mbufs_in_use(), before);
}

TEST(SendQueue, SlicesHoldTheRightBytesAcrossSegmentsChunksAndChains) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    {
        SendQueue q;
        const Seq start(77'777);
        q.reset(start);
        const auto data = pattern(9'000, 3);
        // Chains of several segments of different sizes, single mbufs, and copied bytes in between.
        ASSERT_TRUE(q.append(mbuf_of(sub(data, 0, 3'000), 1'000)));  // 3 segments
        ASSERT_TRUE(q.append(mbuf_of(sub(data, 3'000, 500))));
        ASSERT_EQ(q.append_copy(sub(data, 3'500, 1'000), pool()), 1'000u);
        ASSERT_TRUE(q.append(mbuf_of(sub(data, 4'500, 2'500), 700)));  // 700 700 700 400
        ASSERT_TRUE(q.append(mbuf_of(sub(data, 7'000, 2'000), 333)));
        ASSERT_EQ(q.size(), 9'000u);

        std::mt19937 rng(7);
        for (int i = 0; i < 400; ++i) {
            const uint32_t at = rng() % 9'000;
            const uint32_t len = 1 + rng() % (9'000 - at);
            rte_mbuf* s = q.slice(start + at, len, pool());
            ASSERT_NE(s, nullptr);
            ASSERT_EQ(s->pkt_len, len);
            ASSERT_EQ(bytes_of(s), sub(data, at, len)) << "slice at " << at << " len " << len;
            unsigned segs = 0;
            for (rte_mbuf* m = s; m != nullptr; m = m->next, ++segs) {
                EXPECT_TRUE(RTE_MBUF_CLONED(m)) << "zero copy: attached, not copied";
            }
            EXPECT_EQ(s->nb_segs, segs);
            rte_pktmbuf_free(s);
            std::vector<uint8_t> out(len);
            EXPECT_TRUE(q.copy_out(start + at, len, out.data()));
            ASSERT_EQ(out, sub(data, at, len));
        }
        // One segment exactly, and the last byte.
        rte_mbuf* s = q.slice(start + 1'000, 1'000, pool());
        ASSERT_NE(s, nullptr);
        EXPECT_EQ(s->nb_segs, 1u);
        EXPECT_EQ(bytes_of(s), sub(data, 1'000, 1'000));
        rte_pktmbuf_free(s);
        s = q.slice(start + 8'999, 1, pool());
        ASSERT_NE(s, nullptr);
        EXPECT_EQ(bytes_of(s), sub(data, 8'999, 1));
        rte_pktmbuf_free(s);
        // Outside the queue, or empty: nothing.
        EXPECT_EQ(q.slice(start + 8'999, 2, pool()), nullptr);
        EXPECT_EQ(q.slice(start - 1, 2, pool()), nullptr);
        EXPECT_EQ(q.slice(start, 0, pool()), nullptr);

        // After a partial acknowledgement the slices still start at the right byte.
        q.acknowledge(start + 1'234);
        s = q.slice(start + 1'234, 3'000, pool());
        ASSERT_NE(s, nullptr);
        EXPECT_EQ(bytes_of(s), sub(data, 1'234, 3'000));
        rte_pktmbuf_free(s);
    }
    EXPECT_EQ(mbufs_in_use(), before);
}

TEST(SendQueue, AQueuedMbufIsFreedOnlyOnceAcknowledgedAndItsSlicesFreed) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    SendQueue q;
    q.reset(Seq(1));
    const auto data = pattern(1'000, 4);
    rte_mbuf* original = mbuf_of(data);
    ASSERT_TRUE(q.append(original));
    rte_mbuf* s = q.slice(Seq(101), 500, pool());
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(rte_mbuf_refcnt_read(original), 2u);
    EXPECT_EQ(mbufs_in_use(), before + 2);

    EXPECT_EQ(q.acknowledge(Seq(1'001)), 1'000u);  // the queue lets go...
    EXPECT_EQ(q.segments(), 0u);
    EXPECT_EQ(mbufs_in_use(), before + 2) << "...but the slice still holds the original";
    EXPECT_EQ(rte_mbuf_refcnt_read(original), 1u);
    // Its bytes are still there (the buffer was not recycled under the slice).
    rte_mbuf* other = mbuf_of(pattern(1'000, 99));
    EXPECT_EQ(bytes_of(s), sub(data, 100, 500));
    rte_pktmbuf_free(other);

    rte_pktmbuf_free(s);
    EXPECT_EQ(mbufs_in_use(), before);

    // The other order: slice freed first, then the acknowledgement frees the original.
    ASSERT_TRUE(q.append(mbuf_of(data)));
    s = q.slice(Seq(1'001), 1'000, pool());
    ASSERT_NE(s, nullptr);
    rte_pktmbuf_free(s);
    EXPECT_EQ(mbufs_in_use(), before + 1);
    q.acknowledge(Seq(2'001));
    EXPECT_EQ(mbufs_in_use(), before);
}

TEST(SendQueue, SliceReturnsNullAndLeaksNothingWhenThePoolRunsDry) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    TinyPool tiny(2, 64);
    {
        SendQueue q;
        q.reset(Seq(1));
        const auto data = pattern(3'000, 5);
        rte_mbuf* chain = mbuf_of(data, 1'000);  // three segments: a whole slice needs three pieces
        ASSERT_TRUE(q.append(chain));
        EXPECT_EQ(q.slice(Seq(1), 3'000, tiny.get()), nullptr);
        EXPECT_EQ(tiny.in_use(), 0u);
        for (rte_mbuf* m = chain; m != nullptr; m = m->next) EXPECT_EQ(rte_mbuf_refcnt_read(m), 1u);
        rte_mbuf* s = q.slice(Seq(501), 1'000, tiny.get());  // two pieces fit
        ASSERT_NE(s, nullptr);
        EXPECT_EQ(bytes_of(s), sub(data, 500, 1'000));
        rte_pktmbuf_free(s);
        EXPECT_EQ(tiny.in_use(), 0u);
    }
    EXPECT_EQ(mbufs_in_use(), before);
}

TEST(SendQueue, AppendCopyFillsItsOwnLastMbufThenStopsWhenThePoolRunsOut) {
    REQUIRE_TCP_EAL();
    TinyPool tiny(4, 256);  // 256 data bytes per mbuf
    {
        SendQueue q;
        q.reset(Seq(10));
        const auto data = pattern(2'000, 6);
        EXPECT_EQ(q.append_copy(sub(data, 0, 100), tiny.get()), 100u);
        EXPECT_EQ(q.segments(), 1u);
        EXPECT_EQ(q.append_copy(sub(data, 100, 100), tiny.get()), 100u);
        EXPECT_EQ(q.segments(), 1u) << "the tailroom of the last mbuf is filled first";
        EXPECT_EQ(tiny.in_use(), 1u);
        EXPECT_EQ(q.append_copy(sub(data, 200, 100), tiny.get()), 100u);  // 56 + 44
        EXPECT_EQ(q.segments(), 2u);
        EXPECT_EQ(q.append_copy(sub(data, 300, 1'000), tiny.get()), 212u + 256u + 256u);
        EXPECT_EQ(tiny.in_use(), 4u);
        EXPECT_EQ(q.append_copy(sub(data, 1'024, 10), tiny.get()), 0u) << "pool and tailroom exhausted";
        EXPECT_EQ(q.size(), 1'024u);
        std::vector<uint8_t> out(1'024);
        EXPECT_TRUE(q.copy_out(Seq(10), 1'024, out.data()));
        EXPECT_EQ(out, sub(data, 0, 1'024));

        // Acknowledging frees mbufs back to the pool, and copying resumes.
        q.acknowledge(Seq(10 + 300));
        EXPECT_EQ(tiny.in_use(), 3u);
        EXPECT_EQ(q.append_copy(sub(data, 1'024, 500), tiny.get()), 256u);
        EXPECT_TRUE(q.copy_out(Seq(10), 0, out.data()));
        std::vector<uint8_t> tail(256);
        EXPECT_TRUE(q.copy_out(Seq(10 + 1'024), 256, tail.data()));
        EXPECT_EQ(tail, sub(data, 1'024, 256));
    }
    EXPECT_EQ(tiny.in_use(), 0u);
}

// With a CRC state, the copy also digests exactly the bytes taken (into the last mbuf's tailroom,
// into new mbufs, and not those refused when the pool runs out): the host's data digest of an
// H2CData PDU, in the copy's pass.
TEST(SendQueue, AppendCopyDigestsTheBytesItTakesInTheSamePass) {
    REQUIRE_TCP_EAL();
    TinyPool tiny(4, 256);
    {
        SendQueue q;
        q.reset(Seq(1));
        const auto data = pattern(2'000, 8);
        uint32_t crc = nvmetcp::Crc32c::kSeed;
        size_t taken = q.append_copy(sub(data, 0, 100), tiny.get(), &crc);
        taken += q.append_copy(sub(data, 100, 1'500), tiny.get(), &crc);  // fills the tailroom, then runs dry
        ASSERT_EQ(taken, 1'024u);
        EXPECT_EQ(~crc, nvmetcp::crc32c(data.data(), taken));
        std::vector<uint8_t> out(taken);
        EXPECT_TRUE(q.copy_out(Seq(1), static_cast<uint32_t>(taken), out.data()));
        EXPECT_EQ(out, sub(data, 0, taken));
    }
    EXPECT_EQ(tiny.in_use(), 0u);
}

TEST(SendQueue, AppendCopyDoesNotWriteIntoMbufsItDoesNotSolelyOwn) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    {
        SendQueue q;
        q.reset(Seq(0));
        const auto data = pattern(300, 7);
        // An application mbuf with tailroom: not the queue's to fill.
        ASSERT_TRUE(q.append(mbuf_of(sub(data, 0, 100))));
        EXPECT_EQ(q.append_copy(sub(data, 100, 50), pool()), 50u);
        EXPECT_EQ(q.segments(), 2u);
        // The queue's own mbuf while a slice references it: a new mbuf.
        rte_mbuf* s = q.slice(Seq(100), 50, pool());
        ASSERT_NE(s, nullptr);
        EXPECT_EQ(q.append_copy(sub(data, 150, 50), pool()), 50u);
        EXPECT_EQ(q.segments(), 3u);
        rte_pktmbuf_free(s);
        // Once the slice is gone, the last (own) mbuf is filled again.
        EXPECT_EQ(q.append_copy(sub(data, 200, 100), pool()), 100u);
        EXPECT_EQ(q.segments(), 3u);
        std::vector<uint8_t> out(300);
        EXPECT_TRUE(q.copy_out(Seq(0), 300, out.data()));
        EXPECT_EQ(out, data);
    }
    EXPECT_EQ(mbufs_in_use(), before);
}

// The queue has no ring to fill: more appended chains than the old ring's 4096 slots are held, each
// segment with data linked in order and each empty one freed at once; acknowledging frees segments
// one by one, also those in the middle of a chain the application gave.
TEST(SendQueue, ChainsAreLinkedSegmentBySegmentWithNoLimitButBytes) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    {
        SendQueue q;
        q.reset(Seq(5));
        const auto data = pattern(5'000, 8);
        for (size_t i = 0; i < data.size(); ++i) ASSERT_TRUE(q.append(mbuf_of(sub(data, i, 1)))) << i;
        EXPECT_EQ(q.segments(), 5'000u);
        EXPECT_EQ(q.size(), 5'000u);
        std::vector<uint8_t> out(5'000);
        EXPECT_TRUE(q.copy_out(Seq(5), 5'000, out.data()));
        EXPECT_EQ(out, data);
        rte_mbuf* s = q.slice(Seq(5 + 4'990), 10, pool());
        ASSERT_NE(s, nullptr);
        EXPECT_EQ(s->nb_segs, 10u);
        EXPECT_EQ(bytes_of(s), sub(data, 4'990, 10));
        rte_pktmbuf_free(s);
        EXPECT_EQ(q.acknowledge(Seq(5 + 4'999)), 4'999u);
        EXPECT_EQ(q.segments(), 1u);
        EXPECT_EQ(mbufs_in_use(), before + 1);

        // A chain with empty segments (its head among them): only the three with data are kept.
        rte_mbuf* chain = mbuf_of(sub(data, 0, 300), 100);
        rte_mbuf* empty_head = rte_pktmbuf_alloc(pool());
        rte_mbuf* empty_middle = rte_pktmbuf_alloc(pool());
        ASSERT_TRUE(empty_head != nullptr && empty_middle != nullptr);
        empty_middle->next = chain->next;
        chain->next = empty_middle;
        empty_head->next = chain;
        empty_head->nb_segs = 5;
        empty_head->pkt_len = 300;
        ASSERT_TRUE(q.append(empty_head));
        EXPECT_EQ(q.segments(), 4u);
        EXPECT_EQ(mbufs_in_use(), before + 4);
        std::vector<uint8_t> three(301);
        EXPECT_TRUE(q.copy_out(Seq(5 + 4'999), 301, three.data()));
        EXPECT_EQ(three[0], data[4'999]);
        EXPECT_EQ(std::vector<uint8_t>(three.begin() + 1, three.end()), sub(data, 0, 300));
        // Acknowledged into the chain's second segment: the first two segments go, the rest stays.
        EXPECT_EQ(q.acknowledge(Seq(5 + 4'999 + 1 + 150)), 151u);
        EXPECT_EQ(q.segments(), 2u);
        EXPECT_EQ(mbufs_in_use(), before + 2);
        EXPECT_TRUE(q.copy_out(Seq(5 + 5'150), 150, three.data()));
        EXPECT_EQ(std::vector<uint8_t>(three.begin(), three.begin() + 150), sub(data, 150, 150));

        EXPECT_TRUE(q.append(mbuf_of({}))) << "an empty chain is taken and freed";
        EXPECT_EQ(q.segments(), 2u);
        EXPECT_EQ(mbufs_in_use(), before + 2);
    }
    EXPECT_EQ(mbufs_in_use(), before);
}

// Linking rewrites a segment's next pointer: a chain with a segment someone else also references
// (the application kept it, or gave it to another queue) is refused whole and left as it was.
TEST(SendQueue, AChainWithASegmentReferencedElsewhereIsRefusedUntouched) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    {
        SendQueue q;
        q.reset(Seq(1));
        const auto data = pattern(300, 10);
        ASSERT_TRUE(q.append(mbuf_of(sub(data, 0, 100))));
        rte_mbuf* chain = mbuf_of(sub(data, 100, 200), 100);  // two segments
        rte_mbuf* second = chain->next;
        rte_mbuf_refcnt_update(second, 1);  // the application keeps a reference to it
        ASSERT_FALSE(q.append(chain));  // (taken, the rest of the test would link it twice)
        EXPECT_EQ(q.size(), 100u);
        EXPECT_EQ(q.segments(), 1u);
        EXPECT_EQ(chain->next, second);
        EXPECT_EQ(second->next, nullptr) << "the refused chain is as it was";
        EXPECT_EQ(bytes_of(chain), sub(data, 100, 200));
        rte_mbuf_refcnt_update(second, -1);
        ASSERT_TRUE(q.append(chain)) << "its own again: taken";
        std::vector<uint8_t> out(300);
        EXPECT_TRUE(q.copy_out(Seq(1), 300, out.data()));
        EXPECT_EQ(out, data);
    }
    EXPECT_EQ(mbufs_in_use(), before);
}

// The cursor that find() keeps must never point at a freed segment: slices taken forward, then back
// at una after an acknowledgement freed the segment the cursor was in, then forward again.
TEST(SendQueue, SlicesStayRightWhenTheSegmentTheLastOneStartedInIsAcknowledged) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    {
        SendQueue q;
        const Seq start(0xFFFF'F000u);
        q.reset(start);
        const auto data = pattern(20'000, 9);
        ASSERT_TRUE(q.append(mbuf_of(data, 1'000)));  // 20 segments of 1000
        std::mt19937 rng(3);
        uint32_t una = 0;
        for (int round = 0; round < 200 && una < 20'000; ++round) {
            const uint32_t at = una + rng() % (20'000 - una);
            const uint32_t len = 1 + rng() % (20'000 - at);
            rte_mbuf* s = q.slice(start + at, len, pool());
            ASSERT_NE(s, nullptr);
            ASSERT_EQ(bytes_of(s), sub(data, at, len)) << "round " << round;
            rte_pktmbuf_free(s);
            if (round % 3 == 2) {
                const uint32_t ack = std::min<uint32_t>(20'000, una + 1 + rng() % 2'500);
                EXPECT_EQ(q.acknowledge(start + ack), ack - una);
                una = ack;
                if (una < 20'000) {
                    std::vector<uint8_t> out(20'000 - una);
                    ASSERT_TRUE(q.copy_out(start + una, 20'000 - una, out.data()));
                    ASSERT_EQ(out, sub(data, una, 20'000 - una));
                }
            }
        }
    }
    EXPECT_EQ(mbufs_in_use(), before);
}

TEST(SendQueue, ResetAndMoveFreeOrTransferWhatIsHeld) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    SendQueue a;
    a.reset(Seq(100));
    ASSERT_TRUE(a.append(mbuf_of(pattern(300), 100)));
    EXPECT_EQ(mbufs_in_use(), before + 3);
    SendQueue b(std::move(a));
    EXPECT_EQ(b.size(), 300u);
    EXPECT_EQ(a.size(), 0u);
    EXPECT_TRUE(a.append(mbuf_of(pattern(10)))) << "a moved-from queue is empty and usable";
    EXPECT_EQ(a.size(), 10u);
    a.reset(Seq(0));
    b.reset(Seq(7));
    EXPECT_EQ(b.size(), 0u);
    EXPECT_EQ(b.una(), Seq(7));
    EXPECT_EQ(b.end(), Seq(7));
    EXPECT_EQ(mbufs_in_use(), before);
}

}  // namespace
TEST(SendQueue, CopyOutRefusesRangesNotQueued) {
    REQUIRE_TCP_EAL();
    SendQueue q;
    q.reset(Seq(100));
    const std::vector<uint8_t> data(300, 7);
    ASSERT_EQ(q.append_copy(data, pool()), 300u);
    std::vector<uint8_t> out(400, 0xEE);
    EXPECT_TRUE(q.copy_out(Seq(100), 300, out.data()));
    EXPECT_FALSE(q.copy_out(Seq(99), 10, out.data())) << "starts before snd_una";
    EXPECT_FALSE(q.copy_out(Seq(350), 100, out.data())) << "runs past the end";
    q.reset(Seq(0));
}

}  // namespace nvmeddp::tcp
