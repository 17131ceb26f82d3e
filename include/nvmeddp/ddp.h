/*
 * nvmeddp: NVMe/TCP receive offload (direct data placement and data digest) for user-space hosts.
 *
 * The C API of the DDP control plane, for C hosts (SPDK-style). It is a thin layer over the C++ API in
 * ddp/device.hpp: same objects, same rules, same status codes. In short, per connection:
 *
 *   nvmeddp_sk_add()          offload a connection (5-tuple, digests, PDA, queue depth, TCP seq)
 *   nvmeddp_setup()           per READ, before the command is sent: command id -> buffer list
 *   nvmeddp_teardown()        before the command completes; NVMEDDP_IN_PROGRESS means "wait for the
 *                             callback": the device may still write into the buffers until then
 *   nvmeddp_poll()            delivers teardown completions and finishes connection removal
 *   nvmeddp_pdu_header()      at every PDU header the host's parser reaches (tcp_seq: its first
 *                             byte): answers resync requests, and a command set up after it never
 *                             gets data of a PDU up to that one placed in its buffers (a late copy
 *                             of an earlier command's PDU on a command id set up again). Until the
 *                             first call nothing is refused; a host that calls it only now and then
 *                             finds placement refused (place_no_registration) for stretches of
 *                             2 GiB once its stream is that far past the last header it told of
 *   nvmeddp_sk_del()          stop offloading; registered I/Os are torn down and reported
 *
 * Threading: all calls for one connection come from one thread (the host's lcore). Calls for
 * different connections may come from different threads. The offload engine may run on another
 * lcore; the library takes no locks on the I/O path (setup, teardown, poll, pdu_header).
 *
 * This header is self-contained C (C99) and includes no other project header.
 */
#ifndef NVMEDDP_DDP_H
#define NVMEDDP_DDP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. 0 is success; every other value names one reason (nvmeddp_strerror() says it). */
enum nvmeddp_status {
    NVMEDDP_OK = 0,
    NVMEDDP_IN_PROGRESS = 1,            /* accepted; completes later (callback from nvmeddp_poll) */
    /* connections */
    NVMEDDP_E_UNKNOWN_CONNECTION = 10,  /* handle never issued, removed, or stale */
    NVMEDDP_E_CONNECTION_DELETING = 11, /* removal in progress: no new I/O */
    NVMEDDP_E_TOO_MANY_CONNECTIONS = 12,
    NVMEDDP_E_BAD_ADDRESS = 13,         /* unknown address family, port 0, or a VLAN ID over 4095 (or outer without inner) */
    NVMEDDP_E_BAD_QUEUE_DEPTH = 14,     /* 0, or above the device's max_queue_depth */
    NVMEDDP_E_BAD_PDA = 15,             /* PDA above 31 */
    NVMEDDP_E_BAD_RX_QUEUE = 16,        /* rx queue the device does not have */
    /* I/O registrations */
    NVMEDDP_E_CID_OUT_OF_RANGE = 20,    /* command id >= queue depth on a device without full_cid_range */
    NVMEDDP_E_CID_BUSY = 21,            /* command id (or its slot) already registered */
    NVMEDDP_E_TEARDOWN_PENDING = 22,    /* the previous teardown of this command id is not complete */
    NVMEDDP_E_NOT_REGISTERED = 23,      /* teardown of a command id that has no registration */
    NVMEDDP_E_ALREADY_TORN_DOWN = 24,   /* teardown twice */
    NVMEDDP_E_EMPTY_BUFFER_LIST = 25,
    NVMEDDP_E_TOO_MANY_SEGMENTS = 26,   /* more than max_sgl_entries */
    NVMEDDP_E_BAD_SEGMENT = 27,         /* NULL address, zero length, or a range that wraps */
    NVMEDDP_E_MISALIGNED_SEGMENT = 28,  /* violates segment_alignment */
    NVMEDDP_E_LENGTH_MISMATCH = 29,     /* segment lengths do not add up to the total length */
    NVMEDDP_E_IO_TOO_LARGE = 30,        /* total length above max_io_size */
    NVMEDDP_E_IO_BELOW_THRESHOLD = 31,  /* total length below io_threshold: use the copy path */
    NVMEDDP_E_PLACEMENT_DISABLED = 32,  /* placement capability switched off: use the copy path */
    /* capabilities, resync, driver */
    NVMEDDP_E_UNSUPPORTED = 40,         /* capability the device does not offer */
    NVMEDDP_E_NO_RESYNC_PENDING = 41,
    NVMEDDP_E_STALE_RESYNC = 42,        /* answer to a request that is no longer current */
    NVMEDDP_E_DRIVER = 43,              /* the driver refused (out of hardware contexts, ...) */
    NVMEDDP_E_INVALID_ARGUMENT = 44     /* NULL pointer or out-of-range argument to the C API */
};

