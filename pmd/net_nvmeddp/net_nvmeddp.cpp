// net_nvmeddp: the offload's NIC as a DPDK vdev, in one of two modes.
//
//   --vdev=net_nvmeddp0,port=net_af_packet0   stacked on a lower port (af_packet, af_xdp, tap, a real
//   --vdev=net_nvmeddp0,port=veth1             NIC), or on an interface (an af_packet port is made on
//                                              it); the lower port is owned by this one, so
//                                              applications (testpmd) see only net_nvmeddp0
//   --vdev=net_nvmeddp0[,mode=loopback]        a loopback NIC: what tx queue q sends, rx queue q gets
//                                              (with tx checksum offload, TSO and LRO as a NIC has
//                                              them: tx_segmentation.hpp, rx_coalescing.hpp)
//
// Either way the port does in software what a NIC with the offload's steering does in hardware:
// rte_flow rules (ETH / [VLAN] / IPV4 or IPV6 with exact addresses / TCP with exact ports, with
// priorities -> QUEUE or RSS to one queue, MARK, COUNT, DROP) steer a connection's frames to an rx
// queue and mark them the way a NIC reports it (RTE_MBUF_F_RX_FDIR | RTE_MBUF_F_RX_FDIR_ID,
// hash.fdir.hi); rx checksum offload (IPv4 header, TCP) is offered, done by the lower port where it
// can and verified here where it cannot; rx metadata negotiation (rte_eth_rx_metadata_negotiate)
// grants USER_MARK. The rx_mark devarg stands in for NICs that deliver no MARK although they accept
// rules with one:
//   rx_mark=on      (default) as above
//   rx_mark=off     negotiation grants no USER_MARK; MARK actions are accepted, never delivered
//   rx_mark=silent  no negotiation at all (-ENOTSUP: "assume it works"), and no MARK delivered
//
// Built against the driver-SDK headers fetched by scripts/fetch-dpdk-sdk.sh; linked into our programs
// as an object library (so its RTE_PMD_REGISTER_VDEV constructor is always kept) and built as
// librte_net_nvmeddp.so for stock dpdk-testpmd (LD_PRELOAD).
#include <bus_vdev_driver.h>
#include <ethdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_bus_vdev.h>
#include <rte_dev.h>

#include <net/if.h>

#include <cerrno>
#include <cstdio>
#include <new>
#include <string>

#include "pmd/net_nvmeddp/nic_datapath.hpp"
#include "pmd/net_nvmeddp/nic_ethdev_ops.hpp"
#include "pmd/net_nvmeddp/nic_log.hpp"
#include "pmd/net_nvmeddp/nic_port.hpp"
#include "pmd/net_nvmeddp/vdev_args.hpp"

namespace {

using namespace nvmeddp::pmd;
using nvmeddp::pmd::nic::Port;

// The af_packet port this vdev makes on an interface named by port=.
std::string made_port_name(const char* vdev_name) { return std::string("net_af_packet_") + vdev_name; }

// The lower port named by port=: a port that exists, or else an interface on which an af_packet port
// is made (named net_af_packet_<our name>). kNoPort, with the reason logged, when neither works.
uint16_t find_lower_port(const char* vdev_name, const VdevArgs& args, bool& made_here) {
    made_here = false;
    uint16_t id = nic::kNoPort;
    if (rte_eth_dev_get_port_by_name(args.port.c_str(), &id) == 0) return id;
    if (if_nametoindex(args.port.c_str()) == 0) {
        NVMEDDP_PMD_LOG(ERR, "%s: port=%s is neither a DPDK port probed before it (give its --vdev first) "
                        "nor a network interface", vdev_name, args.port.c_str());
        return nic::kNoPort;
    }
    const std::string name = made_port_name(vdev_name);
    // Rings of 4096 frames, not af_packet's 512: a full ring makes the kernel's fanout roll a flow
    // over to another queue, which reorders it (with 2 queues under 1 MiB reads: 19000 segments out
    // of order and 84% placed; with 4096, none and 99.9%).
    const std::string dev_args = "iface=" + args.port + ",qpairs=" + std::to_string(args.iface_queues) + ",framecnt=4096";
    if (int rc = rte_eal_hotplug_add("vdev", name.c_str(), dev_args.c_str()); rc != 0) {
        NVMEDDP_PMD_LOG(ERR, "%s: making an af_packet port on interface %s failed: %s", vdev_name, args.port.c_str(),
                        rte_strerror(-rc));
        return nic::kNoPort;
    }
    if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
        NVMEDDP_PMD_LOG(ERR, "%s: the af_packet port made on %s has no ethdev", vdev_name, args.port.c_str());
        rte_eal_hotplug_remove("vdev", name.c_str());
        return nic::kNoPort;
    }
    made_here = true;
    return id;
}

