// Connection config validation against device limits.
#include <gtest/gtest.h>

#include "ddp/connection_config.hpp"
#include "fake_driver.hpp"

using namespace nvmeddp::ddp;
using nvmeddp::ddp_test::ipv4_config;

TEST(ConnectionConfig, AcceptsATypicalIpv4AndIpv6Connection) {
    DeviceLimits l;
    EXPECT_EQ(validate(ipv4_config(), l), Status::Ok);
    ConnectionConfig c = ipv4_config();
    c.tuple.family = IpFamily::Ipv6;
    c.rx_pda = 31;
    c.header_digest = c.data_digest = true;
    EXPECT_EQ(validate(c, l), Status::Ok);
}

TEST(ConnectionConfig, RefusesEachBadField) {
    DeviceLimits l;
    l.max_queue_depth = 256;
    l.rx_queues = 2;
    ConnectionConfig c = ipv4_config();
    c.tuple.family = IpFamily::None;
    EXPECT_EQ(validate(c, l), Status::BadAddress);
    c = ipv4_config();
    c.tuple.family = static_cast<IpFamily>(5);
    EXPECT_EQ(validate(c, l), Status::BadAddress);
    c = ipv4_config();
    c.tuple.local_port = 0;
    EXPECT_EQ(validate(c, l), Status::BadAddress);
    c = ipv4_config();
    c.tuple.remote_port = 0;
    EXPECT_EQ(validate(c, l), Status::BadAddress);
    c = ipv4_config(0);
    EXPECT_EQ(validate(c, l), Status::BadQueueDepth);
    c = ipv4_config(257);
    EXPECT_EQ(validate(c, l), Status::BadQueueDepth);
    c = ipv4_config(256);
    EXPECT_EQ(validate(c, l), Status::Ok);
    c.rx_queue = 2;
    EXPECT_EQ(validate(c, l), Status::BadRxQueue);
    c.rx_queue = 1;
    c.rx_pda = 32;
    EXPECT_EQ(validate(c, l), Status::BadPda);
}
