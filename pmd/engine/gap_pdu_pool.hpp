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
// Everything is allocated at construction; take() and give_back() are a stack's pop and push. One
// lcore's (the one polling the queue): no locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "pmd/engine/gap_pdus.hpp"

namespace nvmeddp::pmd {

struct GapPduPoolStats {
    uint32_t pdus = 0;        // how many the pool has
    uint32_t lent = 0;        // lent now
    uint32_t most_lent = 0;   // the most lent at once
    uint64_t loans = 0;       // PDUs taken
    uint64_t refused = 0;     // PDUs with holes that found every one lent
};

class GapPduPool {
public:
    // How many a queue engine for max_connections connections has when not told: one for every two
    // connections, and at least one connection's whole table.
    static uint32_t default_pdus(uint32_t max_connections) noexcept {
        return max_connections / 2 > GapPdus::kSlots ? max_connections / 2 : GapPdus::kSlots;
    }

    explicit GapPduPool(uint32_t pdus);
    GapPduPool(const GapPduPool&) = delete;
    GapPduPool& operator=(const GapPduPool&) = delete;

    // A PDU (its contents whatever the last borrower left), or null (counted as refused) when all
    // are lent.
    GapPdus::Pdu* take() noexcept;
    void give_back(GapPdus::Pdu* pdu) noexcept;  // one take() returned

    GapPduPoolStats stats() const noexcept { return stats_; }

private:
    std::unique_ptr<GapPdus::Pdu[]> storage_;
    std::unique_ptr<GapPdus::Pdu*[]> free_;  // a stack of stats_.pdus - stats_.lent entries
    GapPduPoolStats stats_;
};

}  // namespace nvmeddp::pmd
