// Frame parser on valid frames of every supported shape, and on each rejection reason.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/net_headers.hpp"
#include "pmd_test_support.hpp"
#include "testlib/frame_gen.hpp"

using namespace nvmeddp::pmd;
using namespace nvmeddp::testlib;
using nvmeddp::pmd_test::key_of;
using nvmeddp::pmd_test::parse_exact;

namespace {

std::vector<uint8_t> payload_of(size_t n, uint8_t salt = 0) {
    std::vector<uint8_t> p(n);
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 7 + salt);
    return p;
}

void expect_segment(const FrameParse& r, const FlowSpec& flow, const TcpFields& tcp, const BuiltFrame& f) {
    ASSERT_TRUE(r.ok()) << to_string(r.error);
    const TcpSegment& s = r.segment;
    EXPECT_EQ(s.flow, key_of(flow));
    EXPECT_EQ(s.flow.family, flow.ipv6 ? IpFamily::Ipv6 : IpFamily::Ipv4);
    EXPECT_EQ(s.seq, tcp.seq);
    EXPECT_EQ(s.ack, tcp.ack);
    EXPECT_EQ(s.tcp_flags, tcp.flags);
    EXPECT_EQ(s.l3_offset, f.layout.l3_offset);
    EXPECT_EQ(s.l4_offset, f.layout.l4_offset);
    EXPECT_EQ(s.payload_offset, f.layout.payload_offset);
    EXPECT_EQ(s.payload_len, f.layout.payload_len);
    std::vector<uint16_t> vids;
    if (flow.s_vlan) vids.push_back(*flow.s_vlan & 0x0FFF);
    if (flow.c_vlan) vids.push_back(*flow.c_vlan & 0x0FFF);
    ASSERT_EQ(s.vlan_count, vids.size());
    for (size_t i = 0; i < vids.size(); ++i) EXPECT_EQ(s.vlan_ids[i], vids[i]) << i;
}

BuiltFrame ipv4_frame(size_t payload = 100, bool pad = true) {
    TcpFields tcp;
    tcp.seq = 1000;
    tcp.ack = 77;
    return build_frame(ipv4_flow(), tcp, payload_of(payload), pad);
}

BuiltFrame ipv6_frame(size_t payload = 100, bool pad = true) {
    TcpFields tcp;
    tcp.seq = 1000;
    tcp.ack = 77;
    return build_frame(ipv6_flow(), tcp, payload_of(payload), pad);
}

FrameError error_of(const std::vector<uint8_t>& frame) { return parse_exact(frame).error; }

}  // namespace

TEST(FrameParser, AcceptsEverySupportedShape) {
    int checked = 0;
    for (bool v6 : {false, true}) {
        for (int vlan = 0; vlan < 4; ++vlan) {  // none, C-tag, S-tag only, S+C
            for (auto opts : {TcpOptions::None, TcpOptions::Timestamps, TcpOptions::TimestampsAndSack}) {
                for (uint8_t ip_words : {0, 1, 10}) {
                    if (v6 && ip_words != 0) continue;
                    for (size_t len : {0ul, 1ul, 6ul, 1448ul, 8960ul}) {
                        FlowSpec flow = v6 ? ipv6_flow() : ipv4_flow();
                        flow.ipv4_option_words = ip_words;
                        if (vlan == 1 || vlan == 3) flow.c_vlan = static_cast<uint16_t>(0x2000 | 200);  // PCP 1
                        if (vlan >= 2) flow.s_vlan = 4095;
                        TcpFields tcp;
                        tcp.seq = 0xFFFFFF00u + static_cast<uint32_t>(len);
                        tcp.ack = 0x01020304;
                        tcp.flags = static_cast<uint8_t>(tcp_flags::kAck | (len ? tcp_flags::kPsh : 0));
                        tcp.options = opts;
                        const auto payload = payload_of(len, static_cast<uint8_t>(vlan));
                        const auto f = build_frame(flow, tcp, payload);
                        SCOPED_TRACE(std::string(v6 ? "v6" : "v4") + " vlan " + std::to_string(vlan) + " opts " +
                                     std::to_string(static_cast<int>(opts)) + " ipw " + std::to_string(ip_words) +
                                     " len " + std::to_string(len));
                        const auto r = parse_exact(f.bytes);
                        expect_segment(r, flow, tcp, f);
                        if (r.ok()) {
                            const std::vector<uint8_t> got(f.bytes.begin() + r.segment.payload_offset,
                                                           f.bytes.begin() + r.segment.payload_offset + r.segment.payload_len);
                            EXPECT_EQ(got, payload);
                        }
                        ++checked;
                    }
                }
            }
        }
    }
    EXPECT_EQ(checked, 2 * 4 * 3 * 5 * 3 - 4 * 3 * 5 * 2);
}