// Takes the lower port for this one: RTE_ETH_FOREACH_DEV no longer lists it.
bool own_lower_port(Port& port, uint16_t lower) {
    if (int rc = rte_eth_dev_owner_new(&port.owner.id); rc != 0) return false;
    std::snprintf(port.owner.name, sizeof port.owner.name, "%s", port.name);
    if (int rc = rte_eth_dev_owner_set(lower, &port.owner); rc != 0) {
        rte_eth_dev_owner owner{};
        rte_eth_dev_owner_get(lower, &owner);
        NVMEDDP_PMD_LOG(ERR, "%s: the lower port %u is owned by %s already", port.name, lower, owner.name);
        return false;
    }
    return true;
}

int probe(rte_vdev_device* vdev) {
    const char* name = rte_vdev_device_name(vdev);
    if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
        NVMEDDP_PMD_LOG(ERR, "%s: secondary processes are not supported", name);
        return -ENOTSUP;
    }
    VdevArgs args;
    std::string error;
    if (!parse_vdev_args(rte_vdev_device_args(vdev), args, error)) {
        NVMEDDP_PMD_LOG(ERR, "%s: %s (accepted: " NVMEDDP_VDEV_PARAMS ")", name, error.c_str());
        return -EINVAL;
    }
    // Our port first, so that a lower port made here from an interface gets the next id: the port an
    // application sees is then port 0, as with a NIC.
    rte_eth_dev* dev = rte_eth_vdev_allocate(vdev, sizeof(Port));
    if (dev == nullptr) return -ENOMEM;
    Port* port = new (dev->data->dev_private) Port();  // dev_private is zeroed memory: construct it
    port->port_id = dev->data->port_id;
    std::snprintf(port->name, sizeof port->name, "%s", name);
    port->mark_mode = args.mark_mode;
    port->deliver_mark = args.mark_mode == MarkMode::On;
    port->ddp_enabled = args.ddp_enabled();
    port->ddp_limits.io_threshold = args.ddp_io_threshold;
    port->ddp_limits.max_io_size = args.ddp_max_io;
    port->tso_offered = args.tso;
    port->lro_offered = args.lro;
    if (args.stacked()) {
        bool made_here = false;
        const uint16_t lower = find_lower_port(name, args, made_here);
        if (lower == nic::kNoPort || !own_lower_port(*port, lower)) {
            if (made_here) rte_eal_hotplug_remove("vdev", made_port_name(name).c_str());
            port->~Port();
            dev->data->mac_addrs = nullptr;
            rte_eth_dev_release_port(dev);
            return lower == nic::kNoPort ? -ENODEV : -EBUSY;
        }
        port->lower = lower;
        port->lower_made_here = made_here;
        rte_eth_dev_callback_register(lower, RTE_ETH_EVENT_DESTROY, nic::on_lower_destroyed, port);
        rte_eth_macaddr_get(lower, &port->mac);
    } else {
        rte_eth_random_addr(port->mac.addr_bytes);
        dev->data->promiscuous = 1;
        dev->data->all_multicast = 1;
    }
    dev->data->mac_addrs = &port->mac;
    dev->data->dev_flags |= RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
    dev->dev_ops = nic::nic_dev_ops();
    dev->rx_pkt_burst = args.stacked() ? nic::stacked_rx_burst : nic::loopback_rx_burst;
    dev->tx_pkt_burst = args.stacked() ? nic::stacked_tx_burst : nic::loopback_tx_burst;
    if (args.stacked()) dev->tx_pkt_prepare = nic::stacked_tx_prepare;  // the lower port's offloads need its own
    rte_eth_dev_probing_finish(dev);
    if (args.stacked()) {
        char lower_name[RTE_ETH_NAME_MAX_LEN] = {};
        rte_eth_dev_get_name_by_port(port->lower, lower_name);
        NVMEDDP_PMD_LOG(INFO, "%s: port %u stacked on %s (port %u)", name, port->port_id, lower_name, port->lower);
    }
    return 0;
}

int vdev_remove(rte_vdev_device* vdev) {
    rte_eth_dev* dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));
    if (dev == nullptr) return 0;
    nic::nic_dev_close_for_bus_remove(dev);
    return rte_eth_dev_release_port(dev);
}

// Constant-initialised: RTE_PMD_REGISTER_VDEV's constructor names and registers it before dynamic
// initialisers run, and one of those would overwrite the name with the zeros of a fresh struct.
constexpr rte_vdev_driver make_driver() {
    rte_vdev_driver d{};
    d.probe = probe;
    d.remove = vdev_remove;
    return d;
}
constinit rte_vdev_driver g_driver = make_driver();

}  // namespace

RTE_PMD_REGISTER_VDEV(net_nvmeddp, g_driver);
RTE_PMD_REGISTER_PARAM_STRING(net_nvmeddp, NVMEDDP_VDEV_PARAMS);
