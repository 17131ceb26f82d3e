#include "testlib/ddp_host_model.hpp"

#include <algorithm>
#include <stdexcept>

namespace nvmeddp::testlib {

using namespace nvmetcp;
using ddp::TcpSeq;

namespace {

ReceiveParams host_params(const DdpHostModel::Options& o) {
    ReceiveParams p;
    p.role = Role::Host;
    p.header_digest = o.header_digest;
    p.data_digest = o.data_digest;
    p.pda = o.pda;
    return p;
}

}  // namespace

DdpHostModel::DdpHostModel(ddp::Device* device, ddp::ConnectionHandle connection, const Options& options)
    : device_(device),
      connection_(connection),
      options_(options),
      parser_(host_params(options), false, this),
      receiver_(TcpSeq(options.first_seq), options.ipv6, options.receiver,
                [this](const ReceivedPiece& piece) { on_piece(piece); }) {
    if (device_ != nullptr) conn_id_ = device_->offload_id(connection_);
}

ddp::Status DdpHostModel::register_read(uint16_t cid, uint32_t length, std::optional<uint32_t> registered_len) {
    Read& r = reads_[cid];
    r = Read{};
    r.length = length;
    r.registered_len = registered_len.value_or(length);
    const uint32_t n = std::max<uint32_t>(1, std::min(options_.segments_per_buffer, r.registered_len));
    uint32_t left = r.registered_len;
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t len = i + 1 == n ? left : r.registered_len / n;
        left -= len;
        std::vector<uint8_t> s(options_.guard * 2 + len, kGuardByte);
        std::fill_n(s.begin() + static_cast<ptrdiff_t>(options_.guard), len, kFreshByte);
        r.storage.push_back(std::move(s));
    }
    for (auto& s : r.storage) r.segments.push_back({s.data() + options_.guard, s.size() - 2 * options_.guard});
    r.shadow.assign(length, kFreshByte);  // the same as a fresh registered buffer: bytes nobody wrote compare equal
    if (device_ == nullptr) return ddp::Status::PlacementDisabled;
    const ddp::Status st = device_->setup(connection_, cid, r.segments, r.registered_len);
    r.registered = st == ddp::Status::Ok;
    if (r.registered) r.tag = device_->registration_tag(connection_, cid);
    return st;
}

void DdpHostModel::expect_read(uint16_t cid, uint32_t length) {
    Read& r = reads_[cid];
    r = Read{};
    r.length = length;
    r.shadow.assign(length, kFreshByte);  // the same as a fresh registered buffer: bytes nobody wrote compare equal
}

ddp::Status DdpHostModel::abort_read(uint16_t cid) {
    Read& r = reads_.at(cid);
    if (r.completed || r.aborted) return ddp::Status::NotRegistered;  // nothing left to give up
    r.aborted = true;
    if (device_ == nullptr || !r.registered) return ddp::Status::NotRegistered;
    return device_->teardown(connection_, cid);
}

// Data in order within each command, inside it, for a command the host sent (NVMe/TCP 7.4.5.2: a
// host may treat anything else as a fatal transport error, and this one does).
nvmetcp::TransferValidator::Verdict DdpHostModel::check_transfer(PduType type, uint16_t cccid, uint16_t, uint32_t offset,
                                                                 uint32_t length) {
    if (type != PduType::C2HData) return Verdict::Ok;
    auto it = reads_.find(cccid);
    if (it == reads_.end() || it->second.completed) return Verdict::UnknownCommand;
    Read& r = it->second;
    if (offset != r.next_offset) return Verdict::OffsetOutOfRange;
    if (uint64_t{offset} + length > r.length) return Verdict::LengthOutOfRange;
    r.next_offset = offset + length;
    return Verdict::Ok;
}

void DdpHostModel::on_piece(const ReceivedPiece& piece) {
    if (totals_.parse_failed) return;  // a failed connection takes no more bytes
    const uint64_t begin = totals_.delivered;
    totals_.delivered += piece.bytes.size();
    ++piece_count_;
    pieces_.push_back(PieceBits{begin, totals_.delivered, piece.meta != nullptr && piece.meta->conn_id == conn_id_ &&
                                                             (piece.meta->flags & NVMEDDP_PKT_CRC) != 0});
    std::span<const uint8_t> in = piece.bytes;
    for (;;) {
        const auto [consumed, ev] = parser_.step(in);
        in = in.subspan(consumed);
        switch (ev.kind) {
            case EventKind::NeedMore: return;
            case EventKind::Error:
                totals_.parse_failed = true;
                totals_.parse_error = ev.error;
                fail_connection();
                return;
            case EventKind::Header: on_header(ev); break;
            case EventKind::Data: on_data(ev, piece); break;
            case EventKind::PduEnd: on_pdu_end(ev, piece); break;
        }
    }
}

