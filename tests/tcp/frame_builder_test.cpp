// The frame builder: every frame it makes is read back by the packet layer's own parser and checksum
// checks (what a receiving NIC or host does), for both IP families, with and without a VLAN tag, with
// the payload chained or copied; offload mode leaves what a port's tx checksum offload needs; and
// refusals leave the caller's mbufs as they were. No test leaks an mbuf.
#include <gtest/gtest.h>
#include <rte_ip.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/l4_checksum.hpp"
#include "pmd/packet/net_headers.hpp"
#include "tcp/frame_builder.hpp"
#include "tcp_test_support.hpp"

namespace nvmeddp::tcp {
namespace {

using tcp_test::bytes_of;
using tcp_test::mbuf_of;
using tcp_test::mbufs_in_use;
using tcp_test::pool;

Route route_of(bool v6, bool vlan) {
    Route r;
    r.src_mac = {{0x02, 0, 0, 0, 0, 0x01}};
    r.dst_mac = {{0x02, 0, 0, 0, 0, 0x02}};
    r.has_vlan = vlan;
    r.vlan_tci = 5 << 13 | 100;  // PCP 5, VID 100
    r.src_ip = v6 ? *IpAddress::parse("2001:db8::1") : IpAddress::v4(192, 0, 2, 1);
    r.dst_ip = v6 ? *IpAddress::parse("2001:db8::2") : IpAddress::v4(192, 0, 2, 2);
    r.src_port = 49152;
    r.dst_port = 4420;
    return r;
}

TcpOptions data_options() {
    TcpOptions o;
    o.has_timestamps = true;
    o.ts_val = 123456;
    o.ts_ecr = 654321;
    o.sack_count = 2;
    o.sack[0] = {Seq(5000), Seq(6000)};
    o.sack[1] = {Seq(7000), Seq(9000)};
    return o;
}

std::vector<uint8_t> payload_bytes(size_t n) {
    std::vector<uint8_t> p(n);
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 7 + 3);
    return p;
}

// What a receiver sees of a frame: the parse of its first segment, and the other segments.
struct Received {
    pmd::FrameParse parse;
    std::span<const uint8_t> first;
    std::vector<pmd::ByteChunk> more;
};

Received receive(const rte_mbuf* m) {
    Received r;
    r.first = {rte_pktmbuf_mtod(m, const uint8_t*), m->data_len};
    for (const rte_mbuf* seg = m->next; seg != nullptr; seg = seg->next) {
        r.more.push_back({rte_pktmbuf_mtod(seg, const uint8_t*), seg->data_len});
    }
    r.parse = pmd::parse_frame(r.first, m->pkt_len);
    return r;
}

// Everything the receiver can read back equals what was asked for, and the checksums hold.
void expect_frame(const rte_mbuf* m, const Route& route, const SegmentFields& fields,
                  const std::vector<uint8_t>& payload) {
    const Received rx = receive(m);
    ASSERT_TRUE(rx.parse.ok()) << pmd::to_string(rx.parse.error);
    const pmd::TcpSegment& seg = rx.parse.segment;
    const pmd::FlowKey expected_flow =
        route.src_ip.is_v4()
            ? pmd::FlowKey::ipv4(route.src_ip.bytes.data(), route.dst_ip.bytes.data(), route.src_port, route.dst_port,
                                 route.has_vlan ? route.vlan_tci & 0xFFF : 0)
            : pmd::FlowKey::ipv6(route.src_ip.bytes.data(), route.dst_ip.bytes.data(), route.src_port, route.dst_port,
                                 route.has_vlan ? route.vlan_tci & 0xFFF : 0);
    EXPECT_TRUE(seg.flow == expected_flow);
    EXPECT_EQ(seg.vlan_count, route.has_vlan ? 1 : 0);
    EXPECT_EQ(seg.seq, fields.seq.raw());
    EXPECT_EQ(seg.ack, fields.ack.raw());
    EXPECT_EQ(seg.tcp_flags, fields.flags);
    EXPECT_EQ(seg.payload_len, payload.size());
    EXPECT_EQ(seg.payload_offset, header_size(route, fields.options));
    EXPECT_EQ(m->pkt_len, header_size(route, fields.options) + payload.size());

    const uint8_t* eth = rx.first.data();
    EXPECT_EQ(0, std::memcmp(eth, route.dst_mac.bytes.data(), 6));
    EXPECT_EQ(0, std::memcmp(eth + 6, route.src_mac.bytes.data(), 6));
    if (route.has_vlan) {
        EXPECT_EQ(pmd::load_be16(eth + 14), route.vlan_tci) << "the whole TCI, PCP included";
    }
    const uint8_t* ip = eth + seg.l3_offset;
    if (route.src_ip.is_v4()) {
        EXPECT_EQ(ip[8], 64) << "TTL";
        EXPECT_EQ(pmd::load_be16(ip + 6), pmd::ipv4_frag::kDontFragment);
    } else {
        EXPECT_EQ(ip[7], 64) << "hop limit";
    }
    const uint8_t* tcp = eth + seg.l4_offset;
    EXPECT_EQ(pmd::load_be16(tcp + 14), fields.window);
    EXPECT_EQ(pmd::load_be16(tcp + 18), 0) << "urgent pointer";

    const OptionsParse options = parse_options({tcp + 20, size_t{seg.payload_offset} - seg.l4_offset - 20});
    EXPECT_EQ(options.error, OptionsError::None);
    if (fields.options != nullptr) {
        EXPECT_EQ(options.options.has_timestamps, fields.options->has_timestamps);
        EXPECT_EQ(options.options.ts_val, fields.options->ts_val);
        EXPECT_EQ(options.options.ts_ecr, fields.options->ts_ecr);
        EXPECT_EQ(options.options.has_mss, fields.options->has_mss);
        EXPECT_EQ(options.options.mss, fields.options->mss);
        EXPECT_EQ(options.options.sack_count, fields.options->sack_count);
    }

    const std::vector<uint8_t> all = bytes_of(m);
    EXPECT_EQ(std::vector<uint8_t>(all.begin() + seg.payload_offset, all.end()), payload);

    EXPECT_TRUE(pmd::ipv4_header_checksum_ok(rx.first, seg));
    EXPECT_TRUE(pmd::tcp_checksum_ok(rx.first, seg, rx.more));
}

// A header mbuf whose buffer holds garbage, as a reused one does: every header byte must be written.
rte_mbuf* alloc() {
    rte_mbuf* m = rte_pktmbuf_alloc(pool());
    EXPECT_NE(m, nullptr);
    if (m != nullptr) std::memset(rte_pktmbuf_mtod(m, void*), 0xA5, rte_pktmbuf_tailroom(m));
    return m;
}

TEST(FrameBuilder, FramesParseBackWithGoodChecksumsForEveryShape) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    const TcpOptions options = data_options();
    TcpOptions syn;
    syn.has_mss = true;
    syn.mss = 1460;
    syn.sack_permitted = true;
    syn.has_wscale = true;
    syn.wscale = 7;
    FrameBuilder builder;
    for (const bool v6 : {false, true}) {
        for (const bool vlan : {false, true}) {
            const Route route = route_of(v6, vlan);
            SCOPED_TRACE(testing::Message() << (v6 ? "IPv6" : "IPv4") << (vlan ? " with VLAN" : ""));
            {
                SCOPED_TRACE("SYN, no payload");
                const SegmentFields f{Seq(0xFFFFFFF0u), Seq(0), pmd::tcp_flags::kSyn, 64240, &syn};
                rte_mbuf* frame = builder.build(alloc(), route, f, nullptr);
                ASSERT_NE(frame, nullptr);
                EXPECT_EQ(frame->nb_segs, 1);
                expect_frame(frame, route, f, {});
                rte_pktmbuf_free(frame);
            }
            {
                SCOPED_TRACE("payload in odd-sized segments");
                const std::vector<uint8_t> payload = payload_bytes(5001);
                rte_mbuf* data = mbuf_of(payload, 333);
                ASSERT_NE(data, nullptr);
                ASSERT_GT(data->nb_segs, 10);
                const SegmentFields f{Seq(1000), Seq(77), pmd::tcp_flags::kAck | pmd::tcp_flags::kPsh, 501, &options};
                rte_mbuf* frame = builder.build(alloc(), route, f, data);
                ASSERT_NE(frame, nullptr);
                EXPECT_EQ(frame->nb_segs, data->nb_segs + 1);
                expect_frame(frame, route, f, payload);
                rte_pktmbuf_free(frame);
            }
            {
                SCOPED_TRACE("payload copied, no options");
                const std::vector<uint8_t> payload = payload_bytes(73);
                const SegmentFields f{Seq(42), Seq(0x80000000u), pmd::tcp_flags::kAck | pmd::tcp_flags::kFin, 65535,
                                      nullptr};
                rte_mbuf* frame = builder.build_copy(alloc(), route, f, payload);
                ASSERT_NE(frame, nullptr);
                EXPECT_EQ(frame->nb_segs, 1);
                expect_frame(frame, route, f, payload);
                rte_pktmbuf_free(frame);
            }
        }
    }
    EXPECT_EQ(mbufs_in_use(), before);
}

