#include "nvmetcp/host/transport_id.hpp"

#include <cctype>
#include <charconv>

namespace nvmeddp::nvmetcp::host {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool parse_port(std::string_view text, uint16_t& port) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) return false;
    port = static_cast<uint16_t>(value);
    return true;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

}  // namespace

uint16_t TransportId::port() const {
    uint16_t port = 0;
    return parse_port(trsvcid, port) ? port : 0;
}

bool parse_transport_id(std::string_view text, TransportId& out, std::string* error) {
    std::string ignored;
    if (error == nullptr) error = &ignored;
    TransportId id;
    size_t at = 0;
    while (at < text.size()) {
        while (at < text.size() && is_space(text[at])) ++at;
        if (at == text.size()) break;
        size_t end = at;
        while (end < text.size() && !is_space(text[end])) ++end;
        const std::string_view word = text.substr(at, end - at);
        at = end;
        const size_t eq = word.find('=');
        if (eq == std::string_view::npos) {
            *error = "transport ID: \"" + std::string(word) + "\" is not key=value";
            return false;
        }
        const std::string key = lower(word.substr(0, eq));
        const std::string value(word.substr(eq + 1));
        if (value.empty()) {
            *error = "transport ID: " + key + " has an empty value";
            return false;
        }
        if (key == "trtype") id.trtype = lower(value);
        else if (key == "adrfam") id.adrfam = lower(value);
        else if (key == "traddr") id.traddr = value;
        else if (key == "trsvcid") id.trsvcid = value;
        else if (key == "subnqn") id.subnqn = value;
        else if (key == "hostnqn") id.hostnqn = value;
        else {
            *error = "transport ID: unknown key \"" + std::string(word.substr(0, eq)) + "\"";
            return false;
        }
    }
    if (id.trtype != "tcp") {
        *error = "transport ID: trtype \"" + id.trtype + "\" is not supported (only tcp)";
        return false;
    }
    if (id.adrfam != "ipv4" && id.adrfam != "ipv6") {
        *error = "transport ID: adrfam \"" + id.adrfam + "\" is not ipv4 or ipv6";
        return false;
    }
    if (id.traddr.empty()) {
        *error = "transport ID: traddr is missing";
        return false;
    }
    uint16_t port = 0;
    if (!parse_port(id.trsvcid, port)) {
        *error = "transport ID: trsvcid \"" + id.trsvcid + "\" is not a port number (1-65535)";
        return false;
    }
    out = std::move(id);
    return true;
}

}  // namespace nvmeddp::nvmetcp::host
