// What a connection may use and how it behaves: buffer sizes (which bound its preallocated state),
// the options it offers, and its timers. Defaults follow Linux where Linux has a number.
#pragma once

#include <cstdint>
#include <string>

namespace nvmeddp::tcp {

struct ConnectionConfig {
    // Receive window we offer (bytes). The application consumes in-order data in its callback, so
    // the window is this much beyond the next byte expected; out-of-order data waits inside it.
    uint32_t rcv_buf = 1u << 20;
    // Bytes the application may have queued and unacknowledged at once.
    uint32_t snd_buf = 1u << 20;
    // MSS we announce: the largest TCP payload we take in one segment (1500-byte MTU, IPv4: 1460).
    uint16_t mss = 1460;
    bool timestamps = true;       // RFC 7323: RTT per ACK, PAWS
    bool sack = true;             // RFC 2018: SACK-permitted, SACK blocks from the out-of-order queue
    bool window_scaling = true;   // RFC 7323; the shift is the smallest that covers rcv_buf
    // The next in-order data segment that acknowledges nothing new takes a short path
    // (connection_fast_path.cpp) with the same outcome as the full one; off only to compare them.
    bool header_prediction = true;

    uint32_t delayed_ack_us = 40'000;      // Linux's minimum delayed-ACK timeout
    uint32_t syn_retries = 6;              // net.ipv4.tcp_syn_retries
    uint32_t max_retransmits = 15;         // net.ipv4.tcp_retries2: then the connection times out
    uint32_t time_wait_us = 60'000'000;    // 2 MSL as Linux has it (TCP_TIMEWAIT_LEN)
    uint32_t fin_wait2_us = 60'000'000;    // net.ipv4.tcp_fin_timeout
    uint32_t initial_rto_us = 1'000'000;   // RFC 6298 2.1
    uint32_t min_rto_us = 200'000;         // Linux's TCP_RTO_MIN

    // Segments held out of order (sized for the window): the size of a connection's own queue, or,
    // on an endpoint, of the queues its connections share (EndpointConfig::ooo_queues; each holds
    // ReceiveQueue::kInlineSegments itself). In-order segments handed up in one delivery,
    // preallocated per connection: more wait in the out-of-order queue, so a burst's worth is enough
    // (receive_queue.hpp). The send queue links its mbufs through themselves and preallocates
    // nothing.
    uint32_t ooo_segments = 1024;
    uint32_t ready_segments = 64;

    // Empty when usable, else what is wrong (a value out of range, a buffer too large for the window).
    std::string validate() const;
    // Window-scale shift announced in our SYN: the smallest that makes rcv_buf fit 16 bits.
    uint8_t wscale() const noexcept;
};

}  // namespace nvmeddp::tcp
