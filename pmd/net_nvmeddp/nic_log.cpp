#include "pmd/net_nvmeddp/nic_log.hpp"

RTE_LOG_REGISTER(nvmeddp_net_logtype, pmd.net.nvmeddp, NOTICE);