TEST(FrameParser, KnownOffsetsOfAPlainIpv4Frame) {
    // Independent of the generator's layout bookkeeping: 14 + 20 + 20 is where the payload starts.
    const auto f = ipv4_frame(10);
    const auto r = parse_exact(f.bytes);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.segment.l3_offset, 14);
    EXPECT_EQ(r.segment.l4_offset, 34);
    EXPECT_EQ(r.segment.payload_offset, 54);
    EXPECT_EQ(r.segment.payload_len, 10u);
    EXPECT_EQ(r.segment.flow.src_port, 4420);
    EXPECT_EQ(r.segment.flow.dst_port, 40000);
    const uint8_t mapped_src[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 1};
    EXPECT_EQ(0, std::memcmp(r.segment.flow.src_addr.data(), mapped_src, 16));
}

TEST(FrameParser, EthernetPaddingIsNotPayload) {
    // 14 + 20 + 20 + 1 = 55 bytes, padded to 60: the payload is 1 byte, not 6.
    const auto f = ipv4_frame(1, true);
    ASSERT_EQ(f.bytes.size(), 60u);
    auto r = parse_exact(f.bytes);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.segment.payload_len, 1u);

    // A pure ACK, padded, with trailing FCS bytes as well.
    auto ack = ipv4_frame(0, true);
    ack.bytes.insert(ack.bytes.end(), {0xDE, 0xAD, 0xBE, 0xEF});
    r = parse_exact(ack.bytes);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.segment.payload_len, 0u);
    EXPECT_EQ(r.segment.payload_offset, 54);

    // IPv6 with trailing bytes.
    auto v6 = ipv6_frame(3, true);
    v6.bytes.resize(v6.bytes.size() + 17, 0xAA);
    r = parse_exact(v6.bytes);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.segment.payload_len, 3u);
}

TEST(FrameParser, DontFragmentIsNotAFragment) {
    auto f = ipv4_frame();
    ASSERT_EQ(f.bytes[14 + 6], 0x40);  // the generator sets DF
    EXPECT_TRUE(parse_exact(f.bytes).ok());
    f.bytes[14 + 6] = 0x80;  // the reserved ("evil") bit alone is not a fragment either
    EXPECT_TRUE(parse_exact(f.bytes).ok());
}

TEST(FrameParser, RejectsTruncatedEthernet) {
    const auto f = ipv4_frame();
    for (size_t n = 0; n < 14; ++n) EXPECT_EQ(parse_exact(f.bytes, n).error, FrameError::TruncatedEthernet) << n;
}

TEST(FrameParser, RejectsTruncatedVlanTag) {
    FlowSpec flow = ipv4_flow();
    flow.s_vlan = 10;
    flow.c_vlan = 20;
    const auto f = build_frame(flow, TcpFields{}, payload_of(50));
    for (size_t n : {14ul, 15ul, 17ul, 18ul, 21ul}) EXPECT_EQ(parse_exact(f.bytes, n).error, FrameError::TruncatedVlanTag) << n;
    // Both tags (and the EtherType the inner one carries) present, nothing of IP: 22 bytes.
    EXPECT_EQ(parse_exact(f.bytes, 22).error, FrameError::TruncatedIpHeader);
}

