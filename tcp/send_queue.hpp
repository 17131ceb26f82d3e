// The send buffer of a connection: the bytes the application gave that the peer has not yet
// acknowledged, kept as the application's own mbufs so that nothing is copied on the way to the wire.
//
// The queue is one list of mbuf segments linked through their own `next` pointers, in stream order
// (as a BSD socket buffer keeps its mbufs): appending a chain links it after the last segment. So
// the queue costs the same few words whatever it holds, and a connection carries no ring sized for
// its window: memory grows with the bytes queued, in the mbufs that hold them. Only segments' data_len
// counts: the pkt_len and nb_segs of an appended chain's head mean nothing once it is linked in.
// Linking rewrites each segment's `next`, so the queue takes only segments it alone references
// (refcount 1): one the application still holds, or gave to another queue too, would have its chain
// changed under it. To share a buffer, append an indirect mbuf attached to it (rte_pktmbuf_clone).
//
// Sending a segment takes a slice: indirect mbufs attached to the queued ones (rte_pktmbuf_attach)
// and trimmed to the segment's range, so a segment costs one small mbuf per queued segment it spans
// and no copy; the queued mbufs live on, by their reference count, until both the peer acknowledged
// them and every slice that points into them has been freed (by the NIC after transmitting it, or by
// the caller). Small writes can be copied into the queue's own mbufs instead (append_copy), which are
// filled up before a new one is taken.
//
// A segment that is partly acknowledged is not modified (it may be shared with the application or
// with slices in flight): the queue remembers where its unacknowledged bytes begin, and frees each
// segment on its own once all of it is acknowledged.
//
// Finding the segment that holds a sequence number walks the list from the nearest of two cursors
// (where the furthest slice or copy so far started, and where the last one behind it started) or
// from the head: new data is sent forward from the first, retransmissions (from una, or SACK holes
// in increasing order) walk forward from the second, so neither moves the other back. Nothing is allocated. Sequence
// numbers are serial (Seq), so the queue holds less than 2^31 bytes: append refuses what would go
// beyond.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "tcp/seq.hpp"

namespace nvmeddp::tcp {

class SendQueue {
public:
    SendQueue() = default;
    ~SendQueue();  // frees what it holds
    SendQueue(const SendQueue&) = delete;
    SendQueue& operator=(const SendQueue&) = delete;
    SendQueue(SendQueue&& other) noexcept;
    SendQueue& operator=(SendQueue&& other) noexcept;

    // Frees everything; the next byte appended is `snd_una`.
    void reset(Seq snd_una) noexcept;

    // A chain whose whole data is stream bytes, taken in order; ownership passes (segments without
    // data are freed at once). False, and the chain untouched and still the caller's, when a segment
    // is referenced elsewhere too (refcount above 1) or the queue would hold 2^31 bytes or more.
    bool append(rte_mbuf* chain) noexcept;
    // Copies bytes into mbufs from `pool` (filling the tailroom of the last segment first when the
    // queue made that mbuf itself and nobody else references it), returns bytes taken: fewer when
    // the pool runs out or the queue would hold 2^31 bytes. With crc_state, also extends that raw
    // CRC32C over the bytes taken, in the same pass as the copy (an NVMe/TCP data digest computed as
    // the data goes out).
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
    // copy). False (nothing copied) when the range is not all queued.
    [[nodiscard]] bool copy_out(Seq seq, uint32_t len, uint8_t* dst) const noexcept;

    // una < ack <= end: frees the segments wholly below ack and remembers how much of the next one is
    // acknowledged; returns bytes acknowledged (0 if ack is not in (una, end]).
    uint32_t acknowledge(Seq ack) noexcept;

    uint32_t segments() const noexcept { return segments_; }  // mbufs held (each with data)

private:
    // The segment holding `seq` (una <= seq < end), and where that segment's data begins.
    struct Position {
        rte_mbuf* m;
        Seq start;
    };
    Position find(Seq seq) const noexcept;
    bool holds(Seq seq, uint32_t len) const noexcept;
    void link(rte_mbuf* m) noexcept;  // appends one segment with data (m->next already cleared)
    void forget_cursors_at(const rte_mbuf* m) noexcept;  // m is about to be freed
    void free_all() noexcept;

    rte_mbuf* head_ = nullptr;       // first segment: it holds una
    Seq head_start_;                 // sequence number of head_'s first data byte (<= una)
    rte_mbuf* tail_ = nullptr;       // last segment
    bool tail_copied_ = false;       // tail_ is an mbuf append_copy took from a pool
    uint32_t segments_ = 0;
    // Segments find() returned (nullptr: none): the furthest so far, and the last one behind it.
    mutable Position front_{nullptr, Seq(0)};
    mutable Position back_{nullptr, Seq(0)};
    Seq una_;
    Seq end_;
};

}  // namespace nvmeddp::tcp
