/*
 * nvmeddp: NVMe/TCP receive offload (direct data placement and data digest) for user-space hosts.
 *
 * The C API of the NVMe/TCP host (SPDK-style): connect to NVMe/TCP controllers, read, write and
 * flush their namespace, poll for completions. It is a thin layer over the C++ host in nvmetcp/host/
 * (Controller, Queue) and nvmetcp/host/dpdk/ (HostStack). In short:
 *
 *   nvmeddp_host_create()     one lcore's host: a DPDK port with our TCP and the offload device on it,
 *                             or the kernel's TCP sockets (kernel_tcp = 1: no DPDK, no EAL)
 *   nvmeddp_ctrlr_connect()   connects to a controller named by a transport ID string and waits
 *                             (bounded) until it is ready: admin queue, enable, identify, I/O queues
 *   nvmeddp_ctrlr_read() / _write() / _flush()
 *                             submit one command on one I/O queue; never block
 *   nvmeddp_host_poll()       runs the port, TCP, every controller's timeouts and keep alive;
 *                             completion callbacks are called from here
 *   nvmeddp_host_poll_lane()  the same for one lane: its queue pair and the controllers on it
 *   nvmeddp_ctrlr_disconnect()  shuts the controller down (bounded) and frees it
 *   nvmeddp_host_destroy()
 *
 * Threading: a host and its controllers are used from one thread (the lcore that polls them), or,
 * with several lanes, from one thread per lane: the host's port has `lanes` queue pairs, each
 * controller puts all its connections on one of them (nvmeddp_ctrlr_opts.lane, steered there by
 * rte_flow), and a thread that calls nvmeddp_host_poll_lane() for its lane may submit to the
 * controllers on that lane, with no lock and no other thread involved. Connecting needs the host to
 * itself (no thread polls it meanwhile: answers to the connection's ARP may arrive on any lane); so do
 * nvmeddp_host_poll() and nvmeddp_host_destroy(). A controller is disconnected from the thread of its
 * lane. No call takes a lock on the I/O path, which (read, write, flush, poll) allocates nothing:
 * per-command storage, including room for each command's iovec array, is allocated by
 * nvmeddp_ctrlr_connect().
 *
 * Errors: functions return NVMEDDP_HOST_OK (0) or one nvmeddp_host_status (nvmeddp_host_strerror()
 * says it); those that can fail for many reasons also write a sentence into a caller's buffer.
 *
 * This header is self-contained C (C99) and includes no other project header.
 */
#ifndef NVMEDDP_HOST_H
#define NVMEDDP_HOST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. 0 is success; every other value names one reason. */
enum nvmeddp_host_status {
    NVMEDDP_HOST_OK = 0,
    NVMEDDP_HOST_E_INVALID_ARGUMENT = 1, /* NULL pointer, zero count, or an option out of range */
    NVMEDDP_HOST_E_BAD_TRID = 2,         /* the transport ID does not parse (the message names the key) */
    NVMEDDP_HOST_E_STACK = 3,            /* the host's DPDK stack could not be brought up (EAL, port, ...) */
    NVMEDDP_HOST_E_CONNECT = 4,          /* the controller failed to come up (refused, a failed step) */
    NVMEDDP_HOST_E_TIMEOUT = 5,          /* the controller was not ready within timeout_ms */
    NVMEDDP_HOST_E_NO_MEMORY = 6,
    /* submission */
    NVMEDDP_HOST_E_QUEUE_FULL = 10,      /* queue_depth commands outstanding on that queue: poll first */
    NVMEDDP_HOST_E_NOT_READY = 11,       /* the controller failed (nvmeddp_ctrlr_failure) or shuts down */
    NVMEDDP_HOST_E_TOO_LARGE = 12,       /* more bytes than nvmeddp_ctrlr_max_transfer(), or nlb > 65536 */
    NVMEDDP_HOST_E_TOO_MANY_IOVS = 13,   /* iovcnt above the connection's max_iovs */
    NVMEDDP_HOST_E_BAD_QUEUE = 14,       /* queue index >= nvmeddp_ctrlr_io_queues() */
    NVMEDDP_HOST_E_BUFFER_TOO_SMALL = 15, /* the iovecs cover fewer than nlb blocks */
    NVMEDDP_HOST_E_FAILED = 16           /* the queue refused the command for another reason */
};

