/* The C API used from C: this file is compiled as C99, so the public header must be valid C and
 * every function callable from C. c_api_test.cpp runs it against a scripted device. */
#include <stdio.h>
#include <string.h>

#include "nvmeddp/ddp.h"

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            snprintf(err, errlen, "%s:%d: %s", __FILE__, __LINE__, #cond);      \
            return 1;                                                            \
        }                                                                        \
    } while (0)

static unsigned completions;
static uint16_t last_cid;
static int last_status;

static void on_done(void *arg, nvmeddp_conn conn, uint16_t cid, int status) {
    (void)arg;
    (void)conn;
    ++completions;
    last_cid = cid;
    last_status = status;
}

int nvmeddp_c_api_smoke(const char *device_name, char *err, size_t errlen) {
    nvmeddp_device *dev = nvmeddp_device_find(device_name);
    CHECK(dev != NULL);
    CHECK(strcmp(nvmeddp_device_name(dev), device_name) == 0);
    CHECK(nvmeddp_device_count() >= 1);
    CHECK(nvmeddp_device_find("no such device") == NULL);

    struct nvmeddp_limits limits;
    CHECK(nvmeddp_get_limits(dev, &limits) == NVMEDDP_OK);
    CHECK(limits.max_connections > 0 && limits.max_sgl_entries > 0);
    CHECK(nvmeddp_get_limits(dev, NULL) == NVMEDDP_E_INVALID_ARGUMENT);

    uint32_t supported = 0, enabled = 0;
    CHECK(nvmeddp_get_caps(dev, &supported, &enabled) == NVMEDDP_OK);
    CHECK(supported == (NVMEDDP_CAP_PLACEMENT | NVMEDDP_CAP_DATA_DIGEST | NVMEDDP_CAP_TX_DATA_DIGEST) &&
          enabled == supported);
    CHECK(nvmeddp_set_caps(dev, 0x80) == NVMEDDP_E_UNSUPPORTED);

    struct nvmeddp_conn_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.family = NVMEDDP_AF_INET;
    cfg.local_addr[0] = 192, cfg.local_addr[1] = 0, cfg.local_addr[2] = 2, cfg.local_addr[3] = 2;
    cfg.remote_addr[0] = 192, cfg.remote_addr[1] = 0, cfg.remote_addr[2] = 2, cfg.remote_addr[3] = 1;
    cfg.local_port = 40000;
    cfg.remote_port = 4420;
    cfg.queue_depth = 32;
    cfg.data_digest = 1;
    cfg.rcv_seq = 0xFFFFFF00u;

    nvmeddp_conn conn = 0;
    cfg.tx_data_digest = 1;  /* the device writing data digests of a connection without them */
    cfg.data_digest = 0;
    CHECK(nvmeddp_sk_add(dev, &cfg, &conn) == NVMEDDP_E_UNSUPPORTED && conn == 0);
    cfg.tx_data_digest = 0;
    cfg.data_digest = 1;
    cfg.queue_depth = 0;
    CHECK(nvmeddp_sk_add(dev, &cfg, &conn) == NVMEDDP_E_BAD_QUEUE_DEPTH && conn == 0);
    cfg.queue_depth = 32;
    CHECK(nvmeddp_sk_add(dev, &cfg, &conn) == NVMEDDP_OK && conn != 0);

    static uint8_t buffer[65536];
    struct nvmeddp_segment sgl[2] = {{buffer, 40000}, {buffer + 40000, 25536}};
    CHECK(nvmeddp_setup(dev, conn, 5, sgl, 2, sizeof buffer) == NVMEDDP_OK);
    CHECK(nvmeddp_setup(dev, conn, 5, sgl, 2, sizeof buffer) == NVMEDDP_E_CID_BUSY);
    CHECK(nvmeddp_setup(dev, conn, 6, sgl, 2, 1) == NVMEDDP_E_LENGTH_MISMATCH);
    CHECK(nvmeddp_setup(dev, conn, 6, NULL, 2, 1) == NVMEDDP_E_INVALID_ARGUMENT);
    CHECK(nvmeddp_teardown(dev, conn, 5, on_done, NULL) == NVMEDDP_OK); /* synchronous: no callback */
    CHECK(completions == 0);
    CHECK(nvmeddp_teardown(dev, conn, 5, on_done, NULL) == NVMEDDP_E_NOT_REGISTERED);
    CHECK(nvmeddp_poll(dev, conn) == 0);

    struct nvmeddp_resync_request req;
    CHECK(nvmeddp_resync_pending(dev, conn, &req) == NVMEDDP_E_NO_RESYNC_PENDING);
    CHECK(nvmeddp_pdu_header(dev, conn, 0xFFFFFF00u) == NVMEDDP_RESYNC_NONE);
    CHECK(nvmeddp_resync_response(dev, conn, &req, 1) == NVMEDDP_E_NO_RESYNC_PENDING);

    struct nvmeddp_stats stats;
    CHECK(nvmeddp_get_conn_stats(dev, conn, &stats) == NVMEDDP_OK);
    CHECK(stats.setup == 1 && stats.setup_fail == 2 && stats.teardown == 1 && stats.bad_transitions == 2);

    CHECK(nvmeddp_setup(dev, conn, 7, sgl, 2, sizeof buffer) == NVMEDDP_OK);
    uint32_t forced = 0;
    CHECK(nvmeddp_sk_del(dev, conn, on_done, NULL, &forced) == NVMEDDP_OK);
    CHECK(forced == 1 && completions == 1 && last_cid == 7 && last_status == NVMEDDP_E_CONNECTION_DELETING);
    CHECK(nvmeddp_setup(dev, conn, 7, sgl, 2, sizeof buffer) == NVMEDDP_E_UNKNOWN_CONNECTION);

    CHECK(nvmeddp_get_device_stats(dev, &stats) == NVMEDDP_OK);
    CHECK(stats.sk_add == 1 && stats.sk_add_fail == 2 && stats.sk_del == 1 && stats.forced_teardowns == 1);
    CHECK(strcmp(nvmeddp_strerror(NVMEDDP_E_CID_BUSY), "command id already registered") == 0);
    CHECK(strcmp(nvmeddp_strerror(-5), "unknown status") == 0);
    return 0;
}
