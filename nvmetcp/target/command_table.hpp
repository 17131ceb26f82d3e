// The commands of one queue that outlive their capsule: reads and admin data being sent, writes
// waiting for H2CData, held Asynchronous Event Requests. A slot per queue entry (the queue's depth);
// the slot index is the R2T's TTAG, so a TTAG names at most one outstanding R2T.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "nvmetcp/nvme_command.hpp"

namespace nvmeddp::nvmetcp::target {

struct Command {
    enum class State : uint8_t { Free, Sending, ReceivingData, HeldEvent };
    State state = State::Free;
    uint16_t cid = 0;
    // A write receiving H2CData: where its data goes, and the R2T window in flight.
    uint8_t* destination = nullptr;
    uint32_t length = 0;     // the command's transfer length
    uint32_t r2t_end = 0;    // end (exclusive) of the outstanding R2T
    uint32_t received = 0;   // data received so far: the next H2CData must start here
    nvme::Status status{};   // a failure found while receiving (a data digest error)
};

class CommandTable {
public:
    static constexpr uint32_t kNone = UINT32_MAX;

    void resize(uint32_t depth) { slots_.assign(depth, Command{}); cids_.clear(); }
    bool has_cid(uint16_t cid) const noexcept { return cids_.count(cid) != 0; }
    // Takes a free slot for `cid` (which must not be outstanding); kNone when all are taken.
    uint32_t take(uint16_t cid, Command::State state);
    void release(uint32_t slot);
    Command* at(uint32_t slot) noexcept { return slot < slots_.size() ? &slots_[slot] : nullptr; }
    size_t outstanding() const noexcept { return cids_.size(); }
    size_t count(Command::State state) const noexcept;

private:
    std::vector<Command> slots_;
    std::unordered_map<uint16_t, uint32_t> cids_;  // outstanding cid -> slot
    uint32_t next_free_hint_ = 0;
};

}  // namespace nvmeddp::nvmetcp::target
