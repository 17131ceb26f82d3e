#include "nvmetcp/target/listen_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nvmeddp::nvmetcp::target {
namespace {

int fail(int fd, std::string* error, const std::string& what) {
    *error = what + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return -1;
}

}  // namespace

int open_listener(const std::string& address, uint16_t port, uint16_t* bound_port, std::string* error) {
    sockaddr_storage storage{};
    socklen_t length = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        length = sizeof *v4;
    } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        length = sizeof *v6;
    } else {
        *error = "listen address '" + address + "' is not an IPv4 or IPv6 literal";
        return -1;
    }
    const int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(fd, error, "socket");
    const int one = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) return fail(fd, error, "SO_REUSEADDR");
    if (storage.ss_family == AF_INET6 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
        return fail(fd, error, "IPV6_V6ONLY");
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
        return fail(fd, error, "bind " + address + " port " + std::to_string(port));
    }
    if (::listen(fd, 128) != 0) return fail(fd, error, "listen");
    sockaddr_storage bound{};
    socklen_t bound_length = sizeof bound;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length) != 0) return fail(fd, error, "getsockname");
    *bound_port = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                                   : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    return fd;
}

std::string address_text(const sockaddr_storage& address) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (address.ss_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
        inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
        return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
    }
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
}

}  // namespace nvmeddp::nvmetcp::target
