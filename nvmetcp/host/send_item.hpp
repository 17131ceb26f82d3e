// What a queue has to send, in order: one item per PDU source, turned into PDUs only when the
// transport has room (pdu bytes are staged one PDU at a time, data goes straight from the IoVecs).
//
// The ring is sized when the queue is created for everything that can be pending at once: the
// ICReq, one CapsuleCmd per command and MAXR2T+1 R2T transfers per command (a TermReq, sent when the
// connection dies, bypasses it).
#pragma once

#include <cstdint>
#include <vector>

namespace nvmeddp::nvmetcp::host {

struct SendItem {
    enum class Kind : uint8_t { IcReq, Capsule, H2CData };
    Kind kind = Kind::IcReq;
    uint16_t cid = 0;
    uint16_t ttag = 0;
    uint32_t offset = 0;  // H2CData: where the rest of the R2T's data starts
    uint32_t length = 0;  // H2CData: bytes of the R2T not yet put into PDUs
};

class SendRing {
public:
    explicit SendRing(size_t capacity) : items_(capacity == 0 ? 1 : capacity) {}

    bool push(const SendItem& item) noexcept {
        if (count_ == items_.size()) return false;
        items_[(head_ + count_) % items_.size()] = item;
        ++count_;
        return true;
    }
    bool empty() const noexcept { return count_ == 0; }
    size_t size() const noexcept { return count_; }
    SendItem& front() noexcept { return items_[head_]; }
    void pop() noexcept {
        head_ = (head_ + 1) % items_.size();
        --count_;
    }
    void clear() noexcept { head_ = count_ = 0; }

private:
    std::vector<SendItem> items_;
    size_t head_ = 0;
    size_t count_ = 0;
};

}  // namespace nvmeddp::nvmetcp::host
