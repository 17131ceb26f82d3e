/* The fio job thread's busy time in the engine (lcore_time.h). */
#include "lcore_time.h"

#include <stdio.h>

void nvmeddp_fio_lcore_time_add(struct nvmeddp_fio_lcore_time *t, uint64_t ns, int did_work) {
    if (did_work) {
        t->busy_ns += ns;
        ++t->busy_calls;
    } else {
        t->idle_ns += ns;
        ++t->idle_calls;
    }
}

double nvmeddp_fio_lcore_ms_per_gib(const struct nvmeddp_fio_lcore_time *t, uint64_t ns) {
    if (t->bytes == 0)
        return -1.0;
    return (double)ns / 1e6 * (double)(1ull << 30) / (double)t->bytes;
}

uint64_t nvmeddp_fio_lcore_host_ns(const struct nvmeddp_fio_lcore_time *t) {
    const uint64_t port = t->port_rx_ns + t->port_tx_ns;
    return t->busy_ns > port ? t->busy_ns - port : 0;
}

/* One figure per GiB, or "-". */
static void per_gib(const struct nvmeddp_fio_lcore_time *t, uint64_t ns, int known, char *out, size_t len) {
    const double v = nvmeddp_fio_lcore_ms_per_gib(t, ns);
    if (v < 0 || !known)
        snprintf(out, len, "-");
    else
        snprintf(out, len, "%.1f", v);
}

int nvmeddp_fio_lcore_time_format(const struct nvmeddp_fio_lcore_time *t, char *buf, size_t len) {
    const uint64_t total_ns = t->busy_ns + t->idle_ns;
    const double busy_pct = total_ns ? 100.0 * (double)t->busy_ns / (double)total_ns : 0.0;
    char busy[32], rx[32], tx[32], host[32];
    per_gib(t, t->busy_ns, 1, busy, sizeof busy);
    per_gib(t, t->port_rx_ns, t->have_port, rx, sizeof rx);
    per_gib(t, t->port_tx_ns, t->have_port, tx, sizeof tx);
    per_gib(t, nvmeddp_fio_lcore_host_ns(t), t->have_port, host, sizeof host);
    return snprintf(buf, len,
                    "lcore busy %s ms per GiB: port receive %s, port send %s, host %s (%s%.0f%% of %.1f ms in the engine: "
                    "%llu calls with work, %llu idle polls)",
                    busy, rx, tx, host, t->bytes ? "" : "no data moved; ", busy_pct, (double)total_ns / 1e6,
                    (unsigned long long)t->busy_calls, (unsigned long long)t->idle_calls);
}
