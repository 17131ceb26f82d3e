#include "pmd/fault/fault_shim.hpp"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include <atomic>

#include "pmd/fault/burst_editor.hpp"
#include "pmd/fault/fault_random.hpp"
#include "pmd/fault/held_frames.hpp"
#include "pmd/fault/tcp_payload_fault.hpp"

namespace nvmeddp::pmd {

namespace {

// One writer (the queue's lcore), readers anywhere: relaxed load and store, no locked instruction.
void bump(std::atomic<uint64_t>& c, uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

uint64_t read(const std::atomic<uint64_t>& c) noexcept { return c.load(std::memory_order_relaxed); }

}  // namespace

struct alignas(64) FaultShim::QueueState {
    QueueState(uint16_t port_id, uint16_t queue_id, FaultDirection dir, const FaultRates& r, uint64_t seed,
               rte_mempool* copy_pool) noexcept
        : rates(r),
          rng(seed, queue_id, dir == FaultDirection::Tx),
          pool(copy_pool),
          delay_cycles(uint64_t{r.delay_us} * rte_get_timer_hz() / 1'000'000),
          port(port_id),
          queue(queue_id),
          direction(dir) {}

    const FaultRates rates;
    FaultRandom rng;
    rte_mempool* const pool;
    const uint64_t delay_cycles;  // how long a delayed frame is held; the most a reordered one is
    const uint16_t port;
    const uint16_t queue;
    const FaultDirection direction;
    bool flushing = false;  // flush_tx() is sending: the tx callback lets its frames pass
    uint64_t passes = 0;    // frames that went out without being held: what overtakes a reordered frame
    HeldFrames held;

    std::atomic<uint64_t> frames{0}, dropped{0}, reordered{0}, duplicated{0}, delayed{0}, corrupted{0}, lied{0};
    std::atomic<uint64_t> held_now{0};

    // The shim's work on one burst of `n` frames in an array with room for `capacity`; returns the
    // burst's new length.
    uint16_t process(rte_mbuf** pkts, uint16_t n, uint16_t capacity) noexcept;

