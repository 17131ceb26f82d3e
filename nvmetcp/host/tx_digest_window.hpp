// The host's half of the transmit digest offload (ddp cap::kTxDataDigest, pmd/engine/
// tx_digest_stream.hpp): the device writes the data digest of every PDU the queue sends, and keeps
// the last N of them to write a retransmitted digest again. This window keeps the host's promise in
// return: at most N PDUs with a data digest are unacknowledged at any time, so every PDU TCP may
// still send again is one the device remembers. A PDU that would be the N+1st waits for an
// acknowledgement (the send path stops and resumes when the transport says it got one).
//
// Stream offsets count the bytes the queue handed to its transport from the connection's first.
// The ring is allocated once, when the offload is set up; nothing after that.
#pragma once

#include <cstdint>
#include <memory>

namespace nvmeddp::nvmetcp::host {

class TxDigestWindow {
public:
    // The device writes the digests from now on and remembers `capacity` of them (>= 1).
    void start(uint32_t capacity) {
        capacity_ = capacity == 0 ? 1 : capacity;
        ends_ = std::make_unique<uint64_t[]>(capacity_);
        head_ = count_ = 0;
        acknowledged_ = 0;
    }
    bool enabled() const noexcept { return capacity_ != 0; }

    // Forgets the PDUs whose digest lies below acked_offset (acknowledged: never sent again) and
    // says whether one more may go now.
    bool room(uint64_t acked_offset) noexcept {
        while (count_ > 0 && ends_[head_] <= acked_offset) {
            head_ = (head_ + 1) % capacity_;
            --count_;
            ++acknowledged_;
        }
        return count_ < capacity_;
    }
    // A PDU with a data digest was staged; its digest ends at digest_end_offset. After room().
    void add(uint64_t digest_end_offset) noexcept {
        ends_[(head_ + count_) % capacity_] = digest_end_offset;
        ++count_;
    }
    uint32_t in_flight() const noexcept { return count_; }
    // PDUs with a data digest the peer acknowledged whole, as room() found them.
    uint64_t acknowledged() const noexcept { return acknowledged_; }
    uint32_t capacity() const noexcept { return capacity_; }

private:
    std::unique_ptr<uint64_t[]> ends_;
    uint32_t capacity_ = 0;
    uint32_t head_ = 0;
    uint32_t count_ = 0;
    uint64_t acknowledged_ = 0;
};

}  // namespace nvmeddp::nvmetcp::host
