// IPv4 neighbour resolution (RFC 826 ARP over Ethernet): reading and writing ARP frames, and the
// table of neighbours' link addresses with the request/retry/expiry timing that drives it. IPv6
// neighbour discovery comes later and will use the same table.
//
// The table is a fixed array searched linearly: a connection resolves its next hop when it is set up
// (and when the entry expires), not per packet, and a few hundred entries are scanned in well under a
// microsecond. It allocates only in its constructor.
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tcp/addresses.hpp"

namespace nvmeddp::tcp {

namespace arp_op {
inline constexpr uint16_t kRequest = 1;
inline constexpr uint16_t kReply = 2;
}  // namespace arp_op

struct ArpMessage {
    uint16_t op = 0;  // arp_op: 1 request, 2 reply
    MacAddress sender_mac;
    IpAddress sender_ip;
    MacAddress target_mac;
    IpAddress target_ip;
};

// A whole received Ethernet frame (with at most one 802.1Q tag) holding an Ethernet/IPv4 ARP message
// (htype 1, ptype 0x0800, hlen 6, plen 4, op 1 or 2): the message; else nullopt. Bytes after the
// message (padding) are ignored.
std::optional<ArpMessage> parse_arp(std::span<const uint8_t> frame) noexcept;

// Writes a whole ARP frame (zero-padded to Ethernet's 60-byte minimum) into the empty mbuf m. false,
// and m untouched, when it has no room, is not empty, or an address of msg is not IPv4.
bool build_arp(rte_mbuf* m, const MacAddress& eth_dst, const MacAddress& eth_src, const ArpMessage& msg,
               bool has_vlan = false, uint16_t vlan_tci = 0) noexcept;

// NeighbourTable::Config. Declared outside the class because GCC cannot use a nested class's default
// member initialisers in a default argument of the enclosing class (`= Config{}` there does not compile).
struct NeighbourTableConfig {
    size_t capacity = 256;
    uint64_t entry_ttl_us = 60'000'000;     // a learned address is used this long, then resolved again
    uint64_t retry_interval_us = 1'000'000;  // between requests for an unanswered address
    uint32_t max_tries = 3;                  // requests before the address is given up (at least 1)
};

// Neighbours' link addresses: fixed capacity, no allocation after construction, one lcore (no locks).
class NeighbourTable {
public:
    using Config = NeighbourTableConfig;

    explicit NeighbourTable(const Config& config = Config{});

    enum class Resolution : uint8_t { Resolved, SendRequest, Waiting, Failed };

    // Resolved: *mac set (when mac is not null). SendRequest: the caller sends a request now (on the
    // first call for an address, and once per retry_interval after). Waiting: between tries. Failed:
    // max_tries requests went unanswered for retry_interval each; it stays so until forget() or a
    // learn() of the address. Failed too, untracked, when the table is full of pending addresses
    // (a later call tries again, once one has resolved or failed). A learned address older than
    // entry_ttl_us is resolved again from the start (SendRequest), as if new.
    Resolution resolve(const IpAddress& ip, uint64_t now_us, MacAddress* mac) noexcept;

    // From any ARP message naming a sender (RFC 826 merge), replies and requests: records or
    // refreshes ip -> mac, ending a pending or failed resolution. Ignored for an address that is not
    // usable (family None, 0.0.0.0 as in RFC 5227 probes) and for a MAC that is zero or multicast.
    void learn(const IpAddress& ip, const MacAddress& mac, uint64_t now_us) noexcept;

    void forget(const IpAddress& ip) noexcept;

    // The address's MAC if it is resolved and fresh, without starting a resolution.
    bool lookup(const IpAddress& ip, uint64_t now_us, MacAddress* mac) noexcept;

    // Entries in use, whatever their state.
    size_t size() const noexcept { return used_; }

private:
    enum class State : uint8_t { Free, Pending, Resolved, Failed };
    struct Entry {
        IpAddress ip;
        MacAddress mac;
        State state = State::Free;
        uint32_t tries = 0;  // requests sent (Pending)
        uint64_t since_us = 0;  // Pending: last request; Resolved: learned; Failed: given up
    };

    Entry* find(const IpAddress& ip) noexcept;
    // A free entry, or else the oldest that is not pending (evicted); null when all are pending.
    Entry* take_entry() noexcept;
    void start_resolving(Entry& e, const IpAddress& ip, uint64_t now_us) noexcept;

    Config config_;
    std::vector<Entry> entries_;
    size_t used_ = 0;
};

}  // namespace nvmeddp::tcp
