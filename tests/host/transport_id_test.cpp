// SPDK-style transport ID strings: what parses, and that each refusal names its key.
#include <gtest/gtest.h>

#include "nvmetcp/host/controller.hpp"
#include "nvmetcp/host/transport_id.hpp"

namespace nvmeddp::nvmetcp::host {
namespace {

TEST(TransportId, ParsesKeysCaseInsensitivelyWithDefaults) {
    TransportId id;
    std::string error;
    ASSERT_TRUE(parse_transport_id("  TrType=TCP adrfam=ipv4\ttraddr=192.0.2.1 SUBNQN=nqn.2016-06.io.spdk:cnode1  ", id, &error))
        << error;
    EXPECT_EQ(id.trtype, "tcp");
    EXPECT_EQ(id.traddr, "192.0.2.1");
    EXPECT_EQ(id.trsvcid, "4420");
    EXPECT_EQ(id.port(), 4420);
    EXPECT_EQ(id.subnqn, "nqn.2016-06.io.spdk:cnode1");
    ASSERT_TRUE(parse_transport_id("traddr=127.0.0.1 trsvcid=8009 hostnqn=nqn.x:y", id, &error)) << error;
    EXPECT_EQ(id.port(), 8009);
    EXPECT_EQ(id.hostnqn, "nqn.x:y");
}

TEST(TransportId, RefusalsNameTheKey) {
    const struct {
        const char* text;
        const char* mentions;
    } cases[] = {
        {"traddr=1.2.3.4 colour=blue", "colour"},
        {"trsvcid=4420", "traddr"},
        {"traddr=1.2.3.4 trsvcid=0", "trsvcid"},
        {"traddr=1.2.3.4 trsvcid=65536", "trsvcid"},
        {"traddr=1.2.3.4 trsvcid=44x", "trsvcid"},
        {"traddr=1.2.3.4 trtype=rdma", "trtype"},
        {"traddr=1.2.3.4 adrfam=ib", "adrfam"},
        {"traddr=1.2.3.4 subnqn", "subnqn"},
        {"traddr=", "traddr"},
    };
    for (const auto& c : cases) {
        TransportId id;
        id.traddr = "unchanged";
        std::string error;
        EXPECT_FALSE(parse_transport_id(c.text, id, &error)) << c.text;
        EXPECT_NE(error.find(c.mentions), std::string::npos) << c.text << " -> " << error;
        EXPECT_EQ(id.traddr, "unchanged") << "out is left alone on failure";
    }
}

TEST(HostNqn, DefaultIsTheUuidFormOfTheHostId) {
    uint8_t hostid[16];
    for (int i = 0; i < 16; ++i) hostid[i] = static_cast<uint8_t>(0xA0 + i);
    EXPECT_EQ(default_hostnqn(hostid), "nqn.2014-08.org.nvmexpress:uuid:a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");
}

}  // namespace
}  // namespace nvmeddp::nvmetcp::host