// The checks above are only worth something if they can fail: a byte changed in a later segment of the
// chain must break the TCP checksum.
TEST(FrameBuilder, AChangedPayloadByteBreaksTheChecksum) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    FrameBuilder builder;
    const std::vector<uint8_t> payload = payload_bytes(3000);
    const SegmentFields f{Seq(1), Seq(2), pmd::tcp_flags::kAck, 100, nullptr};
    rte_mbuf* frame = builder.build(alloc(), route_of(false, false), f, mbuf_of(payload, 1000));
    ASSERT_NE(frame, nullptr);
    rte_pktmbuf_mtod(frame->next->next, uint8_t*)[17] ^= 0x01;
    const Received rx = receive(frame);
    ASSERT_TRUE(rx.parse.ok());
    EXPECT_FALSE(pmd::tcp_checksum_ok(rx.first, rx.parse.segment, rx.more));
    rte_pktmbuf_free(frame);
    EXPECT_EQ(mbufs_in_use(), before);
}

TEST(FrameBuilder, Ipv4IdIncrementsPerFrame) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    FrameBuilder builder;
    const Route route = route_of(false, false);
    const SegmentFields f{Seq(1), Seq(2), pmd::tcp_flags::kAck, 100, nullptr};
    rte_mbuf* a = builder.build(alloc(), route, f, nullptr);
    rte_mbuf* b = builder.build_copy(alloc(), route, f, {});
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    const uint16_t id_a = pmd::load_be16(rte_pktmbuf_mtod(a, const uint8_t*) + 14 + 4);
    const uint16_t id_b = pmd::load_be16(rte_pktmbuf_mtod(b, const uint8_t*) + 14 + 4);
    EXPECT_EQ(static_cast<uint16_t>(id_a + 1), id_b);
    rte_pktmbuf_free(a);
    rte_pktmbuf_free(b);
    EXPECT_EQ(mbufs_in_use(), before);
}

