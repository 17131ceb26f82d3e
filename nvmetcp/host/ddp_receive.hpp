// The host's side of the offload contract (v3, include/nvmeddp/ddp_mbuf.h) for one queue: what it
// tells the device (sk_add, setup, filled, teardown, resync answers, sk_del) and which of the
// device's per-packet claims it acts on.
//
// The queue's own parser stays the authority on framing. For each run of C2HData data bytes the
// parser hands over, next_run() says how many of them the packet's placement claim names with
// exactly the command, registration tag and buffer offset the parser gives them: those the queue
// does not copy (they are in the buffer already); it copies every other byte. The claim's second
// run is the data of the C2HData after the one where run 1 ends, as the queue framed it
// (on_c2h_header()); it counts only when the queue took every byte from that earlier PDU's end on
// from the same packet as the data, so that the device framed the same bytes. A data digest is
// trusted only when every piece that carried bytes of the PDU had NVMEDDP_PKT_CRC and the piece in
// which the PDU ended says DIGEST_OK for a PDU whose header is where the parser found it (the
// first PDU to end in that piece), or a piece inside the PDU said DIGEST_OK | DIGEST_AHEAD for it
// (the device verified it when a retransmission filled its last hole); otherwise the queue
// computes it over the buffer itself.
//
// No allocation after construction, and no copy of a read's buffer list where none is needed: the
// device is given the list the command was submitted with (the device keeps a pointer to it until
// teardown completes, and the queue's caller keeps it until the command completes, which is later),
// or the entries of it that hold the read when the read ends where an entry does; a list whose
// entry holding the read's end is longer is registered as a copy cut there, in blocks of a spare
// area sized at construction (segment_blocks.hpp); one that finds no room there is not registered,
// and counted.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "ddp/device.hpp"
#include "ddp/tcp_seq.hpp"
#include "nvmeddp/ddp_mbuf.h"
#include "nvmetcp/host/queue_types.hpp"
#include "nvmetcp/host/segment_blocks.hpp"

namespace nvmeddp::nvmetcp::host {

struct DdpReceiveStats {
    uint64_t setups = 0;             // reads registered with the device
    uint64_t setups_skipped = 0;     // reads the device would not take (below its threshold, too big, ...)
    uint64_t setups_no_room = 0;     // of those: lists whose read ends inside an entry and whose cut copy found no spare blocks
    uint64_t teardowns_sync = 0;
    uint64_t teardowns_async = 0;    // completed later, from poll()
    uint64_t bytes_claimed = 0;      // data bytes taken from placement claims (not copied)
    uint64_t bytes_refused = 0;      // claimed bytes the host's framing disagreed with (copied)
    uint64_t digests_trusted = 0;    // data digests the device verified, taken as verified
    uint64_t digests_recomputed = 0; // data digests the host computed itself
    uint64_t resync_confirmed = 0;
    uint64_t resync_refused = 0;
};

class DdpReceive {
public:
    // Room for the cut copies of lists whose read ends inside an entry, shared by the queue's
    // commands: 8 such reads registered at once with lists of up to 8 entries (the C API cuts every
    // list to its transfer, so its reads never need one).
    static constexpr uint32_t kDefaultSpareSegments = 64;

    // depth: command ids 0..depth-1; max_segments: IoVecs per registration (longer lists are not
    // registered: the host copies); spare_segments: room for the cut copies of lists whose read ends
    // inside an entry, registered at the same time (in blocks of 8; at most 512).
    DdpReceive(ddp::Device& device, uint16_t depth, uint32_t max_segments = 32,
               uint32_t spare_segments = kDefaultSpareSegments);
    ~DdpReceive();
    DdpReceive(const DdpReceive&) = delete;
    DdpReceive& operator=(const DdpReceive&) = delete;