/* Returns a constant sentence for an nvmeddp_host_status ("unknown status" for others). */
const char *nvmeddp_host_strerror(int status);

struct nvmeddp_host; /* one lcore's host: a DPDK port with our TCP and the offload device, or kernel sockets */
struct nvmeddp_ctrlr; /* one NVMe/TCP controller: an admin queue and its I/O queues */
struct nvmeddp_device; /* the offload device (nvmeddp/ddp.h), for its statistics and capabilities */

/* Called with each line the offload device logs. */
typedef void (*nvmeddp_log_fn)(void *arg, const char *line);

struct nvmeddp_host_opts {
    int kernel_tcp;              /* 1: the kernel's TCP sockets, no DPDK (port, local_ip, eal_* unused) */
    const char *port;            /* DPDK port by name, e.g. "net_af_packet0" (created by a --vdev in eal_argv) */
    const char *local_ip;        /* this host's IPv4 or IPv6 address on the port */
    const char *mac;             /* this host's MAC "aa:bb:cc:dd:ee:ff"; NULL: the port's own */
    const char *const *eal_argv; /* extra EAL arguments, after the defaults (--no-huge, --no-pci, -m 512, ...) */
    int eal_argc;
    int offload;                 /* 1: attach the software offload device to the port (DPDK only) */
    const char *faults_rx;       /* fault shim on the port's receive path, e.g. "drop=0.01,reorder=0.01"; NULL: none */
    uint64_t seed;               /* of the fault shim */
    nvmeddp_log_fn log;          /* the offload device's messages; NULL: stderr */
    void *log_arg;
    /* Queue pairs of the port, 1..16 (0: 1), one lane each (see Threading above). More than 1 needs a
     * port with as many queue pairs and rte_flow, e.g. net_nvmeddp stacked on the interface:
     * "--vdev=net_nvmeddp0,port=IFACE,queues=N" with port "net_nvmeddp0". With kernel_tcp, lanes
     * only group the controllers for nvmeddp_host_poll_lane(). */
    uint16_t lanes;
};

/* kernel_tcp 0, offload 1, seed 1, lanes 1, everything else 0 / NULL. */
void nvmeddp_host_opts_default(struct nvmeddp_host_opts *opts);

/* The EAL is initialised by the first DPDK host of the process and never cleaned up by this API
 * (it cannot be initialised twice); a later host's eal_argv is ignored. err (may be NULL) receives
 * why creation failed. */
int nvmeddp_host_create(const struct nvmeddp_host_opts *opts, struct nvmeddp_host **out, char *err, size_t errlen);

/* Disconnects every controller still connected (as nvmeddp_ctrlr_disconnect), releases the port
 * and frees the host. NULL is ignored. */
void nvmeddp_host_destroy(struct nvmeddp_host *host);

/* One round of work: the port's receive path (and the offload device in it) and TCP, or the
 * kernel sockets; then every controller's command timeouts and keep alive. Completion callbacks
 * are called from here. Returns the number of completions delivered plus 1 when frames arrived or
 * were sent (DPDK): 0 means nothing happened. */
int nvmeddp_host_poll(struct nvmeddp_host *host);

/* One round of one lane (0 .. lanes - 1): its queue pair (or its controllers' sockets) and the
 * timeouts and keep alive of the controllers on it, whose completion callbacks are called from here.
 * Returns as nvmeddp_host_poll does; a negative nvmeddp_host_status for a bad host or lane. */
int nvmeddp_host_poll_lane(struct nvmeddp_host *host, uint16_t lane);

/* The host's lanes (1 for NULL). */
uint16_t nvmeddp_host_lanes(const struct nvmeddp_host *host);

/* The offload device of a DPDK host (use it with nvmeddp/ddp.h); NULL without offload. */
struct nvmeddp_device *nvmeddp_host_device(struct nvmeddp_host *host);

/* Where a DPDK host's lane spends its time in the port, since the host was created: receive calls
 * that returned frames (the offload device, which the host attaches to the port, runs inside them)
 * and send calls (with net_af_packet these are the kernel's send, and on a veth the peer's receive
 * runs inside it too). With the time a poller spends in nvmeddp_host_poll_lane() they tell the
 * port's share from the host's own (TCP, NVMe/TCP, copies and digests). Written by the lane's
 * poller: read it from that thread, or while it does not poll. */
