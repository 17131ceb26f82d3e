#include "nvmetcp/host/dpdk/tcp_transport.hpp"

#include <rte_mbuf.h>

#include <algorithm>

#include "nvmetcp/host/dpdk/segment_pieces.hpp"

namespace nvmeddp::nvmetcp::host {

// One queue's connection: the tcp::ConnectionHandler that feeds the queue, and the QueueTransport
// the queue sends through. The connection slot belongs to the endpoint; this object forgets it once
// the connection has closed (the endpoint may then reuse the slot for another connection).
class TcpQueueTransport final : public QueueTransport, public tcp::ConnectionHandler {
public:
    TcpQueueTransport(Queue& queue, uint16_t rx_queue) : queue_(queue), rx_queue_(rx_queue) {}
    uint16_t rx_queue() const noexcept { return rx_queue_; }

    void attach(tcp::Connection* connection) noexcept { connection_ = connection; }
    const tcp::Connection* connection() const noexcept { return connection_; }
    std::string info() const {
        if (connection_ != nullptr) return connection_->info();
        return info_at_close_.empty() ? "no connection" : "when it closed: " + info_at_close_;
    }

    size_t send_space() const override {
        return connection_ != nullptr ? static_cast<size_t>(connection_->send_space()) : 0;
    }
    size_t send(std::span<const uint8_t> bytes) override {
        return connection_ != nullptr ? connection_->send(bytes) : 0;
    }
    uint64_t unacknowledged() const override { return connection_ != nullptr ? connection_->send_queued() : 0; }
    // The copy into the connection's mbufs and the digest in one pass (crc32c_copy.hpp).
    size_t send_digesting(std::span<const uint8_t> bytes, uint32_t& crc_state) override {
        return connection_ != nullptr ? connection_->send(bytes, &crc_state) : 0;
    }
    void close() override {
        if (connection_ == nullptr) return;
        tcp::Connection* c = connection_;
        closing_ = true;
        connection_ = nullptr;
        info_at_close_ = c->info();  // not on the I/O path: a queue closes once
        // The connection tells its handler it closed later, from the endpoint's poll, when this
        // transport may be gone (released): it gets no handler any more, so nothing calls back.
        // An orderly close (FIN), as the kernel's host does, also after an error: what was sent last
        // (an H2CTermReq) still reaches the controller, where a RST could discard it unread. Data
        // that arrives meanwhile is acknowledged and dropped; HostStack::stop_polling() resets what
        // has not finished closing when the program stops.
        c->set_handler(nullptr);
        c->close();
    }

    void on_connected(tcp::Connection&) override { queue_.on_transport_connected(); }

    void on_data(tcp::Connection&, std::span<tcp::RxSegment> segments) override {
        if (connection_ == nullptr) return;  // closed by the queue: the rest is of no use to it
        const auto open = [this] { return connection_ != nullptr; };  // the queue fails by closing it
        receive_segments(queue_, segments, open);
    }

    void on_acked(tcp::Connection&, uint64_t) override { queue_.on_transport_writable(); }

    void on_peer_closed(tcp::Connection& c) override {
        // An NVMe/TCP controller never half-closes a live queue: treat it as the end of the queue,
        // and close our side in order too.
        if (connection_ != nullptr) info_at_close_ = c.info();
        connection_ = nullptr;
        c.set_handler(nullptr);
        c.close();
        if (closing_) return;
        closing_ = true;
        queue_.on_transport_closed("the controller closed the connection");
    }

    void on_closed(tcp::Connection& c, tcp::TcpError error) override {
        if (connection_ != nullptr) info_at_close_ = c.info();  // a reset, or retransmissions given up
        connection_ = nullptr;
        if (closing_) return;
        closing_ = true;
        queue_.on_transport_closed(error == tcp::TcpError::None ? "the connection closed" : tcp::describe(error));
    }

private:
    Queue& queue_;
    uint16_t rx_queue_;
    tcp::Connection* connection_ = nullptr;
    bool closing_ = false;
    std::string info_at_close_;
};

TcpTransportFactory::TcpTransportFactory(tcp::Endpoint& endpoint, const tcp::IpAddress& remote, uint16_t remote_port)
    : lanes_{&endpoint}, remote_(remote), remote_port_(remote_port) {}

TcpTransportFactory::TcpTransportFactory(std::vector<tcp::Endpoint*> lanes, const tcp::IpAddress& remote,
                                         uint16_t remote_port)
    : lanes_(std::move(lanes)), remote_(remote), remote_port_(remote_port) {}

TcpTransportFactory::~TcpTransportFactory() {
    for (auto& t : transports_) t->close();
}

QueueTransport* TcpTransportFactory::open(uint16_t qid, Queue& queue, std::string* error) {
    if (lanes_.empty()) {
        if (error != nullptr) *error = "no endpoint to connect from";
        return nullptr;
    }
    tcp::Endpoint& lane = *lanes_[qid == 0 ? 0 : (qid - 1u) % lanes_.size()];
    auto transport = std::make_unique<TcpQueueTransport>(queue, lane.config().rx_queue);
    tcp::Connection* c = lane.connect(remote_, remote_port_, transport.get(), error);
    if (c == nullptr) return nullptr;
    transport->attach(c);
    transports_.push_back(std::move(transport));
    return transports_.back().get();
}

void TcpTransportFactory::release(QueueTransport* transport) {
    auto it = std::find_if(transports_.begin(), transports_.end(),
                           [&](const auto& t) { return t.get() == transport; });
    if (it == transports_.end()) return;
    (*it)->close();
    transports_.erase(it);
}

const tcp::Connection* TcpTransportFactory::connection_of(const QueueTransport* transport) noexcept {
    const auto* t = dynamic_cast<const TcpQueueTransport*>(transport);
    return t != nullptr ? t->connection() : nullptr;
}

std::string TcpTransportFactory::connection_info(const QueueTransport* transport) {
    const auto* t = dynamic_cast<const TcpQueueTransport*>(transport);
    return t != nullptr ? t->info() : std::string{};
}

int TcpTransportFactory::rx_queue_of(const QueueTransport* transport) noexcept {
    const auto* t = dynamic_cast<const TcpQueueTransport*>(transport);
    return t != nullptr ? t->rx_queue() : -1;
}

}  // namespace nvmeddp::nvmetcp::host
