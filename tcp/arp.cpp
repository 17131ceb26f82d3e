#include "tcp/arp.hpp"

#include <algorithm>
#include <cstring>

#include "pmd/packet/be_int.hpp"
#include "pmd/packet/net_headers.hpp"
#include "tcp/ethernet.hpp"

namespace nvmeddp::tcp {

namespace {


// RFC 826's packet for Ethernet hardware and IPv4 protocol addresses.
struct ArpBody {
    pmd::be16 htype;
    pmd::be16 ptype;
    uint8_t hlen;
    uint8_t plen;
    pmd::be16 op;
    uint8_t sha[6];
    uint8_t spa[4];
    uint8_t tha[6];
    uint8_t tpa[4];
};
static_assert(sizeof(ArpBody) == 28);
static_assert(offsetof(ArpBody, op) == 6 && offsetof(ArpBody, sha) == 8 && offsetof(ArpBody, spa) == 14 &&
              offsetof(ArpBody, tha) == 18 && offsetof(ArpBody, tpa) == 24);

inline constexpr uint16_t kHtypeEthernet = 1;
inline constexpr uint8_t kHlenEthernet = 6;
inline constexpr uint8_t kPlenIpv4 = 4;

MacAddress mac_from(const uint8_t* p) noexcept {
    MacAddress m;
    std::memcpy(m.bytes.data(), p, m.bytes.size());
    return m;
}

bool usable_neighbour(const IpAddress& ip, const MacAddress& mac) noexcept {
    if (ip.family == IpAddress::Family::None) return false;
    if (ip.is_v4() && ip.bytes[0] == 0 && ip.bytes[1] == 0 && ip.bytes[2] == 0 && ip.bytes[3] == 0) return false;
    const bool multicast = (mac.bytes[0] & 0x01) != 0;  // the I/G bit; broadcast included
    return !mac.is_zero() && !multicast;
}

}  // namespace

std::optional<ArpMessage> parse_arp(std::span<const uint8_t> frame) noexcept {
    const std::optional<EthernetPayload> l2 = read_ethernet(frame);
    if (!l2) return std::nullopt;
    const uint16_t type = l2->ether_type;
    const size_t at = l2->offset;
    if (type != pmd::ether_type::kArp || frame.size() - at < sizeof(ArpBody)) return std::nullopt;
    ArpBody body;
    std::memcpy(&body, frame.data() + at, sizeof body);
    const uint16_t op = body.op.get();
    if (body.htype.get() != kHtypeEthernet || body.ptype.get() != pmd::ether_type::kIpv4 ||
        body.hlen != kHlenEthernet || body.plen != kPlenIpv4 || (op != arp_op::kRequest && op != arp_op::kReply)) {
        return std::nullopt;
    }
    ArpMessage msg;
    msg.op = op;
    msg.sender_mac = mac_from(body.sha);
    msg.sender_ip = IpAddress::v4(body.spa[0], body.spa[1], body.spa[2], body.spa[3]);
    msg.target_mac = mac_from(body.tha);
    msg.target_ip = IpAddress::v4(body.tpa[0], body.tpa[1], body.tpa[2], body.tpa[3]);
    return msg;
}

bool build_arp(rte_mbuf* m, const MacAddress& eth_dst, const MacAddress& eth_src, const ArpMessage& msg,
               bool has_vlan, uint16_t vlan_tci) noexcept {
    if (m == nullptr || m->pkt_len != 0 || !msg.sender_ip.is_v4() || !msg.target_ip.is_v4()) return false;
    if (rte_pktmbuf_tailroom(m) < pmd::kEtherMinFrameLen) return false;
    auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, pmd::kEtherMinFrameLen));
    std::memset(frame, 0, pmd::kEtherMinFrameLen);

    const size_t at = write_ethernet(frame, eth_dst, eth_src, has_vlan, vlan_tci, pmd::ether_type::kArp);

    ArpBody body;
    body.htype.set(kHtypeEthernet);
    body.ptype.set(pmd::ether_type::kIpv4);
    body.hlen = kHlenEthernet;
    body.plen = kPlenIpv4;
    body.op.set(msg.op);
    std::memcpy(body.sha, msg.sender_mac.bytes.data(), sizeof body.sha);
    std::memcpy(body.spa, msg.sender_ip.bytes.data(), sizeof body.spa);
    std::memcpy(body.tha, msg.target_mac.bytes.data(), sizeof body.tha);
    std::memcpy(body.tpa, msg.target_ip.bytes.data(), sizeof body.tpa);
    std::memcpy(frame + at, &body, sizeof body);
    return true;
}

