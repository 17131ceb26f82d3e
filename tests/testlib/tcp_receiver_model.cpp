#include "testlib/tcp_receiver_model.hpp"

#include <cstring>
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
    : rcv_nxt_(rcv_nxt), ipv6_(ipv6), options_(options), deliver_(std::move(deliver)), rng_(options.seed) {}

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
    bool overlaps = false;
    for (const Segment& q : queue_) overlaps = overlaps || (q.begin < s.end() && s.begin < q.end());
    const bool replace = overlaps && std::uniform_real_distribution<double>(0, 1)(rng_) < options_.replace;
    if (overlaps) ++(replace ? counters_.replaced : counters_.trimmed);
    if (replace) {
        // Cut the queued segments back to what lies outside s.
        for (auto it = queue_.begin(); it != queue_.end();) {
            Segment& q = *it;
            if (!(q.begin < s.end() && s.begin < q.end())) {
                ++it;
                continue;
            }
            if (q.end() > s.end()) {  // a tail of q stays after s
                Segment tail{s.end(), std::vector<uint8_t>(q.bytes.begin() + q.begin.bytes_to(s.end()), q.bytes.end()), q.meta};
                queue_.insert(std::next(it), std::move(tail));
            }
            if (q.begin < s.begin) {  // a head of q stays before s
                q.bytes.resize(q.begin.bytes_to(s.begin));
                ++it;
            } else {
                it = queue_.erase(it);
            }
        }
        auto at = queue_.begin();
        while (at != queue_.end() && at->begin < s.begin) ++at;
        queue_.insert(at, std::move(s));
        return;
    }
    // Trim: insert the parts of s that no queued segment covers.
    TcpSeq from = s.begin;
    auto it = queue_.begin();
    while (from < s.end()) {
        while (it != queue_.end() && it->end() <= from) ++it;
        const TcpSeq until = (it == queue_.end() || s.end() < it->begin) ? s.end() : it->begin;
        if (from < until) {
            Segment part{from, std::vector<uint8_t>(s.bytes.begin() + s.begin.bytes_to(from),
                                                    s.bytes.begin() + s.begin.bytes_to(until)),
                         s.meta};
            queue_.insert(it, std::move(part));
        }
        if (it == queue_.end()) break;
        from = it->end();
    }
}

void TcpReceiverModel::deliver_ready() {
    while (!queue_.empty() && queue_.front().begin <= rcv_nxt_) {
        Segment s = std::move(queue_.front());
        queue_.pop_front();
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
