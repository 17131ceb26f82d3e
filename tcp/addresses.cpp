#include "tcp/addresses.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

namespace nvmeddp::tcp {

std::string MacAddress::to_string() const {
    char text[18];
    std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2], bytes[3],
                  bytes[4], bytes[5]);
    return text;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    const std::string s(text);  // inet_pton wants a terminated string
    IpAddress ip;
    if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
        ip.family = Family::V4;
        return ip;
    }
    if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
        ip.family = Family::V6;
        return ip;
    }
    return std::nullopt;
}

std::string IpAddress::to_string() const {
    char text[INET6_ADDRSTRLEN];
    switch (family) {
        case Family::V4:
            return inet_ntop(AF_INET, bytes.data(), text, sizeof text) ? text : "?";
        case Family::V6:
            return inet_ntop(AF_INET6, bytes.data(), text, sizeof text) ? text : "?";
        case Family::None:
            break;
    }
    return "(none)";
}

}  // namespace nvmeddp::tcp
