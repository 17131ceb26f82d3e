/* libnvmeddp_fio.so: a fio external ioengine ("nvmeddp") over our NVMe/TCP host's C API
 * (nvmeddp/host.h): a DPDK port with our TCP and the receive offload device, or the kernel's TCP.
 *
 *   fio --thread --ioengine=external:/path/libnvmeddp_fio.so --port=net_af_packet0 \
 *       --local_ip=192.0.2.2 --eal="--vdev=net_af_packet0,iface=veth1" \
 *       --filename="trtype=tcp adrfam=ipv4 traddr=192.0.2.1 trsvcid=4420 subnqn=nqn.2026-12.io.nvmeddp\:demo ns=1" ...
 *
 * (apps/fio/example.fio is a job file.) How it maps onto fio:
 * - One host per process (DPDK's EAL is per process), created by the first job's setup() and
 *   destroyed by the last job's cleanup(); each job connects one controller (one I/O queue, depth =
 *   iodepth) per file. fio calls setup() for every job from its main thread before any job thread
 *   runs (create_serialize, the default), and the I/O from each job thread.
 * - Lanes (lanes=N, the port's queue pairs): job k, in setup order, gets lane k mod N. Its
 *   controllers' connections are steered to that queue pair, and its thread polls only that lane and
 *   submits only to its own controllers: with no more jobs than lanes, each job thread runs its own
 *   queue with no lock at all (nvmeddp/host.h's threading). Jobs that share a lane (more jobs than
 *   lanes, or sequential jobs) take turns on it under that lane's lock. lanes > 1 needs a port with
 *   that many queue pairs and rte_flow: net_nvmeddp stacked on the interface, e.g.
 *   port=net_nvmeddp0 eal="--vdev=net_nvmeddp0,port=veth1,queues=2".
 * - Connecting needs the host to itself: setup() connects (fio runs every job's setup() before any
 *   job starts, create_serialize=1, the default, which the engine requires) and cleanup()
 *   disconnects from the job's own thread, polling only its lane.
 * - thread=1 is required: fio's default (a process per job, forked after setup() has brought the
 *   EAL up in the parent) cannot share the host.
 * - queue() submits at once; getevents() polls the host until `min` completions arrived (bounded:
 *   the host fails a command after its 30 s command timeout; getevents gives up after 70 s).
 * - At cleanup() one line per job says what the offload did: read bytes placed by the device vs
 *   copied by the host, data digests taken from the device vs computed, the device's resyncs, and
 *   the job thread's busy time in the host per GiB moved (lcore_time.h: fio's CPU figure is 100% for
 *   a thread that polls).
 * Engine options: fio --enghelp=/path/libnvmeddp_fio.so lists them (the table below; the path,
 * without "external:"). */
#include "config-host.h"
#include "fio.h"
#include "optgroup.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job_args.h"
#include "lcore_time.h"
#include "nvmeddp/ddp.h"
#include "nvmeddp/host.h"

#define ENGINE_NAME "nvmeddp"
#define MAX_EAL_ARGS 64
#define ERRORS_LOGGED 8 /* I/O errors each job prints; the rest are counted */

/* The engine options (fio fills this per job; the first member is fio's). */
struct engine_options {
    void *pad;
    char *digest;
    char *ddp;
    char *port;
    char *local_ip;
    char *eal;
    char *hostnqn;
    char *subnqn;
    unsigned int kernel_tcp;
    unsigned int lanes;
};

