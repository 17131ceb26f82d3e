#include "testlib/ddp_host_model.hpp"

#include <algorithm>
#include <stdexcept>

#include "nvmetcp/crc32c.hpp"

namespace nvmeddp::testlib {

using namespace nvmetcp;

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

DdpHostModel::DdpHostModel(ddp::Device& device, ddp::ConnectionHandle connection, const Options& options)
    : device_(device), connection_(connection), options_(options), parser_(host_params(options), false) {}

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
    r.shadow.assign(length, 0);
    const ddp::Status st = device_.setup(connection_, cid, r.segments, r.registered_len);
    r.registered = st == ddp::Status::Ok;
    return st;
}

void DdpHostModel::expect_read(uint16_t cid, uint32_t length) {
    Read& r = reads_[cid];
    r = Read{};
    r.length = length;
    r.shadow.assign(length, 0);
}

ddp::Status DdpHostModel::abort_read(uint16_t cid) {
    Read& r = reads_.at(cid);
    const ddp::Status s = device_.teardown(connection_, cid);
    r.aborted = true;
    return s;
}

void DdpHostModel::on_frame(uint64_t stream_offset, std::span<const uint8_t> payload, const ::nvmeddp_pkt_meta* meta) {
    const auto index = static_cast<int32_t>(frames_.size());
    frames_.push_back(Frame{stream_offset, meta != nullptr, meta != nullptr ? *meta : ::nvmeddp_pkt_meta{}});
    const uint64_t end = stream_offset + payload.size();
    if (end > stream_.size()) {
        stream_.resize(end);
        source_.resize(end, -1);
    }
    for (size_t i = 0; i < payload.size(); ++i) {
        const uint64_t at = stream_offset + i;
        if (source_[at] >= 0) continue;  // the first copy stays
        stream_[at] = payload[i];
        source_[at] = index;
    }
    deliver();
}

void DdpHostModel::deliver() {
    if (totals_.parse_failed) return;  // a failed connection takes no more bytes
    uint64_t end = delivered_;
    while (end < source_.size() && source_[end] >= 0) ++end;
    if (end == delivered_) return;
    std::span<const uint8_t> in(stream_.data() + delivered_, end - delivered_);
    delivered_ = end;
    totals_.delivered = end;
    for (;;) {
        const auto [consumed, ev] = parser_.step(in);
        in = in.subspan(consumed);
        switch (ev.kind) {
            case EventKind::NeedMore: return;
            case EventKind::Error:
                totals_.parse_failed = true;
                totals_.parse_error = ev.error;
                return;
            case EventKind::Header: on_header(ev); break;
            case EventKind::Data: on_data(ev); break;
            case EventKind::PduEnd: on_pdu_end(ev); break;
        }
    }
}

void DdpHostModel::on_header(const ParseEvent& ev) {
    const HeaderView& h = parser_.header();
    type_ = h.type();
    pdu_offset_ = ev.stream_offset;
    plen_ = h.common().plen.get();
    flags_ = h.flags();
    const auto outcome = options_.answer_resync
                             ? device_.on_pdu_header(connection_, static_cast<uint32_t>(options_.first_seq + ev.stream_offset))
                             : ddp::ResyncOutcome::None;
    switch (outcome) {
        case ddp::ResyncOutcome::Confirmed: ++totals_.resync_confirmed; break;
        case ddp::ResyncOutcome::Refused: ++totals_.resync_refused; break;
        case ddp::ResyncOutcome::None: break;
    }
    if (type_ == PduType::C2HData) {
        const auto& d = h.as<C2HDataPdu>();
        cid_ = d.cccid.get();
        datao_ = d.datao.get();
        datal_ = d.datal.get();
        if (options_.data_digest) parser_.skip_data_digest();  // decided at PduEnd, as a real host does
        wire_crc_.reset();
    } else if (type_ == PduType::CapsuleResp) {
        cid_ = h.as<CapsuleRespPdu>().cqe.cid.get();
    }
}