TEST(FrameBuilder, HeaderSizeCountsEveryLayer) {
    const TcpOptions options = data_options();  // TS + 2 SACK blocks: 12 + 20 = 32 bytes
    EXPECT_EQ(header_size(route_of(false, false), nullptr), 14u + 20 + 20);
    EXPECT_EQ(header_size(route_of(false, true), nullptr), 18u + 20 + 20);
    EXPECT_EQ(header_size(route_of(true, false), &options), 14u + 40 + 20 + 32);
    EXPECT_EQ(header_size(route_of(true, true), &options), 18u + 40 + 20 + 32);
}

// What a port does with an offloaded frame: sum the TCP segment with the pseudo-header sum sitting in
// the checksum field, store the complement; compute the IPv4 header checksum.
void complete_like_a_port(rte_mbuf* m) {
    uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
    uint8_t* ip = frame + m->l2_len;
    uint8_t* tcp = ip + m->l3_len;
    if ((m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) != 0) {
        pmd::InternetSum sum;
        sum.add({ip, m->l3_len});
        const auto c = static_cast<uint16_t>(~sum.folded());
        std::memcpy(ip + 10, &c, 2);
    }
    pmd::InternetSum sum;
    sum.add({tcp, m->data_len - size_t{m->l2_len} - m->l3_len});
    for (const rte_mbuf* seg = m->next; seg != nullptr; seg = seg->next) {
        sum.add({rte_pktmbuf_mtod(seg, const uint8_t*), seg->data_len});
    }
    const auto c = static_cast<uint16_t>(~sum.folded());
    std::memcpy(tcp + 16, &c, 2);
}

