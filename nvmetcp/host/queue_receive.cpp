// Queue receive path: the stream parser's events turned into IC completion, command completions,
// C2H data delivery and R2T handling; protocol errors end the queue with an H2CTermReq.
#include <algorithm>
#include <cstdio>

#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/host/c2h_receive.hpp"
#include "nvmetcp/host/ddp_receive.hpp"
#include "nvmetcp/host/queue.hpp"

namespace nvmeddp::nvmetcp::host {
namespace {

ParseError host_error(ErrorKind kind, Fes fes, uint32_t fei, uint64_t pdu_offset) {
    ParseError error = fatal_error(kind, fes, fei);
    error.pdu_offset = pdu_offset;
    return error;
}

uint8_t asked_digests(const QueueConfig& config) {
    return static_cast<uint8_t>((config.header_digest ? ic_digest::kHeader : 0) | (config.data_digest ? ic_digest::kData : 0));
}

}  // namespace

void Queue::receive(std::span<const uint8_t> bytes, const RxPiece& piece) {
    rx_piece_offset_ = parser_.stream_offset();
    if (offload_ != nullptr && live()) offload_->on_piece(rx_piece_offset_, bytes.size(), piece);
    parse(bytes, piece);
}

// The parser's events for `bytes` (of `piece`, which the offload has been told of).
void Queue::parse(std::span<const uint8_t> bytes, const RxPiece& piece) {
    std::span<const uint8_t> in = bytes;
    while (live()) {
        const ParseStep step = parser_.step(in);
        in = in.subspan(step.consumed);
        const ParseEvent& event = step.event;
        switch (event.kind) {
            case EventKind::NeedMore:
                return;
            case EventKind::Error:
                protocol_error(event.error, parser_.received_header());
                return;
            case EventKind::Header:
                rx_pdu_offset_ = event.stream_offset;
                on_header();
                break;
            case EventKind::Data:
                if (parser_.header().type() == PduType::C2HData) {
                    RxPiece at = piece;
                    at.seq = piece.seq + static_cast<uint32_t>(event.data - bytes.data());
                    C2HDataWriter out(commands_[rx_cid_], rx_cid_, rx_datao_ + event.data_offset, stats_, offload_);
                    out.put(event.data, event.data_len, event.stream_offset, at);
                    out.finish();
                }
                break;  // TermReq error data: only logged by the FES/FEI in failure()
            case EventKind::PduEnd:
                on_pdu_end(event, piece);
                break;
        }
    }
}

uint32_t Queue::c2h_data_left() const noexcept {
    return live() && parser_.data_left() != 0 && parser_.header().type() == PduType::C2HData ? parser_.data_left() : 0;
}

void Queue::receive_data_run(std::span<const RxSpan> spans) {
    uint32_t total = 0;
    for (const RxSpan& s : spans) total += static_cast<uint32_t>(s.bytes.size());
    if (total == 0 || total > c2h_data_left()) {  // not what c2h_data_left() announced: framed span by span
        for (const RxSpan& s : spans) receive(s.bytes, s.piece);
        return;
    }
    C2HDataWriter out(commands_[rx_cid_], rx_cid_, rx_datao_ + parser_.data_taken(), stats_, offload_);
    size_t i = 0;
    // Without the offload every byte is copied, and the parser's digest reads it too: span by span,
    // so that both passes find it in the cache.
    for (; offload_ == nullptr && i < spans.size(); ++i) {
        rx_piece_offset_ = parser_.stream_offset();
        const auto len = static_cast<uint32_t>(spans[i].bytes.size());
        parser_.take_data(spans[i].bytes);
        out.put(spans[i].bytes.data(), len, rx_piece_offset_, spans[i].piece);
    }
    // With it (without it the loop above took every span), bytes the parser does not read (no data
    // digest to compute, or the device's verdict taken) reach it as one count after the run.
    const bool parser_reads = parser_.reads_data();
    uint64_t offset = parser_.stream_offset();
    while (i < spans.size()) {
        // A packet's spans (a chained frame) go to the device's claims and to the buffer together.
        size_t end = i + 1;
        uint32_t len = static_cast<uint32_t>(spans[i].bytes.size());
        while (end < spans.size() && spans[end].piece.continues_packet) len += static_cast<uint32_t>(spans[end++].bytes.size());
        rx_piece_offset_ = offset;
        // The packet's spans share its metadata: one span as long as them all says the same to the
        // device's view of the stream as each did in turn.
        offload_->on_piece(offset, len, spans[i].piece);
        out.put(spans.subspan(i, end - i), len, offset);
        for (; parser_reads && i < end; ++i) parser_.take_data(spans[i].bytes);
        i = end;
        offset += len;
    }
    if (!parser_reads) parser_.take_data_unread(static_cast<uint32_t>(offset - parser_.stream_offset()));
    out.finish();
    // A run that ended the PDU's data (no digest to follow) ends the PDU now, not with the next
    // bytes: a C2HData with SUCCESS completes its command here (after filled()), as receive() would.
    if (parser_.pdu_complete()) {
        const RxSpan& last = spans.back();
        parse({}, RxPiece{last.piece.seq + static_cast<uint32_t>(last.bytes.size()), last.piece.meta, true});
    }
}

void Queue::on_header() {
    // Every header the host's parser reaches answers the device's resync request for it.
    if (offload_ != nullptr) offload_->on_header(rx_pdu_offset_);
    switch (parser_.header().type()) {
        case PduType::ICResp: on_icresp(); break;
        case PduType::CapsuleResp: on_capsule_resp(); break;
        case PduType::C2HData: on_c2h_header(); break;
        case PduType::R2T: on_r2t(); break;
        case PduType::C2HTermReq:
            term_req_ = parser_.header().as<TermReqPdu>();
            ++stats_.term_reqs_received;
            break;
        default: break;  // the parser lets only controller-to-host PDUs through
    }
}

void Queue::on_pdu_end(const ParseEvent& event, const RxPiece& piece) {
    switch (parser_.header().type()) {
        case PduType::ICResp: {
            // Applied between PDUs, as the parser requires: everything after the ICResp uses them.
            const bool header_digest = icresp_.dgst & ic_digest::kHeader;
            const bool data_digest = icresp_.dgst & ic_digest::kData;
            send_params_ = SendParams{header_digest, data_digest, icresp_.cpda};
            maxh2cdata_ = icresp_.maxh2cdata.get();
            ReceiveParams params = parser_.params();
            params.header_digest = header_digest;
            params.data_digest = data_digest;
            params.pda = config_.hpda;
            parser_.set_params(params);
            state_ = QueueState::Connecting;
            RxPiece next = piece;
            next.seq = piece.seq + static_cast<uint32_t>(parser_.stream_offset() - rx_piece_offset_);
            observer_->on_ic_done(*this, parser_.stream_offset(), next);
            submit_connect();
            break;
        }
        case PduType::C2HData: on_c2h_end(event, piece); break;
        case PduType::C2HTermReq: on_c2h_term_req(); break;
        default: break;
    }
}

void Queue::on_icresp() {
    if (state_ != QueueState::IcSent) {
        protocol_error(host_error(ErrorKind::UnexpectedPdu, Fes::PduSequenceError, ch_offset::kType, rx_pdu_offset_),
                       parser_.received_header());
        return;
    }
    // PFV, CPDA range and MAXH2CDATA >= 4096 were checked by the parser (check_full_header).
    icresp_ = parser_.header().as<ICRespPdu>();
    if ((icresp_.dgst & ~asked_digests(config_)) != 0) {  // a digest the host did not ask for
        protocol_error(host_error(ErrorKind::BadIcParameter, Fes::InvalidHeaderField, offsetof(ICRespPdu, dgst),
                                  rx_pdu_offset_),
                       parser_.received_header());
    }
}

void Queue::on_capsule_resp() {
    const NvmeCqe& cqe = parser_.header().as<CapsuleRespPdu>().cqe;
    const uint16_t cid = cqe.cid.get();
    const CommandSlot* slot = commands_.sent(cid);
    if (slot == nullptr || slot->response_received) {
        protocol_error(host_error(ErrorKind::UnknownCommand, Fes::InvalidHeaderField,
                                  offsetof(CapsuleRespPdu, cqe) + offsetof(NvmeCqe, cid), rx_pdu_offset_),
                       parser_.received_header());
        return;
    }
    ++stats_.capsule_resps;
    complete_when_sent(cid, nvme::status_of(cqe), cqe.dw0.get(), cqe.dw1.get());
}

void Queue::on_c2h_header() {
    // check_transfer() has accepted it: a read of this queue's, in order, inside its length.
    const auto& pdu = parser_.header().as<C2HDataPdu>();
    rx_cid_ = pdu.cccid.get();
    rx_datao_ = pdu.datao.get();
    rx_success_ = (pdu.ch.flags & pdu_flags::kSuccess) != 0;
    if (rx_success_ && !config_.disable_sq_flow_control) {
        // SUCCESS replaces the CapsuleResp only when the host gave up SQ flow control in Connect.
        protocol_error(host_error(ErrorKind::BadFlags, Fes::InvalidHeaderField, ch_offset::kFlags, rx_pdu_offset_),
                       parser_.received_header());
        return;
    }
    rx_datal_ = pdu.datal.get();
    commands_[rx_cid_].c2h_next = rx_datao_ + rx_datal_;
    // Where this PDU's data lies in the stream: the offload's second claimed run is defined by it.
    if (offload_ != nullptr) {
        offload_->on_c2h_header(rx_cid_, rx_datao_, rx_pdu_offset_ + pdu.ch.pdo, rx_datal_,
                                rx_pdu_offset_ + pdu.ch.plen.get());
    }
    ++stats_.c2h_pdus;
    // With the offload, whether the device verified this PDU's digest is known only at its end (every
    // packet of it must say so): the parser leaves the digest to the queue, which takes the device's
    // verdict or computes it over the buffer then.
    rx_digest_deferred_ = offload_ != nullptr && parser_.params().data_digest;
    if (rx_digest_deferred_) parser_.skip_data_digest();
}

void Queue::on_c2h_end(const ParseEvent& event, const RxPiece& piece) {
    CommandSlot& slot = commands_[rx_cid_];
    DigestStatus digest = event.digest;
    if (rx_digest_deferred_ && digest == DigestStatus::Offloaded) {
        rx_digest_deferred_ = false;
        // (Computed when the offload was detached since the header: nobody vouches for it then.)
        if (offload_ == nullptr || !offload_->digest_trusted(rx_pdu_offset_, piece))
            digest = verify_digest_in_buffer(slot, event.received_digest) ? DigestStatus::Verified : DigestStatus::Mismatch;
    }
    switch (digest) {
        case DigestStatus::None: break;
        case DigestStatus::Verified: ++stats_.digests_computed; break;
        case DigestStatus::Offloaded: ++stats_.digests_offloaded; break;
        case DigestStatus::Mismatch:
            ++stats_.digests_computed;
            ++stats_.digest_errors;
            if (!slot.digest_error) {  // the first one names the command's failure
                slot.digest_error = true;
                slot.digest_error_datao = rx_datao_;
            }
            break;
    }
    if (rx_success_) {
        ++stats_.success_flags;
        complete(rx_cid_, nvme::status::kSuccess, 0, nullptr);
    }
}

// The software fallback of the offload: the PDU's data as the host's buffer holds it (copied or
// placed), against the DDGST received.
bool Queue::verify_digest_in_buffer(CommandSlot& slot, uint32_t received_digest) {
    IoVecCursor at;
    at.reset(slot.data);
    at.seek(rx_datao_);
    Crc32c crc;
    uint32_t left = rx_datal_;
    while (left > 0) {
        const auto run = at.contiguous(left);
        if (run.empty()) return false;  // cannot happen: the validator kept the PDU inside the buffer
        crc.update(run);
        at.advance(static_cast<uint32_t>(run.size()));
        left -= static_cast<uint32_t>(run.size());
    }
    return crc.value() == received_digest;
}

void Queue::on_r2t() {
    // check_transfer() has accepted it: a write of this queue's that is not in capsule, asking for the
    // data right after the previous R2T's, inside its length.
    const auto& pdu = parser_.header().as<R2TPdu>();
    const uint16_t cid = pdu.cccid.get();
    CommandSlot& slot = commands_[cid];
    if (slot.r2ts_in_progress > config_.maxr2t) {  // MAXR2T is 0's based
        protocol_error(host_error(ErrorKind::DataLimitExceeded, Fes::DataLimitExceeded, offsetof(R2TPdu, ttag),
                                  rx_pdu_offset_),
                       parser_.received_header());
        return;
    }
    ++stats_.r2ts;
    slot.r2t_next = pdu.r2to.get() + pdu.r2tl.get();
    ++slot.r2ts_in_progress;
    ++slot.sends_pending;
    // The ring has room: at most MAXR2T+1 transfers per command are queued (checked above).
    ring_.push(SendItem{SendItem::Kind::H2CData, cid, pdu.ttag.get(), pdu.r2to.get(), pdu.r2tl.get()});
    pump_sends();
}

void Queue::on_c2h_term_req() {
    const uint16_t fes = term_req_.fes.get();
    fail("the controller terminated the connection (C2HTermReq): FES %u (%s), FEI %u", fes,
         to_string(static_cast<Fes>(fes)), term_req_.fei.get());
}

void Queue::protocol_error(const ParseError& error, std::span<const uint8_t> header) {
    if (!live()) return;
    const uint64_t sent_before = stats_.term_reqs_sent;
    send_term_req(error.fes, error.fei, header.first(std::min<size_t>(header.size(), kTermReqMaxErrorData)));
    char text[192];
    describe(error, text, sizeof text);
    std::snprintf(failure_, sizeof failure_, "protocol error (%s): %s",
                  stats_.term_reqs_sent > sent_before ? "H2CTermReq sent" : "no room to send H2CTermReq", text);
    finish_failure(QueueState::Failed);
}

TransferValidator::Verdict Queue::check_transfer(PduType type, uint16_t cccid, uint16_t tag, uint32_t offset,
                                                 uint32_t length) {
    (void)tag;  // TTAG is the host's to echo in H2CData, not to check
    const CommandSlot* slot = commands_.sent(cccid);
    if (slot == nullptr || slot->response_received) return Verdict::UnknownCommand;
    const uint64_t end = uint64_t{offset} + length;
    if (type == PduType::C2HData) {
        if (slot->to_controller || offset != slot->c2h_next) return Verdict::OffsetOutOfRange;
        return end <= slot->data_len ? Verdict::Ok : Verdict::LengthOutOfRange;
    }
    if (type == PduType::R2T) {
        if (!slot->to_controller || slot->in_capsule || offset != slot->r2t_next) return Verdict::OffsetOutOfRange;
        return end <= slot->data_len ? Verdict::Ok : Verdict::LengthOutOfRange;
    }
    return Verdict::UnknownCommand;  // H2CData never reaches a host
}

}  // namespace nvmeddp::nvmetcp::host
