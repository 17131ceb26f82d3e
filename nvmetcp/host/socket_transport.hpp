// Queue transports over Linux kernel TCP sockets: for tests, tools, and the offload-off baseline.
//
// One factory serves every queue of a controller at one address (127.0.0.1:port in tests). Sockets are
// non-blocking and watched with epoll; everything happens in poll(), on the caller's thread: connect
// completion (-> on_transport_connected), received bytes (-> receive, with RxPiece::seq a running byte
// count and no metadata), send space freed after a short send (-> on_transport_writable), EOF or an
// error (-> on_transport_closed with strerror's text).
//
// send() copies into a bounded per-socket buffer (kSendBufferBytes) that poll() writes out (and send()
// itself once it is half full), so a queue's small PDU pieces leave in few system calls. No event is
// delivered from inside open(), send() or close().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nvmetcp/host/controller.hpp"

namespace nvmeddp::nvmetcp::host {

class SocketTransportFactory : public TransportFactory {
public:
    static constexpr size_t kSendBufferBytes = 256u << 10;

    SocketTransportFactory(std::string traddr, uint16_t port);
    ~SocketTransportFactory() override;
    SocketTransportFactory(const SocketTransportFactory&) = delete;
    SocketTransportFactory& operator=(const SocketTransportFactory&) = delete;

    QueueTransport* open(uint16_t qid, Queue& queue, std::string* error) override;
    void release(QueueTransport* transport) override;

    // Writes what is buffered, waits up to timeout_ms (0: not at all) for socket events and delivers them.
    void poll(int timeout_ms);
    size_t open_connections() const noexcept;

    class SocketTransport;

private:
    std::string traddr_;
    uint16_t port_;
    int epoll_fd_ = -1;
    std::vector<std::unique_ptr<SocketTransport>> transports_;
    std::vector<uint8_t> receive_buffer_;
};

}  // namespace nvmeddp::nvmetcp::host
