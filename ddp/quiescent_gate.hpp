// When may the host reuse something the offload engine might still be reading? The engine's
// quiescent states answer that without a lock (quiescent-state-based reclamation, the scheme of
// DPDK's rte_rcu_qsbr, reduced to one reader).
//
// The engine runs in bursts. It calls enter() before it looks at any registration in a burst and
// leave() after the burst, and holds no pointer into a registration across leave() without checking
// it again. The host unpublishes a registration (its state word says TornDown, see
// registration_table.hpp) and then calls retire(): the returned
// ticket is 0 when the engine is outside a burst (nothing it does from now on can see the old
// registration), else the host waits until passed(ticket), which is true once the engine has left
// the burst that might have seen it.
//
// Why it is safe: the host's unpublishing (the state word's compare-exchange) and the engine's
// reads of state words are sequentially consistent, as are enter()'s store and retire()'s load of
// `seen_`. In the single total order of those operations either the engine's enter() comes first,
// and the host's load sees it online and waits for it, or the host's unpublishing comes first, and
// every state read of that burst sees TornDown (store buffering, forbidden under seq_cst). A ticket
// is passed when the engine is offline (leave() releases the burst's accesses) or entered a later
// burst having read a token at least as new as the ticket (that read synchronises with retire()'s
// increment, so the burst sees the change).
//
// Cost: on x86 a seq_cst load is a plain move, so the engine's per-packet check costs nothing extra;
// it pays one exchange per burst (enter) and the host one locked increment per teardown. With host
// and engine on one lcore (run to completion) the engine is always outside a burst when the host
// runs, and every teardown completes synchronously. No fences: ThreadSanitizer models every
// operation used here, so the concurrency test checks the protocol itself.
#pragma once

#include <atomic>
#include <cstdint>

namespace nvmeddp::ddp {

class QuiescentGate {
public:
    using Ticket = uint64_t;  // 0: already safe

    // Engine side (one thread).
    void enter() noexcept {
        // seq_cst (also a release): a host that reads this value has the earlier bursts behind it.
        seen_.store(token_.load(std::memory_order_acquire), std::memory_order_seq_cst);
    }
    void leave() noexcept { seen_.store(kOffline, std::memory_order_release); }

    // Host side (any thread), after unpublishing.
    Ticket retire() noexcept {
        const Ticket t = token_.fetch_add(1, std::memory_order_seq_cst) + 1;
        return passed(t) ? 0 : t;
    }
    bool passed(Ticket t) const noexcept {
        const uint64_t s = seen_.load(std::memory_order_seq_cst);
        return s == kOffline || s >= t;
    }

    bool engine_online() const noexcept { return seen_.load(std::memory_order_relaxed) != kOffline; }

private:
    static constexpr uint64_t kOffline = ~uint64_t{0};

    // Separate lines: token_ is written by hosts, seen_ by the engine.
    alignas(64) std::atomic<uint64_t> token_{0};
    alignas(64) std::atomic<uint64_t> seen_{kOffline};
};

}  // namespace nvmeddp::ddp
