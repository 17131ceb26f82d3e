// net_nvmeddp's devargs, read with rte_kvargs (no EAL needed, so tests read them directly):
//   port=<ethdev name or interface>  stack on that port (a port probed earlier, e.g. net_af_packet0,
//                                    or an interface, on which an af_packet port is made)
//   queues=<1..16>                   queue pairs of that af_packet port (only with port=<interface>)
//   mode=loopback                    a loopback NIC: what tx queue q sends, rx queue q receives
//                                    (the default when no port is given)
//   rx_mark=on|off|silent            MARK delivery (see net_nvmeddp.cpp)
// Anything else, a key given twice, or a value out of range is refused with a sentence naming it.
#pragma once

#include <cstdint>
#include <string>

namespace nvmeddp::pmd {

// What the rx_mark devarg makes of MARK delivery.
enum class MarkMode : uint8_t { On, Off, Silent };

struct VdevArgs {
    std::string port;         // empty: loopback
    uint16_t iface_queues = 1;
    MarkMode mark_mode = MarkMode::On;

    bool stacked() const noexcept { return !port.empty(); }
};

// The devargs string's meaning, or false with `error` saying which key or value is wrong and what
// would be right.
bool parse_vdev_args(const char* args, VdevArgs& out, std::string& error);

// For RTE_PMD_REGISTER_PARAM_STRING (which takes a literal) and log lines.
#define NVMEDDP_VDEV_PARAMS "port=<port name|interface> queues=<1..16> mode=loopback rx_mark=on|off|silent"

}  // namespace nvmeddp::pmd
