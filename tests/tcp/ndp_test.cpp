// IPv6 neighbour discovery: NS and NA frames built here parse back to the same message; every RFC 4861
// 7.1.1 / 7.1.2 validation rule refuses a frame that breaks it (the frame otherwise valid, its checksum
// recomputed by a plain RFC 1071 sum written here); the solicited-node group, its MAC and the EUI-64
// link-local address against values worked out by hand; and tshark, an independent decoder, reads the
// built frames as well-formed NS/NA with good checksums.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "pmd/packet/be_int.hpp"
#include "tcp/ndp.hpp"
#include "tcp_test_support.hpp"

namespace nvmeddp::tcp {
namespace {

using tcp_test::bytes_of;
using tcp_test::mbufs_in_use;
using tcp_test::pool;
using Bytes = std::vector<uint8_t>;

const MacAddress kOurMac{{0x02, 0, 0, 0, 0, 0x01}};
const MacAddress kPeerMac{{0x02, 0, 0, 0, 0, 0x02}};
constexpr uint16_t kTci = 0x2000 | 300;

IpAddress ip(const char* text) {
    const std::optional<IpAddress> a = IpAddress::parse(text);
    EXPECT_TRUE(a.has_value()) << text;
    return a.value_or(IpAddress{});
}

const IpAddress kOurIp = ip("2001:db8::1");
const IpAddress kPeerIp = ip("2001:db8::2");

size_t l2_of(bool vlan) { return vlan ? 18 : 14; }

Bytes ns_frame(const IpAddress& our_ip, const IpAddress& target, bool vlan) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool());
    EXPECT_NE(m, nullptr);
    std::memset(rte_pktmbuf_mtod(m, void*), 0xA5, rte_pktmbuf_tailroom(m));  // stale bytes must not show
    EXPECT_TRUE(build_neighbor_solicitation(m, kOurMac, our_ip, target, vlan, kTci));
    Bytes bytes = bytes_of(m);
    rte_pktmbuf_free(m);
    return bytes;
}

Bytes na_frame(const MacAddress& to_mac, const IpAddress& to_ip, bool solicited, bool vlan) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool());
    EXPECT_NE(m, nullptr);
    std::memset(rte_pktmbuf_mtod(m, void*), 0xA5, rte_pktmbuf_tailroom(m));
    EXPECT_TRUE(build_neighbor_advertisement(m, kOurMac, kOurIp, to_mac, to_ip, solicited, vlan, kTci));
    Bytes bytes = bytes_of(m);
    rte_pktmbuf_free(m);
    return bytes;
}

