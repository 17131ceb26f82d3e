// The send buffer of a connection: the bytes the application gave that the peer has not yet
// acknowledged, kept as the application's own mbufs so that nothing is copied on the way to the wire.
//
// The queue is a ring of chunks, each an mbuf chain holding the stream bytes [start, start + len).
// Sending a segment takes a slice: indirect mbufs attached to the queued ones (rte_pktmbuf_attach)
// and trimmed to the segment's range, so a segment costs one small mbuf per chunk segment it spans and
// no copy; the queued mbufs live on, by their reference count, until both the peer acknowledged them
// and every slice that points into them has been freed (by the NIC after transmitting it, or by the
// caller). Small writes can be copied into the queue's own mbufs instead (append_copy), which are
// filled up before a new one is taken.
//
// A chunk that is partly acknowledged is not modified (its mbufs may be shared with the application
// or with slices in flight): the queue just remembers where its unacknowledged bytes begin, and frees
// the whole chain once all of it is acknowledged.
//
// The ring is the only allocation, made once by the constructor. Sequence numbers are serial (Seq),
// so the queue holds less than 2^31 bytes: append refuses what would go beyond.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "tcp/seq.hpp"

namespace nvmeddp::tcp {

class SendQueue {
public:
    // A ring of `capacity_chunks` mbuf chains, preallocated: the only allocation.
    explicit SendQueue(uint32_t capacity_chunks);
    ~SendQueue();  // frees what it holds
    SendQueue(const SendQueue&) = delete;
    SendQueue& operator=(const SendQueue&) = delete;
    SendQueue(SendQueue&& other) noexcept;
    SendQueue& operator=(SendQueue&& other) noexcept;

    // Frees everything; the next byte appended is `snd_una`.
    void reset(Seq snd_una) noexcept;

    // A chain whose whole data is stream bytes, taken in order; ownership passes (an empty chain is
    // freed at once). False, and the chain still the caller's, when the ring is full or the queue
    // would hold 2^31 bytes or more.
    bool append(rte_mbuf* chain) noexcept;
    // Copies bytes into mbufs from `pool` (filling the tailroom of the last chunk first when the
    // queue made that mbuf itself and nobody else references it), returns bytes taken: fewer when
    // the pool or the ring runs out. With crc_state, also extends that raw CRC32C over the bytes
    // taken, in the same pass as the copy (an NVMe/TCP data digest computed as the data goes out).
    size_t append_copy(std::span<const uint8_t> bytes, rte_mempool* pool, uint32_t* crc_state = nullptr) noexcept;

    Seq una() const noexcept { return una_; }
    Seq end() const noexcept { return end_; }
    uint64_t size() const noexcept { return una_.bytes_to(end_); }  // end - una bytes queued

    // An mbuf chain holding bytes [seq, seq+len) (una <= seq, len > 0, seq+len <= end): indirect mbufs
    // from `pool` attached to the queued segments and trimmed to the range, zero copy; the queue's
    // mbufs stay alive by their refcount. nullptr when the pool runs out (nothing leaked) or the
    // range is empty or not queued. The slice carries no offload flags: the caller sets what the
    // frame it builds needs.
    rte_mbuf* slice(Seq seq, uint32_t len, rte_mempool* pool) noexcept;
    // The same bytes copied to dst (for small segments, where an mbuf per piece costs more than the
    // copy). Nothing is copied when the range is not queued.
    // False (nothing copied) when the range is not all queued.
    [[nodiscard]] bool copy_out(Seq seq, uint32_t len, uint8_t* dst) const noexcept;

    // una < ack <= end: frees the chunks wholly below ack and remembers how much of the next one is
    // acknowledged; returns bytes acknowledged (0 if ack is not in (una, end]).
    uint32_t acknowledge(Seq ack) noexcept;

    uint32_t chunks() const noexcept { return count_; }
    uint32_t capacity() const noexcept { return capacity_; }

private:
    struct Chunk {
        rte_mbuf* chain = nullptr;
        Seq start;               // the sequence number of the chain's first data byte
        uint32_t len = 0;        // the chain's data bytes (its pkt_len)
        bool copied_by_queue = false;  // a single mbuf that append_copy took from a pool
    };

    Chunk& at(uint32_t i) noexcept { return ring_[(head_ + i) % capacity_]; }
    const Chunk& at(uint32_t i) const noexcept { return ring_[(head_ + i) % capacity_]; }
    // Index (from the head) of the chunk holding `seq` (una <= seq < end).
    uint32_t chunk_index_of(Seq seq) const noexcept;
    bool holds(Seq seq, uint32_t len) const noexcept;
    void free_all() noexcept;

    std::unique_ptr<Chunk[]> ring_;
    uint32_t capacity_ = 0;
    uint32_t head_ = 0;
    uint32_t count_ = 0;
    Seq una_;
    Seq end_;
};

}  // namespace nvmeddp::tcp
