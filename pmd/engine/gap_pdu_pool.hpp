// The PDUs with holes of the connections of one rx queue: lent to a connection's table (gap_pdus.hpp)
// when one of its C2HData PDUs loses a packet, given back when the PDU is whole, judged, or
// forgotten, or when the connection leaves the queue.
//
// Why shared: eight PDUs of its own cost a connection 2.1 KiB, used only from a loss until the
// retransmission fills the hole, a round trip or a few. The connections of a queue do not all lose
// packets in the same round trip, so a pool of half as many PDUs as the queue has connections
// covers them (the TCP's out-of-order queues are shared the same way, tcp/ooo_reserve.hpp). A PDU
// that finds the pool empty is not tracked, as one that finds its connection's eight slots taken:
// the host copies its missing bytes and checks its digest (counted in the connection's
// gap_untracked, and here as refused): slower, never wrong. A PDU whose hole is never filled (the
// bytes reached the host past the engine: a frame it could not parse, one with too many segments)
// stays lent until its connection's stream is 1 GiB further on (GapPdus::kHorizon) or the
// connection leaves the queue, as it held one of its connection's own slots before; meanwhile the
// queue's other connections have one fewer.
//
// Sized, as the queue engine's other tables, for every connection of the device on this one queue
// (limits.max_connections): the default 4096 takes 2048 PDUs, about 540 KiB a queue, allocated
// when the driver is built.
//
// A LendingPool (nvmetcp/lending_pool.hpp): allocated at construction, take() and give_back() a
// stack's pop and push. One lcore's (the one polling the queue): no locks.
#pragma once

#include <cstdint>

#include "nvmetcp/lending_pool.hpp"
#include "pmd/engine/gap_pdus.hpp"

namespace nvmeddp::pmd {

// take(): a PDU (its contents whatever the last borrower left), or null (counted as refused) when
// all are lent; stats().items: how many PDUs the pool has.
class GapPduPool : public nvmetcp::LendingPool<GapPdus::Pdu> {
public:
    // How many a queue engine for max_connections connections has when not told: one for every two
    // connections, and at least one connection's whole table.
    static uint32_t default_pdus(uint32_t max_connections) noexcept {
        return max_connections / 2 > GapPdus::kSlots ? max_connections / 2 : GapPdus::kSlots;
    }

    explicit GapPduPool(uint32_t pdus) : LendingPool(pdus, 1) {}
};

}  // namespace nvmeddp::pmd
