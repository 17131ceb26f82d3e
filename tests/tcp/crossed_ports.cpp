#include "crossed_ports.hpp"

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "pmd/dpdk/offload_port.hpp"
#include "tcp_test_support.hpp"

namespace nvmeddp::tcp_test {

void drain(uint16_t port) {
    rte_mbuf* burst[32];
    for (uint16_t n; (n = rte_eth_rx_burst(port, 0, burst, 32)) > 0;) rte_pktmbuf_free_bulk(burst, n);
}

PortPair crossed_ports(const std::string& name) {
    // a's tx ring is b's rx ring and the other way round.
    rte_ring* ab = rte_ring_create((name + "_ab").c_str(), 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring* ba = rte_ring_create((name + "_ba").c_str(), 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ab == nullptr || ba == nullptr) return {};
    const int a = rte_eth_from_rings((name + "_a").c_str(), &ba, 1, &ab, 1, 0);
    const int b = rte_eth_from_rings((name + "_b").c_str(), &ab, 1, &ba, 1, 0);
    if (a < 0 || b < 0) return {};
    for (int p : {a, b}) {
        pmd::PortSetup s;
        s.port_id = static_cast<uint16_t>(p);
        s.pool = pool();
        if (!pmd::configure_port(s).empty()) return {};
    }
    return {static_cast<uint16_t>(a), static_cast<uint16_t>(b)};
}

void close_ports(const PortPair& ports) {
    for (uint16_t p : {ports.a, ports.b}) {
        drain(p);
        rte_eth_dev_stop(p);
        rte_eth_dev_close(p);
    }
}

}  // namespace nvmeddp::tcp_test
