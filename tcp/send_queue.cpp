#include "tcp/send_queue.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "nvmetcp/crc32c_copy.hpp"

namespace nvmeddp::tcp {

namespace {

// Serial arithmetic needs the queued range below 2^31 bytes.
constexpr uint64_t kMaxQueuedBytes = (uint64_t{1} << 31) - 1;

// Frees one segment that is no longer linked to anything (its `next` cleared first, so that a
// segment a slice still holds does not point into freed mbufs).
void free_segment(rte_mbuf* m) noexcept {
    m->next = nullptr;
    rte_pktmbuf_free_seg(m);
}

}  // namespace

SendQueue::~SendQueue() { free_all(); }

SendQueue::SendQueue(SendQueue&& other) noexcept
    : head_(std::exchange(other.head_, nullptr)),
      head_start_(other.head_start_),
      tail_(std::exchange(other.tail_, nullptr)),
      tail_copied_(std::exchange(other.tail_copied_, false)),
      segments_(std::exchange(other.segments_, 0)),
      front_(std::exchange(other.front_, Position{nullptr, Seq(0)})),
      back_(std::exchange(other.back_, Position{nullptr, Seq(0)})),
      una_(other.una_),
      end_(other.end_) {
    other.end_ = other.una_;
}

SendQueue& SendQueue::operator=(SendQueue&& other) noexcept {
    if (this != &other) {
        free_all();
        head_ = std::exchange(other.head_, nullptr);
        head_start_ = other.head_start_;
        tail_ = std::exchange(other.tail_, nullptr);
        tail_copied_ = std::exchange(other.tail_copied_, false);
        segments_ = std::exchange(other.segments_, 0);
        front_ = std::exchange(other.front_, Position{nullptr, Seq(0)});
        back_ = std::exchange(other.back_, Position{nullptr, Seq(0)});
        una_ = other.una_;
        end_ = other.end_;
        other.end_ = other.una_;
    }
    return *this;
}

void SendQueue::free_all() noexcept {
    for (rte_mbuf* m = head_; m != nullptr;) {
        rte_mbuf* next = m->next;
        free_segment(m);
        m = next;
    }
    head_ = tail_ = nullptr;
    tail_copied_ = false;
    segments_ = 0;
    front_ = back_ = Position{nullptr, Seq(0)};
}

void SendQueue::reset(Seq snd_una) noexcept {
    free_all();
    una_ = end_ = head_start_ = snd_una;
}

void SendQueue::link(rte_mbuf* m) noexcept {
    if (tail_ == nullptr) {
        head_ = m;
        head_start_ = end_;  // empty: una == end
    } else {
        tail_->next = m;
    }
    tail_ = m;
    end_ += m->data_len;
    ++segments_;
}

bool SendQueue::append(rte_mbuf* chain) noexcept {
    if (chain == nullptr) return true;
    // The data lengths, not pkt_len: they are what slice() and copy_out() walk.
    uint64_t len = 0;
    for (const rte_mbuf* m = chain; m != nullptr; m = m->next) {
        if (rte_mbuf_refcnt_read(m) != 1) return false;
        len += m->data_len;
    }
    if (len > 0 && size() + len > kMaxQueuedBytes) return false;
    for (rte_mbuf* m = chain; m != nullptr;) {
        rte_mbuf* next = m->next;
        if (m->data_len == 0) {
            free_segment(m);
        } else {
            m->next = nullptr;
            link(m);
            tail_copied_ = false;
        }
        m = next;
    }
    return true;
}

size_t SendQueue::append_copy(std::span<const uint8_t> bytes, rte_mempool* pool, uint32_t* crc_state) noexcept {
    size_t taken = 0;
    auto copy = [crc_state](void* dst, const uint8_t* src, size_t n) {
        if (crc_state != nullptr) {
            *crc_state = nvmetcp::crc32c_copy_extend(*crc_state, dst, src, n);
        } else {
            std::memcpy(dst, src, n);
        }
    };
    auto room = [&] { return std::min<uint64_t>(bytes.size() - taken, kMaxQueuedBytes - size()); };

    // Writing into a buffer someone else also points at (a slice in flight references the whole
    // buffer) is not ours to do, even past the bytes they look at.
    if (tail_copied_ && RTE_MBUF_DIRECT(tail_) && rte_mbuf_refcnt_read(tail_) == 1) {
        const auto n = static_cast<uint16_t>(std::min<uint64_t>(rte_pktmbuf_tailroom(tail_), room()));
        if (n > 0) {  // tail_ is a single mbuf append_copy took: appending to it as a packet is exact
            copy(rte_pktmbuf_append(tail_, n), bytes.data(), n);
            end_ += n;
            taken += n;
        }
    }
    while (room() > 0) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        if (m == nullptr) break;
        const auto n = static_cast<uint16_t>(std::min<uint64_t>(rte_pktmbuf_tailroom(m), room()));
        if (n == 0) {  // a pool of mbufs without data room
            rte_pktmbuf_free(m);
            break;
        }
        copy(rte_pktmbuf_append(m, n), bytes.data() + taken, n);
        link(m);
        tail_copied_ = true;
        taken += n;
    }
    return taken;
}