static struct fio_option options[] = {
    {.name = "digest", .lname = "NVMe/TCP digests", .type = FIO_OPT_STR_STORE,
     .off1 = offsetof(struct engine_options, digest), .def = "none",
     .help = "NVMe/TCP digests asked in ICReq: none, header, data or both",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "ddp", .lname = "receive offload", .type = FIO_OPT_STR_STORE,
     .off1 = offsetof(struct engine_options, ddp), .def = "on",
     .help = "on: the I/O queue uses the offload device (placement, digest check); off: copy and CRC in the host",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "port", .lname = "DPDK port", .type = FIO_OPT_STR_STORE,
     .off1 = offsetof(struct engine_options, port),
     .help = "DPDK port by name, e.g. net_af_packet0 (created by a --vdev in eal=)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "local_ip", .lname = "local IP", .type = FIO_OPT_STR_STORE,
     .off1 = offsetof(struct engine_options, local_ip),
     .help = "this host's IPv4 or IPv6 address on the DPDK port",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "eal", .lname = "EAL arguments", .type = FIO_OPT_STR_STORE,
     .off1 = offsetof(struct engine_options, eal),
     .help = "extra EAL arguments, space separated, e.g. \"--vdev=net_af_packet0,iface=veth1\"",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "hostnqn", .lname = "host NQN", .type = FIO_OPT_STR_STORE,
     .off1 = offsetof(struct engine_options, hostnqn),
     .help = "host NQN (default: hostnqn= of the filename, else one made from a host identifier)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "subnqn", .lname = "subsystem NQN", .type = FIO_OPT_STR_STORE,
     .off1 = offsetof(struct engine_options, subnqn),
     .help = "subsystem NQN, instead of subnqn= in the filename (where each ':' must be escaped as \\:)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "kernel_tcp", .lname = "kernel TCP", .type = FIO_OPT_BOOL,
     .off1 = offsetof(struct engine_options, kernel_tcp), .def = "0",
     .help = "1: the kernel's TCP sockets instead of DPDK (no port, no EAL, no offload)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = "lanes", .lname = "lanes", .type = FIO_OPT_INT,
     .off1 = offsetof(struct engine_options, lanes), .def = "1", .minval = 1, .maxval = 16,
     .help = "queue pairs of the port, one lane each: job k polls lane k mod lanes, on its own with no lock "
             "when no other job shares it (needs a port with that many queue pairs and rte_flow, e.g. net_nvmeddp)",
     .category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID},
    {.name = NULL},
};

/* --- the process-wide host ------------------------------------------------------------------------ */

/* host_lock guards the host's creation and destruction and the lane bookkeeping (setup, init,
 * cleanup); the I/O path takes only a shared lane's lock (see lane_lock). */
static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;
#define MAX_LANES 16
static pthread_mutex_t lane_locks[MAX_LANES]; /* initialised with the first host, kept for the process */
static int lane_locks_ready;
static unsigned lane_jobs[MAX_LANES]; /* jobs with controllers on each lane (set up, not cleaned up) */
static unsigned jobs_set_up;          /* job k (in setup order) gets lane k mod lanes */
static struct nvmeddp_host *host;
static int host_users;
static char host_identity[1024];            /* the options it was made with: every job must agree */
static char eal_storage[2048];
static char *eal_argv[MAX_EAL_ARGS];

static void host_log(void *arg, const char *line) {
    (void)arg;
    log_info(ENGINE_NAME " device: %s\n", line);
}