// RFC 1071 the slow, obvious way: 16-bit big-endian words, carries folded at the end.
uint16_t plain_sum(const Bytes& bytes) {
    uint32_t sum = 0;
    for (size_t i = 0; i < bytes.size(); i += 2) {
        sum += static_cast<uint32_t>(bytes[i]) << 8 | (i + 1 < bytes.size() ? bytes[i + 1] : 0);
    }
    while (sum > 0xFFFF) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// The pseudo-header (RFC 8200 8.1) and the ICMPv6 message of the frame, as the checksum covers them.
Bytes checksummed_bytes(const Bytes& frame, size_t l2) {
    const size_t icmp_length = pmd::load_be16(&frame[l2 + 4]);
    Bytes b(frame.begin() + static_cast<long>(l2 + 8), frame.begin() + static_cast<long>(l2 + 40));  // src, dst
    b.insert(b.end(), {0, 0, static_cast<uint8_t>(icmp_length >> 8), static_cast<uint8_t>(icmp_length), 0, 0, 0, 58});
    const auto icmp = frame.begin() + static_cast<long>(l2 + 40);
    b.insert(b.end(), icmp, icmp + static_cast<long>(icmp_length));
    return b;
}

// Makes the ICMPv6 checksum right again after a test changed the message.
void fix_checksum(Bytes& frame, size_t l2) {
    frame[l2 + 42] = 0;
    frame[l2 + 43] = 0;
    const uint16_t checksum = static_cast<uint16_t>(~plain_sum(checksummed_bytes(frame, l2)));
    frame[l2 + 42] = static_cast<uint8_t>(checksum >> 8);
    frame[l2 + 43] = static_cast<uint8_t>(checksum);
}

// The frame with its ICMPv6 message replaced by `icmp` (payload length and checksum made to match).
Bytes with_icmp(const Bytes& frame, size_t l2, const Bytes& icmp) {
    Bytes out(frame.begin(), frame.begin() + static_cast<long>(l2 + 40));
    out.insert(out.end(), icmp.begin(), icmp.end());
    out[l2 + 4] = static_cast<uint8_t>(icmp.size() >> 8);
    out[l2 + 5] = static_cast<uint8_t>(icmp.size());
    fix_checksum(out, l2);
    return out;
}

Bytes icmp_of(const Bytes& frame, size_t l2) { return Bytes(frame.begin() + static_cast<long>(l2 + 40), frame.end()); }

void set_address(Bytes& frame, size_t at, const IpAddress& a) {
    std::copy(a.bytes.begin(), a.bytes.end(), frame.begin() + static_cast<long>(at));
}

TEST(Ndp, SolicitationRoundTripsWithAndWithoutVlan) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    for (const bool vlan : {false, true}) {
        SCOPED_TRACE(vlan ? "with VLAN" : "untagged");
        const size_t l2 = l2_of(vlan);
        const Bytes frame = ns_frame(kOurIp, kPeerIp, vlan);
        ASSERT_EQ(frame.size(), l2 + 40 + 24 + 8);
        EXPECT_EQ(Bytes(frame.begin(), frame.begin() + 6), (Bytes{0x33, 0x33, 0xff, 0, 0, 0x02}));
        EXPECT_EQ(pmd::load_be16(&frame[12]), vlan ? 0x8100 : 0x86DD);
        if (vlan) {
            EXPECT_EQ(pmd::load_be16(&frame[14]), kTci);
            EXPECT_EQ(pmd::load_be16(&frame[16]), 0x86DD);
        }
        EXPECT_EQ(frame[l2], 0x60) << "version 6, traffic class 0";
        EXPECT_EQ(frame[l2 + 6], 58) << "next header ICMPv6";
        EXPECT_EQ(frame[l2 + 7], 255) << "hop limit";
        EXPECT_EQ(frame[l2 + 40], 135);
        EXPECT_EQ(plain_sum(checksummed_bytes(frame, l2)), 0xFFFF) << "checksum right by a plain RFC 1071 sum";
        EXPECT_EQ(Bytes(frame.end() - 8, frame.end()), (Bytes{1, 1, 0x02, 0, 0, 0, 0, 0x01}))
            << "source link-layer option";

        MacAddress eth_src;
        const std::optional<NdMessage> msg = parse_nd(frame, &eth_src);
        ASSERT_TRUE(msg.has_value());
        EXPECT_EQ(msg->type, NdMessage::Type::Solicitation);
        EXPECT_EQ(msg->src_ip, kOurIp);
        EXPECT_EQ(msg->dst_ip, ip("ff02::1:ff00:2"));
        EXPECT_EQ(msg->target, kPeerIp);
        EXPECT_EQ(msg->link_addr, kOurMac);
        EXPECT_EQ(eth_src, kOurMac);
    }
    EXPECT_EQ(mbufs_in_use(), before);
}

