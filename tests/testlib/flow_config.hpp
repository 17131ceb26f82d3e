// Test helpers: the DDP connection tuple of a generated flow. The frames are the controller's, so
// the remote end is the flow's source and the local end (the host) its destination.
#pragma once

#include "ddp/connection_config.hpp"
#include "testlib/frame_gen.hpp"

namespace nvmeddp::testlib {

inline ddp::ConnectionTuple host_tuple(const FlowSpec& f) {
    ddp::ConnectionTuple t;
    t.family = f.ipv6 ? ddp::IpFamily::Ipv6 : ddp::IpFamily::Ipv4;
    t.remote_addr = f.src_ip;
    t.local_addr = f.dst_ip;
    t.remote_port = f.src_port;
    t.local_port = f.dst_port;
    // The innermost tag is the C-tag when there is one, else the only (S-)tag.
    if (f.c_vlan && f.s_vlan) {
        t.vlan = *f.c_vlan;
        t.outer_vlan = *f.s_vlan;
    } else if (f.c_vlan || f.s_vlan) {
        t.vlan = f.c_vlan ? *f.c_vlan : *f.s_vlan;
    }
    return t;
}

}  // namespace nvmeddp::testlib
