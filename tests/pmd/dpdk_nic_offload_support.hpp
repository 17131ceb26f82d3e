// Shared by the tests of net_nvmeddp's loopback TSO and LRO (dpdk_nic_tso_test.cpp,
// dpdk_nic_lro_test.cpp): a loopback port configured with chosen tx and rx offloads, frames as
// receiving what arrives, reading an xstat (chain_of is in dpdk_test_support.hpp).
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace nvmeddp::dpdk_test {

// A net_nvmeddp loopback port (devargs `args`) with one queue pair, txmode.offloads = tx,
// rxmode.offloads = rx (max_lro_pkt_size: `max_lro`, 0 for the port's maximum), started; port() is
// UINT16_MAX when any step failed (and a test failure says which). Removed again at the end of its
// scope: a test binary has room for RTE_MAX_ETHPORTS ports in all.
class OffloadNic {
public:
    OffloadNic(const std::string& name, uint64_t tx, uint64_t rx, const std::string& args = "", uint32_t max_lro = 0);
    ~OffloadNic();
    OffloadNic(const OffloadNic&) = delete;
    OffloadNic& operator=(const OffloadNic&) = delete;

    uint16_t port() const noexcept { return port_; }

private:
    std::string name_;
    uint16_t port_ = UINT16_MAX;
    bool made_ = false;
};

// What rx queue q returns, polled until `at_most` frames came or a few hundred polls found none more.
std::vector<rte_mbuf*> receive(uint16_t port, uint16_t q, size_t at_most);

// The xstat of that name, UINT64_MAX when the port has none.
uint64_t xstat(uint16_t port, const char* name);

// Bytes that differ from one position to the next (and from one seed to the next).
std::vector<uint8_t> pattern(size_t len, uint8_t seed);

}  // namespace nvmeddp::dpdk_test
