// The target's listening TCP socket (IPv4 or IPv6 literal address, non-blocking) and names of peers
// for the log.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace nvmeddp::nvmetcp::target {

// A bound, listening, non-blocking socket; -1 with a message in *error. *bound_port: the port it got
// (the one asked for, or a free one for port 0).
int open_listener(const std::string& address, uint16_t port, uint16_t* bound_port, std::string* error);

// "ADDR:PORT" ("[ADDR]:PORT" for IPv6).
std::string address_text(const sockaddr_storage& address);

}  // namespace nvmeddp::nvmetcp::target
