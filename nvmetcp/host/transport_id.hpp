// Where a controller is: an SPDK-style transport ID string, e.g.
//   "trtype=tcp adrfam=ipv4 traddr=192.0.2.1 trsvcid=4420 subnqn=nqn.2016-06.io.spdk:cnode1"
// Keys are case-insensitive and separated by whitespace; values are taken as written.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nvmeddp::nvmetcp::host {

struct TransportId {
    std::string trtype = "tcp", adrfam = "ipv4", traddr, trsvcid = "4420", subnqn, hostnqn;

    uint16_t port() const;  // trsvcid as a number (valid after a successful parse)
};

// Fills `out` (defaults for keys not given). False and *error naming the key on: an unknown key, a
// word without '=', an empty value, a missing traddr, a trsvcid that is not a port 1..65535, a trtype
// other than tcp, an adrfam other than ipv4/ipv6.
bool parse_transport_id(std::string_view text, TransportId& out, std::string* error);

}  // namespace nvmeddp::nvmetcp::host