    void add_to(FaultCounters& c) const noexcept {
        c.frames += read(frames);
        c.dropped += read(dropped);
        c.reordered += read(reordered);
        c.duplicated += read(duplicated);
        c.delayed += read(delayed);
        c.corrupted += read(corrupted);
        c.lied += read(lied);
        c.held_now += read(held_now);
    }

private:
    // Holds m; when the array is full its oldest frame goes out instead (into m's own slot, which
    // is free, so the put cannot fail).
    void hold(BurstEditor& burst, rte_mbuf* m, uint64_t due, uint64_t after_passes) noexcept {
        if (held.full()) burst.put(held.pop_oldest());
        held.push_back(HeldFrame{m, due, after_passes});
    }
};

namespace {

// The wire damages a frame, not the sender's memory. A frame whose data is shared (indirect mbufs
// of a zero-copy sender that keeps the bytes for retransmission, a refcount above 1) is altered in
// a private copy and the original released; altering it in place would corrupt every later copy
// of those bytes too, with valid checksums. Null when no copy can be made (the frame then goes
// unaltered, and is still the caller's).
rte_mbuf* private_frame(rte_mbuf* m, rte_mempool* pool) noexcept {
    bool shared = false;
    for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
        if (!RTE_MBUF_DIRECT(s) || rte_mbuf_refcnt_read(s) > 1) shared = true;
    }
    if (!shared) return m;
    rte_mbuf* copy = rte_pktmbuf_copy(m, pool != nullptr ? pool : m->pool, 0, UINT32_MAX);
    if (copy == nullptr) return nullptr;
    rte_pktmbuf_free(m);
    return copy;
}

}  // namespace

uint16_t FaultShim::QueueState::process(rte_mbuf** pkts, uint16_t n, uint16_t capacity) noexcept {
    if (held.empty() && !rates.any()) {
        bump(frames, n);
        return n;
    }
    const uint64_t now = rte_get_timer_cycles();
    BurstEditor burst(pkts, n, capacity);
    const auto release_ready = [&] {
        if (!held.empty()) held.release_ready(now, passes, [&burst](rte_mbuf* m) { return burst.put(m); });
    };
    uint64_t seen = 0;
    while (rte_mbuf* m = burst.next()) {
        ++seen;
        if (rng.chance(rates.drop)) {
            rte_pktmbuf_free(m);
            bump(dropped);
            continue;
        }
        if (rng.chance(rates.corrupt)) {
            const uint64_t draw = rng.next();
            if (rte_mbuf* own = private_frame(m, pool)) {
                m = own;
                if (alter_tcp_payload_byte(m, PayloadFault::Corrupt, direction, draw)) bump(corrupted);
            }
        } else if (rng.chance(rates.lie)) {
            const uint64_t draw = rng.next();
            if (rte_mbuf* own = private_frame(m, pool)) {
                m = own;
                if (alter_tcp_payload_byte(m, PayloadFault::Lie, direction, draw)) bump(lied);
            }
        }
        if (rng.chance(rates.reorder)) {
            hold(burst, m, now + delay_cycles, passes + 1 + rng.below(rates.reorder_depth));
            bump(reordered);
            continue;
        }
        if (rng.chance(rates.delay)) {
            hold(burst, m, now + delay_cycles, UINT64_MAX);
            bump(delayed);
            continue;
        }
        burst.put(m);  // cannot fail: m's own slot is free
        ++passes;
        if (rng.chance(rates.duplicate)) {
            rte_mbuf* copy = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
            if (copy != nullptr && burst.put(copy)) {
                bump(duplicated);
            } else {
                rte_pktmbuf_free(copy);  // no room (tx) or no mbuf: this frame goes out once
            }
        }
        release_ready();  // frames this one was the last to overtake come right after it
    }
    release_ready();  // what is due by time, also on an empty burst
    bump(frames, seen);
    held_now.store(held.size(), std::memory_order_relaxed);
    if (direction == FaultDirection::Tx) burst.clear_tail(n);
    return burst.written();
}

uint16_t FaultShim::on_rx(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n, uint16_t max, void* state) {
    return static_cast<QueueState*>(state)->process(pkts, n, max);
}

uint16_t FaultShim::on_tx(uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n, void* state) {
    auto* s = static_cast<QueueState*>(state);
    if (s->flushing) return n;  // flush_tx() sending held frames: they had their faults
    return s->process(pkts, n, n);
}

std::unique_ptr<FaultShim> FaultShim::attach(uint16_t port, uint16_t rx_queues, uint16_t tx_queues,
                                             const FaultShimOptions& options, std::string* error) {
    const auto fail = [error](std::string why) -> std::unique_ptr<FaultShim> {
        if (error != nullptr) *error = "fault shim: " + std::move(why);
        return nullptr;
    };
    if (!rte_eth_dev_is_valid_port(port)) return fail("port " + std::to_string(port) + " does not exist");
    if (std::string why = validate_fault_rates(options.rx); !why.empty()) return fail("rx " + why);
    if (std::string why = validate_fault_rates(options.tx); !why.empty()) return fail("tx " + why);
    if ((options.rx.duplicate > 0 || options.tx.duplicate > 0) && options.pool == nullptr) {
        return fail("duplicating frames needs a mempool for the copies (FaultShimOptions::pool)");
    }
    rte_eth_dev_info info{};
    if (const int rc = rte_eth_dev_info_get(port, &info); rc != 0) {
        return fail(std::string("rte_eth_dev_info_get: ") + rte_strerror(-rc));
    }
    if (rx_queues > info.nb_rx_queues || tx_queues > info.nb_tx_queues) {
        return fail("port " + std::to_string(port) + " has " + std::to_string(info.nb_rx_queues) + " rx and " +
                    std::to_string(info.nb_tx_queues) + " tx queues configured; asked for " +
                    std::to_string(rx_queues) + " and " + std::to_string(tx_queues));
    }

    std::unique_ptr<FaultShim> shim(new FaultShim);
    shim->port_ = port;
    shim->rx_rates_ = options.rx;
    shim->tx_rates_ = options.tx;
    // The destructor removes whatever was added if a later queue fails.
    for (uint16_t q = 0; q < rx_queues; ++q) {
        shim->rx_.push_back(std::make_unique<QueueState>(port, q, FaultDirection::Rx, options.rx, options.seed, options.pool));
        // First in line on rx (faults happen on the wire, before the NIC's offload), last on tx (after
        // it): whichever was attached first.
        const rte_eth_rxtx_callback* cb = rte_eth_add_first_rx_callback(port, q, on_rx, shim->rx_.back().get());
        if (cb == nullptr) return fail("rte_eth_add_first_rx_callback on rx queue " + std::to_string(q) + ": " + rte_strerror(rte_errno));
        shim->rx_callbacks_.push_back(cb);
    }
    for (uint16_t q = 0; q < tx_queues; ++q) {
        shim->tx_.push_back(std::make_unique<QueueState>(port, q, FaultDirection::Tx, options.tx, options.seed, options.pool));
        const rte_eth_rxtx_callback* cb = rte_eth_add_tx_callback(port, q, on_tx, shim->tx_.back().get());
        if (cb == nullptr) return fail("rte_eth_add_tx_callback on tx queue " + std::to_string(q) + ": " + rte_strerror(rte_errno));
        shim->tx_callbacks_.push_back(cb);
    }
    return shim;
}

FaultShim::~FaultShim() {
    // DPDK unlinks a removed callback but leaves its memory to the application, to be freed once no
    // lcore can be inside it: the caller has stopped polling, so that is now. One that could not be
    // removed (the port is gone) is not freed.
    for (size_t q = 0; q < rx_callbacks_.size(); ++q) {
        if (rte_eth_remove_rx_callback(port_, static_cast<uint16_t>(q), rx_callbacks_[q]) == 0) {
            rte_free(const_cast<rte_eth_rxtx_callback*>(rx_callbacks_[q]));
        }
    }
    for (size_t q = 0; q < tx_callbacks_.size(); ++q) {
        if (rte_eth_remove_tx_callback(port_, static_cast<uint16_t>(q), tx_callbacks_[q]) == 0) {
            rte_free(const_cast<rte_eth_rxtx_callback*>(tx_callbacks_[q]));
        }
    }
    for (auto* queues : {&rx_, &tx_}) {
        for (auto& s : *queues) s->held.drain([](rte_mbuf* m) { rte_pktmbuf_free(m); });
    }
}

FaultCounters FaultShim::rx_counters() const {
    FaultCounters c;
    for (const auto& s : rx_) s->add_to(c);
    return c;
}

FaultCounters FaultShim::tx_counters() const {
    FaultCounters c;
    for (const auto& s : tx_) s->add_to(c);
    return c;
}

uint16_t FaultShim::flush_tx(uint16_t queue) {
    if (queue >= tx_.size()) return 0;
    QueueState& s = *tx_[queue];
    if (s.held.empty()) return 0;
    rte_mbuf* out[HeldFrames::kCapacity];
    uint16_t n = 0;
    s.held.release_ready(rte_get_timer_cycles(), s.passes, [&](rte_mbuf* m) {
        out[n++] = m;
        return true;
    });
    uint16_t sent = 0;
    if (n > 0) {
        s.flushing = true;
        sent = rte_eth_tx_burst(port_, queue, out, n);
        s.flushing = false;
        if (sent < n) s.held.push_front_due(out + sent, n - sent);
    }
    s.held_now.store(s.held.size(), std::memory_order_relaxed);
    return sent;
}

std::string FaultShim::summary() const {
    const auto line = [](const char* dir, const FaultRates& rates, const FaultCounters& c) {
        const std::string r = to_string(rates);
        return std::string("faults ") + dir + " [" + (r.empty() ? "off" : r) + "]: frames " + std::to_string(c.frames) +
               " dropped " + std::to_string(c.dropped) + " reordered " + std::to_string(c.reordered) + " duplicated " +
               std::to_string(c.duplicated) + " delayed " + std::to_string(c.delayed) + " corrupted " +
               std::to_string(c.corrupted) + " lied " + std::to_string(c.lied) + " held " + std::to_string(c.held_now);
    };
    return line("rx", rx_rates_, rx_counters()) + "\n" + line("tx", tx_rates_, tx_counters());
}

}  // namespace nvmeddp::pmd
