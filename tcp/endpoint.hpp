// A TCP endpoint on one queue pair of a DPDK port: one lcore polls it, and it runs every
// connection of that queue to completion (DESIGN.md: tcp/ above pmd/ and ddp/, below the host).
//
// poll() receives a burst, answers ARP, demultiplexes TCP segments to their connections (checksums
// verified: by the port's rx offload where it says GOOD or BAD, else in software), answers segments
// for no connection with RST, runs the timer wheel, lets each connection that had work deliver its
// data and send, and transmits everything in one tx burst. Connections, their queues and the timer
// wheel are allocated when the endpoint is created; the data path then takes only mbufs.
//
// One local address, IPv4 (ARP) or IPv6 (neighbour discovery); peers on the local link (no routing);
// one optional VLAN tag. See README.md's tcp/ section.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tcp/addresses.hpp"
#include "tcp/arp.hpp"
#include "tcp/ndp.hpp"
#include "tcp/connection.hpp"
#include "tcp/ooo_reserve.hpp"
#include "tcp/connection_steering.hpp"
#include "tcp/connection_config.hpp"
#include "tcp/frame_builder.hpp"
#include "tcp/neighbour_board.hpp"
#include "tcp/timer_wheel.hpp"
#include "tcp/tx_batch.hpp"

namespace nvmeddp::tcp {

struct EndpointConfig {
    uint16_t port = 0;
    uint16_t rx_queue = 0;
    uint16_t tx_queue = 0;
    IpAddress local_ip;            // IPv4 or IPv6; peers are of the same family
    MacAddress mac;                // zero: the port's own address
    bool has_vlan = false;         // send with this 802.1Q tag and take only frames that carry it
    uint16_t vlan_tci = 0;
    rte_mempool* pool = nullptr;   // headers, copied payload and indirect mbufs come from here
    uint32_t max_connections = 16;
    // Out-of-order queues sized for the window, shared by the connections (ooo_reserve.hpp): each
    // holds ReceiveQueue::kInlineSegments out-of-order segments itself and borrows one of these
    // while more wait behind a hole; one that finds all lent keeps what its inline entries hold and
    // takes the rest from retransmissions (slower recovery, never wrong data). 0: a quarter of
    // max_connections, at least 1; at most max_connections (every connection its own).
    uint32_t ooo_queues = 0;
    uint16_t burst = 32;
    uint16_t first_local_port = 32768;  // ephemeral ports, as Linux's ip_local_port_range
    uint16_t last_local_port = 60999;
    // Checksums are left to the port when it was configured with tx checksum offload (IPv4 header
    // and TCP; pmd::configure_port enables it where the port has it); false: always in software.
    bool tx_checksum_offload = true;
    // New data goes out in frames of up to 64 KiB that the port cuts into segments, when it was
    // configured with TSO (pmd::configure_port enables it where the port has it) and the checksums
    // are left to it too; false: every frame is one segment.
    bool tso = true;
    // Several endpoints on one port, one per rx queue: each connection's segments are steered to
    // this endpoint's rx queue by an rte_flow rule (connection_steering.hpp), installed before its
    // first segment is sent and removed when its slot is free. A connection the port cannot steer
    // is not opened (connect fails saying why; a SYN is refused). Off: the port decides.
    bool steer_connections = false;
    uint32_t steer_priority = 1;  // below the offload's own rules (priority 0), which then win
    // Shared by the endpoints on the queues of one port, each polled by its own lcore (null: none):
    // an ARP answer may arrive on another endpoint's queue, so each posts what it learns there and
    // looks there before it asks the wire. Must outlive the endpoint.
    NeighbourBoard* neighbour_board = nullptr;
    ConnectionConfig connection;
};

struct EndpointStats {
    uint64_t rx_frames = 0;
    uint64_t rx_tcp = 0;            // segments handed to a connection
    uint64_t rx_lro = 0;            // ... of which the port merged from several (LRO)
    uint64_t rx_arp = 0;
    uint64_t rx_nd = 0;             // IPv6 neighbour solicitations and advertisements
    uint64_t rx_not_for_us = 0;     // another address, another VLAN, our own frames echoed, not IP/ARP
    uint64_t rx_bad_frame = 0;      // frames the parser refused (truncated, bad lengths, fragments)
    uint64_t rx_bad_checksum = 0;   // IPv4 header or TCP checksum wrong: dropped
    uint64_t rx_no_connection = 0;  // segments for no connection (answered with RST unless RST)
    uint64_t rsts_sent = 0;
    uint64_t arp_requests_sent = 0;  // and neighbour solicitations (IPv6)
    uint64_t arp_replies_sent = 0;   // and neighbour advertisements
    uint64_t connections_opened = 0;
    uint64_t connections_refused = 0;  // SYNs to a port nobody listens on, or no free slot
    uint64_t time_wait_recycled = 0;   // TIME-WAIT connections ended early for a new connection's slot
    uint64_t orphans_reset = 0;        // closed connections still closing, reset for a new one's slot
    uint64_t steer_refused = 0;        // connections not opened: the port would not steer them here
    // Timer cycles (rte_get_timer_cycles) in the port's calls, for a poller's account of where its
    // time goes: receive calls that returned frames (an rx callback on the port, such as the
    // offload device, runs inside them) and send calls (with af_packet the kernel's send; on a veth
    // the peer's receive runs in it too).
    uint64_t rx_burst_cycles = 0;
    uint64_t tx_burst_cycles = 0;
};

class Endpoint {
public:
    // null with *error saying why: bad configuration, no pool, port not started, no MAC.
    static std::unique_ptr<Endpoint> create(const EndpointConfig& config, std::string* error);
    ~Endpoint();
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;