TEST(Ndp, AdvertisementRoundTripsWithAndWithoutVlan) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    for (const bool vlan : {false, true}) {
        for (const bool solicited : {true, false}) {
            SCOPED_TRACE(testing::Message() << (vlan ? "with VLAN" : "untagged") << (solicited ? " solicited" : ""));
            const size_t l2 = l2_of(vlan);
            const Bytes frame = na_frame(kPeerMac, kPeerIp, solicited, vlan);
            ASSERT_EQ(frame.size(), l2 + 40 + 24 + 8);
            EXPECT_EQ(Bytes(frame.begin(), frame.begin() + 6), Bytes(kPeerMac.bytes.begin(), kPeerMac.bytes.end()));
            EXPECT_EQ(frame[l2 + 7], 255) << "hop limit";
            EXPECT_EQ(frame[l2 + 40], 136);
            EXPECT_EQ(frame[l2 + 44], solicited ? 0x60 : 0x20) << "S and O flags, R clear";
            EXPECT_EQ(plain_sum(checksummed_bytes(frame, l2)), 0xFFFF);
            EXPECT_EQ(Bytes(frame.end() - 8, frame.end()), (Bytes{2, 1, 0x02, 0, 0, 0, 0, 0x01}))
                << "target link-layer option";

            MacAddress eth_src;
            const std::optional<NdMessage> msg = parse_nd(frame, &eth_src);
            ASSERT_TRUE(msg.has_value());
            EXPECT_EQ(msg->type, NdMessage::Type::Advertisement);
            EXPECT_EQ(msg->src_ip, kOurIp);
            EXPECT_EQ(msg->dst_ip, kPeerIp);
            EXPECT_EQ(msg->target, kOurIp);
            EXPECT_EQ(msg->link_addr, kOurMac);
            EXPECT_EQ(msg->solicited, solicited);
            EXPECT_TRUE(msg->override_flag);
            EXPECT_FALSE(msg->router);
            EXPECT_EQ(eth_src, kOurMac);
        }
    }
    EXPECT_EQ(mbufs_in_use(), before);
}

TEST(Ndp, DadProbeFromUnspecifiedHasNoLinkLayerOption) {
    REQUIRE_TCP_EAL();
    const Bytes frame = ns_frame(ip("::"), kOurIp, false);
    ASSERT_EQ(frame.size(), 14u + 40 + 24) << "RFC 4861 7.2.2: no source link-layer option from ::";
    const std::optional<NdMessage> msg = parse_nd(frame);
    ASSERT_TRUE(msg.has_value());
    EXPECT_EQ(msg->src_ip, ip("::"));
    EXPECT_EQ(msg->dst_ip, ip("ff02::1:ff00:1"));
    EXPECT_TRUE(msg->link_addr.is_zero());
}

TEST(Ndp, ParseIgnoresPaddingUnknownAndOddSizedOptions) {
    REQUIRE_TCP_EAL();
    const Bytes ns = ns_frame(kOurIp, kPeerIp, false);
    Bytes padded = ns;
    padded.resize(padded.size() + 10, 0);
    EXPECT_TRUE(parse_nd(padded).has_value()) << "bytes after the IPv6 payload are not the message's";

    // A nonce option (type 14) first, then the link-layer option: the option is found after another.
    Bytes icmp(ns.begin() + 54, ns.begin() + 78);
    icmp.insert(icmp.end(), {14, 1, 1, 2, 3, 4, 5, 6});
    icmp.insert(icmp.end(), ns.end() - 8, ns.end());
    std::optional<NdMessage> msg = parse_nd(with_icmp(ns, 14, icmp));
    ASSERT_TRUE(msg.has_value());
    EXPECT_EQ(msg->link_addr, kOurMac);

    // A 16-byte "link-layer" option is not an Ethernet address: ignored, not misread.
    Bytes long_option(ns.begin() + 54, ns.begin() + 78);
    long_option.insert(long_option.end(), {1, 2, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0});
    msg = parse_nd(with_icmp(ns, 14, long_option));
    ASSERT_TRUE(msg.has_value());
    EXPECT_TRUE(msg->link_addr.is_zero());

    // An NS's target link-layer option is not its source link address.
    Bytes wrong_kind(ns.begin() + 54, ns.begin() + 78);
    wrong_kind.insert(wrong_kind.end(), {2, 1, 9, 9, 9, 9, 9, 9});
    msg = parse_nd(with_icmp(ns, 14, wrong_kind));
    ASSERT_TRUE(msg.has_value());
    EXPECT_TRUE(msg->link_addr.is_zero());
}

