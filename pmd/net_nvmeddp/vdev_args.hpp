// net_nvmeddp's devargs, read with rte_kvargs (no EAL needed, so tests read them directly):
//   port=<ethdev name or interface>  stack on that port (a port probed earlier, e.g. net_af_packet0,
//                                    or an interface, on which an af_packet port is made)
//   queues=<1..16>                   queue pairs of that af_packet port (only with port=<interface>)
//   mode=loopback                    a loopback NIC: what tx queue q sends, rx queue q receives
//                                    (the default when no port is given)
//   rx_mark=on|off|silent            MARK delivery (see net_nvmeddp.cpp)
//   ddp=on|off                       the offload's engine runs on the port's rx queues (default: on
//                                    when stacked, off in loopback mode, whose tests attach their own)
//   ddp_io_threshold=<bytes>         the offload refuses setup of smaller reads (default 0)
//   ddp_max_io=<bytes>               ... and of larger ones (default 4 MiB, a target's usual MDTS)
//   tso=on|off                       the port offers RTE_ETH_TX_OFFLOAD_TCP_TSO and tx checksums, done
//                                    in software (default on; the application still enables them or
//                                    not; stacked, only on a lower port with multi-segment tx)
//   lro=on|off                       the port offers RTE_ETH_RX_OFFLOAD_TCP_LRO, done in software
//                                    (default on; idem; stacked, where the lower port has no LRO)
// Anything else, a key given twice, or a value out of range is refused with a sentence naming it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace nvmeddp::pmd {

// What the rx_mark devarg makes of MARK delivery.
enum class MarkMode : uint8_t { On, Off, Silent };

struct VdevArgs {
    std::string port;         // empty: loopback
    uint16_t iface_queues = 1;
    MarkMode mark_mode = MarkMode::On;
    std::optional<bool> ddp;  // unset: on when stacked
    uint32_t ddp_io_threshold = 0;
    uint32_t ddp_max_io = 4u << 20;
    bool tso = true;
    bool lro = true;

    bool stacked() const noexcept { return !port.empty(); }
    bool ddp_enabled() const noexcept { return ddp.value_or(stacked()); }
};

// The devargs string's meaning, or false with `error` saying which key or value is wrong and what
// would be right.
bool parse_vdev_args(const char* args, VdevArgs& out, std::string& error);

// For RTE_PMD_REGISTER_PARAM_STRING (which takes a literal) and log lines.
#define NVMEDDP_VDEV_PARAMS \
    "port=<port name|interface> queues=<1..16> mode=loopback rx_mark=on|off|silent ddp=on|off " \
    "ddp_io_threshold=<bytes> ddp_max_io=<bytes> tso=on|off lro=on|off"

}  // namespace nvmeddp::pmd