/* Capability bits (nvmeddp_get_caps / nvmeddp_set_caps). */
#define NVMEDDP_CAP_PLACEMENT 0x1u   /* C2HData payload written into registered buffers */
#define NVMEDDP_CAP_DATA_DIGEST 0x2u /* DDGST (CRC32C) verified by the device */
#define NVMEDDP_CAP_TX_DATA_DIGEST 0x4u /* DDGST of the PDUs the host sends written by the device */

/* One segment of a registered buffer list. Must stay valid and unchanged until the registration's
 * teardown has completed: the library keeps the pointer, not a copy (no allocation per I/O). */
struct nvmeddp_segment {
    void *addr;
    uint64_t len;
};

struct nvmeddp_limits {
    uint32_t max_connections;
    uint32_t max_sgl_entries;   /* segments per registration */
    uint32_t max_io_size;       /* bytes per registration */
    uint32_t io_threshold;      /* registrations below this many bytes are refused */
    uint32_t max_queue_depth;
    uint32_t segment_alignment; /* 1: any; else every segment but the first starts aligned, and
                                   every segment but the last ends aligned */
    uint16_t rx_queues;         /* receive queues a connection can be steered to */
    uint8_t full_cid_range;     /* 1: any 16-bit command id; 0: command id < queue depth */
    uint8_t reserved;
    uint32_t tx_digests_in_flight; /* NVMEDDP_CAP_TX_DATA_DIGEST: sent PDUs with a data digest the
                                      host may have unacknowledged at once */
};

#define NVMEDDP_AF_INET 4
#define NVMEDDP_AF_INET6 6

struct nvmeddp_conn_config {
    uint8_t family;            /* NVMEDDP_AF_INET or NVMEDDP_AF_INET6 */
    uint8_t local_addr[16];    /* IPv4: the first 4 bytes */
    uint8_t remote_addr[16];
    uint16_t local_port;       /* host byte order */
    uint16_t remote_port;
    uint16_t queue_depth;      /* commands outstanding at once */
    uint16_t rx_queue;         /* device receive queue the connection is steered to */
    uint8_t rx_pda;            /* HPDA: alignment of C2HData data, 0's based dwords (0..31) */
    uint8_t header_digest;     /* HDGST negotiated */
    uint8_t data_digest;       /* DDGST negotiated */
    uint32_t rcv_seq;          /* TCP sequence number of the first byte of the next C2H PDU */
    uint16_t vlan;             /* VLAN ID of the frames (innermost tag), 0: untagged */
    uint16_t outer_vlan;       /* outer VLAN ID of double-tagged frames (802.1ad), 0: none */
    /* The send direction (NVMEDDP_CAP_TX_DATA_DIGEST): the device writes the data digest of every
     * PDU the host sends from snd_seq on; the host keeps at most tx_digests_in_flight of them
     * unacknowledged, sends the connection's frames on the tx queue numbered rx_queue with any VLAN
     * tag in the frame, and fails the connection once the stats say tx_stream_lost, or say fewer
     * tx_ddgst_written than PDUs with a data digest the controller acknowledged. Zero the struct
     * before filling it: fields added later are then off. */
    uint8_t tx_data_digest;    /* 1: the device writes them (needs data_digest) */
    uint8_t tx_pda;            /* CPDA: alignment of H2C data, 0's based dwords (0..31) */
    uint32_t snd_seq;          /* TCP sequence number of the first byte of the next H2C PDU */
};

typedef struct nvmeddp_device nvmeddp_device; /* opaque */
typedef uint64_t nvmeddp_conn;                /* connection handle; 0 is never valid */