// Each rule of RFC 4861 7.1.1 / 7.1.2 broken alone, in a frame that is otherwise valid: the
// unbroken frame (with the same checksum repair) must parse, or the refusal proves nothing.
TEST(Ndp, ParseRefusesWhatRfc4861SaysToDrop) {
    REQUIRE_TCP_EAL();
    for (const bool vlan : {false, true}) {
        SCOPED_TRACE(vlan ? "with VLAN" : "untagged");
        const size_t l2 = l2_of(vlan);
        const size_t icmp = l2 + 40;
        const Bytes ns = ns_frame(kOurIp, kPeerIp, vlan);
        const Bytes na = na_frame(kPeerMac, kPeerIp, true, vlan);
        Bytes repaired = ns;
        fix_checksum(repaired, l2);
        ASSERT_EQ(repaired, ns) << "the test's checksum agrees with the builder's";
        ASSERT_TRUE(parse_nd(ns).has_value());
        ASSERT_TRUE(parse_nd(na).has_value());

        for (const Bytes* base : {&ns, &na}) {
            Bytes f = *base;
            f[l2 + 7] = 254;
            EXPECT_FALSE(parse_nd(f).has_value()) << "hop limit 254";
            f[l2 + 7] = 64;
            EXPECT_FALSE(parse_nd(f).has_value()) << "hop limit 64";

            f = *base;
            f[icmp + 2] ^= 0x01;
            EXPECT_FALSE(parse_nd(f).has_value()) << "checksum field off by one bit";
            f = *base;
            f[icmp + 8 + 15] ^= 0x01;
            EXPECT_FALSE(parse_nd(f).has_value()) << "target changed, checksum not";
            f = *base;
            f[l2 + 8 + 15] ^= 0x01;
            EXPECT_FALSE(parse_nd(f).has_value()) << "IPv6 source changed: the pseudo-header is summed";

            f = *base;
            f[icmp + 1] = 1;
            fix_checksum(f, l2);
            EXPECT_FALSE(parse_nd(f).has_value()) << "code 1";

            f = *base;
            f.pop_back();
            EXPECT_FALSE(parse_nd(f).has_value()) << "frame shorter than the IPv6 payload length";
            f = *base;
            f.resize(icmp + 20);
            EXPECT_FALSE(parse_nd(with_icmp(f, l2, icmp_of(f, l2))).has_value()) << "ICMP length 20 < 24";
            f = *base;
            f.resize(icmp + 24 + 1);
            EXPECT_FALSE(parse_nd(with_icmp(f, l2, icmp_of(f, l2))).has_value()) << "1 byte left for an option";
            f = *base;
            f.resize(icmp + 24);
            EXPECT_TRUE(parse_nd(with_icmp(f, l2, icmp_of(f, l2))).has_value()) << "24 bytes, no options: valid";
            EXPECT_FALSE(parse_nd(Bytes(base->begin(), base->begin() + static_cast<long>(l2 + 39))).has_value())
                << "IPv6 header cut";

            f = *base;
            f[icmp + 25] = 0;
            fix_checksum(f, l2);
            EXPECT_FALSE(parse_nd(f).has_value()) << "option of length 0";
            f = *base;
            f[icmp + 25] = 2;
            fix_checksum(f, l2);
            EXPECT_FALSE(parse_nd(f).has_value()) << "option running past the message";

            f = *base;
            set_address(f, icmp + 8, ip("ff02::1"));
            fix_checksum(f, l2);
            EXPECT_FALSE(parse_nd(f).has_value()) << "multicast target";
            f = *base;
            set_address(f, l2 + 8, ip("ff02::2"));
            fix_checksum(f, l2);
            EXPECT_FALSE(parse_nd(f).has_value()) << "multicast source";

            f = *base;
            f[icmp] = 134;  // a Router Advertisement
            fix_checksum(f, l2);
            EXPECT_FALSE(parse_nd(f).has_value()) << "ICMPv6 type 134";
            f = *base;
            f[l2 + 6] = 17;
            EXPECT_FALSE(parse_nd(f).has_value()) << "next header UDP";
            f = *base;
            f[l2] = 0x40;
            EXPECT_FALSE(parse_nd(f).has_value()) << "IP version 4";
            f = *base;
            f[l2 - 2] = 0x08;
            f[l2 - 1] = 0x00;
            EXPECT_FALSE(parse_nd(f).has_value()) << "EtherType IPv4";
        }

        // NA: the solicited flag with a multicast destination.
        Bytes f = na;
        set_address(f, l2 + 24, ip("ff02::1"));
        f[icmp + 4] = 0x20;  // override only
        fix_checksum(f, l2);
        EXPECT_TRUE(parse_nd(f).has_value()) << "unsolicited NA to all-nodes is valid";
        f[icmp + 4] = 0x60;
        fix_checksum(f, l2);
        EXPECT_FALSE(parse_nd(f).has_value()) << "solicited NA to a multicast destination";

        // NS from :: (duplicate address detection).
        const Bytes dad = ns_frame(ip("::"), kPeerIp, vlan);
        ASSERT_TRUE(parse_nd(dad).has_value());
        f = dad;
        set_address(f, l2 + 24, kPeerIp);
        fix_checksum(f, l2);
        EXPECT_FALSE(parse_nd(f).has_value()) << "NS from :: to a unicast destination";
        f = dad;
        set_address(f, l2 + 24, ip("ff02::1"));
        fix_checksum(f, l2);
        EXPECT_FALSE(parse_nd(f).has_value()) << "NS from :: to all-nodes, not a solicited-node group";
        Bytes with_option = icmp_of(dad, l2);
        with_option.insert(with_option.end(), {1, 1, 0x02, 0, 0, 0, 0, 0x01});
        EXPECT_FALSE(parse_nd(with_icmp(dad, l2, with_option)).has_value())
            << "NS from :: with a source link-layer option";
        with_option[24] = 14;  // the same bytes as a nonce option: allowed
        EXPECT_TRUE(parse_nd(with_icmp(dad, l2, with_option)).has_value());
    }
}

