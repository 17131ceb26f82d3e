// The command slots of one queue, indexed by command id, and the free list of command ids.
//
// All slots are allocated when the queue is created; taking and returning a cid is O(1) and never
// allocates. A slot holds everything the queue tracks for an outstanding command: the request as
// submitted, the receive position of its C2H data, the R2T/H2CData bookkeeping of a write, and a
// response that arrived while some of the command's data was still being sent.
#pragma once

#include <cstdint>
#include <vector>

#include "nvmetcp/host/iovec_cursor.hpp"
#include "nvmetcp/host/kept_sqe.hpp"
#include "nvmetcp/host/queue_types.hpp"

namespace nvmeddp::nvmetcp::host {

// Fields are grouped by size, largest first, so that no padding sits between them: the queue keeps
// depth of these per connection.
struct CommandSlot {
    enum class Phase : uint8_t {
        Free,
        Queued,  // the CapsuleCmd is not yet wholly handed to the transport: no PDU may refer to it
        Sent,    // the controller may answer
    };

    std::span<const IoVec> data;
    CompletionFn done = nullptr;
    void* ctx = nullptr;
    uint64_t deadline_ms = 0;  // 0: not yet stamped by poll()
    // A completion held back and delivered later as it stands (held_*): a response that came while
    // sends_pending > 0 (the controller failed a write early: the command completes when the last
    // of its PDUs that already started is out), or the completion that waits for the offload
    // device to give the buffers back (an asynchronous teardown). One record serves both: complete()
    // has the response's fields by value before it holds its own, and a command waiting for its
    // teardown holds no response (complete_when_sent()).
    const char* held_reason = nullptr;

    // Reads: the next C2HData must start at c2h_next; rx_at is where its data goes in `data`.
    IoVecCursor::Position rx_at;
    uint32_t c2h_next = 0;
    uint32_t data_len = 0;
    uint32_t bytes = 0;  // data bytes transferred so far (either direction): at most data_len
    uint32_t timeout_ms = 0;

    // Writes: the next R2T must ask for r2t_next; r2ts_in_progress are R2Ts whose H2CData is not yet
    // all handed to the transport (MAXR2T bounds them).
    uint32_t r2t_next = 0;
    uint32_t r2ts_in_progress = 0;
    uint32_t sends_pending = 0;  // send items (capsule, R2T transfers) still queued for this command

    uint32_t held_dw0 = 0, held_dw1 = 0;
    uint32_t digest_error_datao = 0;  // where the first mismatching C2HData began (its reason names it)
    nvme::Status held_status{};
    uint16_t next_free = 0;

    KeptSqe sqe;  // staged into the capsule when the send ring reaches its cid; the opcode also names a timeout

    Phase phase = Phase::Free;
    // One bit each: seven bools would take seven bytes of every slot.
    bool to_controller : 1 = false;
    bool in_capsule : 1 = false;  // write data travels in the CapsuleCmd
    bool internal : 1 = false;    // the queue's own command (Connect): not counted for the application
    bool response_received : 1 = false;
    bool digest_error : 1 = false;
    bool data_missing : 1 = false;  // the controller said success before all of the data moved
    bool teardown_pending : 1 = false;

    void hold(nvme::Status status, uint32_t dw0, uint32_t dw1, const char* reason) noexcept {
        held_status = status;
        held_dw0 = dw0;
        held_dw1 = dw1;
        held_reason = reason;
    }
};

// A changed size is a decision about memory per connection (issue 14), not a side effect.
static_assert(sizeof(CommandSlot) == 152, "CommandSlot's size changed: keep fields grouped by size, unpadded");

class CommandTable {
public:
    explicit CommandTable(uint16_t depth);

    // A free cid, or false when all are taken.
    bool take(uint16_t& cid) noexcept;
    void release(uint16_t cid) noexcept;

    CommandSlot& operator[](uint16_t cid) noexcept { return slots_[cid]; }
    const CommandSlot& operator[](uint16_t cid) const noexcept { return slots_[cid]; }
    // The slot of a cid the controller named, if it is a command the queue has sent, else null.
    CommandSlot* sent(uint16_t cid) noexcept {
        const bool sent = cid < slots_.size() && slots_[cid].phase == CommandSlot::Phase::Sent;
        return sent && !slots_[cid].teardown_pending ? &slots_[cid] : nullptr;
    }

    uint16_t depth() const noexcept { return static_cast<uint16_t>(slots_.size()); }
    uint32_t in_use() const noexcept { return in_use_; }

private:
    static constexpr uint16_t kNone = 0xFFFF;
    std::vector<CommandSlot> slots_;
    uint16_t free_head_ = kNone;
    uint32_t in_use_ = 0;
};

}  // namespace nvmeddp::nvmetcp::host