TEST(FrameParser, RejectsAThirdVlanTag) {
    FlowSpec flow = ipv4_flow();
    flow.s_vlan = 10;
    flow.c_vlan = 20;
    auto f = build_frame(flow, TcpFields{}, payload_of(50));
    // After the C-tag's TCI (offset 20) comes the EtherType; make it another C-tag.
    f.bytes.insert(f.bytes.begin() + 20, {0x81, 0x00, 0x00, 0x30});
    EXPECT_EQ(error_of(f.bytes), FrameError::TooManyVlanTags);
}

TEST(FrameParser, RejectsNonIpEtherTypes) {
    auto f = ipv4_frame();
    for (uint16_t type : {ether_type::kArp, uint16_t{0x88CC} /* LLDP */, uint16_t{0x0040} /* 802.3 length */,
                          uint16_t{0x86DE}, uint16_t{0x0801}}) {
        f.bytes[12] = static_cast<uint8_t>(type >> 8);
        f.bytes[13] = static_cast<uint8_t>(type);
        EXPECT_EQ(error_of(f.bytes), FrameError::NotIp) << type;
    }
    // Also behind a VLAN tag.
    FlowSpec flow = ipv4_flow();
    flow.c_vlan = 5;
    auto tagged = build_frame(flow, TcpFields{}, payload_of(50));
    tagged.bytes[16] = 0x08;
    tagged.bytes[17] = 0x06;
    EXPECT_EQ(error_of(tagged.bytes), FrameError::NotIp);
}

TEST(FrameParser, RejectsTruncatedIpHeaders) {
    const auto v4 = ipv4_frame(0, false);
    for (size_t n = 14; n < 34; ++n) EXPECT_EQ(parse_exact(v4.bytes, n).error, FrameError::TruncatedIpHeader) << n;
    const auto v6 = ipv6_frame(0, false);
    for (size_t n = 14; n < 54; ++n) EXPECT_EQ(parse_exact(v6.bytes, n).error, FrameError::TruncatedIpHeader) << n;
    // IHL 15 (60 bytes) in a frame that has only 40 bytes after the Ethernet header.
    auto ihl = ipv4_frame(0, false);
    ASSERT_EQ(ihl.bytes.size(), 54u);
    ihl.bytes[14] = 0x4F;
    EXPECT_EQ(error_of(ihl.bytes), FrameError::TruncatedIpHeader);
}

TEST(FrameParser, RejectsVersionThatDisagreesWithEtherType) {
    auto v4 = ipv4_frame();
    v4.bytes[14] = 0x65;
    EXPECT_EQ(error_of(v4.bytes), FrameError::BadIpVersion);
    v4.bytes[14] = 0x05;
    EXPECT_EQ(error_of(v4.bytes), FrameError::BadIpVersion);
    auto v6 = ipv6_frame();
    v6.bytes[14] = 0x40 | (v6.bytes[14] & 0x0F);
    EXPECT_EQ(error_of(v6.bytes), FrameError::BadIpVersion);
}

TEST(FrameParser, RejectsIhlBelowFive) {
    auto f = ipv4_frame();
    for (uint8_t ihl = 0; ihl < 5; ++ihl) {
        f.bytes[14] = static_cast<uint8_t>(0x40 | ihl);
        EXPECT_EQ(error_of(f.bytes), FrameError::BadIhl) << int{ihl};
    }
}

TEST(FrameParser, RejectsIpv4TotalLengthBelowHeader) {
    FlowSpec flow = ipv4_flow();
    flow.ipv4_option_words = 2;  // 28-byte header
    auto f = build_frame(flow, TcpFields{}, payload_of(100));
    for (uint16_t total : {0, 1, 20, 27}) {
        f.bytes[16] = static_cast<uint8_t>(total >> 8);
        f.bytes[17] = static_cast<uint8_t>(total);
        EXPECT_EQ(error_of(f.bytes), FrameError::BadIpTotalLength) << total;
    }
}

