// Everything one connection sends, in order: whole small PDUs (ICResp, CapsuleResp, R2T, TermReq)
// and C2H data transfers, which are cut into C2HData PDUs and copied (with their data digest computed
// in the same pass) only as the socket drains. So a slow host costs a bounded send buffer, not a copy
// of every read it asked for, and the digest always covers the bytes that actually went out.
//
// The send-side faults of TargetFaults are applied here, where the C2HData PDUs are made.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <vector>

#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/pdu_encoder.hpp"
#include "nvmetcp/target/send_queue.hpp"
#include "nvmetcp/target/target.hpp"
#include "nvmetcp/target/target_stats.hpp"

namespace nvmeddp::nvmetcp::target {

class Outbox {
public:
    // Called when a data transfer is fully queued for sending (its command is complete).
    using TransferDone = std::function<void(uint32_t tag)>;

    Outbox(uint32_t c2h_split, const TargetFaults& faults, AtomicStats& stats, TransferDone done);

    // Digests and the host's alignment, from the IC exchange (before any data PDU is queued).
    void set_send_params(const SendParams& params) noexcept { params_ = params; }
    const SendParams& send_params() const noexcept { return params_; }

    // A whole encoded PDU.
    void push_pdu(std::span<const uint8_t> pdu);
    // The C2HData PDUs of one command: `data` (memory that outlives the transfer, e.g. the namespace)
    // or `owned` when data is empty. The last PDU has LAST_PDU, and SUCCESS when `success`; otherwise
    // `completion` (an encoded CapsuleResp) follows the data. `tag` is handed to TransferDone.
    void push_data(uint16_t cccid, std::span<const uint8_t> data, std::vector<uint8_t> owned, bool success,
                   std::vector<uint8_t> completion, uint32_t tag);
    // Ends the connection's output: the C2HData PDU under way (if any) is completed, everything else
    // queued is dropped, then `term_pdu` (a C2HTermReq) is sent. finished() after it went out.
    void terminate(std::vector<uint8_t> term_pdu);

    enum class Io : uint8_t { Idle, Blocked, Error };
    // Makes PDUs and writes them until nothing is left (Idle) or the socket is full (Blocked).
    Io transmit(int fd, int* error);

    // Bytes queued for sending, made or not: the connection stops reading above a few MiB.
    uint64_t backlog() const noexcept { return send_queue_.bytes() + unmade_bytes_; }
    bool has_output() const noexcept { return !send_queue_.empty() || (!stopped_ && !jobs_.empty()); }
    // terminate() or a fault stopped the output and all of it was written: close the connection.
    bool finished() const noexcept { return stopped_ && send_queue_.empty(); }
    // Nothing more will be made (terminate() or a fault): the connection stops reading.
    bool stopping() const noexcept { return stopped_ || terminate_pending_; }

private:
    struct Job {
        std::vector<uint8_t> pdu;  // a whole PDU; or for a transfer, the completion after its data
        bool transfer = false;
        uint16_t cccid = 0;
        std::span<const uint8_t> data;
        std::vector<uint8_t> owned;
        bool success = false;
        uint32_t tag = 0;
        uint32_t offset = 0;  // data bytes made into PDUs so far
    };

    void make_pdus();
    void start_c2h_pdu(Job& job);
    bool finish_c2h_pdu();  // false: output stopped (a fault)
    uint64_t job_bytes(const Job& job) const noexcept;

    uint32_t c2h_split_;
    TargetFaults faults_;
    AtomicStats& stats_;
    TransferDone done_;
    SendParams params_{};
    SendQueue send_queue_;
    std::deque<Job> jobs_;
    uint64_t unmade_bytes_ = 0;
    bool stopped_ = false;
    std::vector<uint8_t> pending_term_;  // terminate() during a C2HData PDU: sent after it
    bool terminate_pending_ = false;

    // The C2HData PDU under way (of jobs_.front()).
    uint32_t pdu_left_ = 0;  // data bytes still to make
    uint32_t pdu_crc_state_ = Crc32c::kSeed;  // raw CRC32C state over its data so far
    bool pdu_corrupt_ = false;
    bool pdu_ends_in_term_ = false;   // term_after fault: C2HTermReq after this PDU
    uint64_t disconnect_at_ = 0;      // disconnect fault: stop at this many data bytes (0: not armed)

    uint64_t data_bytes_made_ = 0;  // C2HData data bytes on this connection (the faults count these)
    uint64_t c2h_pdus_made_ = 0;
};

}  // namespace nvmeddp::nvmetcp::target
