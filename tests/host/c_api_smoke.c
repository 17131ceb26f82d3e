/* The host's C API used from C: this file is compiled as C99, so include/nvmeddp/host.h must be valid
 * C and every function callable from C. c_api_test.cpp runs it in kernel-sockets mode against the
 * built-in target on 127.0.0.1: reads checked byte for byte against the namespace pattern, writes
 * read back, a flush, the queue's counters, and the submission and connection errors. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nvmeddp/host.h"

/* From c_api_test.cpp: the index of the first byte of buf that is not the target's namespace
 * pattern at byte address `address` (nvmetcp::first_mismatch), len when all match. */
size_t nvmeddp_test_namespace_mismatch(const void *buf, size_t len, uint64_t address);

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            snprintf(err, errlen, "%s:%d: %s", __FILE__, __LINE__, #cond); \
            goto out;                                                       \
        }                                                                   \
    } while (0)

#define CHECK_STATUS(call, expected)                                                                        \
    do {                                                                                                    \
        int rc_ = (call);                                                                                   \
        if (rc_ != (expected)) {                                                                            \
            snprintf(err, errlen, "%s:%d: %s returned %d (%s), expected %s", __FILE__, __LINE__, #call, rc_, \
                     nvmeddp_host_strerror(rc_), #expected);                                                \
            goto out;                                                                                       \
        }                                                                                                   \
    } while (0)

struct io_state {
    unsigned done;
    unsigned failed;
    uint64_t bytes;
    char first_reason[128];
};

static void on_done(void *arg, const struct nvmeddp_io_completion *c) {
    struct io_state *s = (struct io_state *)arg;
    ++s->done;
    s->bytes += c->bytes;
    if (c->sct != 0 || c->sc != 0) {
        if (s->failed++ == 0) snprintf(s->first_reason, sizeof s->first_reason, "%s", c->reason ? c->reason : "?");
    }
}

/* Polls until `want` completions were counted in s, for at most 5 seconds. Over kernel sockets
 * nvmeddp_host_poll returns the completions it delivered, so its results must add up to them. */
static int wait_done(struct nvmeddp_host *host, struct io_state *s, unsigned want) {
    time_t end = time(NULL) + 5;
    unsigned before = s->done;
    int reported = 0;
    while (s->done < want && time(NULL) <= end) reported += nvmeddp_host_poll(host);
    return s->done == want && reported == (int)(want - before);
}

/* What the writes put on the namespace: any bytes unlike the namespace pattern. */
static uint8_t written_byte(uint64_t address) { return (uint8_t)((address * 7u) ^ (address >> 9) ^ 0x5Au); }

#define BLOCKS_MAX 256 /* blocks of the largest I/O here: 128 KiB with 512-byte blocks */
static uint8_t buffer[BLOCKS_MAX * 4096 + 4096];

/* Splits len bytes of buffer into n iovecs of uneven sizes (the last takes the rest, plus 100 bytes
 * that must stay untouched). */
static void split(struct nvmeddp_iov *iov, int n, size_t len) {
    size_t at = 0;
    int i;
    for (i = 0; i < n - 1; ++i) {
        size_t part = len / (size_t)n - 13u * (size_t)i;
        iov[i].base = buffer + at;
        iov[i].len = part;
        at += part;
    }
    iov[n - 1].base = buffer + at;
    iov[n - 1].len = len - at + 100;
}

int nvmeddp_c_api_host_smoke(uint16_t target_port, uint16_t refused_port, const char *subnqn, char *err, size_t errlen) {
    struct nvmeddp_host_opts hopts;
    struct nvmeddp_ctrlr_opts copts;
    struct nvmeddp_host *host = NULL;
    struct nvmeddp_ctrlr *ctrlr = NULL;
    struct nvmeddp_ctrlr *other = NULL;
    struct nvmeddp_queue_stats stats;
    struct nvmeddp_iov iov[5];
    struct io_state st;
    char trid[256];
    char msg[256];
    uint32_t bs;
    uint64_t read_bytes = 0, read_pdus_min = 0;
    unsigned ios = 0;
    int result = 1, i, k;
    static const uint32_t read_blocks[] = {1, 8, 9, 200, 256};
    static const int read_iovs[] = {1, 3, 2, 4, 4};
    static const uint32_t write_blocks[] = {1, 16, 256}; /* in capsule, and through R2T */

    err[0] = '\0';
    msg[0] = '\0';
    memset(&st, 0, sizeof st);
    nvmeddp_host_opts_default(&hopts);
    CHECK(hopts.offload == 1 && hopts.kernel_tcp == 0 && hopts.port == NULL);
    hopts.kernel_tcp = 1;
    CHECK_STATUS(nvmeddp_host_create(NULL, &host, msg, sizeof msg), NVMEDDP_HOST_E_INVALID_ARGUMENT);
    CHECK_STATUS(nvmeddp_host_create(&hopts, &host, msg, sizeof msg), NVMEDDP_HOST_OK);
    CHECK(host != NULL);
    CHECK(nvmeddp_host_device(host) == NULL); /* no offload over kernel sockets */

    nvmeddp_ctrlr_opts_default(&copts);
    CHECK(copts.io_queues == 1 && copts.queue_depth == 32 && copts.max_iovs == 16 && copts.timeout_ms == 10000);
    copts.queue_depth = 8;
    copts.max_iovs = 4;
    copts.header_digest = 1;
    copts.data_digest = 1;
    copts.timeout_ms = 3000;

    /* A transport ID that does not parse: the message names the key. */
    msg[0] = '\0';
    CHECK_STATUS(nvmeddp_ctrlr_connect(host, "trtype=tcp traddr=127.0.0.1 colour=blue subnqn=x", &copts, &ctrlr, msg,
                                       sizeof msg),
                 NVMEDDP_HOST_E_BAD_TRID);
    CHECK(ctrlr == NULL && strstr(msg, "colour") != NULL);
    CHECK_STATUS(nvmeddp_ctrlr_connect(host, "trtype=tcp traddr=127.0.0.1 trsvcid=99999 subnqn=x", &copts, &ctrlr, msg,
                                       sizeof msg),
                 NVMEDDP_HOST_E_BAD_TRID);
    CHECK(strstr(msg, "trsvcid") != NULL);
    CHECK_STATUS(nvmeddp_ctrlr_connect(host, "trtype=tcp traddr=127.0.0.1", &copts, &ctrlr, msg, sizeof msg),
                 NVMEDDP_HOST_E_BAD_TRID);
    CHECK(strstr(msg, "subnqn") != NULL);
    copts.max_iovs = 0;
    CHECK_STATUS(nvmeddp_ctrlr_connect(host, "traddr=127.0.0.1 subnqn=x", &copts, &ctrlr, msg, sizeof msg),
                 NVMEDDP_HOST_E_INVALID_ARGUMENT);
    CHECK(strstr(msg, "max_iovs") != NULL);
    copts.max_iovs = 4;

    /* Nobody listens there: refused, with the system's reason. */
    snprintf(trid, sizeof trid, "trtype=tcp adrfam=ipv4 traddr=127.0.0.1 trsvcid=%u subnqn=%s", (unsigned)refused_port,
             subnqn);
    msg[0] = '\0';
    CHECK_STATUS(nvmeddp_ctrlr_connect(host, trid, &copts, &ctrlr, msg, sizeof msg), NVMEDDP_HOST_E_CONNECT);
    CHECK(ctrlr == NULL && strstr(msg, "refused") != NULL);
    msg[0] = '\0'; /* from here on, msg only holds an unexpected failure's message */

    snprintf(trid, sizeof trid, "trtype=tcp adrfam=ipv4 traddr=127.0.0.1 trsvcid=%u subnqn=%s", (unsigned)target_port,
             subnqn);
    CHECK_STATUS(nvmeddp_ctrlr_connect(host, trid, &copts, &ctrlr, msg, sizeof msg), NVMEDDP_HOST_OK);
    CHECK(ctrlr != NULL && nvmeddp_ctrlr_failure(ctrlr) == NULL);
    bs = nvmeddp_ctrlr_block_size(ctrlr);
    CHECK(bs == 512 || bs == 4096);
    CHECK(nvmeddp_ctrlr_num_blocks(ctrlr) * bs == 64ull << 20);
    CHECK(nvmeddp_ctrlr_io_queues(ctrlr) == 1);
    CHECK(nvmeddp_ctrlr_queue_depth(ctrlr) == 8);
    CHECK(nvmeddp_ctrlr_max_transfer(ctrlr) >= BLOCKS_MAX * bs);

    /* Reads of a few sizes at a few addresses, into several uneven iovecs; every byte checked. */
    for (k = 0; k < (int)(sizeof read_blocks / sizeof read_blocks[0]); ++k) {
        uint64_t slba = 1000u * (uint64_t)k + 3u;
        size_t len = (size_t)read_blocks[k] * bs;
        size_t at;
        memset(buffer, 0xEE, sizeof buffer);
        split(iov, read_iovs[k], len);
        CHECK_STATUS(nvmeddp_ctrlr_read(ctrlr, 0, slba, read_blocks[k], iov, read_iovs[k], on_done, &st), NVMEDDP_HOST_OK);
        memset(iov, 0, sizeof iov); /* the array is the caller's again at once: it was copied */
        CHECK(wait_done(host, &st, ++ios));
        CHECK(st.failed == 0);
        at = nvmeddp_test_namespace_mismatch(buffer, len, slba * bs);
        if (at != len) {
            snprintf(err, errlen, "read of %u blocks at %llu: byte %lu is wrong", (unsigned)read_blocks[k],
                     (unsigned long long)slba, (unsigned long)at);
            goto out;
        }
        CHECK(buffer[len] == 0xEE && buffer[len + 99] == 0xEE); /* beyond nlb blocks: untouched */
        read_bytes += len;
        read_pdus_min += 1;
    }
    CHECK(st.bytes == read_bytes);

    /* Writes through several iovecs, read back through another layout. */
    for (k = 0; k < (int)(sizeof write_blocks / sizeof write_blocks[0]); ++k) {
        uint64_t slba = 10000u + 600u * (uint64_t)k;
        size_t len = (size_t)write_blocks[k] * bs;
        size_t j;
        for (j = 0; j < len; ++j) buffer[j] = written_byte(slba * bs + j);
        split(iov, 3, len);
        CHECK_STATUS(nvmeddp_ctrlr_write(ctrlr, 0, slba, write_blocks[k], iov, 3, on_done, &st), NVMEDDP_HOST_OK);
        CHECK(wait_done(host, &st, ++ios));
        CHECK(st.failed == 0);
        memset(buffer, 0, sizeof buffer);
        split(iov, 2, len);
        CHECK_STATUS(nvmeddp_ctrlr_read(ctrlr, 0, slba, write_blocks[k], iov, 2, on_done, &st), NVMEDDP_HOST_OK);
        CHECK(wait_done(host, &st, ++ios));
        CHECK(st.failed == 0);
        for (j = 0; j < len; ++j) {
            if (buffer[j] != written_byte(slba * bs + j)) {
                snprintf(err, errlen, "write of %u blocks at %llu read back: byte %lu is wrong", (unsigned)write_blocks[k],
                         (unsigned long long)slba, (unsigned long)j);
                goto out;
            }
        }
        read_bytes += len;
        read_pdus_min += 1;
    }
    CHECK_STATUS(nvmeddp_ctrlr_flush(ctrlr, 0, on_done, &st), NVMEDDP_HOST_OK);
    CHECK(wait_done(host, &st, ++ios));
    CHECK(st.failed == 0);

    /* The queue's counters: every read byte copied by the host (no device), every digest computed. */
    CHECK_STATUS(nvmeddp_ctrlr_queue_stats(ctrlr, 0, &stats), NVMEDDP_HOST_OK);
    /* The queue counts its own Connect command too. */
    if (stats.commands != ios + 1 || stats.completions != ios + 1 || stats.errors != 0) {
        snprintf(err, errlen, "queue stats: %llu commands, %llu completions, %llu errors; %u I/Os",
                 (unsigned long long)stats.commands, (unsigned long long)stats.completions,
                 (unsigned long long)stats.errors, ios);
        goto out;
    }
    CHECK(stats.c2h_bytes == read_bytes && stats.bytes_copied == read_bytes && stats.bytes_placed == 0);
    CHECK(stats.c2h_pdus >= read_pdus_min && stats.digests_computed == stats.c2h_pdus);
    CHECK(stats.digests_offloaded == 0 && stats.digest_errors == 0);
    CHECK_STATUS(nvmeddp_ctrlr_queue_stats(ctrlr, 1, &stats), NVMEDDP_HOST_E_BAD_QUEUE);

    /* Submission errors: each refused with its own code, and no callback. */
    split(iov, 5, 8 * bs);
    CHECK_STATUS(nvmeddp_ctrlr_read(ctrlr, 0, 0, 8, iov, 5, on_done, &st), NVMEDDP_HOST_E_TOO_MANY_IOVS);
    CHECK_STATUS(nvmeddp_ctrlr_read(ctrlr, 1, 0, 8, iov, 4, on_done, &st), NVMEDDP_HOST_E_BAD_QUEUE);
    CHECK_STATUS(nvmeddp_ctrlr_read(ctrlr, 0, 0, 8, iov, 4, NULL, &st), NVMEDDP_HOST_E_INVALID_ARGUMENT);
    CHECK_STATUS(nvmeddp_ctrlr_read(ctrlr, 0, 0, 0, iov, 4, on_done, &st), NVMEDDP_HOST_E_INVALID_ARGUMENT);
    CHECK_STATUS(nvmeddp_ctrlr_read(ctrlr, 0, 0, 8, iov, 0, on_done, &st), NVMEDDP_HOST_E_INVALID_ARGUMENT);
    CHECK_STATUS(nvmeddp_ctrlr_read(NULL, 0, 0, 8, iov, 4, on_done, &st), NVMEDDP_HOST_E_INVALID_ARGUMENT);
    iov[0].len = 4 * bs; /* 4 blocks in one iovec, 8 asked */
    CHECK_STATUS(nvmeddp_ctrlr_read(ctrlr, 0, 0, 8, iov, 1, on_done, &st), NVMEDDP_HOST_E_BUFFER_TOO_SMALL);
    iov[0].len = sizeof buffer;
    CHECK_STATUS(nvmeddp_ctrlr_read(ctrlr, 0, 0, nvmeddp_ctrlr_max_transfer(ctrlr) / bs + 1, iov, 1, on_done, &st),
                 NVMEDDP_HOST_E_TOO_LARGE);
    CHECK_STATUS(nvmeddp_ctrlr_write(ctrlr, 0, 0, 65537, iov, 1, on_done, &st), NVMEDDP_HOST_E_TOO_LARGE);
    CHECK(st.done == ios);

    /* Queue full: queue_depth reads outstanding, then one more. They all complete right afterwards. */
    for (i = 0; i < 8; ++i) {
        struct nvmeddp_iov one;
        one.base = buffer + (size_t)i * 4 * bs;
        one.len = 4 * bs;
        CHECK_STATUS(nvmeddp_ctrlr_read(ctrlr, 0, 4u * (uint64_t)i, 4, &one, 1, on_done, &st), NVMEDDP_HOST_OK);
    }
    iov[0].base = buffer + 8 * 4 * bs;
    iov[0].len = bs;
    CHECK_STATUS(nvmeddp_ctrlr_read(ctrlr, 0, 0, 1, iov, 1, on_done, &st), NVMEDDP_HOST_E_QUEUE_FULL);
    ios += 8;
    CHECK(wait_done(host, &st, ios));
    CHECK(st.failed == 0);
    CHECK(nvmeddp_test_namespace_mismatch(buffer, 32 * (size_t)bs, 0) == 32 * (size_t)bs);
    CHECK_STATUS(nvmeddp_ctrlr_read(ctrlr, 0, 0, 1, iov, 1, on_done, &st), NVMEDDP_HOST_OK); /* room again */
    CHECK(wait_done(host, &st, ++ios));

    /* A second controller on the same host, polled by the same nvmeddp_host_poll. */
    CHECK_STATUS(nvmeddp_ctrlr_connect(host, trid, NULL, &other, msg, sizeof msg), NVMEDDP_HOST_OK);
    iov[0].base = buffer;
    iov[0].len = 16 * (size_t)bs;
    CHECK_STATUS(nvmeddp_ctrlr_read(other, 0, 77, 16, iov, 1, on_done, &st), NVMEDDP_HOST_OK);
    CHECK(wait_done(host, &st, ++ios));
    CHECK(nvmeddp_test_namespace_mismatch(buffer, 16 * (size_t)bs, 77u * bs) == 16 * (size_t)bs);
    nvmeddp_ctrlr_disconnect(other);
    other = NULL;

    for (i = 0; i <= NVMEDDP_HOST_E_FAILED; ++i) CHECK(nvmeddp_host_strerror(i) != NULL);
    CHECK(strcmp(nvmeddp_host_strerror(NVMEDDP_HOST_E_QUEUE_FULL), nvmeddp_host_strerror(NVMEDDP_HOST_E_NOT_READY)) != 0);
    CHECK(strcmp(nvmeddp_host_strerror(12345), "unknown status") == 0);
    result = 0;
out:
    if (result != 0 && msg[0] != '\0' && strlen(err) + 8 < errlen) {
        strncat(err, " (err: ", errlen - strlen(err) - 1);
        strncat(err, msg, errlen - strlen(err) - 1);
        strncat(err, ")", errlen - strlen(err) - 1);
    }
    nvmeddp_ctrlr_disconnect(other);
    nvmeddp_ctrlr_disconnect(ctrlr);
    nvmeddp_host_destroy(host);
    return result;
}
