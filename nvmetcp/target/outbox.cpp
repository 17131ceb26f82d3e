#include "nvmetcp/target/outbox.hpp"

#include <algorithm>

#include "nvmetcp/crc32c_copy.hpp"

namespace nvmeddp::nvmetcp::target {
namespace {

// Make PDUs while less than this is waiting in the socket's queue; copy data in pieces of at most
// kPieceBytes, so a 4 MiB C2HData does not sit in memory twice.
constexpr size_t kSendAhead = 1u << 20;
constexpr uint32_t kPieceBytes = 256u << 10;

}  // namespace

Outbox::Outbox(uint32_t c2h_split, const TargetFaults& faults, AtomicStats& stats, TransferDone done)
    : c2h_split_(c2h_split), faults_(faults), stats_(stats), done_(std::move(done)) {}

uint64_t Outbox::job_bytes(const Job& job) const noexcept {
    return job.pdu.size() + (job.transfer ? (job.data.empty() ? job.owned.size() : job.data.size()) : 0);
}

void Outbox::push_pdu(std::span<const uint8_t> pdu) {
    if (stopped_ || terminate_pending_) return;
    Job job;
    job.pdu.assign(pdu.begin(), pdu.end());
    unmade_bytes_ += job_bytes(job);
    jobs_.push_back(std::move(job));
}

void Outbox::push_data(uint16_t cccid, std::span<const uint8_t> data, std::vector<uint8_t> owned, bool success,
                       std::vector<uint8_t> completion, uint32_t tag) {
    if (stopped_ || terminate_pending_) return;
    Job job;
    job.transfer = true;
    job.cccid = cccid;
    job.owned = std::move(owned);
    job.data = data;
    job.success = success;
    job.pdu = std::move(completion);
    job.tag = tag;
    unmade_bytes_ += job_bytes(job);
    jobs_.push_back(std::move(job));
}

void Outbox::terminate(std::vector<uint8_t> term_pdu) {
    if (stopped_ || terminate_pending_) return;
    // Only the front job can be under way; a PDU cut in the middle would hide the TermReq in its data.
    const bool mid_pdu = pdu_left_ > 0;
    while (jobs_.size() > (mid_pdu ? 1u : 0u)) jobs_.pop_back();
    unmade_bytes_ = mid_pdu ? job_bytes(jobs_.front()) - jobs_.front().offset : 0;
    if (mid_pdu) {
        pending_term_ = std::move(term_pdu);
        terminate_pending_ = true;
    } else {
        send_queue_.append(term_pdu);
        stopped_ = true;
    }
}

void Outbox::start_c2h_pdu(Job& job) {
    const uint32_t total = static_cast<uint32_t>(job.data.size());
    uint32_t len = total - job.offset;
    if (c2h_split_ != 0) len = std::min(len, c2h_split_);

    pdu_ends_in_term_ = false;
    if (faults_.term_after_data_bytes != 0 && data_bytes_made_ < faults_.term_after_data_bytes &&
        data_bytes_made_ + len >= faults_.term_after_data_bytes) {
        len = static_cast<uint32_t>(faults_.term_after_data_bytes - data_bytes_made_);
        pdu_ends_in_term_ = true;
    }
    if (faults_.disconnect_after_data_bytes != 0 && disconnect_at_ == 0 &&
        data_bytes_made_ + len >= faults_.disconnect_after_data_bytes) {
        // At least one byte short of the PDU's end, so that the connection drops inside the PDU.
        disconnect_at_ = std::min(faults_.disconnect_after_data_bytes, data_bytes_made_ + len - 1);
    }

    const bool last = job.offset + len == total;
    uint8_t flags = last ? pdu_flags::kLastPdu : 0;
    if (last && job.success && !pdu_ends_in_term_) flags |= pdu_flags::kSuccess;
    const C2HDataPdu header = make_c2h_data(job.cccid, job.offset, len, flags);
    const PduPlan plan = plan_pdu(PduType::C2HData, len, params_);
    encode_header({send_queue_.extend(plan.data_offset), plan.data_offset}, header_bytes(header), len, params_);

    pdu_left_ = len;
    pdu_crc_state_ = Crc32c::kSeed;
    pdu_corrupt_ = false;
    ++c2h_pdus_made_;
    AtomicStats::add(stats_.c2h_pdus);
    if (faults_.corrupt_data_digest_every != 0 && params_.data_digest &&
        c2h_pdus_made_ % faults_.corrupt_data_digest_every == 0) {
        pdu_corrupt_ = true;
        AtomicStats::add(stats_.faults_injected);
    }
}

bool Outbox::finish_c2h_pdu() {
    if (params_.data_digest) {
        const uint32_t digest = ~pdu_crc_state_ ^ (pdu_corrupt_ ? 0xFFFFFFFFu : 0u);
        store_le32(send_queue_.extend(kDigestLen), digest);
    }
    if (pdu_ends_in_term_) {
        AtomicStats::add(stats_.faults_injected);
        AtomicStats::add(stats_.errors_sent);
        const TermReqPdu term = make_term_req(PduType::C2HTermReq, Fes::PduSequenceError, 0);
        uint8_t buf[kHlenTermReq];
        encode_pdu(buf, term, {}, params_);
        send_queue_.append(buf);
        stopped_ = true;
        return false;
    }
    if (terminate_pending_) {
        send_queue_.append(pending_term_);
        stopped_ = true;
        return false;
    }
    return true;
}

void Outbox::make_pdus() {
    while (!stopped_ && send_queue_.bytes() < kSendAhead && !jobs_.empty()) {
        Job& job = jobs_.front();
        if (!job.transfer) {
            send_queue_.append(job.pdu);
            unmade_bytes_ -= job.pdu.size();
            jobs_.pop_front();
            continue;
        }
        if (job.data.empty()) job.data = job.owned;
        if (pdu_left_ == 0) {
            if (job.offset == job.data.size()) {  // every PDU made: the completion, unless SUCCESS said it
                if (!job.success) send_queue_.append(job.pdu);
                unmade_bytes_ -= job.pdu.size();
                const uint32_t tag = job.tag;
                jobs_.pop_front();
                done_(tag);
                continue;
            }
            start_c2h_pdu(job);
        }
        uint32_t n = std::min(pdu_left_, kPieceBytes);
        if (disconnect_at_ != 0) n = static_cast<uint32_t>(std::min<uint64_t>(n, disconnect_at_ - data_bytes_made_));
        if (n > 0) {
            uint8_t* dst = send_queue_.extend(n);
            pdu_crc_state_ = crc32c_copy_extend(pdu_crc_state_, dst, job.data.data() + job.offset, n);
            job.offset += n;
            pdu_left_ -= n;
            data_bytes_made_ += n;
            unmade_bytes_ -= n;
        }
        if (disconnect_at_ != 0 && data_bytes_made_ == disconnect_at_) {  // the fault: drop in mid-PDU
            AtomicStats::add(stats_.faults_injected);
            stopped_ = true;
            break;
        }
        if (pdu_left_ == 0 && !finish_c2h_pdu()) break;
    }
}

Outbox::Io Outbox::transmit(int fd, int* error) {
    for (;;) {
        make_pdus();
        switch (send_queue_.flush(fd, error)) {
            case SendQueue::Flush::Blocked: return Io::Blocked;
            case SendQueue::Flush::Error: return Io::Error;
            case SendQueue::Flush::Empty: break;
        }
        if (stopped_ || jobs_.empty()) return Io::Idle;
    }
}

}  // namespace nvmeddp::nvmetcp::target
