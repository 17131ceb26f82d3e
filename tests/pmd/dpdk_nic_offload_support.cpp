#include "dpdk_nic_offload_support.hpp"

#include <gtest/gtest.h>
#include <rte_bus_vdev.h>

#include <algorithm>
#include <cstring>

#include "dpdk_test_support.hpp"

namespace nvmeddp::dpdk_test {

OffloadNic::OffloadNic(const std::string& name, uint64_t tx, uint64_t rx, const std::string& args, uint32_t max_lro)
    : name_(name) {
    uint16_t port = 0;
    made_ = rte_vdev_init(name.c_str(), args.c_str()) == 0;
    if (!made_ || rte_eth_dev_get_port_by_name(name.c_str(), &port) != 0) {
        ADD_FAILURE() << "cannot make " << name << " with '" << args << "'";
        return;
    }
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(port, &info) != 0) return;
    rte_eth_conf conf{};
    conf.txmode.offloads = tx;
    conf.rxmode.offloads = rx;
    if ((rx & RTE_ETH_RX_OFFLOAD_TCP_LRO) != 0) conf.rxmode.max_lro_pkt_size = max_lro != 0 ? max_lro : info.max_lro_pkt_size;
    if (int rc = rte_eth_dev_configure(port, 1, 1, &conf); rc != 0) {
        ADD_FAILURE() << name << ": rte_eth_dev_configure: " << rc;
        return;
    }
    if (rte_eth_rx_queue_setup(port, 0, 1024, 0, nullptr, pool()) != 0 || rte_eth_tx_queue_setup(port, 0, 1024, 0, nullptr) != 0 ||
        rte_eth_dev_start(port) != 0) {
        ADD_FAILURE() << name << ": queue setup or start failed";
        return;
    }
    port_ = port;
}

OffloadNic::~OffloadNic() {
    if (made_) {
        EXPECT_EQ(rte_vdev_uninit(name_.c_str()), 0) << name_;
    }
}

std::vector<rte_mbuf*> receive(uint16_t port, uint16_t q, size_t at_most) {
    std::vector<rte_mbuf*> got;
    rte_mbuf* burst[64];
    for (int idle = 0; got.size() < at_most && idle < 200;) {
        const uint16_t n = rte_eth_rx_burst(port, q, burst, static_cast<uint16_t>(std::min<size_t>(64, at_most - got.size())));
        got.insert(got.end(), burst, burst + n);
        idle = n == 0 ? idle + 1 : 0;
    }
    return got;
}

uint64_t xstat(uint16_t port, const char* name) {
    uint64_t id = 0, value = 0;
    if (rte_eth_xstats_get_id_by_name(port, name, &id) != 0) return UINT64_MAX;
    if (rte_eth_xstats_get_by_id(port, &id, &value, 1) != 1) return UINT64_MAX;
    return value;
}

std::vector<uint8_t> pattern(size_t len, uint8_t seed) {
    std::vector<uint8_t> v(len);
    for (size_t i = 0; i < len; ++i) v[i] = static_cast<uint8_t>(i * 31 + (i >> 8) * 7 + seed);
    return v;
}

}  // namespace nvmeddp::dpdk_test
