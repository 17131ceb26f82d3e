#include "tcp/send_queue.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "nvmetcp/crc32c_copy.hpp"

namespace nvmeddp::tcp {

namespace {

// Serial arithmetic needs the queued range below 2^31 bytes.
constexpr uint64_t kMaxQueuedBytes = (uint64_t{1} << 31) - 1;

}  // namespace

SendQueue::SendQueue(uint32_t capacity_chunks)
    : capacity_(std::max<uint32_t>(capacity_chunks, 1)) {
    ring_.reset(new Chunk[capacity_]);
}

SendQueue::~SendQueue() { free_all(); }

SendQueue::SendQueue(SendQueue&& other) noexcept
    : ring_(std::move(other.ring_)),
      capacity_(std::exchange(other.capacity_, 0)),
      head_(std::exchange(other.head_, 0)),
      count_(std::exchange(other.count_, 0)),
      una_(other.una_),
      end_(other.end_) {
    other.end_ = other.una_;
}

SendQueue& SendQueue::operator=(SendQueue&& other) noexcept {
    if (this != &other) {
        free_all();
        ring_ = std::move(other.ring_);
        capacity_ = std::exchange(other.capacity_, 0);
        head_ = std::exchange(other.head_, 0);
        count_ = std::exchange(other.count_, 0);
        una_ = other.una_;
        end_ = other.end_;
        other.end_ = other.una_;
    }
    return *this;
}

void SendQueue::free_all() noexcept {
    for (uint32_t i = 0; i < count_; ++i) {
        Chunk& c = at(i);
        rte_pktmbuf_free(c.chain);
        c = Chunk{};
    }
    head_ = 0;
    count_ = 0;
}

void SendQueue::reset(Seq snd_una) noexcept {
    free_all();
    una_ = end_ = snd_una;
}

bool SendQueue::append(rte_mbuf* chain) noexcept {
    if (chain == nullptr) return true;
    // The data lengths, not pkt_len: they are what slice() and copy_out() walk.
    uint64_t len = 0;
    for (const rte_mbuf* m = chain; m != nullptr; m = m->next) len += m->data_len;
    if (len == 0) {
        rte_pktmbuf_free(chain);
        return true;
    }
    if (count_ == capacity_ || size() + len > kMaxQueuedBytes) return false;
    at(count_) = Chunk{chain, end_, static_cast<uint32_t>(len), false};
    ++count_;
    end_ += static_cast<uint32_t>(len);
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

    if (count_ > 0) {
        Chunk& last = at(count_ - 1);
        rte_mbuf* m = last.chain;
        // Writing into a buffer someone else also points at (a slice in flight references the
        // whole buffer) is not ours to do, even past the bytes they look at.
        if (last.copied_by_queue && RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1) {
            const auto n = static_cast<uint16_t>(std::min<uint64_t>(rte_pktmbuf_tailroom(m), room()));
            if (n > 0) {
                copy(rte_pktmbuf_append(m, n), bytes.data(), n);
                last.len += n;
                end_ += n;
                taken += n;
            }
        }
    }
    while (room() > 0 && count_ < capacity_) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        if (m == nullptr) break;
        const auto n = static_cast<uint16_t>(std::min<uint64_t>(rte_pktmbuf_tailroom(m), room()));
        if (n == 0) {  // a pool of mbufs without data room
            rte_pktmbuf_free(m);
            break;
        }
        copy(rte_pktmbuf_append(m, n), bytes.data() + taken, n);
        at(count_) = Chunk{m, end_, n, true};
        ++count_;
        end_ += n;
        taken += n;
    }
    return taken;
}

bool SendQueue::holds(Seq seq, uint32_t len) const noexcept {
    return una_ <= seq && seq <= end_ && len <= seq.bytes_to(end_);
}

uint32_t SendQueue::chunk_index_of(Seq seq) const noexcept {
    // The last chunk starting at or before seq; starts increase along the ring.
    uint32_t lo = 0;
    uint32_t hi = count_ - 1;
    while (lo < hi) {
        const uint32_t mid = lo + (hi - lo + 1) / 2;
        if (at(mid).start <= seq) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    return lo;
}

rte_mbuf* SendQueue::slice(Seq seq, uint32_t len, rte_mempool* pool) noexcept {
    if (len == 0 || !holds(seq, len)) return nullptr;
    uint32_t index = chunk_index_of(seq);
    uint32_t skip = at(index).start.bytes_to(seq);  // bytes of the chain before seq
    uint32_t left = len;
    rte_mbuf* head = nullptr;
    rte_mbuf* tail = nullptr;
    uint16_t segments = 0;
    for (; left > 0; ++index) {
        for (rte_mbuf* m = at(index).chain; m != nullptr && left > 0; m = m->next) {
            if (skip >= m->data_len) {
                skip -= m->data_len;
                continue;
            }
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
    }
    head->pkt_len = len;
    head->nb_segs = segments;
    return head;
}

bool SendQueue::copy_out(Seq seq, uint32_t len, uint8_t* dst) const noexcept {
    if (len == 0) return true;
    if (!holds(seq, len)) return false;
    uint32_t index = chunk_index_of(seq);
    uint32_t skip = at(index).start.bytes_to(seq);
    uint32_t left = len;
    for (; left > 0; ++index) {
        for (const rte_mbuf* m = at(index).chain; m != nullptr && left > 0; m = m->next) {
            if (skip >= m->data_len) {
                skip -= m->data_len;
                continue;
            }
            const uint32_t take = std::min<uint32_t>(m->data_len - skip, left);
            std::memcpy(dst, rte_pktmbuf_mtod_offset(m, const uint8_t*, skip), take);
            dst += take;
            left -= take;
            skip = 0;
        }
    }
    return true;
}

uint32_t SendQueue::acknowledge(Seq ack) noexcept {
    if (!(una_ < ack && ack <= end_)) return 0;
    const uint32_t acked = una_.bytes_to(ack);
    while (count_ > 0 && at(0).start + at(0).len <= ack) {
        Chunk& first = at(0);
        rte_pktmbuf_free(first.chain);  // slices still in flight keep their mbufs by refcount
        first = Chunk{};
        head_ = (head_ + 1) % capacity_;
        --count_;
    }
    una_ = ack;
    return acked;
}

}  // namespace nvmeddp::tcp
