#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "pmd/dpdk/mbuf_meta.hpp"
#include "tcp/mbuf_trim.hpp"
#include "tcp_test_support.hpp"

namespace nvmeddp::tcp {
namespace {

std::vector<uint8_t> counting(size_t n) {
    std::vector<uint8_t> v(n);
    std::iota(v.begin(), v.end(), uint8_t{0});
    return v;
}

rte_mbuf* chain_with_meta(const std::vector<uint8_t>& bytes, size_t seg, uint32_t tag) {
    rte_mbuf* m = tcp_test::mbuf_of(bytes, seg);
    if (m == nullptr) return nullptr;
    nvmeddp_pkt_meta meta{};
    meta.conn_id = tag;
    meta.place_seq = tag * 7;
    pmd::MbufMeta::set(m, meta);
    return m;
}

void expect_meta(const rte_mbuf* m, uint32_t tag) {
    EXPECT_TRUE(pmd::MbufMeta::has(m));
    EXPECT_EQ(pmd::MbufMeta::get(m)->conn_id, tag);
    EXPECT_EQ(pmd::MbufMeta::get(m)->place_seq, tag * 7);
}

void expect_consistent(const rte_mbuf* m) {
    uint32_t bytes = 0;
    uint16_t segs = 0;
    for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
        bytes += s->data_len;
        ++segs;
    }
    EXPECT_EQ(bytes, m->pkt_len);
    EXPECT_EQ(segs, m->nb_segs);
}

TEST(MbufTrim, WithinTheHeadSegment) {
    REQUIRE_TCP_EAL();
    const unsigned before = tcp_test::mbufs_in_use();
    const auto bytes = counting(300);
    rte_mbuf* m = chain_with_meta(bytes, 100, 5);
    ASSERT_NE(m, nullptr);
    trim_front(m, 40);
    EXPECT_EQ(tcp_test::bytes_of(m), std::vector<uint8_t>(bytes.begin() + 40, bytes.end()));
    EXPECT_EQ(m->nb_segs, 3);
    expect_consistent(m);
    expect_meta(m, 5);
    rte_pktmbuf_free(m);
    EXPECT_EQ(tcp_test::mbufs_in_use(), before);
}

TEST(MbufTrim, WholeHeadKeepsItEmptyWithTheMetadata) {
    REQUIRE_TCP_EAL();
    const unsigned before = tcp_test::mbufs_in_use();
    const auto bytes = counting(300);
    rte_mbuf* m = chain_with_meta(bytes, 100, 6);
    ASSERT_NE(m, nullptr);
    trim_front(m, 100);
    EXPECT_EQ(m->data_len, 0);
    EXPECT_EQ(m->nb_segs, 3);
    EXPECT_EQ(tcp_test::bytes_of(m), std::vector<uint8_t>(bytes.begin() + 100, bytes.end()));
    expect_consistent(m);
    expect_meta(m, 6);
    rte_pktmbuf_free(m);
    EXPECT_EQ(tcp_test::mbufs_in_use(), before);
}

TEST(MbufTrim, AcrossSeveralSegmentsFreesTheWhollyTrimmedOnes) {
    REQUIRE_TCP_EAL();
    const unsigned before = tcp_test::mbufs_in_use();
    const auto bytes = counting(500);
    rte_mbuf* m = chain_with_meta(bytes, 100, 7);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(m->nb_segs, 5);
    trim_front(m, 320);  // head emptied, segments 2 and 3 freed, segment 4 cut by 20
    EXPECT_EQ(m->nb_segs, 3);
    EXPECT_EQ(m->pkt_len, 180u);
    EXPECT_EQ(tcp_test::mbufs_in_use(), before + 3);
    EXPECT_EQ(tcp_test::bytes_of(m), std::vector<uint8_t>(bytes.begin() + 320, bytes.end()));
    expect_consistent(m);
    expect_meta(m, 7);
    // A second trim of a chain with an empty head goes on from the segment after it.
    trim_front(m, 120);
    EXPECT_EQ(m->nb_segs, 2);
    EXPECT_EQ(tcp_test::bytes_of(m), std::vector<uint8_t>(bytes.begin() + 440, bytes.end()));
    expect_consistent(m);
    expect_meta(m, 7);
    rte_pktmbuf_free(m);
    EXPECT_EQ(tcp_test::mbufs_in_use(), before);
}

TEST(MbufTrim, EverythingLeavesAnEmptyHead) {
    REQUIRE_TCP_EAL();
    const unsigned before = tcp_test::mbufs_in_use();
    rte_mbuf* m = chain_with_meta(counting(300), 100, 8);
    ASSERT_NE(m, nullptr);
    trim_front(m, 300);
    EXPECT_EQ(m->pkt_len, 0u);
    EXPECT_EQ(m->nb_segs, 1);
    EXPECT_EQ(m->next, nullptr);
    expect_meta(m, 8);
    EXPECT_EQ(tcp_test::mbufs_in_use(), before + 1);
    rte_pktmbuf_free(m);
    EXPECT_EQ(tcp_test::mbufs_in_use(), before);
}

TEST(MbufTrim, BackAcrossSegmentsFreesTheTailAndKeepsTheHead) {
    REQUIRE_TCP_EAL();
    const unsigned in_use = tcp_test::mbufs_in_use();
    const auto bytes = counting(1000);
    rte_mbuf* m = chain_with_meta(bytes, 300, 5);  // 300 + 300 + 300 + 100
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(m->nb_segs, 4);
    trim_back(m, 450);  // ends inside the second segment
    expect_consistent(m);
    EXPECT_EQ(m->pkt_len, 550u);
    EXPECT_EQ(m->nb_segs, 2);
    EXPECT_EQ(tcp_test::bytes_of(m), std::vector<uint8_t>(bytes.begin(), bytes.begin() + 550));
    expect_meta(m, 5);
    EXPECT_EQ(tcp_test::mbufs_in_use(), in_use + 2) << "the two tail segments are freed";
    trim_back(m, 550);
    EXPECT_EQ(m->pkt_len, 0u);
    EXPECT_EQ(m->nb_segs, 1);
    expect_meta(m, 5);
    rte_pktmbuf_free(m);
    EXPECT_EQ(tcp_test::mbufs_in_use(), in_use);
}

}  // namespace
}  // namespace nvmeddp::tcp