/* Called from nvmeddp_poll (or nvmeddp_sk_del) on the connection's thread once the device no longer
 * touches the buffers of (conn, cid). status: NVMEDDP_OK after nvmeddp_teardown,
 * NVMEDDP_E_CONNECTION_DELETING for an I/O that nvmeddp_sk_del tore down. */
typedef void (*nvmeddp_teardown_cb)(void *arg, nvmeddp_conn conn, uint16_t cid, int status);

struct nvmeddp_stats {
    /* the Linux ULP DDP names */
    uint64_t sk_add, sk_add_fail, sk_del;
    uint64_t setup, setup_fail, teardown;
    uint64_t drop;        /* offloaded-flow packets the device could not follow or place */
    uint64_t resync;      /* resync responses delivered to the device */
    /* Every packet with TCP payload (and its payload bytes) of offloaded connections the device
     * saw: a segment without payload (ACK, FIN, RST) is not looked up, so not counted, unless the
     * port reported its checksum bad. Linux's
     * rx-nvme-tcp-packets and -bytes count only what used the offload: placed_packets and
     * placed_bytes below (blktests nvme/056 compares those with the port's rx counters). */
    uint64_t packets, bytes;
    /* more */
    uint64_t placed_bytes;          /* payload bytes written into registered buffers */
    uint64_t placed_packets;        /* packets with a placement claim: bytes written into registered buffers
                                       (or, copies_claimed, found there) */
    uint64_t digest_offloaded;      /* data digests verified by the device */
    uint64_t digest_fallback;       /* PDUs with a data digest the device did not verify */
    uint64_t digest_failed;         /* data digests the device found wrong */
    uint64_t resync_requests;       /* raised by the device */
    uint64_t resync_confirmations;  /* answered yes by the host */
    uint64_t resync_refusals;       /* answered no by the host */
    uint64_t resync_stale;          /* answers that arrived after a newer request */
    uint64_t bad_transitions;       /* registration state changes refused (setup twice, ...) */
    uint64_t forced_teardowns;      /* registrations torn down by connection removal */
    uint64_t place_no_registration; /* C2HData PDUs whose command id had no registration from before the PDU */
    uint64_t place_out_of_range;    /* C2HData PDUs whose datao/datal did not fit the registration */
    uint64_t place_torn_down;       /* C2HData PDUs whose registration was torn down while placing */
    uint64_t place_rewrite;         /* C2HData PDUs not placed: they would rewrite bytes placed before */
    uint64_t place_behind_host;     /* C2HData PDUs (or their rest) not placed: below nvmeddp_filled() */
    uint64_t bad_checksum;          /* packets with a bad TCP checksum, not followed */
    /* Holes: a PDU whose header the device accepted, missing bytes lost or overtaken */
    uint64_t late_placed_bytes;     /* of placed_bytes: from retransmitted or overtaken packets that filled a hole */
    uint64_t digest_combined;       /* of digest_offloaded: verified across holes (CRC32C of each run, joined) */
    uint64_t gap_untracked;         /* PDUs with a hole the device could not keep track of: their digest falls back */
    uint64_t framing_regained;      /* framing lost in a gap, found again from the retransmitted header (no resync) */
    /* The send direction (NVMEDDP_CAP_TX_DATA_DIGEST) */
    uint64_t tx_ddgst_written;      /* data digests of sent PDUs written by the device */
    uint64_t tx_ddgst_rewritten;    /* retransmitted data digests written again */
    uint64_t tx_stream_lost;        /* connections whose send stream the device lost (the host fails them) */
    uint64_t tx_ddgst_unknown;      /* sent-again segments older than every digest the device kept (0 unless
                                       the host had more than tx_digests_in_flight unacknowledged) */
    /* Holes, continued */
    uint64_t copies_matched;        /* later copies of digested out-of-order packets marked NVMEDDP_PKT_CRC: same
                                       sequence range, same CRC32C as the copy the device digested */
    uint64_t copies_claimed;        /* later copies of placed out-of-order packets claimed as placed: same sequence
                                       range, bytes equal to what the buffer holds there */
};

struct nvmeddp_resync_request {
    uint32_t seq; /* TCP sequence number where the device believes a PDU header starts */
    uint32_t id;  /* request id, non-zero */
};

