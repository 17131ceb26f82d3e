#include "testlib/ddp_host_model.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

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
    // A device that stamps no id leaves conn_id_ at UINT32_MAX: then no metadata is taken as ours.
    if (device_ != nullptr && device_->offload_id(connection_, conn_id_) != ddp::Status::Ok) conn_id_ = UINT32_MAX;
}

// A new read on cid; the one issued on it before, if any, kept as an earlier generation (its buffer
// stays where the device may still have it).
DdpHostModel::Read& DdpHostModel::new_read(uint16_t cid) {
    const auto it = reads_.find(cid);
    if (it == reads_.end()) return reads_[cid];
    earlier_reads_[cid].push_back(std::move(it->second));
    it->second = Read{};
    return it->second;
}

ddp::Status DdpHostModel::register_read(uint16_t cid, uint32_t length, std::optional<uint32_t> registered_len) {
    Read& r = new_read(cid);
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
    Read& r = new_read(cid);
    r.length = length;
    r.shadow.assign(length, kFreshByte);  // the same as a fresh registered buffer: bytes nobody wrote compare equal
}

void DdpHostModel::plan_read(uint16_t cid, uint32_t length, bool offload, std::optional<uint32_t> registered_len) {
    const PlannedRead p{length, offload, registered_len};
    if (reads_.count(cid) == 0) {
        issue(cid, p);
    } else {
        planned_[cid].push_back(p);
    }
}

void DdpHostModel::issue(uint16_t cid, const PlannedRead& p) {
    if (p.offload) {
        register_read(cid, p.length, p.registered_len);
    } else {
        expect_read(cid, p.length);
    }
}

// Called when cid's read completed: its next planned read, set up now, after every PDU up to the
// completion went through on_header() (the device dates the setup by the last of them).
void DdpHostModel::issue_next(uint16_t cid) {
    const auto p = planned_.find(cid);
    if (p == planned_.end() || p->second.empty()) return;
    const PlannedRead next = p->second.front();
    p->second.pop_front();
    ++totals_.reads_reissued;
    issue(cid, next);
    if (next.offload && device_ != nullptr && !reads_.at(cid).registered) ++totals_.reissued_setup_refused;
}

size_t DdpHostModel::reads_issued(uint16_t cid) const {
    if (reads_.count(cid) == 0) return 0;
    const auto e = earlier_reads_.find(cid);
    return (e == earlier_reads_.end() ? 0 : e->second.size()) + 1;
}

const DdpHostModel::Read& DdpHostModel::read(uint16_t cid, size_t generation) const {
    const auto e = earlier_reads_.find(cid);
    const size_t earlier = e == earlier_reads_.end() ? 0 : e->second.size();
    if (generation < earlier) return e->second[generation];
    if (generation == earlier) return reads_.at(cid);
    throw std::out_of_range("cid " + std::to_string(cid) + " has no read " + std::to_string(generation));
}

ddp::Status DdpHostModel::abort_read(uint16_t cid) {
    Read& r = reads_.at(cid);
    if (r.completed || r.aborted) return ddp::Status::NotRegistered;  // nothing left to give up
    r.aborted = true;
    if (device_ == nullptr || !r.registered) return ddp::Status::NotRegistered;
    const ddp::Status s = device_->teardown(connection_, cid);
    if (s == ddp::Status::Ok) r.at_teardown = r.storage;
    return s;
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
    const bool ours = piece.meta != nullptr && piece.meta->conn_id == conn_id_;
    pieces_.push_back(PieceBits{begin, totals_.delivered, ours && (piece.meta->flags & NVMEDDP_PKT_CRC) != 0});
    constexpr uint8_t kAheadOk = NVMEDDP_PKT_DIGEST_AHEAD | NVMEDDP_PKT_DIGEST_OK;
    if (ours && (piece.meta->flags & kAheadOk) == kAheadOk && (piece.meta->flags & NVMEDDP_PKT_DIGEST_BAD) == 0) {
        ahead_ = true;
        ahead_seq_ = piece.meta->digest_pdu_seq;
        ahead_at_ = begin;
    }
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
        c2h_previous_ = c2h_now_;
        const TcpSeq header_seq = TcpSeq(static_cast<uint32_t>(options_.first_seq + pdu_offset_));
        c2h_now_.seen = true;
        c2h_now_.data_first = header_seq + d.ch.pdo;
        c2h_now_.data_past = c2h_now_.data_first + datal_;
        c2h_now_.past_end = pdu_offset_ + d.ch.plen.get();
    } else if (type_ == PduType::CapsuleResp) {
        cid_ = h.as<CapsuleRespPdu>().cqe.cid.get();
    }
}