    // Active open. The connection is CLOSED until the peer's MAC is known (ARP), then SYN-SENT;
    // handler->on_connected or on_closed (refused, timed out, unreachable) says how it went.
    // null with *error when no slot or local port is free or the address is unusable.
    Connection* connect(const IpAddress& remote, uint16_t remote_port, ConnectionHandler* handler, std::string* error);

    // Passive open on `local_port`: each SYN gets a connection; accept() returns its handler, or null
    // to refuse it (RST).
    using AcceptFn = ConnectionHandler* (*)(void* user, Connection& connection);
    bool listen(uint16_t local_port, AcceptFn accept, void* user, std::string* error);

    // One round of work at the TSC's time. Returns the frames received.
    uint16_t poll();
    // The same at a given time (tests drive their own clock).
    uint16_t poll(uint64_t now_us);

    const EndpointStats& stats() const noexcept { return stats_; }
    MacAddress local_mac() const noexcept { return mac_; }
    const EndpointConfig& config() const noexcept { return config_; }
    uint32_t open_connections() const noexcept;
    // Connections still exchanging segments: neither CLOSED nor in TIME-WAIT (whose slot is only kept
    // for 2 MSL). A program that closed its connections polls until this is 0 before it stops.
    uint32_t active_connections() const noexcept;
    // RST on every active connection (sent by the next poll()), for a program that stops without
    // waiting any longer for its peers to finish closing.
    void abort_all();
    std::string info() const;  // endpoint counters, then one `ss -ti` line per open connection
    uint64_t tx_frames() const noexcept { return tx_.sent(); }
    uint64_t tx_dropped() const noexcept { return tx_.dropped(); }
    // Whether the port computes the checksums of what we send.
    bool tx_checksum_by_port() const noexcept { return tx_checksum_ == TxChecksum::Offload; }
    bool tso_by_port() const noexcept { return ctx_.tso_max_payload != 0; }
    // The shared out-of-order queues: how many, lent now and at most, and refusals.
    nvmetcp::LendingStats ooo_reserve_stats() const noexcept { return ooo_reserve_->stats(); }
    // Steering rules installed now (steer_connections): one per connection holding a slot.
    uint32_t steered_connections() const noexcept { return steering_ ? steering_->installed() : 0; }

    // The neighbour table: ip's MAC if it is resolved and fresh; learn_neighbour() records ip -> mac
    // as an ARP reply would (endpoints on the queues of one port share what they learn through
    // EndpointConfig::neighbour_board).
    bool neighbour(const IpAddress& ip, MacAddress* mac);
    void learn_neighbour(const IpAddress& ip, const MacAddress& mac);

private:
    struct Listener {
        uint16_t port = 0;
        AcceptFn accept = nullptr;
        void* user = nullptr;
    };
    struct Resolving {
        Connection* connection = nullptr;
        ConnectionHandler* handler = nullptr;
        Route route;
    };

    Endpoint(const EndpointConfig& config, TxChecksum tx_checksum);
    void receive(rte_mbuf* m);
    void receive_arp(const ArpMessage& msg);
    void receive_nd(const NdMessage& msg, const MacAddress& eth_src);
    void solicit(const IpAddress& target);
    void learned(const IpAddress& ip, const MacAddress& mac);  // into the table, and onto the board
    void consult_board(const IpAddress& ip);                   // what another endpoint learned of ip
    void receive_tcp(rte_mbuf* m);
    void reply_rst(const Route& route, const InSegment& s);
    void send_arp(uint16_t op, const MacAddress& eth_dst, const MacAddress& target_mac, const IpAddress& target_ip);
    void resolve_pending();
    Connection* take_slot();
    void free_slot(Connection* c);
    void reclaim_slot();
    void insert(Connection& c);
    void remove(Connection& c);
    Connection* lookup(const IpAddress& remote, uint16_t remote_port, uint16_t local_port) const;
    uint32_t bucket_of(const IpAddress& remote, uint16_t remote_port, uint16_t local_port) const noexcept;
    uint16_t pick_local_port(const IpAddress& remote, uint16_t remote_port);
    Route route_to(const IpAddress& remote, const MacAddress& mac, uint16_t local_port, uint16_t remote_port) const;
    Seq new_iss() noexcept;
    static uint16_t send_frames(void* self, rte_mbuf** frames, uint16_t n);
    static void on_dirty(void* self, Connection& c);
    static void on_released(void* self, Connection& c);

    EndpointConfig config_;
    TxChecksum tx_checksum_;
    MacAddress mac_;
    FrameBuilder builder_;
    TimerWheel timers_;
    TxBatch tx_;
    NeighbourTable neighbours_;
    std::unique_ptr<ConnectionSteering> steering_;  // steer_connections
    std::unique_ptr<OutOfOrderReserve> ooo_reserve_;  // before connections_: outlives them
    ConnectionContext ctx_;
    std::vector<std::unique_ptr<Connection>> connections_;
    std::vector<Connection*> free_;
    std::vector<uint32_t> buckets_;
    std::vector<Connection*> dirty_;
    std::vector<Resolving> resolving_;
    std::vector<Listener> listeners_;
    uint16_t next_local_port_ = 0;
    EndpointStats stats_{};
};

}  // namespace nvmeddp::tcp