void DdpHostModel::on_header(const ParseEvent& ev) {
    const HeaderView& h = parser_.header();
    type_ = h.type();
    pdu_offset_ = ev.stream_offset;
    flags_ = h.flags();
    // The pieces before this PDU no longer matter for its digest.
    while (!pieces_.empty() && pieces_.front().end <= pdu_offset_) pieces_.pop_front();
    if (device_ != nullptr && options_.answer_resync) {
        switch (device_->on_pdu_header(connection_, static_cast<uint32_t>(options_.first_seq + ev.stream_offset))) {
            case ddp::ResyncOutcome::Confirmed: ++totals_.resync_confirmed; break;
            case ddp::ResyncOutcome::Refused: ++totals_.resync_refused; break;
            case ddp::ResyncOutcome::None: break;
        }
    }
    if (type_ == PduType::C2HData) {
        const auto& d = h.as<C2HDataPdu>();
        cid_ = d.cccid.get();
        datao_ = d.datao.get();
        datal_ = d.datal.get();
    } else if (type_ == PduType::CapsuleResp) {
        cid_ = h.as<CapsuleRespPdu>().cqe.cid.get();
    }
}

// The claim of the piece a byte came from, applied exactly: the byte is in the buffer when a run of
// the claim covers its sequence number and names the command, registration and buffer offset the
// host's own parser gives it.
bool DdpHostModel::claimed(const ReceivedPiece& piece, const Read& r, TcpSeq seq, uint64_t buffer_offset) const {
    const ::nvmeddp_pkt_meta* m = piece.meta;
    if (m == nullptr || m->conn_id != conn_id_ || (m->flags & NVMEDDP_PKT_PLACED) == 0) return false;
    if (!r.registered || r.aborted || m->place_cccid != cid_ || m->place_tag != r.tag) return false;
    const TcpSeq run1(m->place_seq);
    if (seq >= run1 && seq < run1 + m->place_len) return uint64_t{m->place_buf_off} + (seq - run1) == buffer_offset;
    const TcpSeq run2 = run1 + m->place_len + m->place2_gap;
    if (seq >= run2 && seq < run2 + m->place2_len) {
        return uint64_t{m->place_buf_off} + m->place_len + (seq - run2) == buffer_offset;
    }
    return false;
}

uint8_t* DdpHostModel::buffer_byte(Read& r, uint64_t offset) {
    return const_cast<uint8_t*>(static_cast<const DdpHostModel*>(this)->buffer_byte(r, offset));
}

const uint8_t* DdpHostModel::buffer_byte(const Read& r, uint64_t offset) const {
    if (!r.registered || r.aborted || offset >= r.registered_len) return nullptr;
    for (const auto& s : r.segments) {
        if (offset < s.len) return static_cast<const uint8_t*>(s.addr) + offset;
        offset -= s.len;
    }
    return nullptr;
}

void DdpHostModel::on_data(const ParseEvent& ev, const ReceivedPiece& piece) {
    if (type_ != PduType::C2HData) return;
    auto it = reads_.find(cid_);
    if (it == reads_.end()) return;  // the validator let nothing through for an unknown command
    Read& r = it->second;
    const TcpSeq first = TcpSeq(options_.first_seq) + static_cast<uint32_t>(ev.stream_offset);
    const uint64_t first_offset = uint64_t{datao_} + ev.data_offset;
    const bool may_claim = piece.meta != nullptr && (piece.meta->flags & NVMEDDP_PKT_PLACED) != 0;
    for (uint32_t j = 0; j < ev.data_len; ++j) {
        const uint64_t buffer_offset = first_offset + j;
        uint8_t* dst = buffer_byte(r, buffer_offset);
        if (may_claim && dst != nullptr && claimed(piece, r, first + j, buffer_offset)) {
            ++totals_.claimed_placed;
            if (*dst != ev.data[j] && totals_.wrong_claims++ == 0) {
                totals_.first_wrong_claim = "stream offset " + std::to_string(ev.stream_offset + j) + " (cid " +
                                            std::to_string(cid_) + ", buffer offset " + std::to_string(buffer_offset) + ")";
            }
            continue;
        }
        if (may_claim && piece.meta->place_len > 0) {
            const TcpSeq run1(piece.meta->place_seq);
            if (first + j >= run1 && first + j < run1 + piece.meta->place_len) ++totals_.claims_refused;
        }
        ++totals_.copied;
        if (dst != nullptr) {
            *dst = ev.data[j];
        } else if (buffer_offset < r.shadow.size()) {
            r.shadow[buffer_offset] = ev.data[j];
        }
    }
    // Everything up to here is final: the device must not write there any more.
    if (device_ != nullptr && r.registered && !r.aborted) device_->filled(connection_, cid_, first_offset + ev.data_len);
}

