// Target: the listening socket, the epoll loop over all connections, and the lifetime rules that
// span connections (an admin queue's end takes its controller and I/O queues with it; keep alive;
// a bound on how long a terminated connection may wait for the host to read its TermReq).
#include "nvmetcp/target/target.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <thread>

#include "nvmetcp/target/config_check.hpp"
#include "nvmetcp/target/controller_model.hpp"
#include "nvmetcp/target/discovery_log.hpp"
#include "nvmetcp/target/listen_socket.hpp"
#include "nvmetcp/target/target_connection.hpp"
#include "nvmetcp/target/target_context.hpp"

namespace nvmeddp::nvmetcp::target {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kListenerId = 0;  // epoll data of the listening socket; connections count from 1
constexpr int kMaxEvents = 64;
// A connection whose output ended (a C2HTermReq, or a fault) closes once it went out and the host
// closed too, or after this if the host does not.
constexpr auto kTermReqLinger = std::chrono::seconds(2);

}  // namespace

void TargetContext::log(const char* format, ...) const {
    if (!config.verbose) return;
    char line[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(line, sizeof line, format, args);
    va_end(args);
    std::fprintf(stderr, "nvmeddp-target: %s\n", line);
}

class TargetImpl {
public:
    TargetImpl(const TargetConfig& config, int listen_fd, int epoll_fd, uint16_t port)
        : context_(config, RamNamespace(config.nsid, config.namespace_bytes, config.block_size, namespace_guid(config.subnqn))),
          listen_fd_(listen_fd),
          epoll_fd_(epoll_fd) {
        context_.port = port;
        context_.discovery_log = discovery_log_page(config, port);
    }

    ~TargetImpl() {
        connections_.clear();  // closes their sockets
        ::close(listen_fd_);
        ::close(epoll_fd_);
    }

    uint16_t port() const noexcept { return context_.port; }
    const TargetContext& context() const noexcept { return context_; }

    void poll(int timeout_ms) {
        epoll_event events[kMaxEvents];
        const int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
        for (int i = 0; i < n; ++i) {
            // A copy: epoll_event is packed on x86-64, so its data.u64 is misaligned and find()'s
            // const reference to it was undefined behaviour (UBSan: misaligned reference binding).
            const uint64_t id = events[i].data.u64;
            if (id == kListenerId) {
                accept_all();
                continue;
            }
            auto it = connections_.find(id);
            if (it != connections_.end() && !it->second->closed()) service(*it->second, events[i].events);
        }
        enforce_timers();
        reap();
        for (auto& [id, connection] : connections_) update_interest(*connection);
    }

private:
    void accept_all() {
        for (;;) {
            sockaddr_storage peer{};
            socklen_t length = sizeof peer;
            const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &length,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK) context_.log("accept failed: %s", std::strerror(errno));
                return;
            }
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            const uint64_t id = next_id_++;
            auto connection = std::make_unique<TargetConnection>(fd, id, address_text(peer), context_);
            epoll_event event{};
            event.events = EPOLLIN;
            event.data.u64 = id;
            if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
                context_.log("epoll_ctl failed: %s", std::strerror(errno));
                continue;  // the connection's destructor closes the socket
            }
            interest_[id] = EPOLLIN;
            AtomicStats::add(context_.stats.connections);
            context_.log("connection %llu from %s opened", static_cast<unsigned long long>(id),
                         address_text(peer).c_str());
            connections_.emplace(id, std::move(connection));
        }
    }

    void service(TargetConnection& connection, uint32_t events) {
        if (events & EPOLLIN) connection.on_readable();
        if (!connection.closed() && (events & EPOLLOUT)) connection.on_writable();
        if (connection.closed() || !(events & (EPOLLERR | EPOLLHUP))) return;
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(connection.fd(), SOL_SOCKET, SO_ERROR, &error, &length);
        connection.close(error != 0 ? std::string("socket error: ") + std::strerror(error)
                                    : std::string("the host hung up"));
    }

    void update_interest(TargetConnection& connection) {
        const uint32_t wanted = (connection.wants_read() ? EPOLLIN : 0u) | (connection.wants_write() ? EPOLLOUT : 0u);
        uint32_t& current = interest_[connection.id()];
        if (wanted == current) return;
        epoll_event event{};
        event.events = wanted;
        event.data.u64 = connection.id();
        if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, connection.fd(), &event) == 0) current = wanted;
    }

    void enforce_timers() {
        const auto now = Clock::now();
        for (auto& [id, connection] : connections_) {
            if (!connection->closed() && connection->closing() && now - connection->closing_since() > kTermReqLinger) {
                connection->close("the host did not close after the end of the output (C2HTermReq or fault) in time");
            }
        }
        if (now - last_keep_alive_check_ < std::chrono::milliseconds(100)) return;
        last_keep_alive_check_ = now;
        for (uint16_t cntlid : context_.controllers.expired(now)) {
            const Controller* c = context_.controllers.find(cntlid);
            auto it = connections_.find(c->admin_connection);
            if (it != connections_.end()) {
                it->second->close("keep alive timeout of controller " + std::to_string(cntlid) + " (KATO " +
                                  std::to_string(c->kato_ms) + " ms)");
            }
        }
    }

    // Drops closed connections; the end of an admin queue ends its controller and I/O queues.
    void reap() {
        std::vector<uint64_t> dead;
        for (auto& [id, connection] : connections_) {
            if (connection->closed()) dead.push_back(id);
        }
        while (!dead.empty()) {
            const uint64_t id = dead.back();
            dead.pop_back();
            auto it = connections_.find(id);
            if (it == connections_.end()) continue;
            const TargetConnection& connection = *it->second;
            if (connection.connected() && connection.qid() == 0) {
                for (uint64_t io : context_.controllers.destroy(connection.cntlid())) {
                    auto io_it = connections_.find(io);
                    if (io_it == connections_.end()) continue;
                    io_it->second->close("the admin queue of controller " + std::to_string(connection.cntlid()) +
                                         " closed");
                    dead.push_back(io);
                }
            } else if (connection.connected()) {
                if (Controller* c = context_.controllers.find(connection.cntlid())) {
                    auto q = c->io_connections.find(connection.qid());
                    if (q != c->io_connections.end() && q->second == id) c->io_connections.erase(q);
                }
            }
            interest_.erase(id);
            connections_.erase(it);
            AtomicStats::add(context_.stats.connections_closed);
        }
    }

    TargetContext context_;
    int listen_fd_;
    int epoll_fd_;
    uint64_t next_id_ = kListenerId + 1;
    std::map<uint64_t, std::unique_ptr<TargetConnection>> connections_;
    std::map<uint64_t, uint32_t> interest_;  // epoll events registered per connection
    Clock::time_point last_keep_alive_check_{};
};

