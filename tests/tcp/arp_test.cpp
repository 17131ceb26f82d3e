// ARP: frames built here parse back to the same message, malformed ones are refused; the neighbour
// table's resolution states over time, its expiry, and what it gives up when full.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "pmd/packet/be_int.hpp"
#include "tcp/arp.hpp"
#include "tcp_test_support.hpp"

namespace nvmeddp::tcp {
namespace {

using tcp_test::bytes_of;
using tcp_test::mbufs_in_use;
using tcp_test::pool;
using Resolution = NeighbourTable::Resolution;

const MacAddress kOurMac{{0x02, 0, 0, 0, 0, 0x01}};
const MacAddress kPeerMac{{0x02, 0, 0, 0, 0, 0x02}};

ArpMessage request() {
    ArpMessage msg;
    msg.op = arp_op::kRequest;
    msg.sender_mac = kOurMac;
    msg.sender_ip = IpAddress::v4(192, 0, 2, 1);
    msg.target_ip = IpAddress::v4(192, 0, 2, 2);
    return msg;
}

std::vector<uint8_t> arp_frame(const ArpMessage& msg, bool vlan) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool());
    EXPECT_NE(m, nullptr);
    // Whatever the buffer held before must not show through the padding.
    std::memset(rte_pktmbuf_mtod(m, void*), 0xA5, rte_pktmbuf_tailroom(m));
    EXPECT_TRUE(build_arp(m, MacAddress::broadcast(), kOurMac, msg, vlan, 0x2000 | 300));
    std::vector<uint8_t> bytes = bytes_of(m);
    rte_pktmbuf_free(m);
    return bytes;
}

void expect_same(const ArpMessage& a, const ArpMessage& b) {
    EXPECT_EQ(a.op, b.op);
    EXPECT_EQ(a.sender_mac, b.sender_mac);
    EXPECT_EQ(a.sender_ip, b.sender_ip);
    EXPECT_EQ(a.target_mac, b.target_mac);
    EXPECT_EQ(a.target_ip, b.target_ip);
}

TEST(Arp, RequestAndReplyRoundTripWithAndWithoutVlan) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    ArpMessage reply;
    reply.op = arp_op::kReply;
    reply.sender_mac = kPeerMac;
    reply.sender_ip = IpAddress::v4(192, 0, 2, 2);
    reply.target_mac = kOurMac;
    reply.target_ip = IpAddress::v4(192, 0, 2, 1);
    for (const bool vlan : {false, true}) {
        for (const ArpMessage& msg : {request(), reply}) {
            SCOPED_TRACE(testing::Message() << "op " << msg.op << (vlan ? " with VLAN" : ""));
            const std::vector<uint8_t> frame = arp_frame(msg, vlan);
            ASSERT_EQ(frame.size(), 60u) << "padded to Ethernet's minimum";
            const size_t l2 = vlan ? 18 : 14;
            EXPECT_EQ(pmd::load_be16(&frame[12]), vlan ? 0x8100 : 0x0806);
            if (vlan) {
                EXPECT_EQ(pmd::load_be16(&frame[14]), 0x2000 | 300);
                EXPECT_EQ(pmd::load_be16(&frame[16]), 0x0806);
            }
            EXPECT_EQ(std::vector<uint8_t>(frame.begin(), frame.begin() + 6),
                      std::vector<uint8_t>(6, 0xFF));
            EXPECT_EQ(pmd::load_be16(&frame[l2 + 6]), msg.op);
            EXPECT_EQ(std::vector<uint8_t>(frame.begin() + l2 + 28, frame.end()),
                      std::vector<uint8_t>(60 - l2 - 28, 0))
                << "zero padding";
            const std::optional<ArpMessage> parsed = parse_arp(frame);
            ASSERT_TRUE(parsed.has_value());
            expect_same(msg, *parsed);
        }
    }
    EXPECT_EQ(mbufs_in_use(), before);
}

TEST(Arp, ParseAcceptsAnUnpaddedFrame) {
    REQUIRE_TCP_EAL();
    std::vector<uint8_t> frame = arp_frame(request(), false);
    frame.resize(42);
    EXPECT_TRUE(parse_arp(frame).has_value());
}

TEST(Arp, ParseRefusesMalformedMessages) {
    REQUIRE_TCP_EAL();
    const std::vector<uint8_t> good = arp_frame(request(), false);
    ASSERT_TRUE(parse_arp(good).has_value());
    struct Damage {
        const char* what;
        size_t offset;
        uint8_t value;
    };
    const std::vector<Damage> damages = {
        {"htype 6 (IEEE 802)", 15, 6},  {"ptype IPv6", 16, 0x86}, {"hlen 8", 18, 8},
        {"plen 16", 19, 16},            {"op 0", 21, 0},          {"op 3 (RARP request)", 21, 3},
        {"EtherType IPv4", 13, 0x00},
    };
    for (const Damage& d : damages) {
        std::vector<uint8_t> frame = good;
        frame[d.offset] = d.value;
        EXPECT_FALSE(parse_arp(frame).has_value()) << d.what;
    }
    for (size_t len : {0, 13, 14, 41}) {
        EXPECT_FALSE(parse_arp(std::span(good).first(len)).has_value()) << "truncated to " << len;
    }
}

