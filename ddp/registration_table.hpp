// Per-connection registrations (command id -> buffer list), preallocated and indexed by command id.
//
// Each slot goes Free -> Registered -> InUse -> TornDown -> Free:
//   publish()  host     Free -> Registered        after setup: the engine may now place
//   claim()    engine   Registered -> InUse       the engine found a C2HData for the command id
//   retire()   host     Registered|InUse -> TornDown   teardown: the engine must stop
//   release()  host     TornDown -> Free          the engine has let go (QuiescentGate)
// Any other transition is refused with a Status and changes nothing (the library counts it).
//
// The state and a generation share one atomic word: the engine validates "this registration, still
// live" with one load per packet (a plain move on x86). The word's memory orders are what
// QuiescentGate's proof needs: publish is a release store, retire and the engine's reads seq_cst.
// The buffer list, its length, the command id and the stream position at setup are written only
// while the slot is Free and read by the engine only after it saw the word live within one burst
// (QuiescentGate), so they need no atomics; of the others, host_filled_ is the host's (an atomic)
// and the engine's own marks (device_written_, completed_*) are written only by the engine. Nothing
// here allocates after construction, and no operation takes a lock.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "ddp/buffer_list.hpp"
#include "ddp/status.hpp"

namespace nvmeddp::ddp {

enum class RegState : uint8_t { Free = 0, Registered = 1, InUse = 2, TornDown = 3 };

const char* to_string(RegState state) noexcept;

class Registration {
public:
    uint16_t command_id() const noexcept { return cid_; }
    std::span<const BufferSegment> segments() const noexcept { return {segments_, segment_count_}; }
    uint64_t total_len() const noexcept { return total_len_; }

    // Where the device may still write (contract v2, include/nvmeddp/ddp_mbuf.h): never below what
    // the host says is final, never a byte it wrote before. Both start at 0 with each registration.
    // Kept in 32 bits: a registration is at most max_io_size (32 bits) long, and both stay within it.
    uint64_t host_filled() const noexcept { return host_filled_.load(std::memory_order_acquire); }
    uint64_t device_written() const noexcept { return device_written_; }
    // Engine only (while it holds a Claim): bytes below `end` are written, passed for good, or
    // reserved for a PDU with holes. It only grows. end <= total_len(): the engine raises it only
    // over data placement_for() found inside the buffer.
    void raise_device_written(uint64_t end) const noexcept {
        if (end > device_written_) device_written_ = static_cast<uint32_t>(end);
    }
    // Engine only: the stream completed the command with the PDU starting at TCP sequence number
    // `pdu_seq` (a CapsuleResp, or a C2HData with SUCCESS). No data after it is the command's; data
    // before it (a PDU retransmitted into a gap) still is. The engine may come across completions
    // out of stream order (one found in a retransmission, after a later one it speculated past):
    // the earliest counts. A PDU this registration cannot carry (may_carry_pdu_at: an earlier
    // command's, on this command id) completes nothing here.
    void set_completed_at(uint32_t pdu_seq) const noexcept {
        if (!may_carry_pdu_at(pdu_seq)) return;
        if (completed_ && static_cast<int32_t>(pdu_seq - completed_seq_) >= 0) return;
        completed_ = true;
        completed_seq_ = pdu_seq;
    }
    // Whether the PDU starting at pdu_seq comes at or after the command's completion.
    bool completed_by(uint32_t pdu_seq) const noexcept {
        return completed_ && static_cast<int32_t>(pdu_seq - completed_seq_) >= 0;
    }
    // Whether the PDU starting at TCP sequence number pdu_seq can carry this registration's data:
    // only one after the last PDU header the host had parsed when it set the command up (the host
    // sets a command up before it sends it, and the controller answers it after that). So a copy
    // of an earlier command's PDU that reaches the engine late (its frames went to the host only,
    // or a spurious retransmission) is never placed into a command id set up again since. Modulo
    // 2^32: a PDU more than 2 GiB of stream after that header reads as earlier and is not placed
    // (the host copies it). Any, when the host has not told of a header yet (nvmeddp_pdu_header).
    bool may_carry_pdu_at(uint32_t pdu_seq) const noexcept {
        return !setup_seq_known_ || static_cast<int32_t>(pdu_seq - setup_seq_) > 0;
    }

private:
    friend class RegistrationTable;
    static constexpr uint32_t kStateMask = 0xFF;
    static constexpr uint32_t kGenerationUnit = 0x100;

