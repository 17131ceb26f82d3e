#include "tcp/endpoint.hpp"

#include <rte_ethdev.h>
#include <rte_random.h>

#include <algorithm>
#include <cstring>

#include "pmd/dpdk/offload_port.hpp"
#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/l4_checksum.hpp"
#include "pmd/packet/net_headers.hpp"
#include "tcp/clock.hpp"
#include "tcp/mbuf_trim.hpp"

namespace nvmeddp::tcp {

namespace flags = pmd::tcp_flags;

namespace {

// 1 ms ticks over 4 s per turn: RTOs of 200 ms and more, delayed ACKs of 40 ms; TIME-WAIT's
// 60 s takes a few rounds of the wheel, checked when its bucket comes by.
constexpr uint32_t kWheelSlots = 4096;
constexpr uint64_t kWheelTickUs = 1000;
// Later segments of a received frame the checksum walks (a jumbo frame in 2 KiB mbufs needs 5).
constexpr size_t kMaxChunks = 64;

// A TSO frame's payload at most: its IP length field (16 bits) must hold the largest IP and TCP
// headers as well.
constexpr uint32_t kTsoMaxPayload = 65535 - 20 - 60;

// How big a TSO frame's segments may be on the wire, Ethernet header included, where the port
// limits that below what the MTU allows (0: no such limit). DPDK 22.11's net_tap refuses a TSO
// frame whose segment size plus all its headers, Ethernet's included, exceeds the MTU, so at an MTU
// of 1500 a 1448-byte segment with timestamps (1514 bytes) would be dropped as an error.
uint32_t tso_wire_segment_limit(uint16_t port, const rte_eth_dev_info& info) {
    if (info.driver_name == nullptr || std::strcmp(info.driver_name, "net_tap") != 0) return 0;
    uint16_t mtu = 0;
    return rte_eth_dev_get_mtu(port, &mtu) == 0 ? mtu : 1500;
}

// The source and destination address of a parsed segment's IP header, either family.
IpAddress address_at(std::span<const uint8_t> first, const pmd::TcpSegment& seg, bool source) {
    IpAddress a;
    if (seg.flow.family == pmd::IpFamily::Ipv4) {
        const size_t at = seg.l3_offset + (source ? offsetof(pmd::Ipv4Header, src) : offsetof(pmd::Ipv4Header, dst));
        a.family = IpAddress::Family::V4;
        std::copy_n(first.data() + at, 4, a.bytes.data());
    } else {
        const size_t at = seg.l3_offset + (source ? offsetof(pmd::Ipv6Header, src) : offsetof(pmd::Ipv6Header, dst));
        a.family = IpAddress::Family::V6;
        std::copy_n(first.data() + at, 16, a.bytes.data());
    }
    return a;
}

// The TCP checksum of a received frame, from the port's verdict where it gave one.
bool checksum_ok(const rte_mbuf* m, std::span<const uint8_t> first, const pmd::TcpSegment& seg) {
    const uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    const uint64_t ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD || ip == RTE_MBUF_F_RX_IP_CKSUM_BAD) return false;
    if (ip != RTE_MBUF_F_RX_IP_CKSUM_GOOD && seg.flow.family == pmd::IpFamily::Ipv4 &&
        !pmd::ipv4_header_checksum_ok(first, seg)) {
        return false;
    }
    if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD) return true;
    pmd::ByteChunk chunks[kMaxChunks];
    size_t n = 0;
    for (const rte_mbuf* s = m->next; s != nullptr; s = s->next) {
        if (n == kMaxChunks) return false;  // longer than any frame we take: not checked, not taken
        chunks[n++] = pmd::ByteChunk{rte_pktmbuf_mtod(s, const uint8_t*), s->data_len};
    }
    return pmd::tcp_checksum_ok(first, seg, {chunks, n});
}

}  // namespace

