// The resync handshake between the offload engine and the host, as two single-writer mailboxes.
//
// After losing the PDU framing (loss, reordering) the engine finds a plausible header and posts a
// request: "does a PDU start at TCP sequence number S?". The host answers when its own parser, the
// authority on framing, reaches a header at S (confirm) or passes S without one (refuse). Requests
// are numbered; a newer request replaces an older one, and an answer is taken only for the request
// it names, so a late answer to an abandoned request can never resume offload at the wrong place.
//
// Engine -> host: request_ = id << 32 | seq.   Host -> engine: answer_ = (id << 1 | yes) << 32 | seq.
// Each word has one writer and is one atomic 64-bit store, so no reader ever sees half an update.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "ddp/status.hpp"

namespace nvmeddp::ddp {

struct ResyncRequest {
    uint32_t seq = 0;
    uint32_t id = 0;  // non-zero, below 2^31
    friend bool operator==(const ResyncRequest&, const ResyncRequest&) = default;
};

struct ResyncAnswer {
    ResyncRequest request;
    bool confirmed = false;
};

class ResyncChannel {
public:
    // --- engine side (one thread) ---
    // Posts a request for seq, replacing any earlier one; returns it.
    ResyncRequest post(uint32_t seq) noexcept {
        engine_id_ = engine_id_ % kMaxId + 1;  // 1 .. 2^31 - 1
        request_.store(uint64_t{engine_id_} << 32 | seq, std::memory_order_release);
        return {seq, engine_id_};
    }
    // The host's answer to the current request, once; nullopt while there is none.
    std::optional<ResyncAnswer> take_answer() noexcept {
        const uint64_t a = answer_.load(std::memory_order_acquire);
        const auto id = static_cast<uint32_t>(a >> 33);
        if (id == 0 || id != engine_id_ || id == engine_taken_id_) return std::nullopt;
        engine_taken_id_ = id;
        return ResyncAnswer{{static_cast<uint32_t>(a), id}, ((a >> 32) & 1) != 0};
    }

    // --- host side (one thread) ---
    // The current request if the host has not answered it yet.
    std::optional<ResyncRequest> pending() const noexcept {
        const ResyncRequest r = current();
        if (r.id == 0 || r.id == host_answered_id_) return std::nullopt;
        return r;
    }
    // Ok; StaleResync when the engine has posted a newer request since; NoResyncPending when the
    // request was already answered or never posted.
    Status answer(const ResyncRequest& r, bool confirm) noexcept {
        if (r.id == 0 || r.id == host_answered_id_) return Status::NoResyncPending;
        const ResyncRequest now = current();
        if (now.id == 0) return Status::NoResyncPending;
        if (now != r) return Status::StaleResync;
        host_answered_id_ = r.id;
        answer_.store((uint64_t{r.id} << 1 | (confirm ? 1 : 0)) << 32 | r.seq, std::memory_order_release);
        return Status::Ok;
    }

private:
    static constexpr uint32_t kMaxId = 0x7FFFFFFF;

    ResyncRequest current() const noexcept {
        const uint64_t v = request_.load(std::memory_order_acquire);
        return {static_cast<uint32_t>(v), static_cast<uint32_t>(v >> 32)};
    }

    alignas(64) std::atomic<uint64_t> request_{0};  // written by the engine
    uint32_t engine_id_ = 0;                         // engine-private
    uint32_t engine_taken_id_ = 0;
    alignas(64) std::atomic<uint64_t> answer_{0};   // written by the host
    uint32_t host_answered_id_ = 0;                  // host-private
};

}  // namespace nvmeddp::ddp
