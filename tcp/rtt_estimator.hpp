// The retransmission timeout of a connection, from its round-trip time samples (RFC 6298): the
// smoothed RTT and its variation, the RTO they give, its exponential backoff after a timeout, and the
// smallest RTT seen (for whoever needs a path's base delay).
//
// Karn's algorithm (RFC 6298 section 3) is the caller's part: it samples only segments that were not
// retransmitted (or uses timestamps), and it decides when the backoff ends (reset_backoff() when new
// data is acknowledged, RFC 6298 5.7), so sample() leaves the backoff alone.
//
// Everything is in microseconds. The floor of the RTO is Linux's 200 ms by default, not RFC 6298's
// 1 s (2.4): a storage protocol cannot stall a whole second on every lost tail segment.
#pragma once

#include <cstdint>

namespace nvmeddp::tcp {

// RttEstimator::Config. Declared outside the class because GCC cannot use a nested class's default
// member initializers in a default argument of the enclosing class (`= Config{}` below).
struct RttEstimatorConfig {
    uint32_t initial_rto_us = 1'000'000;  // RFC 6298 2.1
    uint32_t min_rto_us = 200'000;  // Linux's floor; RFC 6298 says 1 s, which storage cannot afford
    uint32_t max_rto_us = 120'000'000;     // RFC 6298 2.5 allows any maximum of at least 60 s
    uint32_t clock_granularity_us = 1'000;  // G: the resolution of the clock that timed the samples
};

class RttEstimator {
public:
    using Config = RttEstimatorConfig;

    explicit RttEstimator(const Config& config = Config{}) noexcept;

    // One measured round trip. The first sets SRTT = R, RTTVAR = R/2 (2.2); later ones set
    // RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, then SRTT = 7/8 SRTT + 1/8 R (2.3). The RTO becomes
    // SRTT + max(G, 4*RTTVAR), clamped to [min, max]. Leaves the backoff as it is.
    void sample(uint32_t rtt_us) noexcept;
    // A retransmission timer expired: the RTO doubles (5.5), up to the maximum.
    void backoff() noexcept;
    // New data was acknowledged: the RTO is the computed one again (5.7).
    void reset_backoff() noexcept;

    // The RTO to arm the retransmission timer with, backoff included: the initial RTO before any
    // sample.
    uint32_t rto_us() const noexcept;
    uint32_t srtt_us() const noexcept { return srtt_us_; }      // 0 before the first sample
    uint32_t rttvar_us() const noexcept { return rttvar_us_; }  // 0 before the first sample
    uint32_t min_rtt_us() const noexcept { return min_rtt_us_; }  // 0 before the first sample
    bool has_sample() const noexcept { return has_sample_; }
    // backoff() calls since the last reset (also those past the maximum RTO: a retry count)
    uint32_t backoff_count() const noexcept { return backoff_count_; }

private:
    Config config_;
    uint32_t srtt_us_ = 0;
    uint32_t rttvar_us_ = 0;
    uint32_t min_rtt_us_ = 0;
    uint32_t base_rto_us_;  // before backoff
    uint32_t backoff_count_ = 0;
    bool has_sample_ = false;
};

}  // namespace nvmeddp::tcp
