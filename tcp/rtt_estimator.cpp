#include "tcp/rtt_estimator.hpp"

#include <algorithm>
#include <cstdint>

namespace nvmeddp::tcp {

namespace {

// The configured range, even if a caller gives a maximum below the minimum (the minimum wins).
uint64_t clamp_rto(uint64_t rto, const RttEstimator::Config& c) noexcept {
    return std::clamp<uint64_t>(rto, c.min_rto_us, std::max(c.min_rto_us, c.max_rto_us));
}

}  // namespace

RttEstimator::RttEstimator(const Config& config) noexcept
    : config_(config), base_rto_us_(static_cast<uint32_t>(clamp_rto(config.initial_rto_us, config))) {}

void RttEstimator::sample(uint32_t rtt_us) noexcept {
    if (!has_sample_) {
        srtt_us_ = rtt_us;
        rttvar_us_ = rtt_us / 2;
        min_rtt_us_ = rtt_us;
        has_sample_ = true;
    } else {
        // 64-bit sums: 7*SRTT of a 32-bit SRTT does not fit in 32 bits. RTTVAR first, from the old SRTT.
        const uint64_t deviation = srtt_us_ > rtt_us ? srtt_us_ - rtt_us : rtt_us - srtt_us_;
        rttvar_us_ = static_cast<uint32_t>((3 * uint64_t{rttvar_us_} + deviation) / 4);
        srtt_us_ = static_cast<uint32_t>((7 * uint64_t{srtt_us_} + rtt_us) / 8);
        min_rtt_us_ = std::min(min_rtt_us_, rtt_us);
    }
    const uint64_t variance_term = std::max(uint64_t{config_.clock_granularity_us}, 4 * uint64_t{rttvar_us_});
    base_rto_us_ = static_cast<uint32_t>(clamp_rto(srtt_us_ + variance_term, config_));
}

void RttEstimator::backoff() noexcept {
    // Every call counts, also once the RTO is at its maximum: callers give up after so many
    // retransmissions by this count.
    if (backoff_count_ != UINT32_MAX) ++backoff_count_;
}

void RttEstimator::reset_backoff() noexcept { backoff_count_ = 0; }

uint32_t RttEstimator::rto_us() const noexcept {
    // Doubling stops at the maximum, so a count in the billions costs nothing.
    uint64_t rto = base_rto_us_;
    for (uint32_t i = 0; i < backoff_count_ && rto < config_.max_rto_us; ++i) rto *= 2;
    return static_cast<uint32_t>(clamp_rto(rto, config_));
}

}  // namespace nvmeddp::tcp