NeighbourTable::NeighbourTable(const Config& config) : config_(config), entries_(config.capacity) {
    config_.max_tries = std::max<uint32_t>(config_.max_tries, 1);
}

NeighbourTable::Entry* NeighbourTable::find(const IpAddress& ip) noexcept {
    for (Entry& e : entries_) {
        if (e.state != State::Free && e.ip == ip) return &e;
    }
    return nullptr;
}

// When full, the oldest entry that is not pending goes (the one learned or given up longest ago): a
// pending entry is a resolution in flight that a connection is waiting for, and dropping it would
// only make that connection start over and send its requests again. Resolved and failed entries
// cost nothing to recreate but one request.
NeighbourTable::Entry* NeighbourTable::take_entry() noexcept {
    Entry* oldest = nullptr;
    for (Entry& e : entries_) {
        if (e.state == State::Free) return &e;
        if (e.state != State::Pending && (oldest == nullptr || e.since_us < oldest->since_us)) oldest = &e;
    }
    if (oldest != nullptr) {
        oldest->state = State::Free;
        --used_;
    }
    return oldest;
}

void NeighbourTable::start_resolving(Entry& e, const IpAddress& ip, uint64_t now_us) noexcept {
    if (e.state == State::Free) ++used_;
    e.ip = ip;
    e.mac = MacAddress{};
    e.state = State::Pending;
    e.tries = 1;
    e.since_us = now_us;
}

bool NeighbourTable::lookup(const IpAddress& ip, uint64_t now_us, MacAddress* mac) noexcept {
    const Entry* e = find(ip);
    if (e == nullptr || e->state != State::Resolved || now_us - e->since_us >= config_.entry_ttl_us) return false;
    if (mac != nullptr) *mac = e->mac;
    return true;
}

NeighbourTable::Resolution NeighbourTable::resolve(const IpAddress& ip, uint64_t now_us, MacAddress* mac) noexcept {
    if (ip.family == IpAddress::Family::None) return Resolution::Failed;
    Entry* e = find(ip);
    if (e == nullptr) {
        e = take_entry();
        if (e == nullptr) return Resolution::Failed;  // every entry pending: no room to track another
        start_resolving(*e, ip, now_us);
        return Resolution::SendRequest;
    }
    switch (e->state) {
        case State::Resolved:
            if (now_us - e->since_us >= config_.entry_ttl_us) {
                start_resolving(*e, ip, now_us);
                return Resolution::SendRequest;
            }
            if (mac != nullptr) *mac = e->mac;
            return Resolution::Resolved;
        case State::Pending:
            if (now_us - e->since_us < config_.retry_interval_us) return Resolution::Waiting;
            if (e->tries >= config_.max_tries) {
                e->state = State::Failed;
                e->since_us = now_us;
                return Resolution::Failed;
            }
            ++e->tries;
            e->since_us = now_us;
            return Resolution::SendRequest;
        case State::Failed:
        case State::Free:
            break;
    }
    return Resolution::Failed;
}

void NeighbourTable::learn(const IpAddress& ip, const MacAddress& mac, uint64_t now_us) noexcept {
    if (!usable_neighbour(ip, mac)) return;
    Entry* e = find(ip);
    if (e == nullptr) {
        e = take_entry();
        if (e == nullptr) return;  // full of pending resolutions, which matter more than this one
        ++used_;
        e->ip = ip;
    }
    e->mac = mac;
    e->state = State::Resolved;
    e->tries = 0;
    e->since_us = now_us;
}

void NeighbourTable::forget(const IpAddress& ip) noexcept {
    if (Entry* e = find(ip); e != nullptr) {
        e->state = State::Free;
        --used_;
    }
}

}  // namespace nvmeddp::tcp