TEST(Ndp, ParseRefusesShortFramesAndDoubleTags) {
    REQUIRE_TCP_EAL();
    const Bytes ns = ns_frame(kOurIp, kPeerIp, true);
    for (size_t n = 0; n < ns.size(); ++n) {
        EXPECT_FALSE(parse_nd(Bytes(ns.begin(), ns.begin() + static_cast<long>(n))).has_value()) << n << " bytes";
    }
    Bytes double_tag(ns.begin(), ns.begin() + 12);
    double_tag.insert(double_tag.end(), {0x81, 0x00, 0x00, 0x07});
    double_tag.insert(double_tag.end(), ns.begin() + 12, ns.end());
    EXPECT_FALSE(parse_nd(double_tag).has_value()) << "a second 802.1Q tag";

    MacAddress untouched = kPeerMac;
    EXPECT_FALSE(parse_nd(Bytes(ns.begin(), ns.end() - 1), &untouched).has_value());
    EXPECT_EQ(untouched, kPeerMac) << "*eth_src untouched on nullopt";
}

TEST(Ndp, BuildRefusesWhatItCannotWrite) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    rte_mbuf* m = rte_pktmbuf_alloc(pool());
    ASSERT_NE(m, nullptr);
    EXPECT_FALSE(build_neighbor_solicitation(nullptr, kOurMac, kOurIp, kPeerIp));
    EXPECT_FALSE(build_neighbor_solicitation(m, kOurMac, IpAddress::v4(192, 0, 2, 1), kPeerIp));
    EXPECT_FALSE(build_neighbor_solicitation(m, kOurMac, kOurIp, IpAddress::v4(192, 0, 2, 2)));
    EXPECT_FALSE(build_neighbor_solicitation(m, kOurMac, IpAddress{}, kPeerIp));
    EXPECT_FALSE(build_neighbor_advertisement(m, kOurMac, IpAddress::v4(192, 0, 2, 1), kPeerMac, kPeerIp, true));
    EXPECT_FALSE(build_neighbor_advertisement(m, kOurMac, kOurIp, kPeerMac, IpAddress::v4(192, 0, 2, 2), true));
    const IpAddress all_nodes = ip("ff02::1");
    EXPECT_FALSE(build_neighbor_advertisement(m, kOurMac, kOurIp, ipv6_multicast_mac(all_nodes), all_nodes, true))
        << "a solicited NA to a multicast group is one receivers drop";
    EXPECT_EQ(m->pkt_len, 0u) << "refusals write nothing";

    // No room: 85 bytes of tailroom for an 86-byte frame (and 90 with a tag for a 90-byte one).
    const uint16_t data_off = m->data_off;
    m->data_off = static_cast<uint16_t>(m->buf_len - 85);
    EXPECT_FALSE(build_neighbor_solicitation(m, kOurMac, kOurIp, kPeerIp));
    EXPECT_FALSE(build_neighbor_advertisement(m, kOurMac, kOurIp, kPeerMac, kPeerIp, true));
    EXPECT_EQ(m->pkt_len, 0u);
    m->data_off = static_cast<uint16_t>(m->buf_len - 86);
    EXPECT_TRUE(build_neighbor_solicitation(m, kOurMac, kOurIp, kPeerIp)) << "exactly enough room";
    EXPECT_FALSE(build_neighbor_advertisement(m, kOurMac, kOurIp, kPeerMac, kPeerIp, true)) << "m not empty";
    EXPECT_EQ(m->pkt_len, 86u);
    rte_pktmbuf_reset(m);
    m->data_off = static_cast<uint16_t>(m->buf_len - 89);
    EXPECT_FALSE(build_neighbor_advertisement(m, kOurMac, kOurIp, kPeerMac, kPeerIp, true, true, kTci));
    m->data_off = data_off;
    EXPECT_TRUE(build_neighbor_advertisement(m, kOurMac, kOurIp, kPeerMac, ip("ff02::1"), false))
        << "an unsolicited NA to all-nodes is fine";
    rte_pktmbuf_free(m);
    EXPECT_EQ(mbufs_in_use(), before);
}