struct nvmeddp_lane_stats {
    uint64_t rx_frames, tx_frames;
    uint64_t rx_ns, tx_ns;
};

/* NVMEDDP_HOST_OK, or NVMEDDP_HOST_E_INVALID_ARGUMENT for NULL, a lane out of range, or a host over
 * kernel sockets (it has no port). */
int nvmeddp_host_lane_stats(const struct nvmeddp_host *host, uint16_t lane, struct nvmeddp_lane_stats *out);

struct nvmeddp_ctrlr_opts {
    uint16_t io_queues;          /* asked for (1..64); the controller may grant fewer */
    uint16_t queue_depth;        /* commands outstanding per I/O queue (1..1024) */
    uint16_t max_iovs;           /* iovecs per command (1..256): storage for them is allocated at connect */
    uint8_t header_digest;       /* asked in ICReq */
    uint8_t data_digest;
    uint8_t disable_sq_flow_control; /* the target may then complete reads with SUCCESS */
    uint8_t hpda;                /* host PDU data alignment, 0's based dwords (0..31) */
    uint8_t offload;             /* 1: the I/O queues use the host's offload device (when it has one) */
    const char *hostnqn;         /* NULL: hostnqn= of the trid, else one made from a host identifier */
    uint32_t kato_ms;            /* keep alive timeout; 0: none */
    uint32_t timeout_ms;         /* nvmeddp_ctrlr_connect waits this long for the controller at most */
    uint32_t command_timeout_ms; /* a command not completed by then fails, with its queue */
    /* Recovery once ready, as nvme-cli's reconnect_delay and ctrl_loss_tmo: after the controller is
     * lost (disconnect, TermReq, timeout) reconnect every reconnect_delay_ms on new connections (the
     * offload re-added) until ctrl_loss_tmo_ms has passed; both 0: none (the controller fails). */
    uint32_t reconnect_delay_ms;
    uint32_t ctrl_loss_tmo_ms;
    uint8_t fail_io_on_loss;     /* 1: I/O outstanding at a loss fails; 0: it is sent again after the reconnect */
    uint16_t lane;               /* the host's lane every connection of this controller goes on (0 .. lanes - 1) */
    uint32_t nsid;               /* the namespace to use; 0: the first the controller lists as active */
};

/* io_queues 1, queue_depth 32, max_iovs 16, no digests, flow control on, hpda 0, offload 1,
 * hostnqn NULL, kato_ms 5000, timeout_ms 10000, command_timeout_ms 30000, no recovery
 * (reconnect_delay_ms 0, ctrl_loss_tmo_ms 0), fail_io_on_loss 0, lane 0, nsid 0. */
void nvmeddp_ctrlr_opts_default(struct nvmeddp_ctrlr_opts *opts);

/* trid: "trtype=tcp adrfam=ipv4 traddr=192.0.2.1 trsvcid=4420 subnqn=nqn..." (keys case-insensitive,
 * whitespace-separated; trsvcid defaults to 4420; hostnqn= optional). opts NULL: the defaults.
 * Connects and polls the host until the controller is ready, failed, or timeout_ms passed; on
 * failure err (may be NULL) says why: NVMEDDP_HOST_E_BAD_TRID, _E_CONNECT, _E_TIMEOUT, ... */
int nvmeddp_ctrlr_connect(struct nvmeddp_host *host, const char *trid, const struct nvmeddp_ctrlr_opts *opts,
                          struct nvmeddp_ctrlr **out, char *err, size_t errlen);

/* Shuts the controller down (CC.SHN, bounded by a few seconds of polling its lane), removes its
 * connections from the offload device (bounded), completes what is still outstanding (callbacks run
 * from inside this call, with a host path error; a read whose buffers the offload device still holds
 * once the device lets go of them) and frees it. Should the device not let go within the bound, the
 * controller's memory is kept rather than freed (the device may still use it) and a line on stderr
 * says so. NULL is ignored. Must not be called from a completion callback; with several lanes, from
 * the thread of the controller's lane. */
void nvmeddp_ctrlr_disconnect(struct nvmeddp_ctrlr *ctrlr);

/* One buffer of a command's data (as struct iovec). */
struct nvmeddp_iov {
    void *base;
    size_t len; /* at most 4 GiB - 1 */
};