TEST(FrameParser, RejectsIpLengthBeyondTheFrame) {
    auto v4 = ipv4_frame(100, false);
    const uint16_t total = static_cast<uint16_t>(v4.bytes.size() - 14);
    v4.bytes[16] = static_cast<uint8_t>((total + 1) >> 8);
    v4.bytes[17] = static_cast<uint8_t>(total + 1);
    EXPECT_EQ(error_of(v4.bytes), FrameError::TruncatedIpPacket);
    v4.bytes[16] = v4.bytes[17] = 0xFF;
    EXPECT_EQ(error_of(v4.bytes), FrameError::TruncatedIpPacket);

    auto v6 = ipv6_frame(100, false);
    const uint16_t plen = static_cast<uint16_t>(v6.bytes.size() - 54);
    v6.bytes[18] = static_cast<uint8_t>((plen + 1) >> 8);
    v6.bytes[19] = static_cast<uint8_t>(plen + 1);
    EXPECT_EQ(error_of(v6.bytes), FrameError::TruncatedIpPacket);
    v6.bytes[18] = v6.bytes[19] = 0xFF;
    EXPECT_EQ(error_of(v6.bytes), FrameError::TruncatedIpPacket);
}

TEST(FrameParser, RejectsOtherUpperProtocols) {
    auto v4 = ipv4_frame();
    for (uint8_t proto : {ip_proto::kUdp, ip_proto::kIcmp, uint8_t{132} /* SCTP */, uint8_t{41}, uint8_t{0}}) {
        v4.bytes[14 + 9] = proto;
        EXPECT_EQ(error_of(v4.bytes), FrameError::NotTcp) << int{proto};
    }
    auto v6 = ipv6_frame();
    for (uint8_t nh : {ip_proto::kUdp, ip_proto::kIcmpv6, ip_proto::kIpv6NoNext, uint8_t{132}}) {
        v6.bytes[14 + 6] = nh;
        EXPECT_EQ(error_of(v6.bytes), FrameError::NotTcp) << int{nh};
    }
}

TEST(FrameParser, RejectsIpv4Fragments) {
    auto f = ipv4_frame();
    for (uint16_t frag : {uint16_t{0x2000}, uint16_t{0x6000}, uint16_t{0x0001}, uint16_t{0x1FFF}, uint16_t{0x4001},
                          uint16_t{0x3FFF}}) {
        f.bytes[14 + 6] = static_cast<uint8_t>(frag >> 8);
        f.bytes[14 + 7] = static_cast<uint8_t>(frag);
        EXPECT_EQ(error_of(f.bytes), FrameError::Ipv4Fragment) << frag;
    }
}

TEST(FrameParser, RejectsIpv6ExtensionHeaders) {
    auto f = ipv6_frame();
    for (uint8_t nh : {0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254}) {
        f.bytes[14 + 6] = nh;
        EXPECT_EQ(error_of(f.bytes), FrameError::Ipv6ExtensionHeader) << int{nh};
    }
}

TEST(FrameParser, RejectsIpPayloadShorterThanTcpHeader) {
    // The bytes are present (padding / trailing data) but IP says the packet ends before them.
    auto v4 = ipv4_frame(100);
    for (uint16_t total : {20, 21, 39}) {
        v4.bytes[16] = static_cast<uint8_t>(total >> 8);
        v4.bytes[17] = static_cast<uint8_t>(total);
        EXPECT_EQ(error_of(v4.bytes), FrameError::IpPayloadTooShortForTcp) << total;
    }
    auto v6 = ipv6_frame(100);
    for (uint16_t plen : {0, 1, 19}) {
        v6.bytes[18] = static_cast<uint8_t>(plen >> 8);
        v6.bytes[19] = static_cast<uint8_t>(plen);
        EXPECT_EQ(error_of(v6.bytes), FrameError::IpPayloadTooShortForTcp) << plen;
    }
}