// The claim of the piece a byte came from, applied exactly: the byte is in the buffer when a run of
// the claim covers its sequence number and names the command, registration and buffer offset the
// host's own parser gives it. Run 2 is this host's current C2HData's data from its first byte, and
// only when its C2HData before ends its data exactly where run 1 ends and this piece began no later
// than that PDU's end (the device framed the bytes between from this same packet).
bool DdpHostModel::claimed(const ReceivedPiece& piece, const Read& r, TcpSeq seq, uint64_t buffer_offset) const {
    const ::nvmeddp_pkt_meta* m = piece.meta;
    if (m == nullptr || m->conn_id != conn_id_ || (m->flags & NVMEDDP_PKT_PLACED) == 0) return false;
    if (!r.registered || r.aborted) return false;
    const TcpSeq run1(m->place_seq);
    if (seq >= run1 && seq < run1 + m->place_len) {
        return m->place_cccid == cid_ && m->place_tag == r.tag && uint64_t{m->place_buf_off} + (seq - run1) == buffer_offset;
    }
    if (m->place2_len == 0 || !c2h_now_.seen || !c2h_previous_.seen) return false;
    const uint64_t piece_first = totals_.delivered - piece.bytes.size();
    if (c2h_previous_.data_past != run1 + m->place_len || piece_first > c2h_previous_.past_end) return false;
    const TcpSeq run2 = c2h_now_.data_first;
    if (seq >= run2 && seq < run2 + m->place2_len) {
        return m->place2_tag == r.tag && uint64_t{datao_} + (seq - run2) == buffer_offset;
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

namespace {

// Where the tests on_data() makes of each of n data bytes (first at buffer offset first_offset and
// sequence number first) may come out otherwise than for the byte before: sorted, ending with n.
// Mechanics, without coverage instrumentation (frame_gen.hpp).
NVMEDDP_TESTLIB_NO_COVERAGE void data_cuts(std::vector<uint64_t>& cuts, uint64_t n, uint64_t first_offset, TcpSeq first,
                                           const DdpHostModel::Read& r, const ::nvmeddp_pkt_meta* claim, TcpSeq run2) {
    cuts.clear();
    const auto cut_at_offset = [&](uint64_t buffer_offset) {
        if (buffer_offset > first_offset && buffer_offset - first_offset < n) cuts.push_back(buffer_offset - first_offset);
    };
    const auto cut_at_distances = [&](TcpSeq run, uint32_t len) {
        const uint32_t at = first.raw() - run.raw();  // the first byte's distance from the run, mod 2^32
        for (const uint32_t d : {uint32_t{0}, uint32_t{0x80000000u}, len, len + 0x80000000u}) {
            const uint64_t j = static_cast<uint32_t>(d - at);
            if (j > 0 && j < n) cuts.push_back(j);
        }
    };
    if (r.registered && !r.aborted) {
        cut_at_offset(r.registered_len);
        uint64_t end = 0;
        for (const auto& sg : r.segments) cut_at_offset(end += sg.len);
    }
    cut_at_offset(r.shadow.size());
    if (claim != nullptr) {
        const TcpSeq run1(claim->place_seq);
        cut_at_distances(run1, claim->place_len);
        cut_at_distances(run2, claim->place2_len);
    }
    cuts.push_back(n);
    for (size_t i = 1; i < cuts.size(); ++i) {  // a dozen at most
        for (size_t k = i; k > 0 && cuts[k] < cuts[k - 1]; --k) std::swap(cuts[k], cuts[k - 1]);
    }
}

}  // namespace

// Byte by byte, the host takes a data byte from the piece's claim when claimed() says so (and checks
// it against the byte received), and otherwise copies it into its buffer (or its shadow when no
// buffer byte holds that offset). It does so by runs of bytes for which every one of those tests
// comes out the same, each run decided at its first byte by the same claimed(): the tests change
// only where a byte's buffer offset crosses a segment's end, the registered length or the shadow's
// end, and where its sequence number's distance from the start of a claimed run crosses 0, 2^31,
// the run's length or its length + 2^31 (serial comparisons and signed distances flip only there;
// between those points, the buffer offset a claim gives a byte and the one the parser gives it
// both grow by one a byte, so they stay equal or stay different).
void DdpHostModel::on_data(const ParseEvent& ev, const ReceivedPiece& piece) {
    if (type_ != PduType::C2HData) return;
    auto it = reads_.find(cid_);
    if (it == reads_.end()) return;  // the validator let nothing through for an unknown command
    Read& r = it->second;
    const TcpSeq first = TcpSeq(options_.first_seq) + static_cast<uint32_t>(ev.stream_offset);
    const uint64_t first_offset = uint64_t{datao_} + ev.data_offset;
    const ::nvmeddp_pkt_meta* m = piece.meta;
    const bool may_claim = m != nullptr && (m->flags & NVMEDDP_PKT_PLACED) != 0;
    const uint64_t n = ev.data_len;

    data_cuts(cuts_, n, first_offset, first, r, may_claim ? m : nullptr, c2h_now_.data_first);

    uint64_t j = 0;
    for (const uint64_t until : cuts_) {
        if (until <= j) continue;
        const uint64_t len = until - j;
        const uint64_t buffer_offset = first_offset + j;
        const uint8_t* data = ev.data + j;
        uint8_t* dst = buffer_byte(r, buffer_offset);
        if (may_claim && dst != nullptr && claimed(piece, r, first + static_cast<uint32_t>(j), buffer_offset)) {
            totals_.claimed_placed += len;
            if (std::memcmp(dst, data, len) != 0) {
                for (uint64_t k = 0; k < len; ++k) {
                    if (dst[k] != data[k] && totals_.wrong_claims++ == 0) {
                        totals_.first_wrong_claim = "stream offset " + std::to_string(ev.stream_offset + j + k) + " (cid " +
                                                    std::to_string(cid_) + ", buffer offset " +
                                                    std::to_string(buffer_offset + k) + ")";
                    }
                }
            }
        } else {
            if (may_claim && m->place_len > 0) {
                const TcpSeq run1(m->place_seq);
                const TcpSeq seq = first + static_cast<uint32_t>(j);
                if (seq >= run1 && seq < run1 + m->place_len) totals_.claims_refused += len;
            }
            totals_.copied += len;
            if (dst != nullptr) {
                std::memcpy(dst, data, len);
            } else if (buffer_offset < r.shadow.size()) {
                std::memcpy(r.shadow.data() + buffer_offset, data, len);
            }
        }
        j = until;
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
        const bool end_ours = m != nullptr && m->conn_id == conn_id_;
        const bool verdict_here = verdict_matched_ && end_ours && (m->flags & NVMEDDP_PKT_DIGEST_AHEAD) == 0 &&
                                  (m->flags & NVMEDDP_PKT_DIGEST_OK) != 0;
        // A verdict given ahead, by a piece inside this PDU that filled its last hole.
        const bool verdict_ahead = ahead_ && ahead_seq_ == header_seq && ahead_at_ > pdu_offset_ &&
                                   !(end_ours && (m->flags & NVMEDDP_PKT_DIGEST_BAD) != 0);
        ahead_ = false;
        const bool trusted = all_crc && (verdict_here || verdict_ahead);
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
            if (end_ours && (m->flags & NVMEDDP_PKT_DIGEST_BAD) != 0) {
                ++totals_.recomputed_found_bad;
            } else if (!all_crc) {
                ++totals_.recomputed_uncovered;
            }
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
    if (device_ != nullptr && it->second.registered && !it->second.aborted) {
        const ddp::Status s = device_->teardown(connection_, cid);
        if (s == ddp::Status::Ok) {
            ++totals_.teardowns_sync;
            it->second.at_teardown = it->second.storage;
        } else if (s == ddp::Status::InProgress) {
            ++totals_.teardowns_async;
        } else {
            throw std::logic_error(std::string("teardown refused: ") + ddp::to_string(s));
        }
    }
    if (!totals_.parse_failed) issue_next(cid);  // a failed connection sends no more commands
}

void DdpHostModel::fail_connection() {
    for (auto& [cid, r] : reads_) {
        if (r.completed) continue;
        r.failed = true;
        complete(cid);
    }
}

DdpHostModel::ReadStatus DdpHostModel::status_of(const Read& r) {
    if (r.aborted) return ReadStatus::Aborted;
    if (r.failed) return ReadStatus::Failed;
    if (!r.completed) return ReadStatus::Pending;
    return r.digest_failed ? ReadStatus::DigestError : ReadStatus::Ok;
}

std::vector<uint8_t> DdpHostModel::contents_of(const Read& r) const {
    std::vector<uint8_t> out = r.shadow;
    if (!r.registered || r.aborted) return out;
    // The buffer's bytes where it has them (buffer_byte(): within registered_len, segment by segment).
    const uint64_t n = std::min<uint64_t>({r.length, r.registered_len, out.size()});
    uint64_t off = 0;
    for (const auto& sg : r.segments) {
        if (off >= n) break;
        const uint64_t len = std::min<uint64_t>(sg.len, n - off);
        std::memcpy(out.data() + off, sg.addr, len);
        off += len;
    }
    return out;
}

namespace {

NVMEDDP_TESTLIB_NO_COVERAGE bool all_guard_bytes(const uint8_t* p, size_t n) {
    uint8_t diff = 0;
    for (size_t i = 0; i < n; ++i) diff |= static_cast<uint8_t>(p[i] ^ DdpHostModel::kGuardByte);
    return diff == 0;
}

}  // namespace

bool DdpHostModel::guards_of(const Read& r) const {
    for (const auto& s : r.storage) {
        const size_t g = options_.guard;
        if (!all_guard_bytes(s.data(), g) || !all_guard_bytes(s.data() + s.size() - g, g)) return false;
    }
    return true;
}

bool DdpHostModel::guards_intact(uint16_t cid) const {
    for (size_t g = 0; g < reads_issued(cid); ++g) {
        if (!guards_of(read(cid, g))) return false;
    }
    return true;
}

}  // namespace nvmeddp::testlib