    // sk_add, once the IC exchange is done: config.rcv_seq is the TCP sequence number of the stream
    // byte at `stream_offset` (the first after the ICResp).
    ddp::Status add(const ddp::ConnectionConfig& config, uint64_t stream_offset);
    // sk_del: every registration is torn down by the device (forced); callable when not added.
    // A registered command's buffer stays the device's until it says so: teardown() of it returns
    // InProgress until then, so a queue still running completes it only when the buffer is its own.
    void remove();
    bool active() const noexcept { return active_; }
    // The device lost the send stream whose data digests it writes (ddp::Device::tx_stream_lost).
    bool tx_stream_lost() const noexcept { return active_ && device_.tx_stream_lost(handle_); }
    uint64_t tx_digests_written() const noexcept { return active_ ? device_.tx_digests_written(handle_) : 0; }
    // No callback from the device is owed any more (every teardown, forced or not, has completed),
    // and the device holds no read of a connection removed elsewhere: nothing is left for poll() to
    // complete, so the queue may let go of its DdpReceive.
    bool quiescent() const noexcept { return callbacks_->pending == 0 && removed_elsewhere_ == 0; }
    ddp::ConnectionHandle handle() const noexcept { return handle_; }

    // --- per command ---
    // Before a READ's capsule is sent: registers its buffers, `data` itself (its first entries) when
    // `len` ends where an entry does; `data` must then stay valid and unchanged until the command
    // completes, as IoRequest::data must. False: not registered (the device is off, refused it, the
    // list is too long, or it needed a cut copy and found no room); the host copies as without the
    // offload.
    bool setup(uint16_t cid, std::span<const IoVec> data, uint32_t len) noexcept;
    bool registered(uint16_t cid) const noexcept {
        return active_ && cid < depth_ && regs_[cid].registered && !regs_[cid].tearing_down;
    }
    // Whom teardown() tells when a teardown it answered InProgress completes: `done(arg, cid)`, one
    // callback for all the commands (the queue's), kept once rather than per command. Set it before
    // the first teardown() (Queue::set_offload() does): without it such a command is never told.
    using TeardownDone = void (*)(void* arg, uint16_t cid);
    void set_teardown_done(TeardownDone done, void* arg) noexcept {
        callbacks_->done = done;
        callbacks_->done_arg = arg;
    }
    // Before the command completes. Ok: the buffers are the host's now. InProgress: the teardown
    // callback is called from a later poll(); complete the command then. Not registered: Ok. Call it
    // for every command that may have been registered, also after remove() (whose forced teardown may
    // pend), and after someone else removed the connection (the device's forced teardown calls the
    // remover, so poll() watches the device let go). Destroying the DdpReceive drops the callbacks
    // still pending (their queue goes with it).
    ddp::Status teardown(uint16_t cid) noexcept;
    // Finishes asynchronous teardowns (and a removal); call from the queue's poll.
    void poll() noexcept;

    // --- receive path, in stream order ---
    // Every span the queue receives, before parsing it.
    void on_piece(uint64_t stream_offset, size_t len, const RxPiece& piece) noexcept;
    // The parser found a PDU header at stream offset pdu_offset: answers a resync request for it.
    void on_header(uint64_t pdu_offset) noexcept;

    // The parser accepted a C2HData header: command cid, its DATAO, where its data begins and how
    // long it is, and where the PDU ends (stream offsets).
    void on_c2h_header(uint16_t cid, uint32_t datao, uint64_t data_begin, uint32_t data_len, uint64_t pdu_end) noexcept;

    struct Run {
        uint32_t len;   // bytes from the start of the run asked about
        bool claimed;   // true: they are in the buffer already (do not copy); false: copy them
    };
    // For `len` C2HData data bytes of command cid starting at stream_offset (from `piece`) that the
    // parser puts at buffer_offset: the first run of them that is claimed, or not, as a whole.
    Run next_run(const RxPiece& piece, uint64_t stream_offset, uint16_t cid, uint64_t buffer_offset,
                 uint32_t len) noexcept;
    // next_run()'s commonest answer, inline for the queue's per-packet run: true when the packet's
    // claim (its run 1) names all `len` bytes exactly, counted as claimed; false when next_run()
    // must decide (nothing counted).
    bool claims_whole(const RxPiece& piece, uint64_t stream_offset, uint16_t cid, uint64_t buffer_offset,
                      uint32_t len) noexcept;
    // The host has the command's data below buffer_end final (copied or claimed).
    void filled(uint16_t cid, uint64_t buffer_end) noexcept;
    // A C2HData PDU with a data digest, whose header is at pdu_offset, ended in `piece` (the last
    // one on_piece() saw): whether the device's verdict covers it.
    bool digest_trusted(uint64_t pdu_offset, const RxPiece& piece) noexcept;