TEST(FrameParser, RejectsBadTcpDataOffset) {
    auto f = ipv4_frame(100);
    const size_t doff_at = 34 + 12;
    for (uint8_t words = 0; words < 5; ++words) {
        f.bytes[doff_at] = static_cast<uint8_t>(words << 4);
        EXPECT_EQ(error_of(f.bytes), FrameError::BadTcpDataOffset) << int{words};
    }
    // A header longer than the IP payload: a pure ACK padded to 60 bytes has 6 bytes of padding
    // right after its TCP header, but a data offset of 6 words must still be refused.
    auto ack = ipv4_frame(0, true);
    ASSERT_EQ(ack.bytes.size(), 60u);
    ack.bytes[doff_at] = 6 << 4;
    EXPECT_EQ(error_of(ack.bytes), FrameError::BadTcpDataOffset);
    // 15 words against 20 + 19 bytes of TCP.
    auto short_payload = ipv6_frame(19, false);
    short_payload.bytes[54 + 12] = 15 << 4;
    EXPECT_EQ(error_of(short_payload.bytes), FrameError::BadTcpDataOffset);
    short_payload.bytes[54 + 12] = 9 << 4;  // exactly 36 bytes of header, 3 of payload
    const auto r = parse_exact(short_payload.bytes);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.segment.payload_len, 3u);
    EXPECT_EQ(r.segment.payload_offset, 54 + 36);
}

TEST(FrameParser, EveryErrorHasADistinctDescription) {
    std::set<std::string> seen;
    for (int e = 0; e <= static_cast<int>(FrameError::BadTcpDataOffset); ++e) {
        const std::string s = to_string(static_cast<FrameError>(e));
        EXPECT_FALSE(s.empty());
        EXPECT_NE(s, "unknown frame error") << e;
        EXPECT_TRUE(seen.insert(s).second) << s;
    }
}

// Frames in several segments (mbuf chains): the headers must all sit in the first segment, whose
// bytes are all the parser reads; the lengths are checked against the whole frame.
TEST(FrameParser, MultiSegmentFramesNeedTheirHeadersInTheFirstSegment) {
    for (const BuiltFrame& f : {ipv4_frame(500, false), ipv6_frame(500, false)}) {
        const size_t headers = f.layout.payload_offset;
        // Headers plus a part of the payload in the first segment: accepted, the payload continues.
        for (size_t first : {headers, headers + 1, headers + 200}) {
            std::vector<uint8_t> seg(f.bytes.begin(), f.bytes.begin() + static_cast<ptrdiff_t>(first));
            const FrameParse r = parse_frame(seg, f.bytes.size());
            ASSERT_TRUE(r.ok()) << to_string(r.error) << " with " << first << " bytes in the first segment";
            EXPECT_EQ(r.segment.payload_offset, headers);
            EXPECT_EQ(r.segment.payload_len, f.layout.payload_len);
        }
        // A first segment that ends inside any header: refused with its own reason, never read past.
        for (size_t first = 1; first < headers; ++first) {
            std::vector<uint8_t> seg(f.bytes.begin(), f.bytes.begin() + static_cast<ptrdiff_t>(first));
            EXPECT_EQ(parse_frame(seg, f.bytes.size()).error, FrameError::HeadersNotInFirstSegment) << first;
        }
        // The whole frame shorter than the IP header says: truncated, whatever the segments.
        std::vector<uint8_t> seg(f.bytes.begin(), f.bytes.begin() + static_cast<ptrdiff_t>(headers));
        EXPECT_EQ(parse_frame(seg, f.bytes.size() - 1).error, FrameError::TruncatedIpPacket);
    }
}
