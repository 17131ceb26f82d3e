// The neighbour board the endpoints of one port share (tcp/neighbour_board.hpp): what is posted is
// found, a newer post replaces the older, a full board gives up its oldest entry, and two threads
// posting and reading at once never see an address with another's MAC (a torn read). The endpoint
// side (an ARP answer on one lane's queue resolving another lane's connection) is in
// steered_lanes_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tcp/neighbour_board.hpp"

namespace nvmeddp::tcp {
namespace {

IpAddress ip_of(uint32_t n) { return IpAddress::v4(198, 51, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)); }
// A MAC that says which address it belongs to and which post made it.
MacAddress mac_of(uint32_t n, uint8_t round) {
    return MacAddress{{0x02, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n), round, static_cast<uint8_t>(n ^ 0x5a), 0x01}};
}

TEST(NeighbourBoard, FindsWhatWasPostedAndTheNewestPost) {
    NeighbourBoard board(8);
    MacAddress mac;
    uint64_t at = 0;
    EXPECT_FALSE(board.find(ip_of(1), &mac, &at));
    board.post(ip_of(1), mac_of(1, 0), 100);
    board.post(ip_of(2), mac_of(2, 0), 200);
    ASSERT_TRUE(board.find(ip_of(1), &mac, &at));
    EXPECT_EQ(mac, mac_of(1, 0));
    EXPECT_EQ(at, 100u);
    board.post(ip_of(1), mac_of(1, 7), 300);  // the address's new MAC replaces the old, in its entry
    ASSERT_TRUE(board.find(ip_of(1), &mac, &at));
    EXPECT_EQ(mac, mac_of(1, 7));
    EXPECT_EQ(at, 300u);
    ASSERT_TRUE(board.find(ip_of(2), &mac, nullptr));
    EXPECT_EQ(mac, mac_of(2, 0));
    board.post(IpAddress{}, mac_of(3, 0), 400);  // no address: nothing to post
    EXPECT_FALSE(board.find(IpAddress{}, nullptr, nullptr));
}

TEST(NeighbourBoard, AFullBoardGivesUpItsOldestEntry) {
    NeighbourBoard board(4);
    for (uint32_t n = 1; n <= 4; ++n) board.post(ip_of(n), mac_of(n, 0), 1000 + n);
    board.post(ip_of(1), mac_of(1, 1), 2000);  // refreshed: 2 is the oldest now
    board.post(ip_of(5), mac_of(5, 0), 3000);
    EXPECT_FALSE(board.find(ip_of(2), nullptr, nullptr));
    for (uint32_t n : {1u, 3u, 4u, 5u}) EXPECT_TRUE(board.find(ip_of(n), nullptr, nullptr)) << n;
    const IpAddress v6 = *IpAddress::parse("2001:db8::9");
    board.post(v6, mac_of(9, 0), 4000);
    MacAddress mac;
    ASSERT_TRUE(board.find(v6, &mac, nullptr));
    EXPECT_EQ(mac, mac_of(9, 0));
    EXPECT_FALSE(board.find(IpAddress::v4(0x20, 0x01, 0x0d, 0xb8), nullptr, nullptr)) << "IPv6 found as IPv4";
}

TEST(NeighbourBoard, ConcurrentPostsAndReadsNeverTear) {
    NeighbourBoard board(2);  // fewer entries than addresses: nearly every post rewrites an entry with another address
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> torn{0}, found{0};
    auto writer = [&](uint32_t first) {
        for (uint32_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
            const uint32_t n = first + i % 4;
            board.post(ip_of(n), mac_of(n, static_cast<uint8_t>(i)), i);
        }
    };
    std::thread w1(writer, 0), w2(writer, 4);
    for (int i = 0; i < 400000; ++i) {
        const uint32_t n = static_cast<uint32_t>(i % 8);
        MacAddress mac;
        if (!board.find(ip_of(n), &mac, nullptr)) continue;
        found.fetch_add(1, std::memory_order_relaxed);
        const MacAddress want = mac_of(n, mac.bytes[3]);  // any post of n's, never another address's
        if (!(mac == want)) torn.fetch_add(1, std::memory_order_relaxed);
    }
    stop = true;
    w1.join();
    w2.join();
    EXPECT_EQ(torn.load(), 0u);
    EXPECT_GT(found.load(), 0u);
}

}  // namespace
}  // namespace nvmeddp::tcp
