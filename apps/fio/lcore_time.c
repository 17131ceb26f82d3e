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

double nvmeddp_fio_lcore_busy_ms_per_gib(const struct nvmeddp_fio_lcore_time *t) {
    if (t->bytes == 0)
        return -1.0;
    return (double)t->busy_ns / 1e6 * (double)(1ull << 30) / (double)t->bytes;
}

int nvmeddp_fio_lcore_time_format(const struct nvmeddp_fio_lcore_time *t, char *buf, size_t len) {
    const double total_ms = (double)(t->busy_ns + t->idle_ns) / 1e6;
    const double busy_pct = t->busy_ns + t->idle_ns ? 100.0 * (double)t->busy_ns / (double)(t->busy_ns + t->idle_ns) : 0.0;
    const double per_gib = nvmeddp_fio_lcore_busy_ms_per_gib(t);
    char figure[32];
    if (per_gib < 0)
        snprintf(figure, sizeof figure, "-");
    else
        snprintf(figure, sizeof figure, "%.1f", per_gib);
    return snprintf(buf, len, "lcore busy %s ms per GiB (%s%.0f%% of %.1f ms in the engine: %llu calls with work, %llu idle polls)",
                    figure, per_gib < 0 ? "no data moved; " : "", busy_pct, total_ms,
                    (unsigned long long)t->busy_calls, (unsigned long long)t->idle_calls);
}
