#include "nvmetcp/host/socket_transport.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace nvmeddp::nvmetcp::host {

class SocketTransportFactory::SocketTransport final : public QueueTransport {
public:
    enum class Phase : uint8_t { Connecting, Open, Closed };

    SocketTransport(int fd, int epoll_fd, Queue& queue) : fd_(fd), epoll_fd_(epoll_fd), queue_(queue), buffer_(kSendBufferBytes) {}
    ~SocketTransport() override { shut(); }

    size_t send_space() const override { return phase_ == Phase::Open && error_ == 0 ? buffer_.size() - count_ : 0; }

    size_t send(std::span<const uint8_t> bytes) override {
        const size_t n = std::min(bytes.size(), send_space());
        for (size_t done = 0; done < n;) {  // at most two pieces: up to the end of the ring, then its start
            const size_t tail = (head_ + count_) % buffer_.size();
            const size_t piece = std::min(n - done, buffer_.size() - tail);
            std::memcpy(buffer_.data() + tail, bytes.data() + done, piece);
            count_ += piece;
            done += piece;
        }
        if (n < bytes.size()) blocked_ = true;
        if (count_ >= buffer_.size() / 2) flush();
        return n;
    }

    // Best effort: what is buffered (a TermReq, say) goes out before the socket closes.
    void close() override {
        if (phase_ == Phase::Open) flush();
        shut();
    }

    // Writes buffered bytes until the socket is full. Never calls the queue: an error is kept for poll().
    void flush() {
        while (count_ > 0 && phase_ == Phase::Open && error_ == 0) {
            iovec iov[2];
            const size_t first = std::min(count_, buffer_.size() - head_);
            iov[0] = {buffer_.data() + head_, first};
            iov[1] = {buffer_.data(), count_ - first};
            msghdr msg{};
            msg.msg_iov = iov;
            msg.msg_iovlen = count_ > first ? 2 : 1;
            const ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                error_ = errno;
                break;
            }
            head_ = (head_ + static_cast<size_t>(n)) % buffer_.size();
            count_ -= static_cast<size_t>(n);
        }
        watch(count_ > 0 || phase_ == Phase::Connecting);
    }

    // After a flush from poll(): report an error, or the room a short send() was waiting for.
    void after_flush() {
        if (error_ != 0) {
            closed(std::strerror(error_));
        } else if (blocked_ && count_ < buffer_.size()) {
            blocked_ = false;
            queue_.on_transport_writable();
        }
    }

    void on_event(uint32_t events, std::vector<uint8_t>& receive_buffer) {
        if (phase_ == Phase::Connecting) {
            int err = 0;
            socklen_t len = sizeof err;
            if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
            if (err != 0) {
                closed(std::strerror(err));
                return;
            }
            if ((events & EPOLLOUT) == 0) return;
            phase_ = Phase::Open;
            watch(false);
            queue_.on_transport_connected();
            return;
        }
        if (phase_ != Phase::Open) return;
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) receive(receive_buffer);
        if (phase_ == Phase::Open && (events & EPOLLOUT)) {
            flush();
            after_flush();
        }
    }

    bool open() const noexcept { return phase_ != Phase::Closed; }
    bool has_pending() const noexcept { return phase_ == Phase::Open && (count_ > 0 || error_ != 0 || blocked_); }

