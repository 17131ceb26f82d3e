/* Where the fio job thread's time in the engine goes: a polling thread is 100% busy to the OS, so
 * fio's usr/sys figures cannot show what the offload saves. The engine times each of its calls into
 * the host (a poll of the job's lane, a submission) and counts it as busy when it did work (frames
 * arrived or were sent, a completion was delivered, a command was submitted) and as idle otherwise.
 * Over kernel sockets a poll counts as work only when it delivered a completion (nvmeddp_host_poll
 * says no more), so there the figure is a lower bound. Busy time per GiB
 * of data the job moved is the host lcore's cost of its I/O, offload on or off. The host's lane
 * says how much of it was spent in the port (nvmeddp_host_lane_stats): receive calls that returned
 * frames, with the software device inside them when the offload is on (a NIC would take that part),
 * and send calls (with af_packet the kernel's send, in which a veth runs the peer's receive). The
 * rest is the host's own work: TCP, NVMe/TCP, and the copies and digests the offload takes off it.
 * Pure C with no fio header, unit-tested in tests/fio/lcore_time_test.cpp. */
#ifndef NVMEDDP_FIO_LCORE_TIME_H
#define NVMEDDP_FIO_LCORE_TIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct nvmeddp_fio_lcore_time {
    uint64_t busy_ns, idle_ns;       /* time in the engine's calls into the host, by whether they did work */
    uint64_t busy_calls, idle_calls; /* how many calls of each kind */
    uint64_t bytes;                  /* data of the job's reads and writes that completed without error */
    uint64_t port_rx_ns, port_tx_ns; /* of busy_ns: in the port's receive and send calls (set by the caller) */
    int have_port;                   /* port_rx_ns and port_tx_ns are known (a DPDK host) */
};

/* One call into the host that took `ns` and did work (nonzero) or not. */
void nvmeddp_fio_lcore_time_add(struct nvmeddp_fio_lcore_time *t, uint64_t ns, int did_work);

/* `ns` in milliseconds per GiB (2^30 bytes) moved; a negative value when no byte was moved. */
double nvmeddp_fio_lcore_ms_per_gib(const struct nvmeddp_fio_lcore_time *t, uint64_t ns);

/* The host's own part of the busy time: busy less the port's receive and send calls, at least 0. */
uint64_t nvmeddp_fio_lcore_host_ns(const struct nvmeddp_fio_lcore_time *t);

/* The report's clause, e.g. "lcore busy 812.3 ms per GiB: port receive 101.2, port send 500.1, host
 * 211.0 (41% of 2310.0 ms in the engine: 51234 calls with work, 80211 idle polls)"; "-" for each
 * figure when no data moved, and for the split without the port's figures. Returns what snprintf
 * returns. */
int nvmeddp_fio_lcore_time_format(const struct nvmeddp_fio_lcore_time *t, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* NVMEDDP_FIO_LCORE_TIME_H */