/* Result of nvmeddp_pdu_header(). */
enum nvmeddp_resync_outcome {
    NVMEDDP_RESYNC_NONE = 0,      /* nothing pending, or the pending request is further ahead */
    NVMEDDP_RESYNC_CONFIRMED = 1, /* the request's seq is this header: the device resumes */
    NVMEDDP_RESYNC_REFUSED = 2    /* the host passed the request's seq: not a header there */
};

/* Devices (one per port that offers the offload), registered by their drivers. */
unsigned nvmeddp_device_count(void);
nvmeddp_device *nvmeddp_device_get(unsigned index);        /* NULL past the end */
nvmeddp_device *nvmeddp_device_find(const char *name);     /* NULL when none has that name */
const char *nvmeddp_device_name(const nvmeddp_device *dev);

int nvmeddp_get_limits(const nvmeddp_device *dev, struct nvmeddp_limits *out);
int nvmeddp_get_caps(const nvmeddp_device *dev, uint32_t *supported, uint32_t *enabled);
int nvmeddp_set_caps(nvmeddp_device *dev, uint32_t enabled);

int nvmeddp_sk_add(nvmeddp_device *dev, const struct nvmeddp_conn_config *config, nvmeddp_conn *out);
/* Tears down every registered I/O (each reported through cb with NVMEDDP_E_CONNECTION_DELETING once
 * the device let go of it) and removes the connection: NVMEDDP_OK when done, NVMEDDP_IN_PROGRESS when
 * nvmeddp_poll must finish it. forced (may be NULL) receives the number of I/Os torn down. */
int nvmeddp_sk_del(nvmeddp_device *dev, nvmeddp_conn conn, nvmeddp_teardown_cb cb, void *arg, uint32_t *forced);

int nvmeddp_setup(nvmeddp_device *dev, nvmeddp_conn conn, uint16_t cid, const struct nvmeddp_segment *sgl,
                  uint32_t nsegs, uint64_t total_len);
/* NVMEDDP_OK: done, the buffers are the host's again (cb is not called). NVMEDDP_IN_PROGRESS: cb is
 * called from a later nvmeddp_poll. */
int nvmeddp_teardown(nvmeddp_device *dev, nvmeddp_conn conn, uint16_t cid, nvmeddp_teardown_cb cb, void *arg);
/* Completes what can be completed; returns the number of teardowns completed. */
unsigned nvmeddp_poll(nvmeddp_device *dev, nvmeddp_conn conn);

/* Contract v3 (nvmeddp/ddp_mbuf.h). nvmeddp_conn_id: the conn_id this connection's packet metadata
 * carries. nvmeddp_reg_tag: the tag (place_tag, place2_tag) of cid's current registration, 0 when none.
 * nvmeddp_filled: the buffer of cid is final below offset (the host copied it or took it from a
 * claim): the device writes there no more. Call it as the parser consumes each piece of data. */
int nvmeddp_conn_id(const nvmeddp_device *dev, nvmeddp_conn conn, uint32_t *out);
uint16_t nvmeddp_reg_tag(const nvmeddp_device *dev, nvmeddp_conn conn, uint16_t cid);
int nvmeddp_filled(nvmeddp_device *dev, nvmeddp_conn conn, uint16_t cid, uint64_t offset);

int nvmeddp_resync_pending(nvmeddp_device *dev, nvmeddp_conn conn, struct nvmeddp_resync_request *out);
int nvmeddp_resync_response(nvmeddp_device *dev, nvmeddp_conn conn, const struct nvmeddp_resync_request *req,
                            int confirm);
/* An nvmeddp_resync_outcome. */
int nvmeddp_pdu_header(nvmeddp_device *dev, nvmeddp_conn conn, uint32_t tcp_seq);

int nvmeddp_get_conn_stats(const nvmeddp_device *dev, nvmeddp_conn conn, struct nvmeddp_stats *out);
int nvmeddp_get_device_stats(const nvmeddp_device *dev, struct nvmeddp_stats *out);

const char *nvmeddp_strerror(int status);

#ifdef __cplusplus
}
#endif

#endif /* NVMEDDP_DDP_H */
