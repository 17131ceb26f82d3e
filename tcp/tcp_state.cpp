#include "tcp/tcp_state.hpp"

namespace nvmeddp::tcp {

const char* to_string(TcpState state) noexcept {
    switch (state) {
        case TcpState::Closed: return "CLOSED";
        case TcpState::Listen: return "LISTEN";
        case TcpState::SynSent: return "SYN-SENT";
        case TcpState::SynReceived: return "SYN-RECV";
        case TcpState::Established: return "ESTAB";
        case TcpState::FinWait1: return "FIN-WAIT-1";
        case TcpState::FinWait2: return "FIN-WAIT-2";
        case TcpState::CloseWait: return "CLOSE-WAIT";
        case TcpState::Closing: return "CLOSING";
        case TcpState::LastAck: return "LAST-ACK";
        case TcpState::TimeWait: return "TIME-WAIT";
    }
    return "?";
}

const char* to_string(TcpError error) noexcept {
    switch (error) {
        case TcpError::None: return "none";
        case TcpError::Refused: return "refused";
        case TcpError::Reset: return "reset";
        case TcpError::TimedOut: return "timed out";
        case TcpError::Unreachable: return "unreachable";
        case TcpError::Aborted: return "aborted";
        case TcpError::NoResources: return "no resources";
    }
    return "?";
}

const char* describe(TcpError error) noexcept {
    switch (error) {
        case TcpError::None: return "the connection closed normally";
        case TcpError::Refused:
            return "connection refused: the peer answered our SYN with a reset (nothing listens on that port)";
        case TcpError::Reset: return "connection reset by the peer";
        case TcpError::TimedOut:
            return "connection timed out: the peer stopped acknowledging (every retransmission went unanswered)";
        case TcpError::Unreachable:
            return "peer unreachable: no ARP reply for its address (check the address, the link and the peer's interface)";
        case TcpError::Aborted: return "connection aborted by this side";
        case TcpError::NoResources:
            return "no resources: no free connection slot, local port or mbuf to open the connection";
    }
    return "?";
}

}  // namespace nvmeddp::tcp