TEST(Ndp, SolicitedNodeAddressAndMulticastMac) {
    // Worked by hand: the low 24 bits 34:56:78 after ff02::1:ff, and 33:33 then the group's low 32 bits.
    EXPECT_EQ(solicited_node(ip("2001:db8::1234:5678")), ip("ff02::1:ff34:5678"));
    EXPECT_EQ(ipv6_multicast_mac(ip("ff02::1:ff34:5678")), (MacAddress{{0x33, 0x33, 0xff, 0x34, 0x56, 0x78}}));
    EXPECT_EQ(solicited_node(ip("fe80::21b:21ff:fe0a:b0c")), ip("ff02::1:ff0a:b0c"));
    EXPECT_EQ(ipv6_multicast_mac(ip("ff02::1")), (MacAddress{{0x33, 0x33, 0, 0, 0, 0x01}}));
    EXPECT_EQ(ipv6_multicast_mac(ip("ff02::1:ff00:2")), (MacAddress{{0x33, 0x33, 0xff, 0, 0, 0x02}}));
    EXPECT_EQ(solicited_node(IpAddress::v4(192, 0, 2, 1)).family, IpAddress::Family::None);
}

TEST(Ndp, LinkLocalFromMacIsModifiedEui64) {
    // 00:1b:21:0a:0b:0c: universal/local bit 0 -> 1 gives 02, ff:fe between the halves.
    EXPECT_EQ(link_local_from_mac(MacAddress{{0x00, 0x1b, 0x21, 0x0a, 0x0b, 0x0c}}), ip("fe80::21b:21ff:fe0a:b0c"));
    // A locally administered MAC has the bit set, and it is cleared.
    EXPECT_EQ(link_local_from_mac(kOurMac), ip("fe80::ff:fe00:1"));
}

// --- tshark: an independent decoder reads the built frames -----------------------------------------

