// Asks the Linux kernel, our reference IPv6 implementation, whether our neighbour discovery frames are
// right: sends a Neighbor Solicitation built by build_neighbor_solicitation() out of an interface
// through an AF_PACKET socket and waits for the kernel on the other end of the link to answer with a
// Neighbor Advertisement that parse_nd() accepts, solicited, carrying the expected link address.
// ndp_veth.sh sets up the link (a veth pair in a network namespace) and runs this; it prints one line
// ending in "kernel answered" on success and one with "FAILED" otherwise.
//
// usage: ndp_kernel_probe <interface> <target IPv6 address> <target's MAC aa:bb:cc:dd:ee:ff>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "pmd/dpdk/eal.hpp"
#include "tcp/ndp.hpp"

namespace {

using nvmeddp::tcp::IpAddress;
using nvmeddp::tcp::MacAddress;
using nvmeddp::tcp::NdMessage;

constexpr int kTries = 10;
constexpr int kWaitPerTryMs = 500;

int fail(const std::string& why) {
    std::printf("ndp_kernel_probe: FAILED: %s\n", why.c_str());
    return 1;
}

std::optional<MacAddress> parse_mac(const char* text) {
    unsigned b[6];
    char extra;
    if (std::sscanf(text, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &extra) != 6) {
        return std::nullopt;
    }
    MacAddress mac;
    for (size_t i = 0; i < 6; ++i) {
        if (b[i] > 0xff) return std::nullopt;
        mac.bytes[i] = static_cast<uint8_t>(b[i]);
    }
    return mac;
}

std::optional<MacAddress> interface_mac(int fd, const char* interface) {
    ifreq req{};
    std::snprintf(req.ifr_name, sizeof req.ifr_name, "%s", interface);
    if (ioctl(fd, SIOCGIFHWADDR, &req) != 0) return std::nullopt;
    MacAddress mac;
    std::memcpy(mac.bytes.data(), req.ifr_hwaddr.sa_data, mac.bytes.size());
    return mac;
}

// The NS as bytes: built into an mbuf as the endpoint will, then copied out for the socket.
std::optional<std::vector<uint8_t>> solicitation(const MacAddress& our_mac, const IpAddress& our_ip,
                                                 const IpAddress& target) {
    rte_mempool* pool = rte_pktmbuf_pool_create("ndp_probe", 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    if (pool == nullptr) return std::nullopt;
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr || !nvmeddp::tcp::build_neighbor_solicitation(m, our_mac, our_ip, target)) {
        rte_pktmbuf_free(m);
        return std::nullopt;
    }
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    std::vector<uint8_t> frame(p, p + m->data_len);
    rte_pktmbuf_free(m);
    return frame;
}

const char* type_name(NdMessage::Type t) { return t == NdMessage::Type::Solicitation ? "NS" : "NA"; }

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) return fail("usage: ndp_kernel_probe <interface> <target IPv6> <target MAC>");
    const char* const interface = argv[1];
    const std::optional<IpAddress> target = IpAddress::parse(argv[2]);
    const std::optional<MacAddress> target_mac = parse_mac(argv[3]);
    if (!target || !target->is_v6() || !target_mac) return fail("bad target address or MAC");

    nvmeddp::pmd::EalOptions eal;
    eal.lcores = "0";
    eal.memory_mb = 64;
    eal.program = "ndp_kernel_probe";
    if (const std::string error = nvmeddp::pmd::init_eal(eal); !error.empty()) return fail("EAL: " + error);

    const int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd < 0) return fail(std::string("AF_PACKET socket: ") + std::strerror(errno) + " (needs root)");
    sockaddr_ll link{};
    link.sll_family = AF_PACKET;
    link.sll_protocol = htons(ETH_P_ALL);
    link.sll_ifindex = static_cast<int>(if_nametoindex(interface));
    if (link.sll_ifindex == 0) return fail(std::string("no interface ") + interface);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&link), sizeof link) != 0) {
        return fail(std::string("bind: ") + std::strerror(errno));
    }
    const std::optional<MacAddress> our_mac = interface_mac(fd, interface);
    if (!our_mac) return fail(std::string("SIOCGIFHWADDR: ") + std::strerror(errno));
    // The address the endpoint would use by default on this link.
    const IpAddress our_ip = nvmeddp::tcp::link_local_from_mac(*our_mac);
    const std::optional<std::vector<uint8_t>> ns = solicitation(*our_mac, our_ip, *target);
    if (!ns) return fail(std::string("building the NS: ") + rte_strerror(rte_errno));
    std::printf("ndp_kernel_probe: NS from %s (%s) for %s\n", our_ip.to_string().c_str(),
                our_mac->to_string().c_str(), target->to_string().c_str());

    // Resent every half second: the far end's address or link may take a moment to come up.
    for (int attempt = 0; attempt < kTries; ++attempt) {
        if (send(fd, ns->data(), ns->size(), 0) != static_cast<ssize_t>(ns->size())) {
            return fail(std::string("send: ") + std::strerror(errno));
        }
        pollfd p{fd, POLLIN, 0};
        while (poll(&p, 1, kWaitPerTryMs) > 0) {
            uint8_t buf[2048];
            sockaddr_ll from{};
            socklen_t from_len = sizeof from;
            const ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
            if (n <= 0) break;
            if (from.sll_pkttype == PACKET_OUTGOING) continue;  // our own NS, seen on the way out
            MacAddress eth_src;
            const std::optional<NdMessage> msg = nvmeddp::tcp::parse_nd({buf, static_cast<size_t>(n)}, &eth_src);
            if (!msg) continue;  // MLD reports, router solicitations, anything else the kernel sends
            std::printf("ndp_kernel_probe: got %s from %s to %s target %s link %s%s%s\n", type_name(msg->type),
                        msg->src_ip.to_string().c_str(), msg->dst_ip.to_string().c_str(),
                        msg->target.to_string().c_str(), msg->link_addr.to_string().c_str(),
                        msg->solicited ? " solicited" : "", msg->override_flag ? " override" : "");
            if (msg->type != NdMessage::Type::Advertisement || msg->target != *target) continue;
            if (!msg->solicited) return fail("the NA is not marked solicited");
            if (msg->link_addr != *target_mac) {
                return fail("the NA's target link-layer option is not " + target_mac->to_string());
            }
            if (eth_src != *target_mac) return fail("the NA came from " + eth_src.to_string());
            if (msg->dst_ip != our_ip) return fail("the NA went to " + msg->dst_ip.to_string());
            std::printf("ndp_kernel_probe: solicited NA for %s with link address %s: kernel answered\n",
                        target->to_string().c_str(), target_mac->to_string().c_str());
            close(fd);
            return 0;
        }
    }
    close(fd);
    return fail("no Neighbor Advertisement for " + target->to_string() + " after " + std::to_string(kTries) + " tries");
}
