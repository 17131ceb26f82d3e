#include "nvmetcp/host/ddp_receive.hpp"

#include <algorithm>
#include <cstdio>

namespace nvmeddp::nvmetcp::host {

using ddp::TcpSeq;

DdpReceive::DdpReceive(ddp::Device& device, uint16_t depth, uint32_t max_segments, uint32_t spare_segments)
    : device_(device),
      depth_(depth),
      max_segments_(max_segments),
      callbacks_(new Callbacks(depth, spare_segments)),
      regs_(callbacks_->regs.get()) {}

DdpReceive::~DdpReceive() {
    // Whoever asked for a teardown's `done` (the queue) goes with us: nobody is called any more.
    callbacks_->done = nullptr;
    remove();
    if (removed_elsewhere_ != 0) {
        device_.poll(handle_);
        finish_removed_elsewhere();
    }
    if (removed_elsewhere_ != 0) {
        // A registration of a connection someone else removed that the device has not let go of:
        // it may still read a cut copy, and nothing will say when it stops. The Callbacks are kept
        // for good (a callback still owed finds them too); the caller keeps its buffers (its queue
        // did not complete the command).
        std::fprintf(stderr, "nvmeddp host: %u read(s) still held by the offload device after their connection was "
                     "removed elsewhere: their segment lists' memory is kept\n", removed_elsewhere_);
        return;
    }
    // The device may still owe callbacks (a teardown it lets go of later), and until then may read
    // the segment lists: they find the Callbacks, and the last one frees it.
    if (callbacks_->pending != 0) callbacks_->orphaned = true;
    else delete callbacks_;
}

ddp::Status DdpReceive::add(const ddp::ConnectionConfig& config, uint64_t stream_offset) {
    remove();
    // The registrations of an earlier connection the device has not let go of yet still own their
    // slots (and segment lists): not reused until they are done.
    if (callbacks_->pending != 0 || removed_elsewhere_ != 0) return ddp::Status::InProgress;
    const ddp::Status st = device_.add_connection(config, handle_);
    if (st != ddp::Status::Ok) return st;
    // A device that stamps no id (Unsupported) leaves conn_id_ at UINT32_MAX: no metadata is ours,
    // so nothing is claimed; setup and resync still work.
    if (device_.offload_id(handle_, conn_id_) != ddp::Status::Ok) conn_id_ = UINT32_MAX;
    active_ = true;
    base_seq_ = TcpSeq(config.rcv_seq);
    base_offset_ = stream_offset;
    crc_broken_until_ = stream_offset;
    c2h_ = c2h_before_ = C2HPdu{};
    for (uint16_t cid = 0; cid < depth_; ++cid) regs_[cid] = Registration{};
    callbacks_->blocks.reset();  // no registration is left (pending == 0)
    return ddp::Status::Ok;
}

void DdpReceive::remove() {
    if (!active_) return;
    active_ = false;
    // The device tears every live registration down itself (forced) and may let go of them only
    // later (poll()). Until then their buffers are the device's: they are marked tearing down, so a
    // queue that completes such a command waits for the callback (teardown() says InProgress) rather
    // than hand the application a buffer the device may still write. Teardowns already pending keep
    // their callbacks. Some callbacks may come from inside remove_connection() (a registration let
    // go of at once is released, no longer registered), before `forced` is known: `pending` counts
    // modulo 2^32, so it is right again once the forced ones are added.
    uint32_t forced = 0;
    const ddp::Status st = device_.remove_connection(handle_, &DdpReceive::on_teardown_done, callbacks_, &forced);
    callbacks_->pending += forced;
    // Someone else removed the connection already: its forced teardowns call the remover back, not
    // us, and poll() watches the device's registrations instead (those of a connection gone
    // altogether are over: finish_removed_elsewhere() gives them back at once).
    const bool elsewhere = st == ddp::Status::ConnectionDeleting || st == ddp::Status::UnknownConnection;
    for (uint16_t cid = 0; cid < depth_; ++cid) {
        Registration& r = regs_[cid];
        if (!r.registered || r.tearing_down) continue;
        r.tearing_down = true;
        if (elsewhere) {
            r.removed_elsewhere = true;
            ++removed_elsewhere_;
        }
    }
    device_.poll(handle_);
    if (removed_elsewhere_ != 0) finish_removed_elsewhere();
}

bool DdpReceive::setup(uint16_t cid, std::span<const IoVec> data, uint32_t len) noexcept {
    if (!active_ || cid >= depth_ || regs_[cid].registered) return false;
    // Reads the device would refuse are not offered to it, as Linux's host checks the device's
    // limits and caps itself: below its io threshold the copy is cheaper, with placement switched
    // off there is nothing to register, and none of them counts as a failed setup.
    const ddp::DeviceLimits& limits = device_.limits();
    if ((device_.enabled_caps() & ddp::cap::kPlacement) == 0 || data.size() > max_segments_ || data.empty() ||
        len == 0 || len < limits.io_threshold || len > limits.max_io_size) {
        ++stats_.setups_skipped;
        return false;
    }
    // The entries that hold the read's len bytes (a list may be longer than the read).
    uint32_t n = 0;
    uint64_t need = len;
    uint64_t last_take = 0;  // bytes of the read in the last of them
    while (n < data.size() && need > 0) {
        last_take = std::min<uint64_t>(data[n].len, need);
        need -= last_take;
        ++n;
    }
    if (need != 0) {
        ++stats_.setups_skipped;
        return false;
    }
    Registration& r = regs_[cid];
    const ddp::BufferSegment* segs = data.data();
    if (last_take < data[n - 1].len) {
        // The read ends inside an entry: the device is given a copy cut there. (One that ends where
        // an entry does is registered as it stands, without the entries after it.)
        const uint32_t blocks = SegmentBlocks::blocks_for(n);
        const uint8_t first = callbacks_->blocks.take(blocks);
        if (first == SegmentBlocks::kNone) {
            ++stats_.setups_no_room;
            ++stats_.setups_skipped;
            return false;
        }
        r.spare_first = first;
        r.spare_blocks = static_cast<uint8_t>(blocks);
        ddp::BufferSegment* copy = &callbacks_->spare[size_t{first} * SegmentBlocks::kBlockSegments];
        std::copy_n(data.begin(), n, copy);
        copy[n - 1].len = last_take;
        segs = copy;
    }
    if (device_.setup(handle_, cid, {segs, n}, len) != ddp::Status::Ok) {
        callbacks_->release(r);
        ++stats_.setups_skipped;
        return false;
    }
    r.registered = true;
    r.tag = device_.registration_tag(handle_, cid);
    ++stats_.setups;
    return true;
}

void DdpReceive::on_teardown_done(void* arg, uint64_t, uint16_t cid, int) {
    auto* cb = static_cast<Callbacks*>(arg);
    --cb->pending;
    if (cb->orphaned) {  // the DdpReceive is gone (its queue too): only the memory is left to free
        if (cb->pending == 0) delete cb;
        return;
    }
    if (cid >= cb->depth) return;
    Registration& r = cb->regs[cid];
    const bool notify = r.notify;
    cb->release(r);
    if (notify && cb->done != nullptr) cb->done(cb->done_arg, cid);
}

ddp::Status DdpReceive::teardown(uint16_t cid) noexcept {
    if (cid >= depth_ || !regs_[cid].registered) return ddp::Status::Ok;
    Registration& r = regs_[cid];
    if (r.tearing_down) {
        // Forced by remove() and not let go of yet: the buffer is still the device's. (A second
        // teardown of a command the queue tears down already is counted once.)
        if (r.notify) return ddp::Status::InProgress;
        r.notify = true;
        ++stats_.teardowns_async;
        return ddp::Status::InProgress;
    }
    r.tearing_down = true;
    r.notify = true;
    const ddp::Status st = device_.teardown(handle_, cid, &DdpReceive::on_teardown_done, callbacks_);
    if (st == ddp::Status::InProgress) {
        ++callbacks_->pending;
        ++stats_.teardowns_async;
        return st;
    }
    if (st == ddp::Status::ConnectionDeleting) {
        // Someone other than remove() is removing the connection (a caller of the device's
        // remove_connection behind the host's back): its forced teardown of this command may still
        // be under way, its callback going to the remover. The buffers, the list and a cut copy's
        // spare blocks stay the device's until it releases the command id or frees the connection:
        // poll() watches for that and completes the command then.
        if (device_.registration_state(handle_, cid) != ddp::RegState::Free) {
            r.removed_elsewhere = true;
            ++removed_elsewhere_;
            ++stats_.teardowns_async;
            return ddp::Status::InProgress;
        }
    }
    // Ok, or refused (nothing registered after all), or the device let go already: either way the
    // buffer is the host's.
    ++stats_.teardowns_sync;
    callbacks_->release(r);
    return ddp::Status::Ok;
}

void DdpReceive::finish_removed_elsewhere() noexcept {
    for (uint16_t cid = 0; cid < depth_ && removed_elsewhere_ != 0; ++cid) {
        Registration& r = regs_[cid];
        // Free: released by the removal's teardown, or the connection is gone with all of them.
        // The slot is not registered again meanwhile: a removed connection takes no setup.
        if (!r.removed_elsewhere || device_.registration_state(handle_, cid) != ddp::RegState::Free) continue;
        --removed_elsewhere_;
        const bool notify = r.notify;
        callbacks_->release(r);
        if (notify && callbacks_->done != nullptr) callbacks_->done(callbacks_->done_arg, cid);
    }
}

void DdpReceive::poll() noexcept {
    // Also after remove(): the teardowns it forced complete their commands from here.
    if (active_ || callbacks_->pending != 0 || removed_elsewhere_ != 0) device_.poll(handle_);
    if (removed_elsewhere_ != 0) finish_removed_elsewhere();
}

void DdpReceive::on_header(uint64_t pdu_offset) noexcept {
    if (!active_) return;
    switch (device_.on_pdu_header(handle_, seq_at(pdu_offset).raw())) {
        case ddp::ResyncOutcome::Confirmed: ++stats_.resync_confirmed; break;
        case ddp::ResyncOutcome::Refused: ++stats_.resync_refused; break;
        case ddp::ResyncOutcome::None: break;
    }
}

void DdpReceive::on_c2h_header(uint16_t cid, uint32_t datao, uint64_t data_begin, uint32_t data_len,
                               uint64_t pdu_end) noexcept {
    c2h_before_ = c2h_;
    c2h_ = C2HPdu{true, cid, datao, data_begin, data_begin + data_len, pdu_end};
}

// The claim covers a byte when one of its two runs holds the byte's sequence number and puts it at
// the buffer offset the parser gives it. Run 1 is stated in full. Run 2 starts at the first data
// byte of the current C2HData and counts only when, in the queue's framing, the C2HData before it
// ends its data where run 1 ends and the piece holds every byte from that PDU's end on: the device
// claims run 2 only when it framed those same bytes from this packet, so both read the same PDUs
// up to this one, and the same command and DATAO in its header. Runs lie inside one packet (under
// 64 KiB), so unsigned distances from a run's first sequence number decide membership without wrap
// ambiguity.
DdpReceive::Run DdpReceive::next_run(const RxPiece& piece, uint64_t stream_offset, uint16_t cid,
                                     uint64_t buffer_offset, uint32_t len) noexcept {
    const ::nvmeddp_pkt_meta* m = piece.meta;
    // PLACED with an empty run 1 breaks the contract (run 2 follows run 1): no claim at all. Taken at
    // face value, a run 1 of no bytes starting at this byte made every answer 0 bytes long.
    if (len == 0 || !placed_by_us(m) || m->place_len == 0) return {len, false};
    const TcpSeq seq = seq_at(stream_offset);
    const auto decide = [&](uint32_t n, bool exact) -> Run {
        if (exact) stats_.bytes_claimed += n;
        else stats_.bytes_refused += n;
        return {n, exact};
    };
    const TcpSeq run1(m->place_seq);
    if (const uint32_t into1 = into_run1(m, stream_offset); into1 < m->place_len)
        return decide(std::min(len, m->place_len - into1), run1_exact(m, into1, cid, buffer_offset));
    uint32_t plain = len;  // bytes before run 1 starts, when seq is in neither run
    const uint32_t ahead = run1.raw() - seq.raw();
    if (ahead < plain) plain = ahead;
    // Run 2: the bytes [data_begin, + place2_len) of the current C2HData, if the byte is among them.
    if (m->place2_len != 0 && c2h_.known && stream_offset >= c2h_.data_begin && stream_offset < c2h_.data_end) {
        const uint64_t into2 = stream_offset - c2h_.data_begin;
        if (into2 < m->place2_len) {
            const bool framed_alike = c2h_before_.known && seq_at(c2h_before_.data_end) == run1 + m->place_len &&
                                      piece_begin_ <= c2h_before_.pdu_end;
            const bool exact = framed_alike && cid == c2h_.cid && registered(cid) && m->place2_tag == regs_[cid].tag &&
                               uint64_t{c2h_.datao} + into2 == buffer_offset;
            return decide(std::min<uint32_t>(plain, static_cast<uint32_t>(m->place2_len - into2)), exact);
        }
    }
    return {plain, false};
}

void DdpReceive::filled(uint16_t cid, uint64_t buffer_end) noexcept {
    if (registered(cid)) device_.filled(handle_, cid, buffer_end);
}

bool DdpReceive::digest_trusted(uint64_t pdu_offset, const RxPiece& piece) noexcept {
    const ::nvmeddp_pkt_meta* m = piece.meta;
    // The verdict is about the first PDU that ends in the piece; a later one in the same piece was
    // framed by the device from the same bytes, so it shares the verdict only if that first matched.
    if (verdict_piece_ != pieces_) {
        verdict_piece_ = pieces_;
        verdict_matched_ = ours(m) && m->digest_pdu_seq == seq_at(pdu_offset).raw();
    }
    const bool bad_here = ours(m) && (m->flags & NVMEDDP_PKT_DIGEST_BAD) != 0;
    const bool verdict_here = verdict_matched_ && ours(m) && (m->flags & NVMEDDP_PKT_DIGEST_OK) != 0 &&
                              (m->flags & NVMEDDP_PKT_DIGEST_AHEAD) == 0;
    // A verdict given ahead by a piece inside this PDU, the one that filled its last hole.
    const bool verdict_ahead = ahead_ && ahead_seq_ == seq_at(pdu_offset) && ahead_at_ > pdu_offset;
    ahead_ = false;
    const bool trusted = (verdict_here || verdict_ahead) && !bad_here && crc_broken_until_ <= pdu_offset;
    if (trusted) ++stats_.digests_trusted;
    else ++stats_.digests_recomputed;
    return trusted;
}

}  // namespace nvmeddp::nvmetcp::host