/* Takes a user of the host, creating it on first use. Caller holds host_lock. */
static int host_acquire(const struct engine_options *o) {
    char identity[sizeof host_identity];
    snprintf(identity, sizeof identity, "kernel_tcp=%u port=%s local_ip=%s eal=%s lanes=%u", o->kernel_tcp,
             o->port ? o->port : "", o->local_ip ? o->local_ip : "", o->eal ? o->eal : "", o->lanes);
    if (host) {
        if (strcmp(identity, host_identity) != 0) {
            log_err(ENGINE_NAME ": every job of one fio run shares one host (one per process), so port, local_ip, "
                    "eal, lanes and kernel_tcp must be the same in each: the host has \"%s\", this job asks \"%s\"\n",
                    host_identity, identity);
            return -1;
        }
        ++host_users;
        return 0;
    }
    if (!lane_locks_ready) {
        for (int i = 0; i < MAX_LANES; ++i)
            pthread_mutex_init(&lane_locks[i], NULL);
        lane_locks_ready = 1;
    }
    struct nvmeddp_host_opts ho;
    nvmeddp_host_opts_default(&ho);
    ho.kernel_tcp = o->kernel_tcp ? 1 : 0;
    ho.log = host_log;
    ho.lanes = (uint16_t)o->lanes;
    if (!ho.kernel_tcp) {
        if (!o->port || !*o->port || !o->local_ip || !*o->local_ip) {
            log_err(ENGINE_NAME ": port= and local_ip= are needed for the DPDK host (or kernel_tcp=1)\n");
            return -1;
        }
        const int argc = nvmeddp_fio_split_words(o->eal, eal_storage, sizeof eal_storage, eal_argv, MAX_EAL_ARGS);
        if (argc < 0) {
            log_err(ENGINE_NAME ": eal= is too long (at most %d arguments, %zu bytes)\n", MAX_EAL_ARGS,
                    sizeof eal_storage - 1);
            return -1;
        }
        ho.port = o->port;
        ho.local_ip = o->local_ip;
        ho.eal_argv = (const char *const *)eal_argv;
        ho.eal_argc = argc;
        ho.offload = 1; /* attached to the port; each job's ddp= decides whether its queue uses it */
    }
    /* The EAL pins the thread that initialises it (fio's main thread) to its main lcore, and fio's job
     * threads would inherit that: keep fio's own CPU placement. */
    cpu_set_t before;
    const int have_affinity = pthread_getaffinity_np(pthread_self(), sizeof before, &before) == 0;
    char err[512] = "";
    const int rc = nvmeddp_host_create(&ho, &host, err, sizeof err);
    if (have_affinity)
        pthread_setaffinity_np(pthread_self(), sizeof before, &before);
    if (rc != NVMEDDP_HOST_OK) {
        log_err(ENGINE_NAME ": the host could not be created: %s (%s)\n", err, nvmeddp_host_strerror(rc));
        host = NULL;
        return -1;
    }
    snprintf(host_identity, sizeof host_identity, "%s", identity);
    host_users = 1;
    return 0;
}

/* Drops a user; the last one destroys the host (the EAL stays: it cannot be initialised twice).
 * Caller holds host_lock. */
static void host_release(void) {
    if (host_users > 0 && --host_users == 0) {
        nvmeddp_host_destroy(host);
        host = NULL;
    }
}

/* --- per job and per file ------------------------------------------------------------------------- */

struct job_file {
    struct nvmeddp_ctrlr *ctrlr;
    uint32_t block_size;
};

struct job {
    int holds_host;
    unsigned lane;   /* the host's lane of this job's controllers, polled by its thread */
    int lane_shared; /* other jobs have controllers on it: take its lock to poll or submit */
    int ddp;
    uint8_t header_digest, data_digest;
    struct job_file *files; /* one per fio file, in connect order (fio may free its files first) */
    unsigned nfiles;
    struct nvmeddp_stats device_before;
    int have_device_before;
    /* completions for fio: appended by callbacks (from a poll of this job's lane: its own thread, or
     * under the lane's lock), handed to fio by this job's getevents()/event(); the first `reported`
     * were handed by the last getevents() */
    struct io_u **done;
    unsigned done_count, done_capacity, reported;
    unsigned long long io_errors;
    struct nvmeddp_fio_lcore_time lcore; /* this thread's calls into the host, busy or idle */
    struct nvmeddp_lane_stats lane_at_init; /* the lane's port time when the job's I/O began */
    int have_lane_at_init;
};

/* One per io_u: what a completion callback needs. */
struct request {
    struct job *job;
    struct io_u *io_u;
    int in_flight; /* submitted, not completed: written under the lane (its thread, or its lock) */
    int orphaned;  /* fio freed the io_u while in flight: the completion frees the request */
};

static struct job *job_of(struct thread_data *td) {
    if (!td->io_ops_data)
        td->io_ops_data = calloc(1, sizeof(struct job));
    return td->io_ops_data;
}