bool SendQueue::holds(Seq seq, uint32_t len) const noexcept {
    return una_ <= seq && seq <= end_ && len <= seq.bytes_to(end_);
}

SendQueue::Position SendQueue::find(Seq seq) const noexcept {
    // Every live cursor starts at or after head_start_, so the nearest one at or before seq wins.
    Position p{head_, head_start_};
    for (const Position& c : {front_, back_}) {
        if (c.m != nullptr && c.start <= seq && p.start < c.start) p = c;
    }
    while (p.start + p.m->data_len <= seq) {
        p.start += p.m->data_len;
        p.m = p.m->next;
    }
    if (front_.m == nullptr || front_.start <= p.start) {
        front_ = p;
    } else {
        back_ = p;
    }
    return p;
}

void SendQueue::forget_cursors_at(const rte_mbuf* m) noexcept {
    if (front_.m == m) front_.m = nullptr;
    if (back_.m == m) back_.m = nullptr;
}

rte_mbuf* SendQueue::slice(Seq seq, uint32_t len, rte_mempool* pool) noexcept {
    if (len == 0 || !holds(seq, len)) return nullptr;
    const Position at = find(seq);
    uint32_t skip = at.start.bytes_to(seq);  // bytes of the first segment before seq
    uint32_t left = len;
    rte_mbuf* head = nullptr;
    rte_mbuf* tail = nullptr;
    uint16_t segments = 0;
    for (rte_mbuf* m = at.m; left > 0; m = m->next) {
        rte_mbuf* piece = rte_pktmbuf_alloc(pool);
        if (piece == nullptr) {
            rte_pktmbuf_free(head);  // detaches what was attached: the queue's refcounts are back
            return nullptr;
        }
        rte_pktmbuf_attach(piece, m);
        const auto take = static_cast<uint16_t>(std::min<uint32_t>(m->data_len - skip, left));
        piece->data_off = static_cast<uint16_t>(piece->data_off + skip);
        piece->data_len = take;
        piece->pkt_len = take;
        // attach copies the queued mbuf's flags (rx offload results, say); keep only what says
        // whose buffer this is.
        piece->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;
        if (tail == nullptr) {
            head = piece;
        } else {
            tail->next = piece;
        }
        tail = piece;
        ++segments;
        left -= take;
        skip = 0;
    }
    head->pkt_len = len;
    head->nb_segs = segments;
    return head;
}

bool SendQueue::copy_out(Seq seq, uint32_t len, uint8_t* dst) const noexcept {
    if (len == 0) return true;
    if (!holds(seq, len)) return false;
    const Position at = find(seq);
    uint32_t skip = at.start.bytes_to(seq);
    uint32_t left = len;
    for (const rte_mbuf* m = at.m; left > 0; m = m->next) {
        const uint32_t take = std::min<uint32_t>(m->data_len - skip, left);
        std::memcpy(dst, rte_pktmbuf_mtod_offset(m, const uint8_t*, skip), take);
        dst += take;
        left -= take;
        skip = 0;
    }
    return true;
}

uint32_t SendQueue::acknowledge(Seq ack) noexcept {
    if (!(una_ < ack && ack <= end_)) return 0;
    const uint32_t acked = una_.bytes_to(ack);
    while (head_ != nullptr && head_start_ + head_->data_len <= ack) {
        rte_mbuf* next = head_->next;
        forget_cursors_at(head_);
        head_start_ += head_->data_len;
        free_segment(head_);  // slices still in flight keep their mbufs by refcount
        head_ = next;
        --segments_;
    }
    if (head_ == nullptr) {
        tail_ = nullptr;
        tail_copied_ = false;
    }
    una_ = ack;
    return acked;
}

}  // namespace nvmeddp::tcp
