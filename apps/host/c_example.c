/* nvmeddp-host-c-example: the NVMe/TCP host's C API (nvmeddp/host.h) used from a C program, over a
 * DPDK port with the receive offload (or the kernel's TCP): connect, reads of a few sizes with several
 * requests in flight, every byte checked against the namespace pattern of nvmeddp-target, a write read
 * back, the queue's counters and the offload device's (nvmeddp/ddp.h), disconnect.
 *
 * usage: nvmeddp-host-c-example --traddr A [--trsvcid P] --subnqn NQN
 *            (--port NAME --local-ip IP [--offload on|off] | --kernel-tcp) [--ios N] [--timeout S] [-- EAL args]
 * Exits 0 when every I/O completed with the right bytes (and, with the offload, the device placed
 * some of them and every registration was torn down). tests/netns/host_target.sh runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nvmeddp/ddp.h"
#include "nvmeddp/host.h"

/* The namespace pattern of nvmeddp-target (nvmetcp/byte_pattern.hpp, direction kNamespacePattern = 2):
 * SplitMix64 of the 8-byte block number, little-endian. */
static uint8_t pattern_byte(uint64_t address) {
    uint64_t z = (address >> 3) + ((uint64_t)2 << 56) + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (uint8_t)(z >> ((address & 7) * 8));
}

#define DEPTH 8
#define MAX_SIZE (1u << 20)

struct request {
    int busy;
    int write;
    uint64_t address; /* byte address in the namespace */
    uint32_t len;
    uint8_t *buf;
};

struct totals {
    unsigned ok, failed, wrong;
    char first_error[160];
};

static struct totals totals;

static void on_done(void *arg, const struct nvmeddp_io_completion *c) {
    struct request *r = (struct request *)arg;
    r->busy = 0;
    if (c->sct != 0 || c->sc != 0) {
        if (totals.failed++ == 0)
            snprintf(totals.first_error, sizeof totals.first_error, "%s", c->reason ? c->reason : "?");
        return;
    }
    if (!r->write) {
        uint32_t i;
        for (i = 0; i < r->len; ++i) {
            if (r->buf[i] != pattern_byte(r->address + i)) {
                ++totals.wrong;
                break;
            }
        }
    }
    ++totals.ok;
}

static const char *arg_value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        fprintf(stderr, "nvmeddp-host-c-example: %s needs a value\n", argv[*i]);
        exit(2);
    }
    return argv[++*i];
}

static int ios_per_size = 64;
static time_t deadline;

/* Reads `ios` requests of `size` bytes with up to DEPTH in flight, each into two iovecs. */
static int run_reads(struct nvmeddp_host *host, struct nvmeddp_ctrlr *ctrlr, struct request *req, uint32_t size) {
    uint32_t bs = nvmeddp_ctrlr_block_size(ctrlr);
    uint64_t span = nvmeddp_ctrlr_num_blocks(ctrlr) - size / bs;
    int submitted = 0, k;
    for (;;) {
        int busy = 0;
        for (k = 0; k < DEPTH; ++k) {
            struct request *r = &req[k];
            if (!r->busy && submitted < ios_per_size) {
                uint64_t slba = ((uint64_t)submitted * 7919u * (size / bs)) % span;
                struct nvmeddp_iov iov[2];
                int rc;
                iov[0].base = r->buf;
                iov[0].len = size / 2 + 100;
                iov[1].base = r->buf + iov[0].len;
                iov[1].len = size - iov[0].len;
                r->write = 0;
                r->address = slba * bs;
                r->len = size;
                memset(r->buf, 0, size);
                rc = nvmeddp_ctrlr_read(ctrlr, 0, slba, size / bs, iov, 2, on_done, r);
                if (rc == NVMEDDP_HOST_E_QUEUE_FULL) break;
                if (rc != NVMEDDP_HOST_OK) {
                    fprintf(stderr, "nvmeddp-host-c-example: read: %s\n", nvmeddp_host_strerror(rc));
                    return 0;
                }
                r->busy = 1;
                ++submitted;
            }
            busy += r->busy;
        }
        if (busy == 0 && submitted == ios_per_size) return 1;
        if (time(NULL) > deadline) {
            fprintf(stderr, "nvmeddp-host-c-example: timed out\n");
            return 0;
        }
        nvmeddp_host_poll(host);
    }
}

