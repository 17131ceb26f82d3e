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

void TcpReceiverModel::on_frame(std::span<const uint8_t> frame, const FrameLayout& layout,
                                const ::nvmeddp_pkt_meta* meta) {
    ++counters_.frames;
    if (!checksums_ok(frame, layout, ipv6_)) {
        ++counters_.bad_checksum;
        return;
    }
    const uint32_t seq = uint32_t{frame[layout.l4_offset + 4u]} << 24 | uint32_t{frame[layout.l4_offset + 5u]} << 16 |
                         uint32_t{frame[layout.l4_offset + 6u]} << 8 | frame[layout.l4_offset + 7u];
    const auto payload = frame.subspan(layout.payload_offset, layout.ip_end - layout.payload_offset);
    if (payload.empty()) return;
    Segment s{TcpSeq(seq), std::vector<uint8_t>(payload.begin(), payload.end()),
              meta != nullptr ? std::optional(*meta) : std::nullopt};
    if (s.end() <= rcv_nxt_) {
        ++counters_.old;
        return;
    }
    if (s.begin < rcv_nxt_) {
        ++counters_.trimmed;
        s.bytes.erase(s.bytes.begin(), s.bytes.begin() + s.begin.bytes_to(rcv_nxt_));
        s.begin = rcv_nxt_;
    }
    enqueue(std::move(s));
    deliver_ready();
    flush();
}

// Into the queue, which stays sorted and free of overlaps: either the new copy wins where it
// overlaps (replace) or only its missing parts go in (trim).
void TcpReceiverModel::enqueue(Segment s) {
    const uint64_t b = key(s.begin);
    const uint64_t e = b + s.bytes.size();
    // The queued segments that overlap [b, e): from the last one starting before e, backwards.
    auto first = queue_.lower_bound(b);
    if (first != queue_.begin() && std::prev(first)->first + std::prev(first)->second.bytes.size() > b) --first;
    const bool overlaps = first != queue_.end() && first->first < e;
    const bool replace = overlaps && std::uniform_real_distribution<double>(0, 1)(rng_) < options_.replace;
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

void TcpReceiverModel::deliver_ready() {
    while (!queue_.empty() && queue_.begin()->second.begin <= rcv_nxt_) {
        Segment s = std::move(queue_.begin()->second);
        queue_.erase(queue_.begin());
        if (s.end() <= rcv_nxt_) continue;
        if (s.begin < rcv_nxt_) {
            s.bytes.erase(s.bytes.begin(), s.bytes.begin() + s.begin.bytes_to(rcv_nxt_));
            s.begin = rcv_nxt_;
        }
        rcv_nxt_ = s.end();
        deliver(s);
    }
}

void TcpReceiverModel::deliver(Segment& s) {
    counters_.delivered_bytes += s.bytes.size();
    if (has_pending_ && options_.coalesce && pending_.end() == s.begin && same_meta(pending_.meta, s.meta)) {
        ++counters_.coalesced;
        pending_.bytes.insert(pending_.bytes.end(), s.bytes.begin(), s.bytes.end());
        return;
    }
    flush();
    pending_ = std::move(s);
    has_pending_ = true;
}

void TcpReceiverModel::flush() {
    if (!has_pending_) return;
    has_pending_ = false;
    const ReceivedPiece piece{pending_.begin, pending_.bytes, pending_.meta ? &*pending_.meta : nullptr};
    deliver_(piece);
}

}  // namespace nvmeddp::testlib