// A classic libpcap file (the format tcpdump writes): a 24-byte global header, then per frame a
// 16-byte record header and the frame. Written in this machine's byte order, which the magic tells.
void write_pcap(const std::string& path, const std::vector<Bytes>& frames) {
    std::ofstream out(path, std::ios::binary);
    auto put32 = [&](uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
    auto put16 = [&](uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
    put32(0xa1b2c3d4);  // microsecond timestamps
    put16(2);
    put16(4);
    put32(0);      // time zone offset
    put32(0);      // timestamp accuracy
    put32(65535);  // snapshot length
    put32(1);      // LINKTYPE_ETHERNET
    uint32_t second = 1;
    for (const Bytes& f : frames) {
        put32(second++);
        put32(0);
        put32(static_cast<uint32_t>(f.size()));
        put32(static_cast<uint32_t>(f.size()));
        out.write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
    }
    ASSERT_TRUE(out.good()) << "writing " << path;
}

std::string run(const std::string& command) {
    std::string output;
    FILE* p = popen(command.c_str(), "r");
    if (p == nullptr) return output;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) output.append(buf, n);
    pclose(p);
    return output;
}

// tshark -V's text of each frame, split at its "Frame N:" lines.
std::vector<std::string> per_frame(const std::string& text) {
    std::vector<std::string> frames;
    size_t at = text.find("Frame 1:");
    while (at != std::string::npos) {
        const size_t next = text.find("\nFrame ", at + 1);
        frames.push_back(text.substr(at, next == std::string::npos ? std::string::npos : next - at));
        at = next == std::string::npos ? next : next + 1;
    }
    return frames;
}

TEST(Ndp, TsharkDecodesBuiltFramesAsValidNsAndNa) {
    REQUIRE_TCP_EAL();
    ASSERT_EQ(std::system("command -v tshark > /dev/null 2>&1"), 0)
        << "tshark is not installed: this test checks our NS/NA frames with it (scripts/install-deps.sh installs it)";
    struct Expected {
        Bytes frame;
        std::vector<std::string> lines;
    };
    const std::vector<Expected> expected = {
        {ns_frame(kOurIp, kPeerIp, false),
         {"Type: Neighbor Solicitation (135)", "Target Address: 2001:db8::2", "Hop Limit: 255",
          "Destination Address: ff02::1:ff00:2", "ICMPv6 Option (Source link-layer address : 02:00:00:00:00:01)"}},
        {ns_frame(kOurIp, kPeerIp, true),
         {"Type: Neighbor Solicitation (135)", "ID: 300", "Target Address: 2001:db8::2",
          "ICMPv6 Option (Source link-layer address : 02:00:00:00:00:01)"}},
        {ns_frame(ip("::"), kPeerIp, false), {"Type: Neighbor Solicitation (135)", "Source Address: ::"}},
        {na_frame(kPeerMac, kPeerIp, true, false),
         {"Type: Neighbor Advertisement (136)", "Target Address: 2001:db8::1", "Hop Limit: 255",
          "= Solicited: Set", "= Override: Set", "= Router: Not set",
          "ICMPv6 Option (Target link-layer address : 02:00:00:00:00:01)"}},
        {na_frame(kPeerMac, kPeerIp, false, true),
         {"Type: Neighbor Advertisement (136)", "ID: 300", "= Solicited: Not set",
          "ICMPv6 Option (Target link-layer address : 02:00:00:00:00:01)"}},
    };
    std::vector<Bytes> frames;
    for (const Expected& e : expected) frames.push_back(e.frame);
    char path[] = "/tmp/nvmeddp_ndp_XXXXXX.pcap";
    const int fd = mkstemps(path, 5);
    ASSERT_GE(fd, 0);
    close(fd);
    write_pcap(path, frames);
    const std::string text = run(std::string("tshark -r ") + path + " -V 2>&1");
    unlink(path);

    const std::vector<std::string> decoded = per_frame(text);
    ASSERT_EQ(decoded.size(), expected.size()) << text;
    for (size_t i = 0; i < decoded.size(); ++i) {
        SCOPED_TRACE(testing::Message() << "frame " << i + 1 << ":\n" << decoded[i]);
        EXPECT_NE(decoded[i].find("[Checksum Status: Good]"), std::string::npos);
        EXPECT_EQ(decoded[i].find("Malformed"), std::string::npos);
        EXPECT_EQ(decoded[i].find("Expert Info"), std::string::npos) << "tshark found something to warn about";
        for (const std::string& line : expected[i].lines) {
            EXPECT_NE(decoded[i].find(line), std::string::npos) << "missing: " << line;
        }
    }
}

}  // namespace
}  // namespace nvmeddp::tcp