static int wait_idle(struct nvmeddp_host *host, struct request *r) {
    while (r->busy && time(NULL) <= deadline) nvmeddp_host_poll(host);
    return !r->busy;
}

int main(int argc, char **argv) {
    const char *traddr = NULL, *trsvcid = "4420", *subnqn = NULL;
    struct nvmeddp_host_opts hopts;
    struct nvmeddp_ctrlr_opts copts;
    struct nvmeddp_host *host = NULL;
    struct nvmeddp_ctrlr *ctrlr = NULL;
    struct nvmeddp_queue_stats qs;
    struct request req[DEPTH];
    static const uint32_t sizes[] = {4096, 65536, MAX_SIZE};
    char trid[512], err[512];
    int timeout_s = 60, i, rc, ok = 1;

    nvmeddp_host_opts_default(&hopts);
    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--")) {
            hopts.eal_argv = (const char *const *)&argv[i + 1];
            hopts.eal_argc = argc - i - 1;
            break;
        } else if (!strcmp(argv[i], "--traddr")) traddr = arg_value(argc, argv, &i);
        else if (!strcmp(argv[i], "--trsvcid")) trsvcid = arg_value(argc, argv, &i);
        else if (!strcmp(argv[i], "--subnqn")) subnqn = arg_value(argc, argv, &i);
        else if (!strcmp(argv[i], "--port")) hopts.port = arg_value(argc, argv, &i);
        else if (!strcmp(argv[i], "--local-ip")) hopts.local_ip = arg_value(argc, argv, &i);
        else if (!strcmp(argv[i], "--kernel-tcp")) hopts.kernel_tcp = 1;
        else if (!strcmp(argv[i], "--offload")) hopts.offload = strcmp(arg_value(argc, argv, &i), "off") != 0;
        else if (!strcmp(argv[i], "--ios")) ios_per_size = atoi(arg_value(argc, argv, &i));
        else if (!strcmp(argv[i], "--timeout")) timeout_s = atoi(arg_value(argc, argv, &i));
        else {
            fprintf(stderr, "nvmeddp-host-c-example: unknown option '%s' (see the comment at the top of c_example.c)\n",
                    argv[i]);
            return 2;
        }
    }
    if (traddr == NULL || subnqn == NULL || ios_per_size < 1 || timeout_s < 1) {
        fprintf(stderr, "nvmeddp-host-c-example: needs --traddr and --subnqn; --ios and --timeout above 0\n");
        return 2;
    }
    if (hopts.kernel_tcp) hopts.offload = 0;
    deadline = time(NULL) + timeout_s;

    rc = nvmeddp_host_create(&hopts, &host, err, sizeof err);
    if (rc != NVMEDDP_HOST_OK) {
        fprintf(stderr, "nvmeddp-host-c-example: %s: %s\n", nvmeddp_host_strerror(rc), err);
        return 1;
    }
    nvmeddp_ctrlr_opts_default(&copts);
    copts.queue_depth = DEPTH;
    copts.header_digest = 1;
    copts.data_digest = 1;
    snprintf(trid, sizeof trid, "trtype=tcp traddr=%s trsvcid=%s subnqn=%s", traddr, trsvcid, subnqn);
    rc = nvmeddp_ctrlr_connect(host, trid, &copts, &ctrlr, err, sizeof err);
    if (rc != NVMEDDP_HOST_OK) {
        fprintf(stderr, "nvmeddp-host-c-example: %s: %s\n", nvmeddp_host_strerror(rc), err);
        nvmeddp_host_destroy(host);
        return 1;
    }
    printf("c-example: connected to %s: %llu blocks of %u bytes, offload %s\n", subnqn,
           (unsigned long long)nvmeddp_ctrlr_num_blocks(ctrlr), nvmeddp_ctrlr_block_size(ctrlr),
           nvmeddp_host_device(host) != NULL ? "on" : "off");

    memset(req, 0, sizeof req);
    for (i = 0; i < DEPTH; ++i) {
        req[i].buf = (uint8_t *)malloc(MAX_SIZE);
        if (req[i].buf == NULL) return 1;
    }
    for (i = 0; ok && i < (int)(sizeof sizes / sizeof sizes[0]); ++i) {
        memset(&totals, 0, sizeof totals);
        ok = run_reads(host, ctrlr, req, sizes[i]);
        printf("c-example: %u-byte reads: %u ok, %u failed, %u with wrong bytes%s%s\n", sizes[i], totals.ok,
               totals.failed, totals.wrong, totals.failed ? ": first: " : "", totals.first_error);
        ok = ok && totals.ok == (unsigned)ios_per_size && totals.wrong == 0;
    }

    /* A write in four iovecs at the namespace's end, read back in one. */
    if (ok) {
        uint32_t bs = nvmeddp_ctrlr_block_size(ctrlr), len = 128u << 10, j;
        uint64_t slba = nvmeddp_ctrlr_num_blocks(ctrlr) - len / bs;
        struct nvmeddp_iov iov[4];
        for (j = 0; j < len; ++j) req[0].buf[j] = (uint8_t)(j * 31u + (j >> 11));
        for (j = 0; j < 4; ++j) {
            iov[j].base = req[0].buf + j * (len / 4);
            iov[j].len = len / 4;
        }
        memset(&totals, 0, sizeof totals);
        req[0].write = 1;
        req[0].busy = 1;
        rc = nvmeddp_ctrlr_write(ctrlr, 0, slba, len / bs, iov, 4, on_done, &req[0]);
        ok = rc == NVMEDDP_HOST_OK && wait_idle(host, &req[0]) && totals.ok == 1;
        iov[0].base = req[1].buf;
        iov[0].len = len;
        memset(req[1].buf, 0, len);
        req[1].write = 1; /* compared below, not against the pattern */
        req[1].busy = 1;
        rc = ok ? nvmeddp_ctrlr_read(ctrlr, 0, slba, len / bs, iov, 1, on_done, &req[1]) : rc;
        ok = ok && rc == NVMEDDP_HOST_OK && wait_idle(host, &req[1]) && totals.ok == 2 &&
             memcmp(req[0].buf, req[1].buf, len) == 0;
        printf("c-example: 128 KiB write in 4 iovecs read back: %s\n", ok ? "the same bytes" : "FAILED");
    }

    if (nvmeddp_ctrlr_queue_stats(ctrlr, 0, &qs) == NVMEDDP_HOST_OK) {
        printf("c-example: queue 1: commands %llu, read bytes copied %llu, placed %llu; data digests computed %llu, "
               "offloaded %llu\n",
               (unsigned long long)qs.commands, (unsigned long long)qs.bytes_copied,
               (unsigned long long)qs.bytes_placed, (unsigned long long)qs.digests_computed,
               (unsigned long long)qs.digests_offloaded);
        if (nvmeddp_host_device(host) != NULL && qs.bytes_placed == 0) {
            printf("c-example: FAILED: the offload device placed nothing\n");
            ok = 0;
        }
    }
    if (nvmeddp_ctrlr_failure(ctrlr) != NULL) printf("c-example: the controller failed: %s\n", nvmeddp_ctrlr_failure(ctrlr));
    nvmeddp_ctrlr_disconnect(ctrlr);

    if (nvmeddp_host_device(host) != NULL) {
        /* The connection's removal finishes in the receive path: poll a little. */
        struct nvmeddp_stats d;
        time_t end = time(NULL) + 2;
        do {
            nvmeddp_host_poll(host);
            nvmeddp_get_device_stats(nvmeddp_host_device(host), &d);
        } while ((d.sk_add != d.sk_del || d.setup != d.teardown) && time(NULL) <= end);
        printf("c-example: device: sk_add %llu sk_del %llu setup %llu teardown %llu placed_bytes %llu digest_offloaded %llu\n",
               (unsigned long long)d.sk_add, (unsigned long long)d.sk_del, (unsigned long long)d.setup,
               (unsigned long long)d.teardown, (unsigned long long)d.placed_bytes,
               (unsigned long long)d.digest_offloaded);
        if (d.sk_add != d.sk_del || d.setup != d.teardown || d.sk_add == 0) {
            printf("c-example: FAILED: registrations or connections left on the device\n");
            ok = 0;
        }
    }
    nvmeddp_host_destroy(host);
    for (i = 0; i < DEPTH; ++i) free(req[i].buf);
    printf("c-example: %s\n", ok ? "every I/O completed with the right bytes" : "FAILED");
    return ok ? 0 : 1;
}