void DdpHostModel::on_pdu_end(const ParseEvent& ev, const ReceivedPiece& piece) {
    if (type_ == PduType::C2HData && options_.data_digest) {
        bool all_crc = true;
        for (const PieceBits& p : pieces_) all_crc = all_crc && p.crc;
        const ::nvmeddp_pkt_meta* m = piece.meta;
        const uint32_t header_seq = static_cast<uint32_t>(options_.first_seq + pdu_offset_);
        // The verdict is about the first PDU that ends in the packet; later ones in the same piece
        // are covered when that first one was the PDU the device named.
        if (verdict_piece_ != piece_count_) {
            verdict_piece_ = piece_count_;
            verdict_matched_ = m != nullptr && m->digest_pdu_seq == header_seq;
        }
        const bool trusted = all_crc && verdict_matched_ && m != nullptr && m->conn_id == conn_id_ &&
                             (m->flags & NVMEDDP_PKT_DIGEST_OK) != 0;
        const bool wire_ok = ev.digest == DigestStatus::Verified;
        bool ok = wire_ok;
        if (trusted) {
            ++totals_.digests_trusted;
            ok = true;
            if (!wire_ok && totals_.false_digest_claims++ == 0) {
                totals_.first_false_digest_claim = "PDU at stream offset " + std::to_string(pdu_offset_) + ", cid " +
                                                   std::to_string(cid_) + ", datao " + std::to_string(datao_) +
                                                   ", datal " + std::to_string(datal_);
            }
        } else {
            ++totals_.digests_recomputed;
        }
        auto it = reads_.find(cid_);
        if (!ok && it != reads_.end() && !it->second.digest_failed) {
            it->second.digest_failed = true;
            ++totals_.digest_failures;
        }
    }
    const bool completes = (type_ == PduType::CapsuleResp) ||
                           (type_ == PduType::C2HData && (flags_ & pdu_flags::kSuccess) != 0);
    if (completes) complete(cid_);
}

void DdpHostModel::complete(uint16_t cid) {
    auto it = reads_.find(cid);
    if (it == reads_.end() || it->second.completed) return;
    it->second.completed = true;
    if (device_ == nullptr || !it->second.registered || it->second.aborted) return;
    const ddp::Status s = device_->teardown(connection_, cid);
    if (s == ddp::Status::Ok) {
        ++totals_.teardowns_sync;
    } else if (s == ddp::Status::InProgress) {
        ++totals_.teardowns_async;
    } else {
        throw std::logic_error(std::string("teardown refused: ") + ddp::to_string(s));
    }
}

void DdpHostModel::fail_connection() {
    for (auto& [cid, r] : reads_) {
        if (r.completed) continue;
        r.failed = true;
        complete(cid);
    }
}

DdpHostModel::ReadStatus DdpHostModel::status(uint16_t cid) const {
    const Read& r = reads_.at(cid);
    if (r.aborted) return ReadStatus::Aborted;
    if (r.failed) return ReadStatus::Failed;
    if (!r.completed) return ReadStatus::Pending;
    return r.digest_failed ? ReadStatus::DigestError : ReadStatus::Ok;
}

std::vector<uint8_t> DdpHostModel::contents(uint16_t cid) const {
    const Read& r = reads_.at(cid);
    std::vector<uint8_t> out = r.shadow;
    if (!r.registered || r.aborted) return out;
    for (uint64_t off = 0; off < r.length; ++off) {
        if (const uint8_t* b = buffer_byte(r, off)) out[off] = *b;
    }
    return out;
}

bool DdpHostModel::guards_intact(uint16_t cid) const {
    const Read& r = reads_.at(cid);
    for (const auto& s : r.storage) {
        const size_t g = options_.guard;
        if (!std::all_of(s.begin(), s.begin() + static_cast<ptrdiff_t>(g), [](uint8_t b) { return b == kGuardByte; }) ||
            !std::all_of(s.end() - static_cast<ptrdiff_t>(g), s.end(), [](uint8_t b) { return b == kGuardByte; })) {
            return false;
        }
    }
    return true;
}

}  // namespace nvmeddp::testlib
