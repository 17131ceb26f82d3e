#include "nvmetcp/host/ddp_receive.hpp"

#include <algorithm>

namespace nvmeddp::nvmetcp::host {

using ddp::TcpSeq;

DdpReceive::DdpReceive(ddp::Device& device, uint16_t depth, uint32_t max_segments)
    : device_(device),
      depth_(depth),
      max_segments_(max_segments),
      regs_(new Registration[depth]),
      segments_(new ddp::BufferSegment[size_t{depth} * max_segments]) {}

DdpReceive::~DdpReceive() { remove(); }

ddp::Status DdpReceive::add(const ddp::ConnectionConfig& config, uint64_t stream_offset) {
    remove();
    const ddp::Status st = device_.add_connection(config, handle_);
    if (st != ddp::Status::Ok) return st;
    // A device that stamps no id (Unsupported) leaves conn_id_ at UINT32_MAX: no metadata is ours,
    // so nothing is claimed; setup and resync still work.
    if (device_.offload_id(handle_, conn_id_) != ddp::Status::Ok) conn_id_ = UINT32_MAX;
    active_ = true;
    base_seq_ = TcpSeq(config.rcv_seq);
    base_offset_ = stream_offset;
    crc_broken_until_ = stream_offset;
    for (uint16_t cid = 0; cid < depth_; ++cid) regs_[cid] = Registration{};
    return ddp::Status::Ok;
}

void DdpReceive::remove() {
    if (!active_) return;
    active_ = false;
    // The device tears every registration down itself (forced) and finishes the removal in poll();
    // the callbacks of teardowns still pending then say ConnectionDeleting, and nobody waits for
    // them: the queue fails its outstanding commands when its connection goes.
    device_.remove_connection(handle_);
    for (uint16_t cid = 0; cid < depth_; ++cid) regs_[cid] = Registration{};
    device_.poll(handle_);
}

bool DdpReceive::setup(uint16_t cid, std::span<const IoVec> data, uint32_t len) noexcept {
    if (!active_ || cid >= depth_ || regs_[cid].registered) return false;
    if (data.size() > max_segments_ || data.empty() || len == 0) {
        ++stats_.setups_skipped;
        return false;
    }
    ddp::BufferSegment* segs = &segments_[size_t{cid} * max_segments_];
    uint32_t n = 0;
    uint64_t left = len;
    for (const IoVec& v : data) {
        if (left == 0) break;
        const uint64_t take = std::min<uint64_t>(v.len, left);
        segs[n++] = ddp::BufferSegment{v.base, take};
        left -= take;
    }
    if (left != 0 || device_.setup(handle_, cid, {segs, n}, len) != ddp::Status::Ok) {
        ++stats_.setups_skipped;
        return false;
    }
    regs_[cid].registered = true;
    regs_[cid].tag = device_.registration_tag(handle_, cid);
    ++stats_.setups;
    return true;
}

bool DdpReceive::registered(uint16_t cid) const noexcept {
    return active_ && cid < depth_ && regs_[cid].registered && !regs_[cid].tearing_down;
}

void DdpReceive::on_teardown_done(void* arg, uint64_t, uint16_t cid, int) {
    auto* self = static_cast<DdpReceive*>(arg);
    if (cid >= self->depth_) return;
    Registration& r = self->regs_[cid];
    const TeardownDone done = r.done;
    void* done_arg = r.arg;
    r = Registration{};
    if (done != nullptr) done(done_arg, cid);
}

ddp::Status DdpReceive::teardown(uint16_t cid, TeardownDone done, void* arg) noexcept {
    if (!active_ || cid >= depth_ || !regs_[cid].registered || regs_[cid].tearing_down) return ddp::Status::Ok;
    Registration& r = regs_[cid];
    r.tearing_down = true;
    r.done = done;
    r.arg = arg;
    const ddp::Status st = device_.teardown(handle_, cid, &DdpReceive::on_teardown_done, this);
    if (st == ddp::Status::InProgress) {
        ++stats_.teardowns_async;
        return st;
    }
    // Ok, or refused (nothing registered after all): either way the buffer is the host's.
    ++stats_.teardowns_sync;
    r = Registration{};
    return ddp::Status::Ok;
}

void DdpReceive::poll() noexcept {
    if (active_) device_.poll(handle_);
}

void DdpReceive::on_piece(uint64_t stream_offset, size_t len, const RxPiece& piece) noexcept {
    ++pieces_;
    const ::nvmeddp_pkt_meta* m = piece.meta;
    if (!ours(m) || (m->flags & NVMEDDP_PKT_CRC) == 0) crc_broken_until_ = stream_offset + len;
}

void DdpReceive::on_header(uint64_t pdu_offset) noexcept {
    if (!active_) return;
    switch (device_.on_pdu_header(handle_, seq_at(pdu_offset).raw())) {
        case ddp::ResyncOutcome::Confirmed: ++stats_.resync_confirmed; break;
        case ddp::ResyncOutcome::Refused: ++stats_.resync_refused; break;
        case ddp::ResyncOutcome::None: break;
    }
}

// The claim covers a byte when one of its two runs holds the byte's sequence number and puts it at
// the buffer offset the parser gives it. Runs lie inside one packet (under 64 KiB), so unsigned
// distances from a run's first sequence number decide membership without wrap ambiguity.
DdpReceive::Run DdpReceive::next_run(const RxPiece& piece, uint64_t stream_offset, uint16_t cid,
                                     uint64_t buffer_offset, uint32_t len) noexcept {
    const ::nvmeddp_pkt_meta* m = piece.meta;
    if (len == 0 || !ours(m) || (m->flags & NVMEDDP_PKT_PLACED) == 0) return {len, false};
    const TcpSeq seq = seq_at(stream_offset);
    struct ClaimRun {
        TcpSeq start;
        uint32_t len;
        uint64_t buf;
    };
    const ClaimRun runs[2] = {
        {TcpSeq(m->place_seq), m->place_len, m->place_buf_off},
        {TcpSeq(m->place_seq) + m->place_len + m->place2_gap, m->place2_len, uint64_t{m->place_buf_off} + m->place_len},
    };
    const bool same_registration = registered(cid) && m->place_cccid == cid && m->place_tag == regs_[cid].tag;
    uint32_t plain = len;  // bytes before the next run starts, when seq is in none
    for (const ClaimRun& r : runs) {
        if (r.len == 0) continue;
        const uint32_t into = seq.raw() - r.start.raw();
        if (into < r.len) {
            const uint32_t n = std::min(len, r.len - into);
            const bool exact = same_registration && r.buf + into == buffer_offset;
            if (exact) stats_.bytes_claimed += n;
            else stats_.bytes_refused += n;
            return {n, exact};
        }
        const uint32_t ahead = r.start.raw() - seq.raw();
        if (ahead > 0 && ahead < plain) plain = ahead;
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
    const bool trusted = verdict_matched_ && crc_broken_until_ <= pdu_offset && ours(m) &&
                         (m->flags & NVMEDDP_PKT_DIGEST_OK) != 0 && (m->flags & NVMEDDP_PKT_DIGEST_BAD) == 0;
    if (trusted) ++stats_.digests_trusted;
    else ++stats_.digests_recomputed;
    return trusted;
}

}  // namespace nvmeddp::nvmetcp::host