Endpoint::Endpoint(const EndpointConfig& config, TxChecksum tx_checksum)
    : config_(config),
      tx_checksum_(tx_checksum),
      builder_(tx_checksum),
      timers_(kWheelSlots, kWheelTickUs, tsc_now_us()),
      tx_(&Endpoint::send_frames, this),
      neighbours_(NeighbourTable::Config{}) {}

Endpoint::~Endpoint() = default;

std::unique_ptr<Endpoint> Endpoint::create(const EndpointConfig& config, std::string* error) {
    auto fail = [&](std::string why) -> std::unique_ptr<Endpoint> {
        if (error != nullptr) *error = std::move(why);
        return nullptr;
    };
    if (config.pool == nullptr) return fail("no mbuf pool given");
    if (!config.local_ip.is_v4() && !config.local_ip.is_v6()) return fail("no local address (IPv4 or IPv6) given");
    if (config.max_connections == 0) return fail("max_connections must be at least 1");
    if (config.ooo_queues > config.max_connections)
        return fail("ooo_queues (" + std::to_string(config.ooo_queues) + ") exceeds max_connections (" +
                    std::to_string(config.max_connections) + "): each connection needs at most one");
    if (config.first_local_port == 0 || config.first_local_port > config.last_local_port)
        return fail("local port range is empty");
    if (std::string why = config.connection.validate(); !why.empty()) return fail("connection config: " + why);
    if (!rte_eth_dev_is_valid_port(config.port)) return fail("port " + std::to_string(config.port) + " does not exist");
    rte_ether_addr mac;
    if (rte_eth_macaddr_get(config.port, &mac) != 0) return fail("cannot read the port's MAC address");

    EndpointConfig adjusted = config;
    // An IPv6 header is 20 bytes longer: the MSS we announce shrinks by as much (1440 at MTU 1500).
    if (config.local_ip.is_v6() && adjusted.connection.mss > 20) adjusted.connection.mss -= 20;
    // The port computes our checksums when it was configured to (IPv4 needs the header checksum too).
    TxChecksum tx_checksum = TxChecksum::Software;
    if (config.tx_checksum_offload) {
        const uint64_t tx = pmd::configured_tx_offloads(config.port);
        const bool tcp = (tx & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0;
        const bool ip = (tx & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0 || config.local_ip.is_v6();
        if (tcp && ip) tx_checksum = TxChecksum::Offload;
    }
    std::unique_ptr<Endpoint> e(new Endpoint(adjusted, tx_checksum));
    std::memcpy(e->mac_.bytes.data(), mac.addr_bytes, 6);
    if (!config.mac.is_zero()) e->mac_ = config.mac;
    e->ctx_.pool = config.pool;
    e->ctx_.builder = &e->builder_;
    e->ctx_.timers = &e->timers_;
    e->ctx_.tx = &e->tx_;
    e->ctx_.now_us = tsc_now_us();
    rte_eth_dev_info info;
    if (rte_eth_dev_info_get(config.port, &info) != 0) return fail("cannot read the port's capabilities");
    e->ctx_.linear_tx = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) == 0;
    if (config.tso && tx_checksum == TxChecksum::Offload && !e->ctx_.linear_tx &&
        (pmd::configured_tx_offloads(config.port) & RTE_ETH_TX_OFFLOAD_TCP_TSO) != 0) {
        e->ctx_.tso_max_payload = kTsoMaxPayload;
        e->ctx_.tso_max_wire_segment = tso_wire_segment_limit(config.port, info);
    }
    const uint32_t ooo_queues = config.ooo_queues != 0 ? config.ooo_queues
                                                       : OutOfOrderReserve::default_queues(config.max_connections);
    e->ooo_reserve_ = std::make_unique<OutOfOrderReserve>(ooo_queues, adjusted.connection.ooo_segments);
    e->ctx_.ooo_reserve = e->ooo_reserve_.get();
    e->ctx_.owner = e.get();
    e->ctx_.mark_dirty = &Endpoint::on_dirty;
    e->ctx_.released = &Endpoint::on_released;
    e->connections_.reserve(config.max_connections);
    for (uint32_t i = 0; i < config.max_connections; ++i) {
        e->connections_.push_back(std::make_unique<Connection>(e->config_.connection, e->ctx_));
        e->connections_.back()->slot = i;
    }
    for (uint32_t i = config.max_connections; i-- > 0;) e->free_.push_back(e->connections_[i].get());
    // Twice as many buckets as connections keeps chains short; sized here, never grown.
    e->buckets_.assign(std::bit_ceil(config.max_connections * 2u), UINT32_MAX);
    // A connection is on the dirty list at most once per pass, and a handler may dirty it again
    // while the list is being worked through: room for several passes, so push_back never grows it.
    e->dirty_.reserve(config.max_connections * 8u);
    e->resolving_.reserve(config.max_connections);
    e->listeners_.reserve(16);
    e->next_local_port_ = config.first_local_port;
    if (config.steer_connections) {
        e->steering_ = std::make_unique<ConnectionSteering>(config.port, config.rx_queue, config.steer_priority,
                                                           config.max_connections);
    }
    return e;
}

uint32_t Endpoint::open_connections() const noexcept {
    return config_.max_connections - static_cast<uint32_t>(free_.size());
}

uint32_t Endpoint::active_connections() const noexcept {
    uint32_t n = 0;
    for (const auto& c : connections_) {
        if (active(c->state())) ++n;
    }
    return n;
}

void Endpoint::abort_all() {
    for (const auto& c : connections_) {
        if (active(c->state())) c->abort();
    }
}

Seq Endpoint::new_iss() noexcept { return Seq(static_cast<uint32_t>(rte_rand())); }

Route Endpoint::route_to(const IpAddress& remote, const MacAddress& mac, uint16_t local_port,
                         uint16_t remote_port) const {
    Route r;
    r.src_mac = mac_;
    r.dst_mac = mac;
    r.has_vlan = config_.has_vlan;
    r.vlan_tci = config_.vlan_tci;
    r.src_ip = config_.local_ip;
    r.dst_ip = remote;
    r.src_port = local_port;
    r.dst_port = remote_port;
    return r;
}

uint32_t Endpoint::bucket_of(const IpAddress& remote, uint16_t remote_port, uint16_t local_port) const noexcept {
    uint32_t h = 2166136261u;
    auto mix = [&h](uint8_t b) { h = (h ^ b) * 16777619u; };
    const size_t len = remote.is_v6() ? 16 : 4;
    for (size_t i = 0; i < len; ++i) mix(remote.bytes[i]);
    mix(static_cast<uint8_t>(remote_port));
    mix(static_cast<uint8_t>(remote_port >> 8));
    mix(static_cast<uint8_t>(local_port));
    mix(static_cast<uint8_t>(local_port >> 8));
    return h & static_cast<uint32_t>(buckets_.size() - 1);
}

Connection* Endpoint::lookup(const IpAddress& remote, uint16_t remote_port, uint16_t local_port) const {
    for (uint32_t i = buckets_[bucket_of(remote, remote_port, local_port)]; i != UINT32_MAX;) {
        Connection* c = connections_[i].get();
        const Route& r = c->route();
        if (r.dst_port == remote_port && r.src_port == local_port && r.dst_ip == remote) return c;
        i = c->table_next;
    }
    return nullptr;
}

void Endpoint::insert(Connection& c) {
    const Route& r = c.route();
    uint32_t& head = buckets_[bucket_of(r.dst_ip, r.dst_port, r.src_port)];
    c.table_next = head;
    head = c.slot;
}

void Endpoint::remove(Connection& c) {
    const Route& r = c.route();
    uint32_t* link = &buckets_[bucket_of(r.dst_ip, r.dst_port, r.src_port)];
    while (*link != UINT32_MAX) {
        if (*link == c.slot) {
            *link = c.table_next;
            c.table_next = UINT32_MAX;
            return;
        }
        link = &connections_[*link]->table_next;
    }
}

Connection* Endpoint::take_slot() {
    if (free_.empty()) reclaim_slot();
    if (free_.empty()) return nullptr;
    Connection* c = free_.back();
    free_.pop_back();
    return c;
}

void Endpoint::free_slot(Connection* c) {
    if (steering_) steering_->release(c->slot);
    free_.push_back(c);
}

bool Endpoint::neighbour(const IpAddress& ip, MacAddress* mac) {
    return neighbours_.lookup(ip, ctx_.now_us, mac);
}

void Endpoint::learn_neighbour(const IpAddress& ip, const MacAddress& mac) { neighbours_.learn(ip, mac, ctx_.now_us); }

void Endpoint::learned(const IpAddress& ip, const MacAddress& mac) {
    neighbours_.learn(ip, mac, ctx_.now_us);
    if (config_.neighbour_board != nullptr) config_.neighbour_board->post(ip, mac, ctx_.now_us);
}

void Endpoint::consult_board(const IpAddress& ip) {
    if (config_.neighbour_board == nullptr || neighbours_.lookup(ip, ctx_.now_us, nullptr)) return;
    MacAddress mac;
    uint64_t at = 0;
    if (!config_.neighbour_board->find(ip, &mac, &at)) return;
    // As old as it is (a stale answer is asked again when it would have expired here).
    const uint64_t ttl = NeighbourTableConfig{}.entry_ttl_us;
    if (at > ctx_.now_us) at = ctx_.now_us;
    if (ctx_.now_us - at < ttl) neighbours_.learn(ip, mac, at);
}


void Endpoint::reclaim_slot() {
    // Every slot is taken. Two kinds of connection hold one for little use, and Linux limits both:
    //  - TIME-WAIT only guards an old four-tuple against late segments (which would now get a RST):
    //    Linux drops TIME-WAIT sockets past tcp_max_tw_buckets;
    //  - an orphan (closed by its application, no handler any more) still finishing its close: a
    //    peer that died keeps it retransmitting its FIN for minutes; Linux resets orphans past
    //    tcp_max_orphans. This one gets a RST.
    // Without this a host that closes its queues in order could run out of slots on reconnecting.
    // Only a connection with nothing left to tell anyone (not dirty, its on_closed delivered or no
    // handler) is taken, so this never runs a connection's work from inside its own callbacks.
    Connection* orphan = nullptr;
    for (const auto& c : connections_) {
        if (!c->quiet()) continue;
        if (c->state() == TcpState::TimeWait && c->closed_notified()) {
            ++stats_.time_wait_recycled;
            c->abort();        // no RST from TIME-WAIT: just CLOSED
            c->after_burst();  // released: back in free_
            return;
        }
        if (orphan == nullptr && c->handler() == nullptr && closing(c->state())) orphan = c.get();
    }
    if (orphan != nullptr) {
        ++stats_.orphans_reset;
        orphan->abort();
        orphan->after_burst();
    }
}

uint16_t Endpoint::pick_local_port(const IpAddress& remote, uint16_t remote_port) {
    const uint32_t range = uint32_t{config_.last_local_port} - config_.first_local_port + 1;
    for (uint32_t tries = 0; tries < range; ++tries) {
        const uint16_t p = next_local_port_;
        next_local_port_ = p == config_.last_local_port ? config_.first_local_port : static_cast<uint16_t>(p + 1);
        if (lookup(remote, remote_port, p) == nullptr) return p;
    }
    return 0;
}

Connection* Endpoint::connect(const IpAddress& remote, uint16_t remote_port, ConnectionHandler* handler,
                              std::string* error) {
    auto fail = [&](const std::string& why) -> Connection* {
        if (error != nullptr) *error = why;
        return nullptr;
    };
    if (remote.family != config_.local_ip.family) {
        return fail("peer " + remote.to_string() + " is not of the local address's family (" +
                    config_.local_ip.to_string() + ")");
    }
    if (remote_port == 0) return fail("peer port 0");
    if (handler == nullptr) return fail("no handler");
    const uint16_t local_port = pick_local_port(remote, remote_port);
    if (local_port == 0) return fail("no free local port toward " + remote.to_string());
    Connection* c = take_slot();
    if (c == nullptr) {
        return fail("all " + std::to_string(config_.max_connections) + " connection slots are in use");
    }
    Resolving r;
    r.connection = c;
    r.handler = handler;
    r.route = route_to(remote, MacAddress{}, local_port, remote_port);
    if (std::string why; steering_ && !steering_->steer(c->slot, r.route, &why)) {
        free_.push_back(c);  // never used: nothing to release
        ++stats_.steer_refused;
        return fail("port " + std::to_string(config_.port) + " cannot steer the connection to rx queue " +
                    std::to_string(config_.rx_queue) + ": " + why);
    }
    c->await_route();
    // Not yet in the table: a CLOSED slot with its route, so lookups of its tuple find it once open.
    resolving_.push_back(r);
    ++stats_.connections_opened;
    // The handler hears only from poll(), never from inside connect(). A peer that did not answer
    // before is asked again now: it may be back.
    MacAddress mac;
    consult_board(remote);
    switch (neighbours_.resolve(remote, ctx_.now_us, &mac)) {
        case NeighbourTable::Resolution::Failed: neighbours_.forget(remote); break;
        case NeighbourTable::Resolution::SendRequest: solicit(remote); break;
        default: break;
    }
    return c;
}

bool Endpoint::listen(uint16_t local_port, AcceptFn accept, void* user, std::string* error) {
    if (accept == nullptr || local_port == 0) {
        if (error != nullptr) *error = "listen needs a port and an accept function";
        return false;
    }
    for (const Listener& l : listeners_) {
        if (l.port == local_port) {
            if (error != nullptr) *error = "port " + std::to_string(local_port) + " is already listening";
            return false;
        }
    }
    if (listeners_.size() == listeners_.capacity()) {
        if (error != nullptr) *error = "too many listening ports";
        return false;
    }
    listeners_.push_back(Listener{local_port, accept, user});
    return true;
}

void Endpoint::resolve_pending() {
    for (size_t i = 0; i < resolving_.size();) {
        Resolving& r = resolving_[i];
        if (r.connection->route_cancelled()) {
            // The application closed it before it opened: the slot is free again, nothing to say.
            free_slot(r.connection);
            resolving_[i] = resolving_.back();
            resolving_.pop_back();
            continue;
        }
        MacAddress mac;
        consult_board(r.route.dst_ip);
        const auto state = neighbours_.resolve(r.route.dst_ip, ctx_.now_us, &mac);
        if (state == NeighbourTable::Resolution::SendRequest) solicit(r.route.dst_ip);
        if (state == NeighbourTable::Resolution::Resolved) {
            r.route.dst_mac = mac;
            Connection* c = r.connection;
            c->open_active(r.route, new_iss(), r.handler);
            insert(*c);
        } else if (state == NeighbourTable::Resolution::Failed) {
            // Never opened: tell the application, and the slot is free again at once.
            ConnectionHandler* h = r.handler;
            Connection* c = r.connection;
            free_slot(c);
            resolving_[i] = resolving_.back();
            resolving_.pop_back();
            h->on_closed(*c, TcpError::Unreachable);
            continue;
        } else {
            ++i;
            continue;
        }
        resolving_[i] = resolving_.back();
        resolving_.pop_back();
    }
}

void Endpoint::solicit(const IpAddress& target) {
    ++stats_.arp_requests_sent;
    if (target.is_v4()) {
        send_arp(1, MacAddress::broadcast(), MacAddress{}, target);
        return;
    }
    rte_mbuf* m = rte_pktmbuf_alloc(config_.pool);
    if (m == nullptr) return;
    if (!build_neighbor_solicitation(m, mac_, config_.local_ip, target, config_.has_vlan, config_.vlan_tci)) {
        rte_pktmbuf_free(m);
        return;
    }
    tx_.push(m);
}

void Endpoint::receive_nd(const NdMessage& msg, const MacAddress& eth_src) {
    ++stats_.rx_nd;
    if (!config_.local_ip.is_v6()) return;
    if (msg.type == NdMessage::Type::Solicitation) {
        // Only for our address, and not a duplicate-address probe (from ::), which we do not answer:
        // the address is configured, not being claimed.
        if (msg.target != config_.local_ip || msg.link_addr.is_zero()) return;
        learned(msg.src_ip, msg.link_addr);
        rte_mbuf* m = rte_pktmbuf_alloc(config_.pool);
        if (m == nullptr) return;
        if (!build_neighbor_advertisement(m, mac_, config_.local_ip, eth_src, msg.src_ip, true, config_.has_vlan,
                                          config_.vlan_tci)) {
            rte_pktmbuf_free(m);
            return;
        }
        ++stats_.arp_replies_sent;
        tx_.push(m);
        return;
    }
    // An advertisement: the target's link address (its option, else the frame's source).
    learned(msg.target, msg.link_addr.is_zero() ? eth_src : msg.link_addr);
}

void Endpoint::send_arp(uint16_t op, const MacAddress& eth_dst, const MacAddress& target_mac,
                        const IpAddress& target_ip) {
    rte_mbuf* m = rte_pktmbuf_alloc(config_.pool);
    if (m == nullptr) return;
    ArpMessage msg;
    msg.op = op;
    msg.sender_mac = mac_;
    msg.sender_ip = config_.local_ip;
    msg.target_mac = target_mac;
    msg.target_ip = target_ip;
    if (!build_arp(m, eth_dst, mac_, msg, config_.has_vlan, config_.vlan_tci)) {
        rte_pktmbuf_free(m);
        return;
    }
    tx_.push(m);
}

void Endpoint::receive_arp(const ArpMessage& msg) {
    ++stats_.rx_arp;
    if (msg.target_ip != config_.local_ip) {
        // RFC 826: update an entry we already have, but learn nothing from others' conversations.
        return;
    }
    learned(msg.sender_ip, msg.sender_mac);
    if (msg.op == 1) {
        send_arp(2, msg.sender_mac, msg.sender_mac, msg.sender_ip);
        ++stats_.arp_replies_sent;
    }
}

void Endpoint::reply_rst(const Route& route, const InSegment& s) {
    // RFC 9293 3.10.7.1: to a segment with ACK, RST with seq = its ack; else RST|ACK acknowledging it.
    if (s.flags & flags::kRst) return;
    rte_mbuf* hdr = rte_pktmbuf_alloc(config_.pool);
    if (hdr == nullptr) return;
    SegmentFields f;
    if (s.flags & flags::kAck) {
        f.seq = s.ack;
        f.flags = flags::kRst;
    } else {
        f.seq = Seq(0);
        f.ack = s.seq + s.len + ((s.flags & flags::kSyn) ? 1u : 0u) + ((s.flags & flags::kFin) ? 1u : 0u);
        f.flags = flags::kRst | flags::kAck;
    }
    rte_mbuf* frame = builder_.build_copy(hdr, route, f, {});
    if (frame == nullptr) {
        rte_pktmbuf_free(hdr);
        return;
    }
    ++stats_.rsts_sent;
    tx_.push(frame);
}

void Endpoint::receive(rte_mbuf* m) {
    ++stats_.rx_frames;
    const std::span<const uint8_t> first(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len);
    if (first.size() >= sizeof(pmd::EthernetHeader)) {
        const auto* eth = reinterpret_cast<const pmd::EthernetHeader*>(first.data());
        if (std::memcmp(eth->src, mac_.bytes.data(), 6) == 0) {
            // Our own frame seen again (a capture socket that hears its own sends): not for us.
            ++stats_.rx_not_for_us;
            rte_pktmbuf_free(m);
            return;
        }
        if (std::optional<ArpMessage> arp = parse_arp(first)) {
            receive_arp(*arp);
            rte_pktmbuf_free(m);
            return;
        }
        MacAddress eth_src;
        if (std::optional<NdMessage> nd = parse_nd(first, &eth_src)) {
            receive_nd(*nd, eth_src);
            rte_pktmbuf_free(m);
            return;
        }
    }
    receive_tcp(m);
}

void Endpoint::receive_tcp(rte_mbuf* m) {
    const std::span<const uint8_t> first(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len);
    const pmd::FrameParse parsed = pmd::parse_frame(first, m->pkt_len);
    if (!parsed.ok()) {
        if (parsed.error == pmd::FrameError::NotIp || parsed.error == pmd::FrameError::NotTcp) {
            ++stats_.rx_not_for_us;
        } else {
            ++stats_.rx_bad_frame;
        }
        rte_pktmbuf_free(m);
        return;
    }
    const pmd::TcpSegment& seg = parsed.segment;
    const IpAddress dst = address_at(first, seg, false);
    const bool vlan_ok = config_.has_vlan ? (seg.vlan_count == 1 && seg.vlan_ids[0] == (config_.vlan_tci & 0x0FFF))
                                          : seg.vlan_count == 0;
    if (dst != config_.local_ip || !vlan_ok) {
        ++stats_.rx_not_for_us;
        rte_pktmbuf_free(m);
        return;
    }
    if (!checksum_ok(m, first, seg)) {
        ++stats_.rx_bad_checksum;
        rte_pktmbuf_free(m);
        return;
    }

    const auto* th = reinterpret_cast<const pmd::TcpHeader*>(first.data() + seg.l4_offset);
    InSegment s;
    s.seq = Seq(seg.seq);
    s.ack = Seq(seg.ack);
    s.flags = seg.tcp_flags;
    s.window = th->window.get();
    const size_t options_at = seg.l4_offset + sizeof(pmd::TcpHeader);
    const size_t tcp_header_len = size_t{th->header_words()} * 4;
    const OptionsParse op = parse_options(first.subspan(options_at, tcp_header_len - sizeof(pmd::TcpHeader)));
    s.options = op.options;
    s.options_bad = op.error != OptionsError::None;
    const IpAddress src = address_at(first, seg, true);
    const uint16_t src_port = seg.flow.src_port;
    const uint16_t dst_port = seg.flow.dst_port;
    const MacAddress src_mac = [&] {
        MacAddress a;
        std::memcpy(a.bytes.data(), first.data() + 6, 6);
        return a;
    }();

    // The payload alone, in the same mbuf: headers cut off the front, padding off the back. The
    // head mbuf keeps its DDP metadata.
    s.len = seg.payload_len;
    if (s.take_lro(m)) ++stats_.rx_lro;
    if (s.len == 0) {
        rte_pktmbuf_free(m);
    } else {
        rte_pktmbuf_adj(m, seg.payload_offset);
        if (m->pkt_len > s.len) trim_back(m, m->pkt_len - s.len);
        s.payload = m;
    }

    Connection* c = lookup(src, src_port, dst_port);
    if (c == nullptr) {
        ++stats_.rx_no_connection;
        const Route back = route_to(src, src_mac, dst_port, src_port);
        if ((s.flags & flags::kSyn) && !(s.flags & (flags::kAck | flags::kRst))) {
            for (const Listener& l : listeners_) {
                if (l.port != dst_port) continue;
                Connection* nc = take_slot();
                if (nc == nullptr) break;
                if (steering_ && !steering_->steer(nc->slot, back, nullptr)) {
                    free_.push_back(nc);
                    ++stats_.steer_refused;
                    break;
                }
                // The SYN tells us the peer's MAC: no ARP needed to answer it.
                learned(src, src_mac);
                nc->open_passive(back, new_iss(), s, nullptr);
                ConnectionHandler* h = l.accept(l.user, *nc);
                if (h == nullptr) {
                    nc->abort();
                    nc->after_burst();
                    return;
                }
                nc->set_handler(h);
                insert(*nc);
                ++stats_.connections_opened;
                --stats_.rx_no_connection;
                return;
            }
            ++stats_.connections_refused;
        }
        reply_rst(back, s);
        if (s.payload != nullptr) rte_pktmbuf_free(s.payload);
        return;
    }
    ++stats_.rx_tcp;
    c->input(s);
}

uint16_t Endpoint::poll() { return poll(tsc_now_us()); }

uint16_t Endpoint::poll(uint64_t now_us) {
    ctx_.now_us = now_us;
    rte_mbuf* burst[64];
    const uint16_t want = std::min<uint16_t>(config_.burst, 64);
    const uint64_t rx_start = rte_get_timer_cycles();
    const uint16_t n = rte_eth_rx_burst(config_.port, config_.rx_queue, burst, want);
    if (n > 0) stats_.rx_burst_cycles += rte_get_timer_cycles() - rx_start;
    for (uint16_t i = 0; i < n; ++i) {
        if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(burst[i + 1], void*));
        receive(burst[i]);
    }
    timers_.advance(now_us);
    if (!resolving_.empty()) resolve_pending();
    // Work through the connections that had something happen; a handler may add more (or the same
    // again) while this runs, which the index loop picks up.
    for (size_t i = 0; i < dirty_.size(); ++i) dirty_[i]->after_burst();
    dirty_.clear();
    tx_.flush();
    return n;
}

