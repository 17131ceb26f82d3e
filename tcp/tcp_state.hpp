// The states of RFC 9293 3.3.2 and the ways a connection can end badly, as values a user sees.
#pragma once

#include <cstdint>

namespace nvmeddp::tcp {

enum class TcpState : uint8_t {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
};

// The names `ss` prints (ESTAB, SYN-SENT, ...), so our statistics read like Linux's.
const char* to_string(TcpState state) noexcept;

// True in the states where both sides' initial sequence numbers are known (RFC 9293 "synchronized").
constexpr bool synchronized(TcpState s) noexcept {
    return s != TcpState::Closed && s != TcpState::Listen && s != TcpState::SynSent;
}

// True while our side has closed and the close is not finished (TIME-WAIT excluded).
constexpr bool closing(TcpState s) noexcept {
    return s == TcpState::FinWait1 || s == TcpState::FinWait2 || s == TcpState::Closing || s == TcpState::LastAck;
}

// True while the connection still exchanges segments: neither CLOSED nor TIME-WAIT (whose slot is
// only kept for 2 MSL).
constexpr bool active(TcpState s) noexcept { return s != TcpState::Closed && s != TcpState::TimeWait; }

// How a connection ended, when not by an orderly close of both sides.
enum class TcpError : uint8_t {
    None,
    Refused,      // RST in answer to our SYN: nothing listens on that port
    Reset,        // the peer reset an open connection
    TimedOut,     // our SYN or data went unacknowledged through every retransmission
    Unreachable,  // no answer to ARP / neighbour solicitation for the peer's address
    Aborted,      // closed by this side with abort()
    NoResources,  // no connection slot, mbuf or port left to open it
};

const char* to_string(TcpError error) noexcept;
// A sentence for the user: what happened and what to check.
const char* describe(TcpError error) noexcept;

}  // namespace nvmeddp::tcp
