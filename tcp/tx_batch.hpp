// Frames an lcore's connections produced during one poll, sent together with one tx burst (the
// per-burst cost of a PMD is much larger than its per-frame cost). Frames the port does not take
// stay for the next flush; when the batch is full, it flushes first, and only a port that takes
// nothing at all makes it refuse a frame (counted; the frame is freed and push says so, so a
// connection sends that segment later, as when it has no mbuf: nothing goes missing between the
// frames it hands the port, which a device that follows the stream, such as the transmit digest
// offload, would take for a gap).
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>

namespace nvmeddp::tcp {

class TxBatch {
public:
    // Sends up to n frames, returns how many the port took (rte_eth_tx_burst's contract).
    using SendFn = uint16_t (*)(void* ctx, rte_mbuf** frames, uint16_t n);

    TxBatch(SendFn send, void* ctx) noexcept : send_(send), ctx_(ctx) {}
    ~TxBatch() {
        for (uint16_t i = 0; i < count_; ++i) rte_pktmbuf_free(frames_[i]);
    }
    TxBatch(const TxBatch&) = delete;
    TxBatch& operator=(const TxBatch&) = delete;

    // False: the batch is full and the port takes nothing; the frame was freed.
    bool push(rte_mbuf* frame) noexcept {
        if (count_ == frames_.size()) flush();
        if (count_ == frames_.size()) {
            rte_pktmbuf_free(frame);
            ++dropped_;
            return false;
        }
        frames_[count_++] = frame;
        return true;
    }

    // Sends what is queued; frames not taken move to the front and wait for the next flush. A tx
    // callback (the fault shim) may have taken some of them itself and left null in their slots:
    // those are gone, not waiting.
    uint16_t flush() noexcept {
        if (count_ == 0) return 0;
        const uint16_t sent = send_(ctx_, frames_.data(), count_);
        uint16_t kept = 0;
        for (uint16_t i = sent; i < count_; ++i) {
            if (frames_[i] != nullptr) frames_[kept++] = frames_[i];
        }
        count_ = kept;
        sent_ += sent;
        return sent;
    }

    uint16_t pending() const noexcept { return count_; }
    uint64_t sent() const noexcept { return sent_; }
    uint64_t dropped() const noexcept { return dropped_; }

private:
    std::array<rte_mbuf*, 512> frames_{};
    uint16_t count_ = 0;
    uint64_t sent_ = 0;
    uint64_t dropped_ = 0;
    SendFn send_;
    void* ctx_;
};

}  // namespace nvmeddp::tcp
