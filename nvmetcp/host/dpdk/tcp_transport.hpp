// The NVMe/TCP host's queues over our user-space TCP (tcp/): each queue's connection is a
// tcp::Connection of one tcp::Endpoint, polled on the endpoint's lcore.
//
// Received data is handed to the queue as it sits in the mbufs (zero copy), one span per mbuf segment,
// each with the TCP sequence number of its first byte and the DDP metadata of the packet it came in
// (when the offload device attached any), so the host can skip the copy and the CRC where the
// device's claims check out. Sends are copies into the connection's send queue.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nvmetcp/host/controller.hpp"
#include "nvmetcp/host/queue.hpp"
#include "tcp/endpoint.hpp"

namespace nvmeddp::nvmetcp::host {

class TcpQueueTransport;

class TcpTransportFactory : public TransportFactory {
public:
    // The endpoint must outlive the factory and every transport it opened.
    TcpTransportFactory(tcp::Endpoint& endpoint, const tcp::IpAddress& remote, uint16_t remote_port);
    // Several endpoints, one per queue pair of the port (lanes): the admin queue's connection goes
    // on lane 0, I/O queue q's on lane (q - 1) mod lanes. (A lane finds the controller's MAC on the
    // lanes' shared neighbour board when the ARP answer arrived on another's queue.)
    TcpTransportFactory(std::vector<tcp::Endpoint*> lanes, const tcp::IpAddress& remote, uint16_t remote_port);
    ~TcpTransportFactory() override;

    QueueTransport* open(uint16_t qid, Queue& queue, std::string* error) override;
    void release(QueueTransport* transport) override;

    // The connection under an open transport (its addresses and ports, for the offload's sk_add).
    static const tcp::Connection* connection_of(const QueueTransport* transport) noexcept;
    // The port's rx queue an open transport's connection is received on (its lane's), or -1.
    static int rx_queue_of(const QueueTransport* transport) noexcept;
    // The transport's connection in the manner of `ss -ti`: as it is now, or as it was when it
    // closed (the queue closed it, the peer did, or it was reset): after a failure, the evidence of
    // what the connection went through.
    static std::string connection_info(const QueueTransport* transport);

private:
    std::vector<tcp::Endpoint*> lanes_;
    tcp::IpAddress remote_;
    uint16_t remote_port_;
    std::vector<std::unique_ptr<TcpQueueTransport>> transports_;
};

}  // namespace nvmeddp::nvmetcp::host
