// Link and network addresses as tcp/ passes them around: a MAC address and an IP address of either
// family (bytes in network order), with parsing and printing for command lines and messages.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nvmeddp::tcp {

struct MacAddress {
    std::array<uint8_t, 6> bytes{};

    bool is_zero() const noexcept { return bytes == std::array<uint8_t, 6>{}; }
    static constexpr MacAddress broadcast() noexcept { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
    std::string to_string() const;
    // "02:00:00:00:00:01"; nullopt when it is not six colon-separated hex bytes.
    static std::optional<MacAddress> parse(std::string_view text);
    friend bool operator==(const MacAddress&, const MacAddress&) = default;
};

struct IpAddress {
    enum class Family : uint8_t { None, V4, V6 };

    Family family = Family::None;
    std::array<uint8_t, 16> bytes{};  // IPv4: the first 4 bytes

    static constexpr IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) noexcept {
        IpAddress ip;
        ip.family = Family::V4;
        ip.bytes[0] = a;
        ip.bytes[1] = b;
        ip.bytes[2] = c;
        ip.bytes[3] = d;
        return ip;
    }
    bool is_v4() const noexcept { return family == Family::V4; }
    bool is_v6() const noexcept { return family == Family::V6; }
    // "192.0.2.1" or "2001:db8::1"; nullopt when it is neither.
    static std::optional<IpAddress> parse(std::string_view text);
    std::string to_string() const;
    friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

}  // namespace nvmeddp::tcp