private:
    void receive(std::vector<uint8_t>& buffer) {
        // A bounded number of reads per event, so that one busy connection cannot starve the others.
        for (int i = 0; i < 16 && phase_ == Phase::Open; ++i) {
            const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
            if (n > 0) {
                const RxPiece piece{static_cast<uint32_t>(received_), nullptr};
                received_ += static_cast<uint64_t>(n);
                queue_.receive(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)), piece);
                continue;
            }
            if (n == 0) {
                closed("connection closed by the peer");
                return;
            }
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) closed(std::strerror(errno));
            return;
        }
    }

    void watch(bool out) {
        if (fd_ < 0 || out == watching_out_) return;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0u);
        ev.data.ptr = this;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &ev);
        watching_out_ = out;
    }

    void closed(const char* why) {
        if (phase_ == Phase::Closed) return;
        shut();
        queue_.on_transport_closed(why);
    }

    void shut() {
        if (fd_ >= 0) {
            ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
            ::close(fd_);
            fd_ = -1;
        }
        phase_ = Phase::Closed;
    }

    int fd_;
    int epoll_fd_;
    Queue& queue_;
    Phase phase_ = Phase::Connecting;
    std::vector<uint8_t> buffer_;  // send ring
    size_t head_ = 0, count_ = 0;
    bool blocked_ = false;  // a send() took less than offered: on_transport_writable is owed
    bool watching_out_ = true;
    int error_ = 0;
    uint64_t received_ = 0;
};

SocketTransportFactory::SocketTransportFactory(std::string traddr, uint16_t port)
    : traddr_(std::move(traddr)), port_(port), epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)), receive_buffer_(64u << 10) {}

SocketTransportFactory::~SocketTransportFactory() {
    transports_.clear();
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

QueueTransport* SocketTransportFactory::open(uint16_t qid, Queue& queue, std::string* error) {
    std::string ignored;
    if (error == nullptr) error = &ignored;
    const std::string where = traddr_ + ":" + std::to_string(port_) + " (qid " + std::to_string(qid) + ")";
    if (epoll_fd_ < 0) {
        *error = std::string("epoll_create1: ") + std::strerror(errno);
        return nullptr;
    }
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (::inet_pton(AF_INET, traddr_.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port_);
        addr_len = sizeof *v4;
    } else if (::inet_pton(AF_INET6, traddr_.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port_);
        addr_len = sizeof *v6;
    } else {
        *error = "\"" + traddr_ + "\" is not an IPv4 or IPv6 address";
        return nullptr;
    }
    const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *error = "socket: " + std::string(std::strerror(errno));
        return nullptr;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // PDUs are gathered in the send buffer
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0 && errno != EINPROGRESS) {
        *error = "connect to " + where + ": " + std::strerror(errno);
        ::close(fd);
        return nullptr;
    }
    auto transport = std::make_unique<SocketTransport>(fd, epoll_fd_, queue);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;  // EPOLLOUT: the connect completed
    ev.data.ptr = transport.get();
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        *error = "epoll_ctl: " + std::string(std::strerror(errno));
        return nullptr;  // the transport closes fd
    }
    transports_.push_back(std::move(transport));
    return transports_.back().get();
}

void SocketTransportFactory::release(QueueTransport* transport) {
    const auto it = std::find_if(transports_.begin(), transports_.end(),
                                 [transport](const auto& t) { return t.get() == transport; });
    if (it != transports_.end()) transports_.erase(it);  // closes the socket, no callbacks
}

size_t SocketTransportFactory::open_connections() const noexcept {
    return static_cast<size_t>(std::count_if(transports_.begin(), transports_.end(), [](const auto& t) { return t->open(); }));
}

void SocketTransportFactory::poll(int timeout_ms) {
    // Bytes queued since the last poll (submissions, responses to what was received) leave first.
    for (size_t i = 0; i < transports_.size(); ++i) {
        if (transports_[i]->has_pending()) {
            transports_[i]->flush();
            transports_[i]->after_flush();
        }
    }
    epoll_event events[64];
    const int n = ::epoll_wait(epoll_fd_, events, 64, timeout_ms);
    for (int i = 0; i < n; ++i) {
        static_cast<SocketTransport*>(events[i].data.ptr)->on_event(events[i].events, receive_buffer_);
    }
    for (size_t i = 0; i < transports_.size(); ++i) {
        if (transports_[i]->has_pending()) {
            transports_[i]->flush();
            transports_[i]->after_flush();
        }
    }
}

}  // namespace nvmeddp::nvmetcp::host