bool DdpHostModel::claimed_placed(uint64_t stream_offset) const {
    const Frame& f = frames_[static_cast<size_t>(source_[stream_offset])];
    if (!f.has_meta || (f.meta.flags & NVMEDDP_PKT_PLACED) == 0) return false;
    const uint64_t off = stream_offset - f.stream_offset;
    return off >= f.meta.placed_begin && off < f.meta.placed_end;
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

void DdpHostModel::on_data(const ParseEvent& ev) {
    if (type_ != PduType::C2HData) return;
    wire_crc_.update(ev.data, ev.data_len);
    auto it = reads_.find(cid_);
    for (uint32_t j = 0; j < ev.data_len; ++j) {
        const uint64_t at = ev.stream_offset + j;
        const uint64_t buffer_offset = uint64_t{datao_} + ev.data_offset + j;
        const bool claimed = claimed_placed(at);
        uint8_t* dst = it == reads_.end() ? nullptr : buffer_byte(it->second, buffer_offset);
        if (claimed) {
            // A claim is checked, never trusted: the byte must be in the registered buffer already.
            if (dst != nullptr && *dst == ev.data[j]) {
                ++totals_.claimed_placed;
            } else {
                if (totals_.wrong_claims++ == 0) {
                    totals_.first_wrong_claim = "stream offset " + std::to_string(at) + " (cid " + std::to_string(cid_) +
                                                ", buffer offset " + std::to_string(buffer_offset) + ", " +
                                                (dst == nullptr ? "no buffer there" : "buffer holds another byte") + ")";
                }
                if (totals_.wrong_claim_places.size() < 1024) totals_.wrong_claim_places.emplace_back(cid_, buffer_offset);
            }
            continue;
        }
        ++totals_.copied;
        if (dst != nullptr) {
            *dst = ev.data[j];
        } else if (it != reads_.end() && buffer_offset < it->second.shadow.size()) {
            it->second.shadow[buffer_offset] = ev.data[j];
        }
    }
}

void DdpHostModel::on_pdu_end(const ParseEvent& ev) {
    if (type_ == PduType::C2HData && options_.data_digest) {
        const Frame& f = frames_[static_cast<size_t>(source_[pdu_offset_ + plen_ - 1])];
        const bool trusted = f.has_meta && (f.meta.flags & NVMEDDP_PKT_DIGEST_OK) != 0 &&
                             (f.meta.flags & NVMEDDP_PKT_DIGEST_BAD) == 0;
        // The software digest over what the host now holds for this PDU's range.
        Crc32c crc;
        auto it = reads_.find(cid_);
        for (uint32_t j = 0; j < datal_; ++j) {
            const uint64_t off = uint64_t{datao_} + j;
            const uint8_t* b = it == reads_.end() ? nullptr : buffer_byte(it->second, off);
            uint8_t v = 0;
            if (b != nullptr) {
                v = *b;
            } else if (it != reads_.end() && off < it->second.shadow.size()) {
                v = it->second.shadow[off];
            }
            crc.update(&v, 1);
        }
        // The host's own verdict is over what it holds (its buffer), as a host recomputes after
        // placement; whether a DIGEST_OK claim was true is judged on the data as received (a datao
        // beyond the buffer leaves nothing there to judge by).
        const bool matches = crc.value() == ev.received_digest;
        if (trusted) {
            ++totals_.digests_trusted;
            if (wire_crc_.value() != ev.received_digest && totals_.false_digest_claims++ == 0) {
                totals_.first_false_digest_claim = "PDU at stream offset " + std::to_string(pdu_offset_) + ", cid " +
                                                   std::to_string(cid_) + ", datao " + std::to_string(datao_) + ", datal " +
                                                   std::to_string(datal_);
            }
        } else {
            ++totals_.digests_recomputed;
        }
        if (!matches && it != reads_.end() && !it->second.digest_failed) {
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
    if (!it->second.registered || it->second.aborted) return;
    const ddp::Status s = device_.teardown(connection_, cid);
    if (s == ddp::Status::Ok) {
        ++totals_.teardowns_sync;
    } else if (s == ddp::Status::InProgress) {
        ++totals_.teardowns_async;
    } else {
        throw std::logic_error(std::string("teardown refused: ") + ddp::to_string(s));
    }
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
