// Congestion control of a connection's sender: NewReno. Slow start and congestion avoidance
// (RFC 5681), with appropriate byte counting (RFC 3465, L = 2*SMSS) so that the window grows by the
// bytes acknowledged, not by the number of ACKs (a receiver that delays or stretches ACKs would
// otherwise slow us down); the initial window of RFC 6928; fast retransmit and NewReno fast recovery
// (RFC 6582), which repairs several losses of one window without waiting for a timeout; and limited
// transmit (RFC 3042), which lets the first two duplicate ACKs send new data so that a small window
// still gets its three duplicate ACKs.
//
// It only keeps the numbers: the caller (the connection) tells it what the ACKs did and it answers
// when a segment must be retransmitted; the caller sends, and limits what is in flight to cwnd()
// (plus limited_transmit_allowance()).
#pragma once

#include <cstdint>

#include "tcp/seq.hpp"

namespace nvmeddp::tcp {

class NewRenoCongestion {
public:
    // cwnd = IW (min(10*SMSS, max(2*SMSS, 14600))), ssthresh = "infinite", not in recovery.
    void reset(uint32_t smss) noexcept;

    uint32_t cwnd() const noexcept { return cwnd_; }
    uint32_t ssthresh() const noexcept { return ssthresh_; }
    bool in_recovery() const noexcept { return in_recovery_; }
    uint32_t dup_acks() const noexcept { return dup_acks_; }

    // An ACK that advanced snd_una by `acked` > 0 bytes; new_una the new snd_una, flight_before the
    // bytes outstanding before it. Outside recovery the window grows: in slow start by
    // min(acked, 2*SMSS), in congestion avoidance by SMSS each time a window's worth of bytes has
    // been acknowledged. In fast recovery, returns true for a partial ACK (new_una < recover): the
    // caller retransmits the first unacknowledged segment (RFC 6582 3.2 step 5); cwnd is deflated
    // by acked, plus SMSS back if acked >= SMSS. A full ACK (new_una >= recover) ends recovery with
    // cwnd = min(ssthresh, max(flight after, SMSS) + SMSS). Resets the dup-ack count.
    bool on_new_ack(uint32_t acked, Seq new_una, uint32_t flight_before) noexcept;

    // A duplicate ACK (the caller has checked RFC 5681's definition). Returns true when the caller
    // must fast-retransmit the first unacknowledged segment now: on the third one, if the ACK covers
    // more than `recover` (RFC 6582 3.2 step 2, the "careful" variant; always, before any recovery or
    // timeout set `recover`). Then ssthresh = max(flight/2, 2*SMSS), cwnd = ssthresh + 3*SMSS,
    // recover = snd_max. In recovery each further dup ACK inflates cwnd by SMSS.
    //
    // RFC 6582's recover is the highest sequence number sent (snd_max - 1) and its test is
    // "snd_una - 1 > recover"; ours holds snd_max, one more, so the same test reads snd_una > recover
    // (and a full ACK is new_una >= recover).
    bool on_dup_ack(Seq snd_una, Seq snd_max, uint32_t flight) noexcept;

    // Bytes beyond cwnd that limited transmit allows right now: one SMSS after the first duplicate
    // ACK, two after the second (RFC 3042), 0 otherwise (in recovery, or after a third that did not
    // start one).
    uint32_t limited_transmit_allowance() const noexcept;

    // A retransmission timeout, RFC 5681 eq. 4: ssthresh = max(flight/2, 2*SMSS), cwnd = 1*SMSS (the
    // loss window); recovery ends; recover = snd_max (so that the duplicate ACKs the go-back-N
    // retransmissions cause do not start a fast retransmit).
    void on_timeout(uint32_t flight, Seq snd_max) noexcept;

    // SACK-based loss recovery (RFC 6675): the connection decides from its scoreboard when a loss
    // starts recovery and what to send; the window arithmetic stays here.
    // Whether a loss may start a recovery now: not for data sent before the last recovery point or
    // timeout. Unlike NewReno's test above (which cannot tell a new loss at the recovery point from
    // the echo of retransmissions), the scoreboard says which bytes arrived, so a loss of the byte
    // at the recovery point itself, sent after the last recovery began, starts a new one.
    bool sack_recovery_allowed(Seq snd_una) const noexcept { return !recover_set_ || snd_una >= recover_; }
    // Enters recovery, RFC 6675 5 step (4.2): cwnd = ssthresh = max(FlightSize/2, 2*SMSS);
    // recover (RecoveryPoint) = snd_max.
    void enter_sack_recovery(uint32_t flight, Seq snd_max) noexcept;
    // An ACK that advanced snd_una by `acked`: grows the window outside recovery (as on_new_ack), and
    // ends a recovery once new_una reaches its recovery point (cwnd stays at ssthresh). Returns
    // true when it ended one.
    bool on_sack_new_ack(uint32_t acked, Seq new_una) noexcept;
    // The recovery was spurious (every retransmission came back as a duplicate, RFC 3708 / 2883):
    // cwnd and ssthresh go back to what they were before it began, and it ends, leaving no recovery
    // point behind (a new loss may start a recovery at once).
    void undo_recovery() noexcept;

private:
    void grow(uint32_t acked) noexcept;
    uint32_t half_flight(uint32_t flight) const noexcept;

    uint32_t smss_ = 1460;
    uint32_t cwnd_ = 14600;
    uint32_t ssthresh_ = UINT32_MAX;
    uint32_t bytes_acked_ = 0;  // RFC 3465 congestion avoidance: bytes acknowledged towards the next SMSS
    uint32_t dup_acks_ = 0;
    Seq recover_;
    bool recover_set_ = false;  // no recovery or timeout yet: nothing for the careful check to compare
    bool in_recovery_ = false;
    uint32_t prior_cwnd_ = 0;      // before the last SACK recovery, for undo_recovery()
    uint32_t prior_ssthresh_ = UINT32_MAX;
};

}  // namespace nvmeddp::tcp
