// Two net_ring ports crossed over (what one sends, the other receives) for tests that run two of
// our endpoints back to back in one thread.
#pragma once

#include <cstdint>
#include <string>

namespace nvmeddp::tcp_test {

struct PortPair {
    uint16_t a = UINT16_MAX, b = UINT16_MAX;
};

// Configured and started on pool(); both UINT16_MAX when a ring or port could not be made.
PortPair crossed_ports(const std::string& name);
// Frees what is still in a port's rx ring (the last ACK in flight belongs to nobody), so that the
// mbuf count before and after a test compares what the endpoints did.
void drain(uint16_t port);
// drain(), stop and close both ports.
void close_ports(const PortPair& ports);

}  // namespace nvmeddp::tcp_test