TEST(FrameBuilder, OffloadLeavesWhatThePortNeeds) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    const TcpOptions options = data_options();
    FrameBuilder builder(TxChecksum::Offload);
    for (const bool v6 : {false, true}) {
        for (const bool vlan : {false, true}) {
            SCOPED_TRACE(testing::Message() << (v6 ? "IPv6" : "IPv4") << (vlan ? " with VLAN" : ""));
            const Route route = route_of(v6, vlan);
            const std::vector<uint8_t> payload = payload_bytes(2999);
            const SegmentFields f{Seq(9), Seq(10), pmd::tcp_flags::kAck, 300, &options};
            rte_mbuf* frame = builder.build(alloc(), route, f, mbuf_of(payload, 1000));
            ASSERT_NE(frame, nullptr);

            const uint64_t expected_flags = v6 ? RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM
                                               : RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
            EXPECT_EQ(frame->ol_flags, expected_flags);
            EXPECT_EQ(frame->l2_len, vlan ? 18u : 14u);
            EXPECT_EQ(frame->l3_len, v6 ? 40u : 20u);
            EXPECT_EQ(frame->l4_len, 20u + options_size(options));

            const uint8_t* ip = rte_pktmbuf_mtod_offset(frame, const uint8_t*, frame->l2_len);
            const uint16_t pseudo = v6 ? rte_ipv6_phdr_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip), frame->ol_flags)
                                       : rte_ipv4_phdr_cksum(reinterpret_cast<const rte_ipv4_hdr*>(ip), frame->ol_flags);
            uint16_t field;
            std::memcpy(&field, ip + frame->l3_len + 16, 2);
            EXPECT_EQ(field, pseudo);
            EXPECT_NE(field, 0);
            if (!v6) {
                EXPECT_EQ(pmd::load_be16(ip + 10), 0) << "the port computes the IPv4 header checksum";
            }

            complete_like_a_port(frame);
            expect_frame(frame, route, f, payload);
            rte_pktmbuf_free(frame);
        }
    }
    EXPECT_EQ(mbufs_in_use(), before);
}

TEST(FrameBuilder, SoftwareModeAsksNoOffload) {
    REQUIRE_TCP_EAL();
    FrameBuilder builder;
    rte_mbuf* frame = builder.build(alloc(), route_of(false, false), {Seq(1), Seq(2), pmd::tcp_flags::kAck, 1, nullptr},
                                    nullptr);
    ASSERT_NE(frame, nullptr);
    EXPECT_EQ(frame->ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK), 0u);
    rte_pktmbuf_free(frame);
}

// A refused build leaves both mbufs exactly as they were: still the caller's, to free or reuse.
void expect_untouched(const rte_mbuf* hdr, const rte_mbuf* payload, uint32_t payload_len, uint16_t payload_segs) {
    EXPECT_EQ(hdr->pkt_len, 0u);
    EXPECT_EQ(hdr->data_len, 0u);
    EXPECT_EQ(hdr->nb_segs, 1);
    EXPECT_EQ(hdr->next, nullptr);
    EXPECT_EQ(hdr->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM, 0u);
    if (payload != nullptr) {
        EXPECT_EQ(payload->pkt_len, payload_len);
        EXPECT_EQ(payload->nb_segs, payload_segs);
    }
}