static const char *ddir_name(enum fio_ddir ddir) {
    return ddir == DDIR_READ ? "read" : ddir == DDIR_WRITE ? "write" : ddir == DDIR_SYNC ? "flush" : "I/O";
}

static void lane_lock(const struct job *job) {
    if (job->lane_shared)
        pthread_mutex_lock(&lane_locks[job->lane]);
}

static void lane_unlock(const struct job *job) {
    if (job->lane_shared)
        pthread_mutex_unlock(&lane_locks[job->lane]);
}

/* The device's counters when the job starts, for the resyncs of its report. The device is shared
 * by every job of the process: jobs that run at the same time see each other's. Caller holds host_lock. */
static void snapshot_device(struct job *job) {
    struct nvmeddp_device *dev = host ? nvmeddp_host_device(host) : NULL;
    job->have_device_before = dev && nvmeddp_get_device_stats(dev, &job->device_before) == 0;
}

/* Connects the controller of one fio file and sets its size from the namespace. Caller holds host_lock. */
static int connect_file(struct thread_data *td, struct job *job, const struct engine_options *o, struct fio_file *f) {
    char trid[1024], err[512];
    uint32_t nsid = 1;
    if (nvmeddp_fio_parse_filename(f->file_name, o->subnqn, trid, sizeof trid, &nsid, err, sizeof err) != 0) {
        log_err(ENGINE_NAME ": filename \"%s\": %s\n", f->file_name, err);
        return -1;
    }
    struct nvmeddp_ctrlr_opts co;
    nvmeddp_ctrlr_opts_default(&co);
    co.io_queues = 1;
    co.queue_depth = (uint16_t)(td->o.iodepth < 1 ? 1 : td->o.iodepth > 1024 ? 1024 : td->o.iodepth);
    co.max_iovs = 1;
    co.header_digest = job->header_digest;
    co.data_digest = job->data_digest;
    co.offload = (uint8_t)job->ddp;
    co.hostnqn = o->hostnqn && *o->hostnqn ? o->hostnqn : NULL;
    co.lane = (uint16_t)job->lane;
    co.nsid = nsid;
    struct nvmeddp_ctrlr *ctrlr = NULL;
    const int rc = nvmeddp_ctrlr_connect(host, trid, &co, &ctrlr, err, sizeof err);
    if (rc != NVMEDDP_HOST_OK) {
        log_err(ENGINE_NAME ": connecting \"%s\": %s (%s)\n", trid, err, nvmeddp_host_strerror(rc));
        return -1;
    }
    const uint32_t bs = nvmeddp_ctrlr_block_size(ctrlr);
    const uint32_t max_transfer = nvmeddp_ctrlr_max_transfer(ctrlr);
    job->files[job->nfiles].ctrlr = ctrlr;
    job->files[job->nfiles].block_size = bs;
    ++job->nfiles;
    for (int ddir = DDIR_READ; ddir <= DDIR_WRITE; ++ddir) {
        if (td->o.min_bs[ddir] % bs != 0 || td->o.max_bs[ddir] % bs != 0) {
            log_err(ENGINE_NAME ": %s: %s block sizes must be multiples of the namespace block size %u\n",
                    f->file_name, ddir_name((enum fio_ddir)ddir), bs);
            return -1;
        }
        if (td->o.max_bs[ddir] > max_transfer) {
            log_err(ENGINE_NAME ": %s: %s block size %llu is above the controller's largest transfer (%u bytes)\n",
                    f->file_name, ddir_name((enum fio_ddir)ddir), td->o.max_bs[ddir], max_transfer);
            return -1;
        }
    }
    f->real_file_size = (uint64_t)bs * nvmeddp_ctrlr_num_blocks(ctrlr);
    f->filetype = FIO_TYPE_BLOCK;
    fio_file_set_size_known(f);
    FILE_SET_ENG_DATA(f, &job->files[job->nfiles - 1]);
    return 0;
}