uint16_t Endpoint::send_frames(void* self, rte_mbuf** frames, uint16_t n) {
    auto* e = static_cast<Endpoint*>(self);
    const uint64_t start = rte_get_timer_cycles();
    const uint16_t sent = rte_eth_tx_burst(e->config_.port, e->config_.tx_queue, frames, n);
    e->stats_.tx_burst_cycles += rte_get_timer_cycles() - start;
    return sent;
}

void Endpoint::on_dirty(void* self, Connection& c) { static_cast<Endpoint*>(self)->dirty_.push_back(&c); }

void Endpoint::on_released(void* self, Connection& c) {
    auto* e = static_cast<Endpoint*>(self);
    e->remove(c);
    e->free_slot(&c);
}

std::string Endpoint::info() const {
    std::string out = "endpoint " + config_.local_ip.to_string() + " (" + mac_.to_string() + ", tx checksums by " +
                      (tx_checksum_ == TxChecksum::Offload ? "the port" : "software") +
                      (ctx_.tso_max_payload != 0 ? ", TSO by the port" : "") + ")";
    out += " rx_frames:" + std::to_string(stats_.rx_frames) + " rx_tcp:" + std::to_string(stats_.rx_tcp) + " rx_lro:" + std::to_string(stats_.rx_lro) +
           " rx_arp:" + std::to_string(stats_.rx_arp) + " not_for_us:" + std::to_string(stats_.rx_not_for_us) +
           " bad_frame:" + std::to_string(stats_.rx_bad_frame) +
           " bad_checksum:" + std::to_string(stats_.rx_bad_checksum) +
           " no_connection:" + std::to_string(stats_.rx_no_connection) + " rsts:" + std::to_string(stats_.rsts_sent) +
           " tx_frames:" + std::to_string(tx_.sent()) + " tx_dropped:" + std::to_string(tx_.dropped()) +
           " open:" + std::to_string(open_connections()) +
           " time_wait_recycled:" + std::to_string(stats_.time_wait_recycled) +
           " orphans_reset:" + std::to_string(stats_.orphans_reset);
    const nvmetcp::LendingStats ooo = ooo_reserve_->stats();
    out += " ooo_queues_lent:" + std::to_string(ooo.lent) + "/" + std::to_string(ooo.items) +
           " ooo_queues_most_lent:" + std::to_string(ooo.most_lent) + " ooo_queues_refused:" + std::to_string(ooo.refused);
    for (const auto& c : connections_) {
        if (c->state() == TcpState::Closed) continue;
        const Route& r = c->route();
        out += "\n  " + r.src_ip.to_string() + ":" + std::to_string(r.src_port) + " -> " + r.dst_ip.to_string() + ":" +
               std::to_string(r.dst_port) + " " + c->info();
    }
    return out;
}

}  // namespace nvmeddp::tcp
