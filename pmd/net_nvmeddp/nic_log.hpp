// net_nvmeddp's log type ("pmd.net.nvmeddp", NOTICE by default; --log-level=pmd.net.nvmeddp:debug)
// and its PMD_LOG macro, as DPDK's small drivers have them. Every line names the port or vdev it is
// about, so a user with several knows which.
#pragma once

#include <rte_log.h>

extern int nvmeddp_net_logtype;

#define NVMEDDP_PMD_LOG(level, fmt, ...) \
    rte_log(RTE_LOG_##level, nvmeddp_net_logtype, "net_nvmeddp: " fmt "\n" __VA_OPT__(, ) __VA_ARGS__)