    const DdpReceiveStats& stats() const noexcept { return stats_; }

private:
    struct Registration {
        bool registered = false;
        bool tearing_down = false;
        bool notify = false;  // teardown() answered InProgress: the teardown callback is owed its end
        // Torn down by someone else's removal of the connection: no callback comes to us, poll()
        // watches the device's registration until the device let go of it.
        bool removed_elsewhere = false;
        uint8_t spare_first = SegmentBlocks::kNone;  // the spare blocks holding its cut copy, if any
        uint8_t spare_blocks = 0;
        uint16_t tag = 0;
    };
    // The queue keeps depth of these per connection: a changed size is a decision (issue 14).
    static_assert(sizeof(Registration) == 8, "DdpReceive::Registration's size changed");

    ddp::TcpSeq seq_at(uint64_t stream_offset) const noexcept {
        return base_seq_ + static_cast<uint32_t>(stream_offset - base_offset_);
    }
    bool ours(const ::nvmeddp_pkt_meta* m) const noexcept { return m != nullptr && active_ && m->conn_id == conn_id_; }
    // The tests next_run() and claims_whole() share: whether the device placed bytes of this
    // connection from this packet; how far into run 1 the byte at stream_offset is (in it when
    // below place_len); whether the claim names run 1's bytes exactly as the parser puts them
    // (command cid's current registration, at buffer_offset).
    bool placed_by_us(const ::nvmeddp_pkt_meta* m) const noexcept { return ours(m) && (m->flags & NVMEDDP_PKT_PLACED) != 0; }
    uint32_t into_run1(const ::nvmeddp_pkt_meta* m, uint64_t stream_offset) const noexcept {
        return seq_at(stream_offset).raw() - m->place_seq;
    }
    bool run1_exact(const ::nvmeddp_pkt_meta* m, uint32_t into1, uint16_t cid, uint64_t buffer_offset) const noexcept {
        return registered(cid) && m->place_cccid == cid && m->place_tag == regs_[cid].tag &&
               uint64_t{m->place_buf_off} + into1 == buffer_offset;
    }
    static void on_teardown_done(void* arg, uint64_t handle, uint16_t cid, int status);  // ddp::TeardownCallback
    // Completes the teardowns of commands removed elsewhere that the device has let go of.
    void finish_removed_elsewhere() noexcept;

    // What the device's teardown callbacks reach (their `arg`), and the cut copies of buffer lists
    // the device reads while their registration is live. Apart from the DdpReceive because a
    // teardown can still be pending in the device when the DdpReceive is destroyed (a device that
    // lets go asynchronously, or the forced teardowns of remove()): until it lets go the device may
    // still read a copy and will call back, so both must still be there; the destructor leaves it to
    // the last of those callbacks to free them, or keeps them for good when a read of a connection
    // removed elsewhere is still the device's (nothing would tell when it ends). (A list registered
    // as it stands is the caller's, kept until its command completes: the host completes a read only
    // once the device has let it go, and the queue's owner keeps the queue, and what its commands
    // were submitted with, until then: Controller::io_outstanding().)
    struct Callbacks {
        Callbacks(uint16_t n, uint32_t spare_segments)
            : regs(new Registration[n]),
              blocks(spare_segments),
              spare(new ddp::BufferSegment[blocks.slots()]),
              depth(n) {}
        // A registration is over: its spare blocks are free again.
        void release(Registration& r) noexcept {
            blocks.give_back(r.spare_first, r.spare_blocks);
            r = Registration{};
        }
        std::unique_ptr<Registration[]> regs;
        SegmentBlocks blocks;
        std::unique_ptr<ddp::BufferSegment[]> spare;  // blocks.slots() entries
        uint16_t depth;
        TeardownDone done = nullptr;  // set_teardown_done()
        void* done_arg = nullptr;
        uint32_t pending = 0;   // callbacks the device still owes (mod 2^32: see remove())
        bool orphaned = false;  // the DdpReceive is gone: the last callback frees this
    };

