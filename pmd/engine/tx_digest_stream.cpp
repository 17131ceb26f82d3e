#include "pmd/engine/tx_digest_stream.hpp"

#include <algorithm>
#include <cstring>

#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/pdu.hpp"
#include "nvmetcp/wire_int.hpp"

namespace nvmeddp::pmd {

TxDigestStream::TxDigestStream(TcpSeq snd_seq, const nvmetcp::ReceiveParams& params, uint32_t capacity)
    : params_(params),
      next_(snd_seq),
      ring_(std::make_unique<KeptDigest[]>(std::max<uint32_t>(capacity, 1))),
      capacity_(std::max<uint32_t>(capacity, 1)),
      floor_(snd_seq) {}

TxSegmentEdit TxDigestStream::on_segment(TcpSeq seq, std::span<const TxPayloadChunk> payload,
                                         uint32_t first_offset) noexcept {
    TxSegmentEdit edit;
    uint32_t len = 0;
    for (const TxPayloadChunk& c : payload) len += c.len;
    if (len == 0) return edit;

    // Old bytes get their kept digests also after the stream was lost: each was whole when kept.
    if (seq < next_) rewrite_old(seq, payload, std::min(len, seq.bytes_to(next_)), first_offset, edit);
    const TcpSeq end = seq + len;
    if (lost_ || end <= next_) return edit;
    if (seq > next_) {
        lose("new bytes after a gap: frames left the port without passing the device");
        return edit;
    }
    // The new bytes: from next_ on, chunk by chunk.
    uint32_t skip = seq.bytes_to(next_);
    uint32_t offset = first_offset;  // of the chunk's first byte in the frame's payload
    for (const TxPayloadChunk& c : payload) {
        if (lost_) break;
        if (skip >= c.len) {
            skip -= c.len;
            offset += c.len;
            continue;
        }
        take_new(c.data + skip, c.len - skip, offset + skip, edit);
        offset += c.len;
        skip = 0;
    }
    forget_beyond_window();
    return edit;
}

// RFC 7323 caps a window at 2^30 bytes: a sender never sends again what lies further behind its newest
// byte. Called after every advance (a segment is far shorter than 2^30), so the kept digests and the
// floor stay within 2^31 of next_, where serial comparisons hold.
void TxDigestStream::forget_beyond_window() noexcept {
    constexpr uint32_t kLargestWindow = 1u << 30;
    const TcpSeq oldest = next_ - kLargestWindow;
    while (count_ > 0 && ring_[head_].at + 4 <= oldest) {
        floor_ = ring_[head_].at + 4;
        head_ = (head_ + 1) % capacity_;
        --count_;
    }
    if (floor_ < oldest) floor_ = oldest;
}

void TxDigestStream::take_new(uint8_t* p, uint32_t n, uint32_t payload_offset, TxSegmentEdit& edit) noexcept {
    while (n > 0 && !lost_) {
        uint32_t k = 0;
        switch (part_) {
            case Part::Header:
                k = std::min(n, static_cast<uint32_t>(sizeof(header_)) - header_have_);
                std::memcpy(header_ + header_have_, p, k);
                header_have_ += k;
                break;
            case Part::BeforeData:
            case Part::Rest:
                k = std::min(n, next_.bytes_to(part_end_));
                break;
            case Part::Data:
                k = std::min(n, next_.bytes_to(part_end_));
                crc_state_ = nvmetcp::crc32c_extend(crc_state_, p, k);
                break;
            case Part::Digest:
                k = std::min(n, next_.bytes_to(part_end_));
                for (uint32_t i = 0; i < k; ++i) {
                    write_byte(p + i, digest_[data_end_.bytes_to(next_ + i)], payload_offset + i, edit);
                }
                break;
        }
        p += k;
        n -= k;
        payload_offset += k;
        next_ += k;
        switch (part_) {
            case Part::Header:
                if (header_have_ == sizeof(header_)) start_pdu();
                break;
            case Part::BeforeData:
                if (next_ == part_end_) {
                    part_ = Part::Data;
                    part_end_ = data_end_;
                }
                break;
            case Part::Data:
                if (next_ == part_end_) {
                    nvmetcp::store_le32(digest_, ~crc_state_);
                    keep_digest();
                    part_ = Part::Digest;
                    part_end_ = pdu_end_;
                }
                break;
            case Part::Digest:
                if (next_ == part_end_) {
                    ++counters_.digests_written;
                    part_ = Part::Header;
                }
                break;
            case Part::Rest:
                if (next_ == part_end_) part_ = Part::Header;
                break;
        }
    }
}

void TxDigestStream::start_pdu() noexcept {
    header_have_ = 0;
    nvmetcp::CommonHeader ch;
    std::memcpy(&ch, header_, sizeof(ch));
    nvmetcp::PduLayout layout;
    if (nvmetcp::check_stream_header(ch, params_, layout)) {
        lose("a PDU header the controller would refuse");
        return;
    }
    ++counters_.pdus;
    const TcpSeq pdu_start = next_ - static_cast<uint32_t>(sizeof(header_));
    pdu_end_ = pdu_start + ch.plen.get();
    if (!layout.has_data_digest || layout.data_len == 0) {
        part_ = next_ == pdu_end_ ? Part::Header : Part::Rest;
        part_end_ = pdu_end_;
        return;
    }
    // check_stream_header() made plen = pdo + data + DDGST, with the data after the header.
    data_begin_ = pdu_start + layout.data_offset;
    data_end_ = data_begin_ + layout.data_len;
    crc_state_ = nvmetcp::Crc32c::kSeed;
    part_ = next_ == data_begin_ ? Part::Data : Part::BeforeData;
    part_end_ = part_ == Part::Data ? data_end_ : data_begin_;
}

void TxDigestStream::keep_digest() noexcept {
    if (count_ == capacity_) {  // the oldest goes; the host's limit made sure it was acknowledged
        floor_ = ring_[head_].at + 4;
        head_ = (head_ + 1) % capacity_;
        --count_;
    }
    KeptDigest& k = ring_[(head_ + count_) % capacity_];
    k.at = data_end_;
    std::memcpy(k.bytes, digest_, sizeof(digest_));
    ++count_;
}

void TxDigestStream::rewrite_old(TcpSeq seq, std::span<const TxPayloadChunk> payload, uint32_t old_len,
                                 uint32_t first_offset, TxSegmentEdit& edit) noexcept {
    if (seq < floor_) ++counters_.below_ring;
    const TcpSeq end = seq + old_len;
    // The kept digests are in sequence order: the first whose field ends after seq, by bisection.
    uint32_t lo = 0, hi = count_;
    while (lo < hi) {
        const uint32_t mid = (lo + hi) / 2;
        if (ring_[(head_ + mid) % capacity_].at + 4 <= seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (uint32_t i = lo; i < count_; ++i) {
        const KeptDigest& k = ring_[(head_ + i) % capacity_];
        if (k.at >= end) break;
        ++counters_.digests_rewritten;
        for (uint32_t b = 0; b < 4; ++b) {
            const TcpSeq at = k.at + b;
            if (at < seq || at >= end) continue;
            uint32_t offset = seq.bytes_to(at);
            const uint32_t payload_offset = first_offset + offset;
            for (const TxPayloadChunk& c : payload) {
                if (offset < c.len) {
                    write_byte(c.data + offset, k.bytes[b], payload_offset, edit);
                    break;
                }
                offset -= c.len;
            }
        }
    }
}

void TxDigestStream::lose(const char* why) noexcept {
    lost_ = true;
    lost_reason_ = why;
    lost_at_ = next_;
    counters_.lost = 1;
}

void TxDigestStream::write_byte(uint8_t* at, uint8_t value, uint32_t payload_offset, TxSegmentEdit& edit) noexcept {
    const uint32_t shift = (payload_offset & 1) == 0 ? 8 : 0;  // even offsets are a word's high byte
    edit.old_sum += static_cast<uint32_t>(*at) << shift;
    edit.new_sum += static_cast<uint32_t>(value) << shift;
    *at = value;
    ++edit.bytes_written;
}

}  // namespace nvmeddp::pmd