std::unique_ptr<Target> Target::create(const TargetConfig& config, std::string* error) {
    std::string message = check_config(config);
    if (!message.empty()) {
        if (error) *error = "invalid target configuration: " + message;
        return nullptr;
    }
    uint16_t port = 0;
    const int listen_fd = open_listener(config.listen_address, config.port, &port, &message);
    if (listen_fd < 0) {
        if (error) *error = message;
        return nullptr;
    }
    const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = kListenerId;
    if (epoll_fd < 0 || ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &event) != 0) {
        if (error) *error = std::string("epoll: ") + std::strerror(errno);
        ::close(listen_fd);
        if (epoll_fd >= 0) ::close(epoll_fd);
        return nullptr;
    }
    return std::unique_ptr<Target>(new Target(std::make_unique<TargetImpl>(config, listen_fd, epoll_fd, port)));
}

Target::Target(std::unique_ptr<TargetImpl> impl) : impl_(std::move(impl)) {}
Target::~Target() = default;

uint16_t Target::port() const noexcept { return impl_->port(); }

void Target::run(const std::atomic<bool>& stop) {
    while (!stop.load(std::memory_order_relaxed)) impl_->poll(50);
}

void Target::poll(int timeout_ms) { impl_->poll(timeout_ms); }

TargetStats Target::stats() const { return impl_->context().stats.snapshot(); }

std::span<const uint8_t> Target::namespace_bytes() const noexcept { return impl_->context().ns.bytes(); }

}  // namespace nvmeddp::nvmetcp::target