    // Laid out with no padding between fields (40 bytes; it was 56, then 48 with 64-bit lengths): a
    // connection keeps one per command id.
    std::atomic<uint32_t> word_{0};         // generation << 8 | RegState
    std::atomic<uint32_t> host_filled_{0};  // written by the host
    const BufferSegment* segments_ = nullptr;
    mutable uint32_t device_written_ = 0;   // written by the engine only, reset by fill()
    mutable uint32_t completed_seq_ = 0;    // written by the engine only, reset by fill()
    uint32_t total_len_ = 0;
    uint32_t setup_seq_ = 0;                // the last PDU header the host had parsed at setup
    uint32_t segment_count_ = 0;
    uint16_t cid_ = 0;
    mutable bool completed_ = false;        // written by the engine only, reset by fill()
    bool setup_seq_known_ = false;
};
// A changed size is a decision about memory per connection (issue 14), not a side effect.
static_assert(sizeof(Registration) == 40, "Registration's size changed: keep fields grouped by size, unpadded");

class RegistrationTable {
public:
    // What the engine holds while it places one PDU: the slot and the word it saw. Valid only while
    // still_valid() says so, and never across QuiescentGate::leave() without checking again.
    struct Claim {
        const Registration* registration = nullptr;
        uint32_t word = 0;
        explicit operator bool() const noexcept { return registration != nullptr; }
    };

    // Capacity: the next power of two >= queue_depth. With full_cid_range a command id uses the
    // slot of its low bits; without, command ids must be below queue_depth.
    RegistrationTable(uint16_t queue_depth, bool full_cid_range);

    // --- host side (one thread) ---
    // setup: Ok, or CommandIdOutOfRange / CommandIdBusy / TeardownPending. The buffer list must have
    // been validated (validate_buffer_list) and stay valid until release().
    Status check_free(uint16_t cid) const noexcept;
    // last_header: the TCP sequence number of the last PDU header the host parsed, if it told of one.
    void fill(uint16_t cid, std::span<const BufferSegment> segments, uint64_t total_len,
              std::optional<uint32_t> last_header) noexcept;
    void publish(uint16_t cid) noexcept;
    // teardown: Ok, or CommandIdOutOfRange / NotRegistered / AlreadyTornDown.
    Status retire(uint16_t cid) noexcept;
    void release(uint16_t cid) noexcept;  // precondition: TornDown
    RegState state(uint16_t cid) const noexcept;
    // The tag a placement claim names (the low 16 bits of the registration's generation): a claim
    // made for an earlier registration of the same command id never matches the current one.
    uint16_t tag(uint16_t cid) const noexcept { return tag_of(slot(cid).word_.load(std::memory_order_relaxed)); }
    // The host's buffer of cid is final below `offset` (it only grows; a smaller value is ignored).
    void set_host_filled(uint16_t cid, uint64_t offset) noexcept {
        Registration& r = slot(cid);
        // Past the buffer's end says no more than its end does.
        const auto end = static_cast<uint32_t>(std::min<uint64_t>(offset, r.total_len_));
        if (end > r.host_filled_.load(std::memory_order_relaxed)) r.host_filled_.store(end, std::memory_order_release);
    }

    // Calls f(cid) for every command id that is Registered or InUse (connection removal).
    template <typename F>
    void for_each_live(F&& f) const {
        for (size_t i = 0; i < capacity_; ++i) {
            const RegState s = state_of(slots_[i].word_.load(std::memory_order_relaxed));
            if (s == RegState::Registered || s == RegState::InUse) f(slots_[i].cid_);
        }
    }

    // --- engine side (one thread) ---
    // The live registration of cid, marked InUse; an empty Claim when there is none.
    Claim claim(uint16_t cid) noexcept;
    // The live registration of cid as it stands, left as it is (not marked InUse): for looking at
    // what the engine placed in it before. Held under the same rule as a claim.
    Claim live(uint16_t cid) const noexcept;
    // seq_cst, not just acquire: see QuiescentGate. On x86 both are a plain load.
    bool still_valid(const Claim& c) const noexcept {
        return c.registration->word_.load(std::memory_order_seq_cst) == c.word;
    }

    static uint16_t tag_of(const Claim& c) noexcept { return tag_of(c.word); }

    size_t capacity() const noexcept { return capacity_; }
    uint16_t queue_depth() const noexcept { return queue_depth_; }
    size_t memory_bytes() const noexcept { return capacity_ * sizeof(Registration); }

private:
    static uint16_t tag_of(uint32_t word) noexcept { return static_cast<uint16_t>(word / Registration::kGenerationUnit); }
    static RegState state_of(uint32_t word) noexcept { return static_cast<RegState>(word & Registration::kStateMask); }
    static uint32_t with_state(uint32_t word, RegState s) noexcept {
        return (word & ~Registration::kStateMask) | static_cast<uint32_t>(s);
    }
    bool in_range(uint16_t cid) const noexcept { return full_cid_range_ || cid < queue_depth_; }
    Registration& slot(uint16_t cid) noexcept { return slots_[cid & mask_]; }
    const Registration& slot(uint16_t cid) const noexcept { return slots_[cid & mask_]; }

    std::unique_ptr<Registration[]> slots_;
    size_t capacity_;
    uint32_t mask_;
    uint16_t queue_depth_;
    bool full_cid_range_;
};

}  // namespace nvmeddp::ddp