TEST(Arp, ParseRefusesTruncatedOrDoubleTags) {
    REQUIRE_TCP_EAL();
    const std::vector<uint8_t> tagged = arp_frame(request(), true);
    ASSERT_TRUE(parse_arp(tagged).has_value());
    EXPECT_FALSE(parse_arp(std::span(tagged).first(16)).has_value()) << "inside the tag";
    EXPECT_FALSE(parse_arp(std::span(tagged).first(45)).has_value()) << "inside the message";
    std::vector<uint8_t> qinq = tagged;
    qinq[12] = 0x88;
    qinq[13] = 0xA8;
    EXPECT_FALSE(parse_arp(qinq).has_value()) << "802.1ad S-tag";
    // Two 802.1Q tags: the inner EtherType is another tag, not ARP.
    std::vector<uint8_t> double_tag(tagged.begin(), tagged.begin() + 16);
    const uint8_t second_tag[] = {0x81, 0x00, 0x00, 0x05};
    double_tag.insert(double_tag.end(), second_tag, second_tag + 4);
    double_tag.insert(double_tag.end(), tagged.begin() + 16, tagged.end());
    EXPECT_FALSE(parse_arp(double_tag).has_value());
}

TEST(Arp, BuildRefusesWhatItCannotWrite) {
    REQUIRE_TCP_EAL();
    const unsigned before = mbufs_in_use();
    rte_mbuf* m = rte_pktmbuf_alloc(pool());
    ASSERT_NE(m, nullptr);
    ArpMessage v6 = request();
    v6.target_ip = *IpAddress::parse("2001:db8::2");
    EXPECT_FALSE(build_arp(m, MacAddress::broadcast(), kOurMac, v6));
    EXPECT_EQ(m->pkt_len, 0u);

    const uint16_t data_off = m->data_off;
    m->data_off = static_cast<uint16_t>(m->buf_len - 59);
    EXPECT_FALSE(build_arp(m, MacAddress::broadcast(), kOurMac, request())) << "59 bytes of room";
    EXPECT_EQ(m->pkt_len, 0u);
    m->data_off = data_off;

    rte_pktmbuf_append(m, 1);
    EXPECT_FALSE(build_arp(m, MacAddress::broadcast(), kOurMac, request())) << "not empty";
    EXPECT_EQ(m->pkt_len, 1u);
    rte_pktmbuf_free(m);
    EXPECT_EQ(mbufs_in_use(), before);
}

// --- NeighbourTable ------------------------------------------------------------------------------

constexpr uint64_t kSecond = 1'000'000;

IpAddress host(uint8_t n) { return IpAddress::v4(10, 0, 0, n); }
MacAddress mac_of(uint8_t n) { return {{0x02, 0, 0, 0, 1, n}}; }

TEST(NeighbourTable, RequestsRetriesThenFails) {
    NeighbourTable table;  // 1 s between 3 tries
    MacAddress mac;
    EXPECT_EQ(table.resolve(host(1), 0, &mac), Resolution::SendRequest);
    EXPECT_EQ(table.size(), 1u);
    EXPECT_EQ(table.resolve(host(1), 1, &mac), Resolution::Waiting);
    EXPECT_EQ(table.resolve(host(1), kSecond - 1, &mac), Resolution::Waiting);
    EXPECT_EQ(table.resolve(host(1), kSecond, &mac), Resolution::SendRequest) << "try 2";
    EXPECT_EQ(table.resolve(host(1), kSecond + 10, &mac), Resolution::Waiting);
    EXPECT_EQ(table.resolve(host(1), 2 * kSecond + 5, &mac), Resolution::SendRequest) << "try 3";
    EXPECT_EQ(table.resolve(host(1), 3 * kSecond, &mac), Resolution::Waiting);
    EXPECT_EQ(table.resolve(host(1), 3 * kSecond + 5, &mac), Resolution::Failed);
    EXPECT_EQ(table.resolve(host(1), 100 * kSecond, &mac), Resolution::Failed) << "stays failed";
    EXPECT_TRUE(mac.is_zero()) << "never set unless resolved";

    table.forget(host(1));
    EXPECT_EQ(table.size(), 0u);
    EXPECT_EQ(table.resolve(host(1), 101 * kSecond, &mac), Resolution::SendRequest) << "starts over";
}