/* fio's main thread, before the job threads (or the job thread with create_serialize=0). */
static int engine_setup(struct thread_data *td) {
    const struct engine_options *o = td->eo;
    if (!td->o.use_thread) {
        log_err(ENGINE_NAME ": this engine needs thread=1 (--thread): fio's jobs must be threads of the process "
                "that holds the host and DPDK's EAL, not forked processes\n");
        return 1;
    }
    if (!td->o.create_serialize) {
        log_err(ENGINE_NAME ": this engine needs create_serialize=1 (the default): it connects in setup(), which "
                "needs the host to itself, before any job runs\n");
        return 1;
    }
    struct job *job = job_of(td);
    if (!job)
        return 1;
    if (job->holds_host)
        return 0; /* set up already */
    char err[256];
    if (nvmeddp_fio_parse_digest(o->digest, &job->header_digest, &job->data_digest, err, sizeof err) != 0 ||
        nvmeddp_fio_parse_on_off("ddp", o->ddp, &job->ddp, err, sizeof err) != 0) {
        log_err(ENGINE_NAME ": %s\n", err);
        return 1;
    }
    const unsigned nfiles = td->files_index;
    job->files = calloc(nfiles ? nfiles : 1, sizeof(struct job_file));
    if (!job->files)
        return 1;
    pthread_mutex_lock(&host_lock);
    int rc = host_acquire(o);
    if (rc == 0) {
        job->holds_host = 1;
        job->lane = jobs_set_up++ % o->lanes;
        ++lane_jobs[job->lane];
        struct fio_file *f;
        unsigned i;
        for_each_file(td, f, i) {
            if (i >= nfiles || (rc = connect_file(td, job, o, f)) != 0)
                break;
        }
        if (rc == 0)
            snapshot_device(job);
    }
    pthread_mutex_unlock(&host_lock);
    if (rc != 0)
        td_vmsg(td, EIO, "could not connect (see above)", "nvmeddp setup");
    return rc != 0;
}

/* The job thread, before its I/O. */
static int engine_init(struct thread_data *td) {
    struct job *job = job_of(td);
    if (!job)
        return 1;
    /* setup() ran for every job before the first one started (create_serialize): count from here. */
    pthread_mutex_lock(&host_lock);
    if (job->holds_host) {
        snapshot_device(job);
        /* Every job's setup() has run (create_serialize): the lane's users are known. */
        job->lane_shared = lane_jobs[job->lane] > 1;
        /* The lane's port time so far, read as its pollers write it (under its lock when shared). */
        lane_lock(job);
        job->have_lane_at_init = nvmeddp_host_lane_stats(host, (uint16_t)job->lane, &job->lane_at_init) == NVMEDDP_HOST_OK;
        lane_unlock(job);
    }
    pthread_mutex_unlock(&host_lock);
    /* Entries handed to fio stay until its next getevents(); meanwhile fio may queue those io_us
     * again and they may complete (polled by commit()): up to iodepth of each. */
    job->done_capacity = 2 * td->o.iodepth + 2;
    job->done = calloc(job->done_capacity, sizeof(struct io_u *));
    return job->done ? 0 : 1;
}

static int engine_io_u_init(struct thread_data *td, struct io_u *io_u) {
    struct request *r = calloc(1, sizeof *r);
    if (!r)
        return 1;
    r->job = job_of(td);
    r->io_u = io_u;
    io_u->engine_data = r;
    return 0;
}

/* fio frees its io_us before cleanup() disconnects; a command still in flight then (getevents gave
 * up on it) completes at the disconnect: its request stays until then, with no io_u to touch. */
static void engine_io_u_free(struct thread_data *td, struct io_u *io_u) {
    (void)td;
    struct request *r = io_u->engine_data;
    io_u->engine_data = NULL;
    if (!r)
        return;
    lane_lock(r->job);
    const int in_flight = r->in_flight;
    if (in_flight) {
        r->orphaned = 1;
        r->io_u = NULL;
    }
    lane_unlock(r->job);
    if (!in_flight)
        free(r);
}

