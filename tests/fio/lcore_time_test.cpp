// The fio engine's account of its job thread's time in the host (apps/fio/lcore_time.h): calls that
// did work against idle polls, busy time per GiB moved, and the report's clause that
// scripts/fio_figures.awk reads.
#include <gtest/gtest.h>

#include <string>

#include "lcore_time.h"

namespace {

std::string clause(const nvmeddp_fio_lcore_time& t) {
    char buf[256];
    nvmeddp_fio_lcore_time_format(&t, buf, sizeof buf);
    return buf;
}

TEST(FioLcoreTime, CallsThatDidWorkAreBusyTheRestIdle) {
    nvmeddp_fio_lcore_time t{};
    nvmeddp_fio_lcore_time_add(&t, 700, 1);
    nvmeddp_fio_lcore_time_add(&t, 50, 0);
    nvmeddp_fio_lcore_time_add(&t, 300, 1);
    nvmeddp_fio_lcore_time_add(&t, 40, 0);
    nvmeddp_fio_lcore_time_add(&t, 10, 0);
    EXPECT_EQ(t.busy_ns, 1000u);
    EXPECT_EQ(t.idle_ns, 100u);
    EXPECT_EQ(t.busy_calls, 2u);
    EXPECT_EQ(t.idle_calls, 3u);
}

TEST(FioLcoreTime, BusyTimeIsPerGibOfDataMoved) {
    nvmeddp_fio_lcore_time t{};
    t.busy_ns = 250'000'000;  // 250 ms busy
    t.idle_ns = 750'000'000;  // idle polls do not count
    t.bytes = 512ull << 20;   // for half a GiB
    EXPECT_DOUBLE_EQ(nvmeddp_fio_lcore_busy_ms_per_gib(&t), 500.0);
    t.bytes = 4ull << 30;
    EXPECT_DOUBLE_EQ(nvmeddp_fio_lcore_busy_ms_per_gib(&t), 62.5);
}

TEST(FioLcoreTime, TheReportSaysTheFigureItsShareAndTheCalls) {
    nvmeddp_fio_lcore_time t{};
    t.busy_ns = 250'000'000;
    t.idle_ns = 750'000'000;
    t.busy_calls = 51234;
    t.idle_calls = 80211;
    t.bytes = 512ull << 20;
    EXPECT_EQ(clause(t), "lcore busy 500.0 ms per GiB (25% of 1000.0 ms in the engine: 51234 calls with work, "
                         "80211 idle polls)");
}

TEST(FioLcoreTime, NoDataMovedGivesNoFigureNotAZeroOrADivisionByZero) {
    nvmeddp_fio_lcore_time t{};
    EXPECT_LT(nvmeddp_fio_lcore_busy_ms_per_gib(&t), 0.0);
    EXPECT_EQ(clause(t), "lcore busy - ms per GiB (no data moved; 0% of 0.0 ms in the engine: 0 calls with work, "
                         "0 idle polls)");
    nvmeddp_fio_lcore_time_add(&t, 1000, 1);
    EXPECT_EQ(clause(t).rfind("lcore busy - ms per GiB (no data moved; 100% of", 0), 0u) << clause(t);
}

}  // namespace
