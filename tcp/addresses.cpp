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

std::optional<MacAddress> MacAddress::parse(std::string_view text) {
    MacAddress mac;
    unsigned b[6];
    char extra;
    const std::string s(text);
    if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &extra) != 6) {
        return std::nullopt;
    }
    for (int i = 0; i < 6; ++i) mac.bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(b[i]);
    return mac;
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