TEST(FrameBuilder, RefusesWhatItCannotBuildAndLeavesTheMbufsAlone) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    FrameBuilder builder(TxChecksum::Offload);
    const SegmentFields f{Seq(1), Seq(2), pmd::tcp_flags::kAck, 1, nullptr};
    const std::vector<uint8_t> payload = payload_bytes(100);
    rte_mbuf* hdr = alloc();
    rte_mbuf* data = mbuf_of(payload);
    ASSERT_NE(data, nullptr);

    Route mixed = route_of(false, false);
    mixed.dst_ip = route_of(true, false).dst_ip;
    EXPECT_EQ(builder.build(hdr, mixed, f, data), nullptr) << "families differ";
    expect_untouched(hdr, data, 100, 1);
    Route none = route_of(false, false);
    none.src_ip = IpAddress{};
    none.dst_ip = IpAddress{};
    EXPECT_EQ(builder.build(hdr, none, f, data), nullptr) << "no family";
    expect_untouched(hdr, data, 100, 1);

    const uint16_t data_off = hdr->data_off;
    hdr->data_off = static_cast<uint16_t>(hdr->buf_len - header_size(route_of(false, false), nullptr) + 1);
    EXPECT_EQ(builder.build(hdr, route_of(false, false), f, data), nullptr) << "no tailroom";
    expect_untouched(hdr, data, 100, 1);
    hdr->data_off = data_off;

    const uint16_t segs = data->nb_segs;
    data->nb_segs = RTE_MBUF_MAX_NB_SEGS;  // a chain as long as that would take the whole test pool
    EXPECT_EQ(builder.build(hdr, route_of(false, false), f, data), nullptr) << "too many segments";
    data->nb_segs = segs;
    expect_untouched(hdr, data, 100, 1);

    std::vector<uint8_t> too_big(rte_pktmbuf_tailroom(hdr) - header_size(route_of(false, false), nullptr) + 1);
    EXPECT_EQ(builder.build_copy(hdr, route_of(false, false), f, too_big), nullptr) << "copy does not fit";
    expect_untouched(hdr, nullptr, 0, 0);

    rte_pktmbuf_append(hdr, 1);
    EXPECT_EQ(builder.build(hdr, route_of(false, false), f, data), nullptr) << "hdr not empty";
    EXPECT_EQ(hdr->data_len, 1u);
    rte_pktmbuf_trim(hdr, 1);

    // The refused mbufs still work.
    rte_mbuf* frame = builder.build(hdr, route_of(false, false), f, data);
    EXPECT_EQ(frame, hdr);
    rte_pktmbuf_free(frame);
    EXPECT_EQ(mbufs_in_use(), before);
}

TEST(FrameBuilder, RefusesAnIpPacketOver65535Bytes) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    FrameBuilder builder;
    const SegmentFields f{Seq(1), Seq(2), pmd::tcp_flags::kAck, 1, nullptr};
    for (const bool v6 : {false, true}) {
        const Route route = route_of(v6, false);
        // IPv4 counts its 20-byte header in the 16-bit length, IPv6 does not count its 40.
        const size_t most = 65535 - 20 - (v6 ? 0 : 20);
        rte_mbuf* hdr = alloc();
        rte_mbuf* data = mbuf_of(payload_bytes(most + 1));
        ASSERT_NE(data, nullptr);
        EXPECT_EQ(builder.build(hdr, route, f, data), nullptr);
        expect_untouched(hdr, data, static_cast<uint32_t>(most + 1), data->nb_segs);
        rte_pktmbuf_trim(data, 1);
        rte_mbuf* frame = builder.build(hdr, route, f, data);
        ASSERT_NE(frame, nullptr) << (v6 ? "IPv6" : "IPv4") << " at the limit";
        const Received rx = receive(frame);
        ASSERT_TRUE(rx.parse.ok());
        EXPECT_EQ(rx.parse.segment.payload_len, most);
        EXPECT_TRUE(pmd::tcp_checksum_ok(rx.first, rx.parse.segment, rx.more));
        rte_pktmbuf_free(frame);
    }
    EXPECT_EQ(mbufs_in_use(), before);
}

}  // namespace
}  // namespace nvmeddp::tcp