    ddp::Device& device_;
    uint16_t depth_;
    uint32_t max_segments_;
    Callbacks* callbacks_;  // owned (handed to the device's callbacks by the destructor when some pend)
    Registration* regs_;    // callbacks_->regs
    ddp::ConnectionHandle handle_{};
    bool active_ = false;
    uint32_t removed_elsewhere_ = 0;  // registrations whose Registration::removed_elsewhere is set
    uint32_t conn_id_ = UINT32_MAX;
    ddp::TcpSeq base_seq_{0};
    uint64_t base_offset_ = 0;
    // The framing run 2 of a claim is checked against: the current C2HData and the one before it.
    struct C2HPdu {
        bool known = false;
        uint16_t cid = 0;
        uint32_t datao = 0;
        uint64_t data_begin = 0;
        uint64_t data_end = 0;
        uint64_t pdu_end = 0;
    };
    C2HPdu c2h_{};                  // the last C2HData header the parser accepted
    C2HPdu c2h_before_{};           // the one before it
    uint64_t piece_begin_ = 0;      // stream offset of the first span of the packet on_piece() saw last
    uint64_t pieces_ = 0;           // packets on_piece() saw: the identity for digest verdicts
    uint64_t crc_broken_until_ = 0; // stream offset where the last piece without NVMEDDP_PKT_CRC ended
    uint64_t verdict_piece_ = 0;    // the piece in which a data-digest PDU last ended
    bool verdict_matched_ = false;  // ... and whether the first to end there was the PDU the device named
    bool ahead_ = false;            // a piece said DIGEST_OK | DIGEST_AHEAD ...
    ddp::TcpSeq ahead_seq_{0};      // ... for the PDU whose header is here
    uint64_t ahead_at_ = 0;         // ... and began at this stream offset
    DdpReceiveStats stats_;
};

// Per packet on the receive path: inline, as the queue's run calls it for every packet.
inline void DdpReceive::on_piece(uint64_t stream_offset, size_t len, const RxPiece& piece) noexcept {
    const ::nvmeddp_pkt_meta* m = piece.meta;
    const bool mine = ours(m);
    if (!mine || (m->flags & NVMEDDP_PKT_CRC) == 0) crc_broken_until_ = stream_offset + len;
    // A later span of the same packet keeps the packet's identity and first byte: what the device
    // says of the packet was said once, from its first span.
    if (piece.continues_packet && pieces_ != 0) return;
    ++pieces_;
    piece_begin_ = stream_offset;
    constexpr uint8_t kAheadOk = NVMEDDP_PKT_DIGEST_AHEAD | NVMEDDP_PKT_DIGEST_OK;
    if (mine && (m->flags & kAheadOk) == kAheadOk && (m->flags & NVMEDDP_PKT_DIGEST_BAD) == 0) {
        ahead_ = true;
        ahead_seq_ = ddp::TcpSeq(m->digest_pdu_seq);
        ahead_at_ = stream_offset;
    }
}

// The same test as next_run()'s run 1, for a packet it covers to its end.
inline bool DdpReceive::claims_whole(const RxPiece& piece, uint64_t stream_offset, uint16_t cid,
                                     uint64_t buffer_offset, uint32_t len) noexcept {
    const ::nvmeddp_pkt_meta* m = piece.meta;
    if (len == 0 || !placed_by_us(m)) return false;
    const uint32_t into1 = into_run1(m, stream_offset);
    if (into1 >= m->place_len || m->place_len - into1 < len || !run1_exact(m, into1, cid, buffer_offset)) return false;
    stats_.bytes_claimed += len;
    return true;
}

}  // namespace nvmeddp::nvmetcp::host
