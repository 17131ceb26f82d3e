// Runs the C-compiled smoke test (c_api_smoke.c) against a registered scripted device, and checks the
// resync calls of the C API with a request the engine side posts.
#include <gtest/gtest.h>

#include "ddp/device_registry.hpp"
#include "fake_driver.hpp"
#include "nvmeddp/ddp.h"

extern "C" int nvmeddp_c_api_smoke(const char* device_name, char* err, size_t errlen);

using namespace nvmeddp::ddp;
using namespace nvmeddp::ddp_test;

namespace {

struct Registered {
    FakeDevice fake{{}, cap::kAll, "c-api0"};
    Registered() { register_device(*fake.device); }
    ~Registered() { unregister_device(*fake.device); }
};

}  // namespace

TEST(CApi, UsableFromC) {
    Registered r;
    char err[256] = "";
    EXPECT_EQ(nvmeddp_c_api_smoke("c-api0", err, sizeof err), 0) << err;
}

TEST(CApi, ResyncRoundTrip) {
    Registered r;
    nvmeddp_device* dev = nvmeddp_device_find("c-api0");
    ASSERT_NE(dev, nullptr);
    nvmeddp_conn_config cfg{};
    cfg.family = NVMEDDP_AF_INET6;
    cfg.local_port = 1;
    cfg.remote_port = 4420;
    cfg.queue_depth = 8;
    nvmeddp_conn conn = 0;
    ASSERT_EQ(nvmeddp_sk_add(dev, &cfg, &conn), NVMEDDP_OK);
    const ResyncRequest posted = r.fake.driver->last_connection->resync.post(77);
    nvmeddp_resync_request req{};
    ASSERT_EQ(nvmeddp_resync_pending(dev, conn, &req), NVMEDDP_OK);
    EXPECT_EQ(req.seq, 77u);
    EXPECT_EQ(req.id, posted.id);
    nvmeddp_resync_request wrong = req;
    wrong.seq = 78;
    EXPECT_EQ(nvmeddp_resync_response(dev, conn, &wrong, 1), NVMEDDP_E_STALE_RESYNC);
    EXPECT_EQ(nvmeddp_resync_response(dev, conn, &req, 1), NVMEDDP_OK);
    const auto answer = r.fake.driver->last_connection->resync.take_answer();
    ASSERT_TRUE(answer);
    EXPECT_TRUE(answer->confirmed);
    r.fake.driver->last_connection->resync.post(200);
    EXPECT_EQ(nvmeddp_pdu_header(dev, conn, 300), NVMEDDP_RESYNC_REFUSED);
    EXPECT_EQ(nvmeddp_sk_del(dev, conn, nullptr, nullptr, nullptr), NVMEDDP_OK);
}

// Contract v2's calls (nvmeddp/ddp_mbuf.h): each refusal names its reason.
TEST(CApi, ContractCallsRefuseWhatTheyCannotAnswer) {
    Registered r;
    nvmeddp_device* dev = nvmeddp_device_find("c-api0");
    ASSERT_NE(dev, nullptr);
    nvmeddp_conn_config cfg{};
    cfg.family = NVMEDDP_AF_INET;
    cfg.local_port = 1;
    cfg.remote_port = 4420;
    cfg.queue_depth = 8;
    nvmeddp_conn conn = 0;
    ASSERT_EQ(nvmeddp_sk_add(dev, &cfg, &conn), NVMEDDP_OK);

    uint32_t id = 0;
    EXPECT_EQ(nvmeddp_conn_id(dev, conn, nullptr), NVMEDDP_E_INVALID_ARGUMENT);
    EXPECT_EQ(nvmeddp_conn_id(dev, conn + 1, &id), NVMEDDP_E_UNKNOWN_CONNECTION);
    EXPECT_EQ(nvmeddp_conn_id(dev, conn, &id), NVMEDDP_E_UNSUPPORTED);  // this driver stamps no metadata

    uint8_t buffer[64];
    nvmeddp_segment sgl{buffer, sizeof buffer};
    EXPECT_EQ(nvmeddp_reg_tag(dev, conn, 3), 0u);  // nothing registered
    EXPECT_EQ(nvmeddp_filled(dev, conn, 3, 10), NVMEDDP_E_NOT_REGISTERED);
    EXPECT_EQ(nvmeddp_filled(dev, conn + 1, 3, 10), NVMEDDP_E_UNKNOWN_CONNECTION);
    EXPECT_EQ(nvmeddp_filled(nullptr, conn, 3, 10), NVMEDDP_E_INVALID_ARGUMENT);
    ASSERT_EQ(nvmeddp_setup(dev, conn, 3, &sgl, 1, sizeof buffer), NVMEDDP_OK);
    const uint16_t tag = nvmeddp_reg_tag(dev, conn, 3);
    EXPECT_NE(tag, 0u);
    EXPECT_EQ(nvmeddp_filled(dev, conn, 3, 10), NVMEDDP_OK);
    EXPECT_EQ(nvmeddp_sk_del(dev, conn, nullptr, nullptr, nullptr), NVMEDDP_OK);

    // A VLAN ID is 12 bits, and an outer tag needs an inner one.
    cfg.vlan = 4096;
    EXPECT_EQ(nvmeddp_sk_add(dev, &cfg, &conn), NVMEDDP_E_BAD_ADDRESS);
    cfg.vlan = 0;
    cfg.outer_vlan = 7;
    EXPECT_EQ(nvmeddp_sk_add(dev, &cfg, &conn), NVMEDDP_E_BAD_ADDRESS);
}