static void log_io_error(struct job *job, struct io_u *io_u, const char *why) {
    if (job->io_errors++ < ERRORS_LOGGED)
        log_err(ENGINE_NAME ": %s of %llu bytes at %llu failed: %s\n", ddir_name(io_u->ddir), io_u->xfer_buflen,
                io_u->offset, why);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One poll of the job's lane, timed as busy when it did work. Caller holds the lane (lane_lock).
 * Returns the time it ended (now_ns()). */
static uint64_t poll_lane_timed(struct job *job) {
    const uint64_t start = now_ns();
    const int rc = nvmeddp_host_poll_lane(host, (uint16_t)job->lane);
    const uint64_t end = now_ns();
    nvmeddp_fio_lcore_time_add(&job->lcore, end - start, rc > 0);
    return end;
}

/* Called from nvmeddp_host_poll_lane by a job of the lane (this one, or one sharing the lane). */
static void on_complete(void *arg, const struct nvmeddp_io_completion *c) {
    struct request *r = arg;
    r->in_flight = 0;
    if (r->orphaned) { /* fio is done with this I/O (engine_io_u_free) */
        free(r);
        return;
    }
    struct job *job = r->job;
    struct io_u *io_u = r->io_u;
    if (c->sct || c->sc) {
        io_u->error = EIO;
        log_io_error(job, io_u, c->reason ? c->reason : "NVMe error");
    } else {
        io_u->error = 0;
        io_u->resid = 0;
        if (io_u->ddir == DDIR_READ || io_u->ddir == DDIR_WRITE)
            job->lcore.bytes += io_u->xfer_buflen;
    }
    if (job->done_count < job->done_capacity)
        job->done[job->done_count++] = io_u;
    else
        log_err(ENGINE_NAME ": more completions than io_us (a bug): one is lost and fio will wait for it\n");
}

static enum fio_q_status engine_queue(struct thread_data *td, struct io_u *io_u) {
    fio_ro_check(td, io_u);
    struct request *r = io_u->engine_data;
    struct job_file *file = FILE_ENG_DATA(io_u->file);
    if (!file || !file->ctrlr) {
        io_u->error = ENODEV;
        return FIO_Q_COMPLETED;
    }
    const uint32_t bs = file->block_size;
    const int data = io_u->ddir == DDIR_READ || io_u->ddir == DDIR_WRITE;
    if (!data && !ddir_sync(io_u->ddir)) {
        io_u->error = EOPNOTSUPP;
        log_io_error(r->job, io_u, "only reads, writes and flushes (fsync) are supported");
        return FIO_Q_COMPLETED;
    }
    if (data && (io_u->offset % bs || io_u->xfer_buflen % bs || io_u->xfer_buflen == 0)) {
        io_u->error = EINVAL;
        log_io_error(r->job, io_u, "offset and length must be multiples of the namespace block size");
        return FIO_Q_COMPLETED;
    }
    const struct nvmeddp_iov iov = {io_u->xfer_buf, io_u->xfer_buflen};
    const uint64_t slba = io_u->offset / bs;
    const uint32_t nlb = (uint32_t)(io_u->xfer_buflen / bs);
    lane_lock(r->job);
    const uint64_t start = now_ns();
    r->in_flight = 1;
    const int rc = !data                       ? nvmeddp_ctrlr_flush(file->ctrlr, 0, on_complete, r)
                   : io_u->ddir == DDIR_READ ? nvmeddp_ctrlr_read(file->ctrlr, 0, slba, nlb, &iov, 1, on_complete, r)
                                             : nvmeddp_ctrlr_write(file->ctrlr, 0, slba, nlb, &iov, 1, on_complete, r);
    if (rc != NVMEDDP_HOST_OK)
        r->in_flight = 0;
    nvmeddp_fio_lcore_time_add(&r->job->lcore, now_ns() - start, rc == NVMEDDP_HOST_OK);
    lane_unlock(r->job);
    if (rc == NVMEDDP_HOST_OK)
        return FIO_Q_QUEUED;
    if (rc == NVMEDDP_HOST_E_QUEUE_FULL)
        return FIO_Q_BUSY;
    io_u->error = rc == NVMEDDP_HOST_E_NOT_READY ? EIO : EINVAL;
    log_io_error(r->job, io_u, nvmeddp_host_strerror(rc));
    return FIO_Q_COMPLETED;
}

/* Commands are sent when queued; one poll pushes what the port has not sent yet. */
static int engine_commit(struct thread_data *td) {
    struct job *job = job_of(td);
    if (!job || !job->holds_host)
        return 0;
    lane_lock(job);
    poll_lane_timed(job);
    lane_unlock(job);
    return 0;
}

static int engine_getevents(struct thread_data *td, unsigned int min, unsigned int max, const struct timespec *t) {
    struct job *job = job_of(td);
    /* The host fails a command after its command timeout (30 s): waiting much longer is a bug. */
    const uint64_t stall_limit_ns = 70ull * 1000000000ull;
    const uint64_t start = now_ns();
    const uint64_t deadline = t ? start + (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec : 0;
    unsigned count;
    lane_lock(job);
    /* Drop what the last call handed to fio (event() has read it). */
    memmove(job->done, job->done + job->reported, (job->done_count - job->reported) * sizeof(struct io_u *));
    job->done_count -= job->reported;
    job->reported = 0;
    lane_unlock(job);
    for (;;) {
        uint64_t now = 0;
        lane_lock(job);
        if (job->holds_host)
            now = poll_lane_timed(job); /* its end time serves the deadline checks below */
        count = job->done_count;
        lane_unlock(job);
        if (count >= min)
            break;
        if (now == 0)
            now = now_ns();
        if (t && now >= deadline)
            break;
        if (now - start > stall_limit_ns) {
            log_err(ENGINE_NAME ": no completion for %llu s with %u wanted: giving up\n",
                    (unsigned long long)(stall_limit_ns / 1000000000ull), min);
            return -ETIMEDOUT;
        }
    }
    const unsigned n = count < max ? count : max;
    job->reported = n;
    return (int)n;
}

static struct io_u *engine_event(struct thread_data *td, int event) {
    return job_of(td)->done[event];
}

static int engine_open_file(struct thread_data *td, struct fio_file *f) {
    (void)td;
    (void)f;
    return 0; /* connected by setup() */
}

static int engine_close_file(struct thread_data *td, struct fio_file *f) {
    (void)td;
    (void)f;
    return 0; /* disconnected by cleanup(): fio closes and reopens files during a job */
}

static int engine_get_file_size(struct thread_data *td, struct fio_file *f) {
    (void)td;
    const struct job_file *file = FILE_ENG_DATA(f);
    if (!file || !file->ctrlr)
        return 0; /* setup() sets the size when it connects */
    f->real_file_size = (uint64_t)file->block_size * nvmeddp_ctrlr_num_blocks(file->ctrlr);
    fio_file_set_size_known(f);
    return 0;
}

static double percent(uint64_t part, uint64_t whole) {
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* One line: what the offload did for this job. */
static void report_offload(struct thread_data *td, struct job *job) {
    struct nvmeddp_queue_stats sum;
    memset(&sum, 0, sizeof sum);
    for (unsigned i = 0; i < job->nfiles; ++i) {
        struct nvmeddp_queue_stats s;
        if (nvmeddp_ctrlr_queue_stats(job->files[i].ctrlr, 0, &s) != NVMEDDP_HOST_OK)
            continue;
        sum.bytes_placed += s.bytes_placed;
        sum.bytes_copied += s.bytes_copied;
        sum.digests_offloaded += s.digests_offloaded;
        sum.digests_computed += s.digests_computed;
        sum.digest_errors += s.digest_errors;
        sum.completions += s.completions;
        sum.errors += s.errors;
    }
    uint64_t resyncs = 0, resync_requests = 0;
    struct nvmeddp_device *dev = host ? nvmeddp_host_device(host) : NULL;
    struct nvmeddp_stats now;
    if (dev && job->have_device_before && nvmeddp_get_device_stats(dev, &now) == 0) {
        resyncs = now.resync_confirmations - job->device_before.resync_confirmations;
        resync_requests = now.resync_requests - job->device_before.resync_requests;
    }
    static const char *const digest_names[2][2] = {{"none", "data"}, {"header", "both"}};
    const uint64_t read_bytes = sum.bytes_placed + sum.bytes_copied;
    char lcore[256];
    struct nvmeddp_lane_stats lane_now;
    if (job->have_lane_at_init && nvmeddp_host_lane_stats(host, (uint16_t)job->lane, &lane_now) == NVMEDDP_HOST_OK) {
        /* A lane shared by jobs running at once counts theirs too (the report says "shared"). */
        job->lcore.port_rx_ns = lane_now.rx_ns - job->lane_at_init.rx_ns;
        job->lcore.port_tx_ns = lane_now.tx_ns - job->lane_at_init.tx_ns;
        job->lcore.have_port = 1;
    }
    nvmeddp_fio_lcore_time_format(&job->lcore, lcore, sizeof lcore);
    log_info(ENGINE_NAME " offload: job %s: lane %u (%s), ddp %s, digest %s: read bytes placed %llu (%.1f%%) copied %llu, "
             "data digests offloaded %llu computed %llu (errors %llu), resyncs %llu (requested %llu), %s, "
             "commands %llu (failed %llu)\n",
             td->o.name, job->lane, job->lane_shared ? "shared, locked" : "its own, no lock", job->ddp ? "on" : "off",
             digest_names[job->header_digest][job->data_digest],
             (unsigned long long)sum.bytes_placed, percent(sum.bytes_placed, read_bytes),
             (unsigned long long)sum.bytes_copied, (unsigned long long)sum.digests_offloaded,
             (unsigned long long)sum.digests_computed, (unsigned long long)sum.digest_errors,
             (unsigned long long)resyncs, (unsigned long long)resync_requests, lcore, (unsigned long long)sum.completions,
             (unsigned long long)sum.errors);
}

static void engine_cleanup(struct thread_data *td) {
    struct job *job = td->io_ops_data;
    if (!job)
        return;
    /* The job's controllers go from its own thread, polling its lane (under its lock when shared). */
    lane_lock(job);
    if (job->nfiles)
        report_offload(td, job);
    for (unsigned i = 0; i < job->nfiles; ++i)
        nvmeddp_ctrlr_disconnect(job->files[i].ctrlr);
    lane_unlock(job);
    pthread_mutex_lock(&host_lock);
    if (job->holds_host) {
        --lane_jobs[job->lane];
        host_release();
    }
    pthread_mutex_unlock(&host_lock);
    free(job->files);
    free(job->done);
    free(job);
    td->io_ops_data = NULL;
}

/* fio looks this symbol up by name in the shared object. */
__attribute__((visibility("default"))) struct ioengine_ops ioengine = {
    .name = ENGINE_NAME,
    .version = FIO_IOOPS_VERSION,
    .flags = FIO_DISKLESSIO | FIO_NODISKUTIL | FIO_NOEXTEND,
    .setup = engine_setup,
    .init = engine_init,
    .queue = engine_queue,
    .commit = engine_commit,
    .getevents = engine_getevents,
    .event = engine_event,
    .cleanup = engine_cleanup,
    .open_file = engine_open_file,
    .close_file = engine_close_file,
    .get_file_size = engine_get_file_size,
    .io_u_init = engine_io_u_init,
    .io_u_free = engine_io_u_free,
    .option_struct_size = sizeof(struct engine_options),
    .options = options,
};
