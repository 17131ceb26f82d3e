// Out-of-order queues shared by the connections of one endpoint (one lcore): each connection keeps
// a few out-of-order entries of its own and borrows a queue sized for its whole window from here
// only while more of its data waits behind a hole.
//
// Why shared: a queue for a 1 MiB window is 1024 entries (24 KiB), and a connection needs it only
// from a loss or reordering until the retransmission fills the hole, one round trip or a few. The
// connections of an lcore do not all lose a packet in the same round trip, so a fraction of them
// in queues covers them; one that finds every queue lent keeps what its own entries hold (the data
// nearest the hole), and the rest comes again with the sender's retransmissions: slower, never
// wrong. Such a connection may also drop a segment it has already SACKed, to queue one nearer the
// hole (reneging, RFC 2018 section 8): the sender then waits for its retransmission timeout before
// sending it again. Linux likewise bounds out-of-order memory for all sockets together (tcp_mem)
// rather than reserving it per socket, and prunes queues, SACKed data included, under pressure.
//
// A LendingPool (nvmetcp/lending_pool.hpp): allocated at construction, take() and give_back() a
// stack's pop and push. One lcore's: no locks.
#pragma once

#include <cstdint>

#include "nvmetcp/lending_pool.hpp"
#include "tcp/rx_segment.hpp"

namespace nvmeddp::tcp {

// take(): a queue of segments_per_queue() entries, or null (counted as refused: a segment that
// wanted a queue, its connection's inline entries full) when all are lent; stats().items: how many
// queues the reserve has.
class OutOfOrderReserve : public nvmetcp::LendingPool<QueuedSegment> {
public:
    OutOfOrderReserve(uint32_t queues, uint32_t segments_per_queue) : LendingPool(queues, segments_per_queue) {}
    // How many queues an endpoint of `connections` shares when not told: a quarter, at least one.
    static uint32_t default_queues(uint32_t connections) noexcept { return connections / 4 > 0 ? connections / 4 : 1; }

    uint32_t segments_per_queue() const noexcept { return static_cast<uint32_t>(elements()); }
};

}  // namespace nvmeddp::tcp
