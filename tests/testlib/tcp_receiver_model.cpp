#include "testlib/tcp_receiver_model.hpp"

#include <cstring>
#include <algorithm>
#include <iterator>

namespace nvmeddp::testlib {

using ddp::TcpSeq;

namespace {

bool same_meta(const std::optional<::nvmeddp_pkt_meta>& a, const std::optional<::nvmeddp_pkt_meta>& b) {
    if (a.has_value() != b.has_value()) return false;
    return !a || std::memcmp(&*a, &*b, sizeof *a) == 0;
}

}  // namespace

TcpReceiverModel::TcpReceiverModel(TcpSeq rcv_nxt, bool ipv6, const Options& options, Deliver deliver)
    : base_(rcv_nxt), rcv_nxt_(rcv_nxt), ipv6_(ipv6), options_(options), deliver_(std::move(deliver)), rng_(options.seed) {}

// The receiver is the test's model of a host's TCP, not code under test: no coverage instrumentation
// (frame_gen.hpp) for a fuzzer, whose time it took a good part of.
NVMEDDP_TESTLIB_NO_COVERAGE void TcpReceiverModel::on_frame(std::span<const uint8_t> frame, const FrameLayout& layout,
                                                            const ::nvmeddp_pkt_meta* meta) {
    ++counters_.frames;
    if (!checksums_ok(frame, layout, ipv6_)) {
        ++counters_.bad_checksum;
        return;
    }
    const uint32_t seq = uint32_t{frame[layout.l4_offset + 4u]} << 24 | uint32_t{frame[layout.l4_offset + 5u]} << 16 |
                         uint32_t{frame[layout.l4_offset + 6u]} << 8 | frame[layout.l4_offset + 7u];
    auto payload = frame.subspan(layout.payload_offset, layout.ip_end - layout.payload_offset);
    if (payload.empty()) return;
    TcpSeq begin(seq);
    const TcpSeq end = begin + static_cast<uint32_t>(payload.size());
    if (end <= rcv_nxt_) {
        ++counters_.old;
        return;
    }
    if (begin < rcv_nxt_) {
        ++counters_.trimmed;
        payload = payload.subspan(begin.bytes_to(rcv_nxt_));
        begin = rcv_nxt_;
    }
    const std::optional<::nvmeddp_pkt_meta> m = meta != nullptr ? std::optional(*meta) : std::nullopt;
    // Every queued segment begins after rcv_nxt (deliver_ready() leaves none at or before it). A
    // segment at rcv_nxt that overlaps none of them is what enqueue() would queue untouched and
    // deliver_ready() hand up first: hand it up from the frame, without a copy.
    if (begin == rcv_nxt_ && (queue_.empty() || queue_.begin()->first >= key(begin) + payload.size())) {
        rcv_nxt_ = end;
        deliver(begin, payload, m, nullptr);
    } else {
        enqueue(Segment{begin, std::vector<uint8_t>(payload.begin(), payload.end()), m});
    }
    deliver_ready();
    flush();
}

// Into the queue, which stays sorted and free of overlaps: either the new copy wins where it
// overlaps (replace) or only its missing parts go in (trim).
NVMEDDP_TESTLIB_NO_COVERAGE void TcpReceiverModel::enqueue(Segment s) {
    const uint64_t b = key(s.begin);
    const uint64_t e = b + s.bytes.size();
    // The queued segments that overlap [b, e): from the last one starting before e, backwards.
    auto first = queue_.lower_bound(b);
    if (first != queue_.begin() && std::prev(first)->first + std::prev(first)->second.bytes.size() > b) --first;
    const bool overlaps = first != queue_.end() && first->first < e;
    const bool replace = overlaps && unit_draw(rng_) < options_.replace;
    if (overlaps) ++(replace ? counters_.replaced : counters_.trimmed);
    if (replace) {
        // Cut the queued segments back to what lies outside s.
        for (auto it = first; it != queue_.end() && it->first < e;) {
            Segment& q = it->second;
            const uint64_t qb = it->first;
            const uint64_t qe = qb + q.bytes.size();
            if (qe > e) {  // a tail of q stays after s
                Segment tail{q.begin + static_cast<uint32_t>(e - qb),
                             std::vector<uint8_t>(q.bytes.begin() + static_cast<ptrdiff_t>(e - qb), q.bytes.end()), q.meta};
                queue_.emplace(e, std::move(tail));
            }
            if (qb < b) {  // a head of q stays before s
                q.bytes.resize(b - qb);
                ++it;
            } else {
                it = queue_.erase(it);
            }
        }
        queue_.emplace(b, std::move(s));
        return;
    }
    // Trim: insert the parts of s that no queued segment covers.
    uint64_t from = b;
    auto it = first;
    while (from < e) {
        while (it != queue_.end() && it->first + it->second.bytes.size() <= from) ++it;
        const uint64_t until = (it == queue_.end() || e < it->first) ? e : std::max(from, it->first);
        if (from < until) {
            Segment part{s.begin + static_cast<uint32_t>(from - b),
                         std::vector<uint8_t>(s.bytes.begin() + static_cast<ptrdiff_t>(from - b),
                                              s.bytes.begin() + static_cast<ptrdiff_t>(until - b)),
                         s.meta};
            queue_.emplace(from, std::move(part));
        }
        if (it == queue_.end() || it->first >= e) break;
        from = it->first + it->second.bytes.size();
    }
}

NVMEDDP_TESTLIB_NO_COVERAGE void TcpReceiverModel::deliver_ready() {
    while (!queue_.empty() && queue_.begin()->second.begin <= rcv_nxt_) {
        Segment s = std::move(queue_.begin()->second);
        queue_.erase(queue_.begin());
        if (s.end() <= rcv_nxt_) continue;
        std::span<const uint8_t> bytes = s.bytes;
        TcpSeq begin = s.begin;
        if (begin < rcv_nxt_) {
            bytes = bytes.subspan(begin.bytes_to(rcv_nxt_));
            begin = rcv_nxt_;
        }
        rcv_nxt_ = s.end();
        deliver(begin, bytes, s.meta, &s);
    }
}

NVMEDDP_TESTLIB_NO_COVERAGE void TcpReceiverModel::deliver(TcpSeq begin, std::span<const uint8_t> bytes,
                                                           const std::optional<::nvmeddp_pkt_meta>& meta, Segment* owner) {
    counters_.delivered_bytes += bytes.size();
    if (has_pending_ && options_.coalesce && pending_begin_ + static_cast<uint32_t>(pending_bytes_.size()) == begin &&
        same_meta(pending_meta_, meta)) {
        ++counters_.coalesced;
        if (!pending_joined_) {
            joined_.assign(pending_bytes_.begin(), pending_bytes_.end());
            pending_joined_ = true;
        }
        joined_.insert(joined_.end(), bytes.begin(), bytes.end());
        pending_bytes_ = joined_;
        return;
    }
    flush();
    if (owner != nullptr) held_ = std::move(*owner);  // the vector's storage, and so `bytes`, moves along
    pending_begin_ = begin;
    pending_bytes_ = bytes;
    pending_meta_ = meta;
    pending_joined_ = false;
    has_pending_ = true;
}

NVMEDDP_TESTLIB_NO_COVERAGE void TcpReceiverModel::flush() {
    if (!has_pending_) return;
    has_pending_ = false;
    const ReceivedPiece piece{pending_begin_, pending_bytes_, pending_meta_ ? &*pending_meta_ : nullptr};
    deliver_(piece);
}

}  // namespace nvmeddp::testlib
