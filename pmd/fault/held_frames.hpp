// Frames the fault shim holds back (reordered or delayed) on one queue in one direction: a fixed
// array in arrival order, so the data path never allocates. Each frame comes out when enough later
// frames have passed it (a reordered one) or when its time has come (both kinds; see
// FaultShim for the times), whichever is first.
//
// The array is small (kCapacity) and holds few frames at the rates a test uses; removal from the
// middle shifts the rest down, which keeps the arrival order without any linked structure.
#pragma once

#include <cstdint>

struct rte_mbuf;

namespace nvmeddp::pmd {

struct HeldFrame {
    rte_mbuf* mbuf;
    uint64_t due_cycles;    // timer cycles (rte_get_timer_cycles) at which it is released
    uint64_t after_passes;  // released once this many frames in total have passed the shim's hold point
};

class HeldFrames {
public:
    static constexpr uint32_t kCapacity = 256;

    uint32_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    bool full() const noexcept { return count_ == kCapacity; }

    // The caller checks full() first (and releases the oldest to make room).
    void push_back(const HeldFrame& f) noexcept { frames_[count_++] = f; }

    rte_mbuf* pop_oldest() noexcept {
        rte_mbuf* m = frames_[0].mbuf;
        erase(0);
        return m;
    }

    // Puts frames back in front, in the given order, as due at once (frames taken out by
    // release_ready() that could not be sent after all). There is room: they were just taken out.
    void push_front_due(rte_mbuf* const* mbufs, uint32_t n) noexcept {
        for (uint32_t i = count_; i-- > 0;) frames_[i + n] = frames_[i];
        for (uint32_t i = 0; i < n; ++i) frames_[i] = HeldFrame{mbufs[i], 0, 0};
        count_ += n;
    }

    // Hands every frame that is ready at `now_cycles` with `passes` frames passed to `sink`, oldest
    // first, and stops at the first one the sink refuses (returns false; that frame stays held).
    // Returns how many were handed over.
    template <typename Sink>
    uint32_t release_ready(uint64_t now_cycles, uint64_t passes, Sink&& sink) {
        uint32_t kept = 0;
        uint32_t released = 0;
        bool open = true;
        for (uint32_t i = 0; i < count_; ++i) {
            const HeldFrame& f = frames_[i];
            if (open && (now_cycles >= f.due_cycles || passes >= f.after_passes)) {
                if (sink(f.mbuf)) {
                    ++released;
                    continue;
                }
                open = false;
            }
            frames_[kept++] = f;
        }
        count_ = kept;
        return released;
    }

    // Gives up every held frame (to free it).
    template <typename Fn>
    void drain(Fn&& fn) {
        for (uint32_t i = 0; i < count_; ++i) fn(frames_[i].mbuf);
        count_ = 0;
    }

private:
    void erase(uint32_t at) noexcept {
        for (uint32_t i = at + 1; i < count_; ++i) frames_[i - 1] = frames_[i];
        --count_;
    }

    HeldFrame frames_[kCapacity];
    uint32_t count_ = 0;
};

}  // namespace nvmeddp::pmd
