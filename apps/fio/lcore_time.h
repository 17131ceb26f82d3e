/* Where the fio job thread's time in the engine goes: a polling thread is 100% busy to the OS, so
 * fio's usr/sys figures cannot show what the offload saves. The engine times each of its calls into
 * the host (a poll of the job's lane, a submission) and counts it as busy when it did work (frames
 * arrived, a completion was delivered, a command was sent) and as idle otherwise. Busy time per GiB
 * of data the job moved is the host lcore's cost of its I/O, offload on or off; with the offload on
 * it includes the software device, which runs in the same poll (a NIC would take that part).
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
};

/* One call into the host that took `ns` and did work (nonzero) or not. */
void nvmeddp_fio_lcore_time_add(struct nvmeddp_fio_lcore_time *t, uint64_t ns, int did_work);

/* Busy milliseconds per GiB (2^30 bytes) moved; a negative value when no byte was moved. */
double nvmeddp_fio_lcore_busy_ms_per_gib(const struct nvmeddp_fio_lcore_time *t);

/* The report's clause, e.g. "lcore busy 812.3 ms per GiB (41% of 2310.0 ms in the engine: 51234
 * calls with work, 80211 idle polls)", or with "busy - ms per GiB (no data moved; ...". Returns what
 * snprintf returns. */
int nvmeddp_fio_lcore_time_format(const struct nvmeddp_fio_lcore_time *t, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* NVMEDDP_FIO_LCORE_TIME_H */