/* A read or write completes with success only when all of its data moved (a read's all came, a
 * write's all was asked for and sent): a controller that says success sooner gets the command
 * failed with Data Transfer Error (sct 0, sc 0x04) and a reason. */
struct nvmeddp_io_completion {
    uint8_t sct;        /* NVMe status code type and status code: both 0 on success */
    uint8_t sc;
    uint8_t dnr;        /* do not retry */
    uint8_t reserved;
    uint32_t dw0;       /* completion queue entry dword 0 */
    uint64_t bytes;     /* data bytes transferred */
    const char *reason; /* NULL on success, else a sentence (valid during the callback only: read it
                         * before submitting from there) */
};

/* Called from nvmeddp_host_poll / _poll_lane (or nvmeddp_ctrlr_disconnect) once the command is complete: the
 * buffers are the caller's again. May submit new commands; must not connect, disconnect or destroy. */
typedef void (*nvmeddp_io_cb)(void *arg, const struct nvmeddp_io_completion *completion);

/* Read / write nlb blocks at slba of the namespace on I/O queue `queue` (0 .. io_queues - 1). The
 * iovecs must cover nlb x block size bytes (more is allowed: the rest is not touched); the iov array
 * itself may be reused at once (it is copied), the buffers must stay valid until the callback.
 * Returns NVMEDDP_HOST_OK (cb will be called exactly once) or an error (cb will not be called). */
int nvmeddp_ctrlr_read(struct nvmeddp_ctrlr *ctrlr, uint16_t queue, uint64_t slba, uint32_t nlb,
                       const struct nvmeddp_iov *iov, int iovcnt, nvmeddp_io_cb cb, void *arg);
int nvmeddp_ctrlr_write(struct nvmeddp_ctrlr *ctrlr, uint16_t queue, uint64_t slba, uint32_t nlb,
                        const struct nvmeddp_iov *iov, int iovcnt, nvmeddp_io_cb cb, void *arg);
int nvmeddp_ctrlr_flush(struct nvmeddp_ctrlr *ctrlr, uint16_t queue, nvmeddp_io_cb cb, void *arg);

/* The namespace (opts.nsid, or the first of the controller's active list) and the connection; 0 for NULL. */
uint32_t nvmeddp_ctrlr_nsid(const struct nvmeddp_ctrlr *ctrlr);
uint32_t nvmeddp_ctrlr_block_size(const struct nvmeddp_ctrlr *ctrlr);
uint64_t nvmeddp_ctrlr_num_blocks(const struct nvmeddp_ctrlr *ctrlr);
uint16_t nvmeddp_ctrlr_io_queues(const struct nvmeddp_ctrlr *ctrlr);     /* granted */
uint16_t nvmeddp_ctrlr_queue_depth(const struct nvmeddp_ctrlr *ctrlr);   /* per I/O queue, as granted */
uint32_t nvmeddp_ctrlr_max_transfer(const struct nvmeddp_ctrlr *ctrlr);  /* bytes per command (MDTS, 4 MiB at most) */

/* The counters of one I/O queue since connect. */
struct nvmeddp_queue_stats {
    uint64_t commands, completions, errors, timeouts;
    uint64_t c2h_pdus, c2h_bytes, h2c_pdus, h2c_bytes, r2ts, capsule_resps, success_flags;
    uint64_t bytes_copied;      /* read data the host copied into the caller's buffers */
    uint64_t bytes_placed;      /* read data the offload device had placed there already */
    uint64_t digests_computed;  /* data digests the host computed */
    uint64_t digests_offloaded; /* data digests taken from the device's verdict */
    uint64_t digest_errors;
    uint64_t term_reqs_sent, term_reqs_received;
};
int nvmeddp_ctrlr_queue_stats(const struct nvmeddp_ctrlr *ctrlr, uint16_t queue, struct nvmeddp_queue_stats *out);

/* NULL while the controller is fine; else why it failed ("<step>: <why>"). Failure is final: submit
 * returns NVMEDDP_HOST_E_NOT_READY, the controller can only be disconnected. */
const char *nvmeddp_ctrlr_failure(const struct nvmeddp_ctrlr *ctrlr);

#ifdef __cplusplus
}
#endif

#endif /* NVMEDDP_HOST_H */
