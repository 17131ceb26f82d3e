// Neighbours' link addresses shared by the endpoints on the queues of one port, each polled by its
// own lcore. An ARP or neighbour-discovery answer arrives on whichever queue the port puts frames
// that are not steered, so the endpoint that asked may never see it: every endpoint posts what it
// learns here, and one resolving an address looks here before it asks the wire. Fixed capacity, no
// allocation after construction, no lock: each entry is a sequence lock over atomic words (a reader
// that raced a writer reads again; two writers of one entry take turns by compare-exchange).
// Used when an endpoint opens a connection or learns an address, never per segment.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "tcp/addresses.hpp"

namespace nvmeddp::tcp {

class NeighbourBoard {
public:
    explicit NeighbourBoard(size_t capacity = 64);

    // ip -> mac as learned at learned_us (the endpoints' microsecond clock). Replaces the entry of
    // the same address, else takes a free one, else the oldest. Best effort: an entry another thread
    // is writing at this instant is left to it.
    void post(const IpAddress& ip, const MacAddress& mac, uint64_t learned_us) noexcept;

    // ip's MAC and when it was learned, if posted; false otherwise.
    bool find(const IpAddress& ip, MacAddress* mac, uint64_t* learned_us) const noexcept;

private:
    // seq even: stable; odd: being written. words: [0..1] the address bytes, [2] family << 48 | MAC,
    // [3] learned_us. Unused: family None.
    struct alignas(64) Entry {
        std::atomic<uint32_t> seq{0};
        std::array<std::atomic<uint64_t>, 4> words{};
    };
    struct Snapshot {
        IpAddress ip;
        MacAddress mac;
        uint64_t learned_us = 0;
    };

    bool read(const Entry& e, Snapshot& out) const noexcept;  // false: being written, or changed while read
    static void write(Entry& e, const Snapshot& s) noexcept;  // the writer holds e (seq odd)

    size_t capacity_;
    std::unique_ptr<Entry[]> entries_;
};

}  // namespace nvmeddp::tcp
