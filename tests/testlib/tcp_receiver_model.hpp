// Test helper: the receive side of a host's TCP, reduced to what decides which bytes (and which
// packets' metadata) reach the NVMe/TCP parser. It does what real stacks do and nothing that a
// contract could rely on beyond include/nvmeddp/ddp_mbuf.h:
//   - a frame whose IPv4 header checksum or TCP checksum is wrong is dropped;
//   - bytes before rcv_nxt (retransmissions, duplicates) are trimmed off the front, or the whole
//     segment dropped;
//   - a segment beyond rcv_nxt waits in an out-of-order queue; where it overlaps what is queued,
//     either the new copy replaces the queued bytes or the new copy is trimmed to what is missing
//     (a seeded coin per overlap: Linux does both, depending on how the segments overlap);
//   - in-order bytes are delivered at once, each piece with the metadata of the packet it came
//     from; adjacent pieces whose metadata are equal may be coalesced into one (as GRO/TCP
//     coalescing do), never pieces whose metadata differ.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "ddp/tcp_seq.hpp"
#include "nvmeddp/ddp_mbuf.h"
#include "testlib/frame_gen.hpp"

namespace nvmeddp::testlib {

struct ReceivedPiece {
    ddp::TcpSeq seq;                   // sequence number of bytes[0]
    std::span<const uint8_t> bytes;
    const ::nvmeddp_pkt_meta* meta;    // null: the packet came without metadata
};

class TcpReceiverModel {
public:
    struct Options {
        uint64_t seed = 1;
        double replace = 0.5;  // probability an overlapping out-of-order copy replaces the queued bytes
        bool coalesce = true;  // adjacent in-order pieces with equal metadata delivered as one
    };

    struct Counters {
        uint64_t frames = 0;
        uint64_t bad_checksum = 0;  // dropped
        uint64_t old = 0;           // wholly before rcv_nxt: dropped
        uint64_t trimmed = 0;       // partly before rcv_nxt, or overlapping the queue: cut
        uint64_t replaced = 0;      // queued bytes replaced by a later copy
        uint64_t coalesced = 0;     // pieces merged into the one before
        uint64_t delivered_bytes = 0;
    };

    using Deliver = std::function<void(const ReceivedPiece&)>;

    TcpReceiverModel(ddp::TcpSeq rcv_nxt, bool ipv6, const Options& options, Deliver deliver);

    // A frame as it arrived, after the offload engine ran on it (meta: what the engine attached).
    void on_frame(std::span<const uint8_t> frame, const FrameLayout& layout, const ::nvmeddp_pkt_meta* meta);

    ddp::TcpSeq rcv_nxt() const noexcept { return rcv_nxt_; }
    const Counters& counters() const noexcept { return counters_; }
    size_t queued_segments() const noexcept { return queue_.size(); }

private:
    struct Segment {
        ddp::TcpSeq begin;
        std::vector<uint8_t> bytes;
        std::optional<::nvmeddp_pkt_meta> meta;
        ddp::TcpSeq end() const noexcept { return begin + static_cast<uint32_t>(bytes.size()); }
    };

    void enqueue(Segment s);
    void deliver_ready();
    // In-order bytes to hand up: they are coalesced into the pending piece or become it. The bytes
    // must stay valid until flush(): a frame's (flush() runs before on_frame() returns), or those of
    // `owner`, a segment taken off the queue that the pending piece then keeps.
    void deliver(ddp::TcpSeq begin, std::span<const uint8_t> bytes, const std::optional<::nvmeddp_pkt_meta>& meta,
                 Segment* owner);
    void flush();

    // Queue keys: bytes from the first sequence number (tests' streams stay far below 4 GiB).
    uint64_t key(ddp::TcpSeq seq) const noexcept { return base_.bytes_to(seq); }

    ddp::TcpSeq base_;
    ddp::TcpSeq rcv_nxt_;
    bool ipv6_;
    Options options_;
    Deliver deliver_;
    std::mt19937_64 rng_;
    std::map<uint64_t, Segment> queue_;  // out of order, by key, not overlapping
    // In-order bytes not yet handed up (coalescing): a span of the frame being received, of held_,
    // or of joined_ once pieces were coalesced. No copy of a frame that arrives in order.
    ddp::TcpSeq pending_begin_{};
    std::span<const uint8_t> pending_bytes_{};
    std::optional<::nvmeddp_pkt_meta> pending_meta_{};
    bool pending_joined_ = false;
    Segment held_{};
    std::vector<uint8_t> joined_;
    bool has_pending_ = false;
    Counters counters_;
};

}  // namespace nvmeddp::testlib
