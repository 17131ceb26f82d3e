// Hardware steering of offloaded connections with rte_flow: per connection one ingress rule
//   eth / ipv4 or ipv6 (src = controller, dst = host) / tcp (ports) -> QUEUE(rx queue) + MARK(conn id)
// so the NIC delivers the connection's frames to its queue and tells the engine which connection
// they belong to (mbuf hash.fdir.hi, RTE_MBUF_F_RX_FDIR_ID). A port that rejects the rule (most
// software PMDs) leaves the connection to the software classifier; the reason is kept for the log.
#pragma once

#include <rte_flow.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pmd/engine/sw_driver.hpp"

namespace nvmeddp::pmd {

class RteFlowSteering final : public SteeringHook {
public:
    RteFlowSteering(uint16_t port_id, uint32_t max_connections);
    ~RteFlowSteering() override;

    bool install(const ddp::ConnectionConfig& config, uint32_t conn_id, std::string& why) override;
    void remove(uint32_t conn_id) override;

private:
    uint16_t port_;
    std::vector<rte_flow*> rules_;  // by connection id
};

}  // namespace nvmeddp::pmd