TEST(NeighbourTable, LearnResolvesAPendingOrFailedAddress) {
    NeighbourTable table({.capacity = 8, .entry_ttl_us = 60 * kSecond, .retry_interval_us = kSecond, .max_tries = 1});
    MacAddress mac;
    EXPECT_EQ(table.resolve(host(1), 0, &mac), Resolution::SendRequest);
    table.learn(host(1), mac_of(1), 500);
    EXPECT_EQ(table.resolve(host(1), 600, &mac), Resolution::Resolved);
    EXPECT_EQ(mac, mac_of(1));

    EXPECT_EQ(table.resolve(host(2), 0, &mac), Resolution::SendRequest);
    EXPECT_EQ(table.resolve(host(2), kSecond, &mac), Resolution::Failed) << "max_tries 1";
    table.learn(host(2), mac_of(2), 2 * kSecond);
    EXPECT_EQ(table.resolve(host(2), 2 * kSecond, &mac), Resolution::Resolved);
    EXPECT_EQ(mac, mac_of(2));
    EXPECT_EQ(table.size(), 2u);

    // A peer that moves (a new MAC in a later message) is followed (RFC 826 merge).
    table.learn(host(2), mac_of(22), 3 * kSecond);
    EXPECT_EQ(table.resolve(host(2), 3 * kSecond, &mac), Resolution::Resolved);
    EXPECT_EQ(mac, mac_of(22));
    EXPECT_EQ(table.size(), 2u);
}

TEST(NeighbourTable, LearnedAddressesExpireAfterTheirTtl) {
    NeighbourTable table({.capacity = 8, .entry_ttl_us = 10 * kSecond, .retry_interval_us = kSecond, .max_tries = 3});
    MacAddress mac;
    table.learn(host(1), mac_of(1), 0);
    EXPECT_EQ(table.resolve(host(1), 10 * kSecond - 1, &mac), Resolution::Resolved);
    EXPECT_EQ(table.resolve(host(1), 10 * kSecond, &mac), Resolution::SendRequest) << "expired: ask again";
    EXPECT_EQ(table.resolve(host(1), 10 * kSecond + 1, &mac), Resolution::Waiting);
    table.learn(host(1), mac_of(1), 10 * kSecond + 2);  // the answer refreshes it
    EXPECT_EQ(table.resolve(host(1), 19 * kSecond, &mac), Resolution::Resolved);
}

TEST(NeighbourTable, LearnIgnoresUnusableAddresses) {
    NeighbourTable table;
    table.learn(IpAddress::v4(0, 0, 0, 0), mac_of(1), 0);  // RFC 5227 probe sender
    table.learn(IpAddress{}, mac_of(1), 0);
    table.learn(host(1), MacAddress{}, 0);
    table.learn(host(1), MacAddress::broadcast(), 0);
    table.learn(host(1), {{0x01, 0x00, 0x5E, 0, 0, 1}}, 0);  // IPv4 multicast MAC
    EXPECT_EQ(table.size(), 0u);
    MacAddress mac;
    EXPECT_EQ(table.resolve(IpAddress{}, 0, &mac), Resolution::Failed);
    EXPECT_EQ(table.size(), 0u);
}

TEST(NeighbourTable, WhenFullTheOldestEntryThatIsNotPendingGoes) {
    NeighbourTable table({.capacity = 3, .entry_ttl_us = 60 * kSecond, .retry_interval_us = kSecond, .max_tries = 3});
    MacAddress mac;
    EXPECT_EQ(table.resolve(host(1), 0, &mac), Resolution::SendRequest);  // pending, oldest of all
    table.learn(host(2), mac_of(2), 10);
    table.learn(host(3), mac_of(3), 20);
    EXPECT_EQ(table.size(), 3u);

    table.learn(host(4), mac_of(4), 30);  // host 2 goes: host 1 is older but pending
    EXPECT_EQ(table.size(), 3u);
    EXPECT_EQ(table.resolve(host(1), 40, &mac), Resolution::Waiting) << "the pending one is kept";
    EXPECT_EQ(table.resolve(host(3), 40, &mac), Resolution::Resolved);
    EXPECT_EQ(table.resolve(host(4), 40, &mac), Resolution::Resolved);
    EXPECT_EQ(table.size(), 3u);
    // Host 2 was evicted; asking for it again takes the place of host 3 (learned at 20), the older of
    // the two resolved entries.
    EXPECT_EQ(table.resolve(host(2), 40, &mac), Resolution::SendRequest);
    EXPECT_EQ(table.size(), 3u);
    EXPECT_EQ(table.resolve(host(4), 50, &mac), Resolution::Resolved);
    EXPECT_EQ(table.resolve(host(3), 50, &mac), Resolution::SendRequest) << "evicts host 4, the last resolved";
    EXPECT_EQ(table.size(), 3u);
    EXPECT_EQ(table.resolve(host(4), 60, &mac), Resolution::Failed) << "all 3 pending: no room to track it";
    EXPECT_EQ(table.size(), 3u);

    // Once one of them fails it is no longer pending, and makes room.
    EXPECT_EQ(table.resolve(host(1), 1 * kSecond, &mac), Resolution::SendRequest);
    EXPECT_EQ(table.resolve(host(1), 2 * kSecond, &mac), Resolution::SendRequest);
    EXPECT_EQ(table.resolve(host(1), 3 * kSecond, &mac), Resolution::Failed);
    EXPECT_EQ(table.resolve(host(4), 3 * kSecond, &mac), Resolution::SendRequest);
    EXPECT_EQ(table.size(), 3u);
    table.forget(host(1));
    EXPECT_EQ(table.size(), 3u) << "host 1 was the one evicted: not there to forget";
}

}  // namespace
}  // namespace nvmeddp::tcp
