// The fio engine's account of its job thread's time in the host (apps/fio/lcore_time.h): calls that
// did work against idle polls, busy time per GiB moved, its split into the port's calls and the
// host's own work, and the report's clause that scripts/fio_figures.awk reads.
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

TEST(FioLcoreTime, FiguresArePerGibOfDataMoved) {
    nvmeddp_fio_lcore_time t{};
    t.bytes = 512ull << 20;  // half a GiB
    EXPECT_DOUBLE_EQ(nvmeddp_fio_lcore_ms_per_gib(&t, 250'000'000), 500.0);
    t.bytes = 4ull << 30;
    EXPECT_DOUBLE_EQ(nvmeddp_fio_lcore_ms_per_gib(&t, 250'000'000), 62.5);
    t.bytes = 0;
    EXPECT_LT(nvmeddp_fio_lcore_ms_per_gib(&t, 250'000'000), 0.0);
}

TEST(FioLcoreTime, TheHostsPartIsBusyLessThePortsCallsNeverBelowZero) {
    nvmeddp_fio_lcore_time t{};
    t.busy_ns = 1000;
    t.port_rx_ns = 300;
    t.port_tx_ns = 450;
    EXPECT_EQ(nvmeddp_fio_lcore_host_ns(&t), 250u);
    t.port_tx_ns = 800;  // another job's port time on a shared lane
    EXPECT_EQ(nvmeddp_fio_lcore_host_ns(&t), 0u);
}

TEST(FioLcoreTime, TheReportSaysTheFigureItsSplitItsShareAndTheCalls) {
    nvmeddp_fio_lcore_time t{};
    t.busy_ns = 250'000'000;
    t.idle_ns = 750'000'000;
    t.busy_calls = 51234;
    t.idle_calls = 80211;
    t.bytes = 512ull << 20;
    t.port_rx_ns = 50'000'000;
    t.port_tx_ns = 100'000'000;
    t.have_port = 1;
    EXPECT_EQ(clause(t), "lcore busy 500.0 ms per GiB: port receive 100.0, port send 200.0, host 200.0 (25% of 1000.0 "
                         "ms in the engine: 51234 calls with work, 80211 idle polls)");
    t.have_port = 0;  // kernel sockets: no port to split off
    EXPECT_EQ(clause(t).rfind("lcore busy 500.0 ms per GiB: port receive -, port send -, host - (25% of", 0), 0u)
        << clause(t);
}

TEST(FioLcoreTime, NoDataMovedGivesNoFigureNotAZeroOrADivisionByZero) {
    nvmeddp_fio_lcore_time t{};
    t.have_port = 1;
    EXPECT_EQ(clause(t), "lcore busy - ms per GiB: port receive -, port send -, host - (no data moved; 0% of 0.0 ms in "
                         "the engine: 0 calls with work, 0 idle polls)");
    nvmeddp_fio_lcore_time_add(&t, 1000, 1);
    EXPECT_EQ(clause(t).rfind("lcore busy - ms per GiB: port receive -, port send -, host - (no data moved; 100% of", 0),
              0u)
        << clause(t);
}

}  // namespace
