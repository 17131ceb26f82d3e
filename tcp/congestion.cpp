#include "tcp/congestion.hpp"

#include <algorithm>

namespace nvmeddp::tcp {

namespace {

// The largest window TCP can use (2^30 with window scaling): growth stops there, so the sums below
// cannot overflow.
constexpr uint32_t kMaxWindow = uint32_t{1} << 30;

}  // namespace

void NewRenoCongestion::reset(uint32_t smss) noexcept {
    smss_ = std::max<uint32_t>(smss, 1);
    cwnd_ = std::min(10 * smss_, std::max(2 * smss_, 14'600u));
    ssthresh_ = UINT32_MAX;
    bytes_acked_ = 0;
    dup_acks_ = 0;
    recover_ = Seq{};
    recover_set_ = false;
    in_recovery_ = false;
}

uint32_t NewRenoCongestion::half_flight(uint32_t flight) const noexcept {
    return std::max(flight / 2, 2 * smss_);
}

void NewRenoCongestion::grow(uint32_t acked) noexcept {
    if (cwnd_ < ssthresh_) {
        // Slow start, RFC 3465 2.2 with L = 2: an ACK for many segments (a stretch ACK, or one after
        // a loss) counts for at most two.
        cwnd_ += std::min(acked, 2 * smss_);
    } else {
        // Congestion avoidance, RFC 3465 2.1: one SMSS per cwnd bytes acknowledged, i.e. per RTT.
        bytes_acked_ += acked;
        if (bytes_acked_ >= cwnd_) {
            bytes_acked_ -= cwnd_;
            cwnd_ += smss_;
        }
    }
    cwnd_ = std::min(cwnd_, kMaxWindow);
}

bool NewRenoCongestion::on_new_ack(uint32_t acked, Seq new_una, uint32_t flight_before) noexcept {
    dup_acks_ = 0;
    if (acked == 0) return false;
    // Past the last recovery point nothing can echo that episode any more: forget it, before the
    // serial comparison with it turns around 2 GiB later.
    if (!in_recovery_ && recover_set_ && new_una > recover_) recover_set_ = false;
    if (!in_recovery_) {
        grow(acked);
        return false;
    }
    if (new_una >= recover_) {
        // Full ACK, RFC 6582 3.2 step 3, option (2): no burst of more than an SMSS beyond what is
        // still in flight.
        const uint32_t flight_after = flight_before > acked ? flight_before - acked : 0;
        cwnd_ = std::min(ssthresh_, std::max(flight_after, smss_) + smss_);
        in_recovery_ = false;
        bytes_acked_ = 0;
        return false;
    }
    // Partial ACK, step 5: what was acknowledged left the network, and one SMSS is added back for
    // the retransmission the caller now sends.
    cwnd_ = cwnd_ > acked ? cwnd_ - acked : 0;
    if (acked >= smss_) cwnd_ += smss_;
    return true;
}

bool NewRenoCongestion::on_dup_ack(Seq snd_una, Seq snd_max, uint32_t flight) noexcept {
    ++dup_acks_;
    if (in_recovery_) {
        // Step 4: each duplicate ACK says a segment left the network.
        cwnd_ = std::min(cwnd_ + smss_, kMaxWindow);
        return false;
    }
    if (dup_acks_ != 3) return false;
    // The careful variant: duplicate ACKs for data sent before the last recovery or timeout are the
    // echo of that episode (retransmissions of data the peer already had), not a new loss.
    if (recover_set_ && !(snd_una > recover_)) return false;
    ssthresh_ = half_flight(flight);
    cwnd_ = ssthresh_ + 3 * smss_;
    recover_ = snd_max;
    recover_set_ = true;
    in_recovery_ = true;
    bytes_acked_ = 0;
    return true;
}

uint32_t NewRenoCongestion::limited_transmit_allowance() const noexcept {
    if (in_recovery_ || dup_acks_ == 0 || dup_acks_ > 2) return 0;
    return dup_acks_ * smss_;
}

void NewRenoCongestion::on_timeout(uint32_t flight, Seq snd_max) noexcept {
    ssthresh_ = half_flight(flight);
    cwnd_ = smss_;
    in_recovery_ = false;
    recover_ = snd_max;
    recover_set_ = true;
    dup_acks_ = 0;
    bytes_acked_ = 0;
}

void NewRenoCongestion::enter_sack_recovery(uint32_t flight, Seq snd_max) noexcept {
    prior_cwnd_ = cwnd_;
    prior_ssthresh_ = ssthresh_;
    ssthresh_ = half_flight(flight);
    cwnd_ = ssthresh_;
    recover_ = snd_max;
    recover_set_ = true;
    in_recovery_ = true;
    dup_acks_ = 0;
    bytes_acked_ = 0;
}

bool NewRenoCongestion::on_sack_new_ack(uint32_t acked, Seq new_una) noexcept {
    dup_acks_ = 0;
    if (!in_recovery_ && recover_set_ && new_una > recover_) recover_set_ = false;
    if (!in_recovery_) {
        if (acked > 0) grow(acked);
        return false;
    }
    if (new_una >= recover_) {
        in_recovery_ = false;
        bytes_acked_ = 0;
        return true;
    }
    return false;
}

void NewRenoCongestion::undo_recovery() noexcept {
    cwnd_ = std::max(cwnd_, prior_cwnd_);
    ssthresh_ = std::max(ssthresh_, prior_ssthresh_);
    in_recovery_ = false;
    bytes_acked_ = 0;
    // Nothing was lost, so the recovery point guards nothing: a real loss below it must start a
    // recovery at once, not wait for the retransmission timer (as it did, 200 ms or more each).
    recover_set_ = false;
}

}  // namespace nvmeddp::tcp
