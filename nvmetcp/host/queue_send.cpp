// Queue send path: send items become PDUs one at a time; each PDU goes out as its staged header, its
// data straight from the command's IoVecs, and its data digest, computed as the data goes out (in
// the transport's copy, when it has one: QueueTransport::send_digesting), so the data is read once.
// A PDU the transport cannot take whole stays current and continues on the next
// on_transport_writable() or poll(). With the transmit digest offload the device writes the digests
// instead (the fields go out zero), and a PDU with one waits while the device's memory of them is
// full (tx_digest_window.hpp).
#include <algorithm>

#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/host/ddp_receive.hpp"
#include "nvmetcp/host/queue.hpp"

namespace nvmeddp::nvmetcp::host {

void Queue::pump_sends() {
    if (transport_ == nullptr) return;
    // A completion inside finish_current() may submit and so re-enter here; the state is consistent
    // at that point (the finished PDU is no longer current), and the outer loop just goes on.
    while (live()) {
        if (!out_.active && !start_next_pdu()) return;
        if (!write_current()) return;
        finish_current();
    }
}

bool Queue::start_next_pdu() {
    while (!ring_.empty()) {
        SendItem& item = ring_.front();
        out_.sent = 0;
        out_.data_len = 0;
        out_.digest_len = 0;
        out_.digest_by_device = false;
        out_.cid = item.cid;
        out_.kind = item.kind;
        switch (item.kind) {
            case SendItem::Kind::IcReq: {
                const uint8_t digests = static_cast<uint8_t>((config_.header_digest ? ic_digest::kHeader : 0) |
                                                             (config_.data_digest ? ic_digest::kData : 0));
                const ICReqPdu pdu = make_icreq(config_.hpda, digests, config_.maxr2t);
                out_.header_len = static_cast<uint32_t>(encode_header(out_.header, header_bytes(pdu), 0, send_params_));
                out_.ends_item = true;
                out_.active = true;
                return true;
            }
            case SendItem::Kind::Capsule: {
                const CommandSlot& slot = commands_[item.cid];
                const bool with_digest = send_params_.data_digest && slot.in_capsule && slot.data_len > 0;
                if (with_digest && !device_digest_room()) return false;
                stage_capsule(item.cid);
                return true;
            }
            case SendItem::Kind::H2CData:
                if (commands_[item.cid].response_received) {  // the controller already completed it
                    drop_item(item);
                    continue;
                }
                if (send_params_.data_digest && !device_digest_room()) return false;
                stage_h2c_data(item);
                return true;
        }
    }
    return false;
}

// Whether a PDU with a data digest may be staged now: always when the host computes its digests.
bool Queue::device_digest_room() {
    if (!device_digests_.enabled()) return true;
    if (offload_ == nullptr || offload_->tx_stream_lost()) {
        fail("the offload device lost the send stream whose data digests it writes: PDUs sent from there on "
             "would reach the controller with a wrong digest");
        return false;
    }
    const bool room = device_digests_.room(sent_offset_ - transport_->unacknowledged());
    // The controller acknowledged each of those PDUs whole, so each passed the device, unless it left
    // by a path the device does not see (another tx queue, a tag the port inserts): their digests
    // went out zero, and the controller fails them. Say why, rather than reconnect for ever.
    if (device_digests_.acknowledged() > offload_->tx_digests_written()) {
        fail("the offload device wrote %llu data digests, but the controller acknowledged %llu PDUs that needed "
             "one: frames leave by a path the device does not see",
             static_cast<unsigned long long>(offload_->tx_digests_written()),
             static_cast<unsigned long long>(device_digests_.acknowledged()));
        return false;
    }
    if (room) {
        waiting_for_device_digests_ = false;
        return true;
    }
    if (!waiting_for_device_digests_) ++stats_.device_digest_waits;  // resumes on the next acknowledgement
    waiting_for_device_digests_ = true;
    return false;
}

// A PDU with a data digest: computed as the data goes out, or left to the device (zero on the way).
void Queue::begin_data_digest() {
    out_.digest_state = Crc32c::kSeed;
    out_.digest_len = kDigestLen;
    if (!device_digests_.enabled()) return;
    out_.digest_by_device = true;
    device_digests_.add(sent_offset_ + out_.total());
    ++stats_.digests_left_to_device;
}

void Queue::stage_capsule(uint16_t cid) {
    const CommandSlot& slot = commands_[cid];
    const CapsuleCmdPdu pdu = make_capsule_cmd(slot.sqe.rebuild(cid, slot.data_len, slot.in_capsule));
    const uint32_t data_len = slot.in_capsule ? slot.data_len : 0;
    out_.header_len = static_cast<uint32_t>(encode_header(out_.header, header_bytes(pdu), data_len, send_params_));
    out_.data.reset(slot.data);
    out_.data_len = data_len;
    if (send_params_.data_digest && data_len > 0) begin_data_digest();
    out_.ends_item = true;
    out_.active = true;
}

void Queue::stage_h2c_data(SendItem& item) {
    CommandSlot& slot = commands_[item.cid];
    const uint32_t len = std::min(item.length, maxh2cdata_);
    const bool last = len == item.length;  // LAST_PDU ends the data of this R2T
    const H2CDataPdu pdu = make_h2c_data(item.cid, item.ttag, item.offset, len, last ? pdu_flags::kLastPdu : 0);
    out_.header_len = static_cast<uint32_t>(encode_header(out_.header, header_bytes(pdu), len, send_params_));
    out_.data.reset(slot.data);
    out_.data.seek(item.offset);
    out_.data_len = len;
    if (send_params_.data_digest) begin_data_digest();
    item.offset += len;
    item.length -= len;
    out_.ends_item = last;
    out_.active = true;
    ++stats_.h2c_pdus;
    stats_.h2c_bytes += len;
}

bool Queue::write_current() {
    const uint32_t data_end = out_.header_len + out_.data_len;
    while (out_.sent < out_.total()) {
        std::span<const uint8_t> chunk;
        const bool in_data = out_.sent >= out_.header_len && out_.sent < data_end;
        if (out_.sent < out_.header_len) {
            chunk = {out_.header + out_.sent, out_.header_len - out_.sent};
        } else if (in_data) {
            chunk = out_.data.contiguous(data_end - out_.sent);
            if (chunk.empty()) {  // cannot happen: submit checked that the IoVecs cover data_len
                fail("internal error: command cid %u's buffers end before its data", out_.cid);
                return false;
            }
        } else {
            if (out_.sent == data_end) {  // all the data went out
                store_le32(out_.digest, out_.digest_by_device ? 0 : ~out_.digest_state);
            }
            chunk = {out_.digest + (out_.sent - data_end), out_.total() - out_.sent};
        }
        const bool digesting = in_data && out_.digest_len != 0 && !out_.digest_by_device;
        const size_t taken = digesting ? std::min(transport_->send_digesting(chunk, out_.digest_state), chunk.size())
                                       : std::min(transport_->send(chunk), chunk.size());
        sent_offset_ += taken;
        if (in_data) out_.data.advance(static_cast<uint32_t>(taken));
        out_.sent += static_cast<uint32_t>(taken);
        if (taken < chunk.size()) return false;  // resumes on on_transport_writable() or poll()
    }
    return true;
}

void Queue::finish_current() {
    out_.active = false;
    if (out_.kind == SendItem::Kind::IcReq) {
        ring_.pop();
        return;
    }
    const uint16_t cid = out_.cid;
    CommandSlot& slot = commands_[cid];
    slot.bytes += out_.data_len;  // in-capsule or H2CData bytes of the command
    if (!out_.ends_item) return;
    const SendItem::Kind kind = ring_.front().kind;
    ring_.pop();
    if (kind == SendItem::Kind::Capsule) slot.phase = CommandSlot::Phase::Sent;
    if (kind == SendItem::Kind::H2CData) --slot.r2ts_in_progress;
    if (--slot.sends_pending == 0 && slot.response_received) {
        complete(cid, slot.held_status, slot.held_dw0, slot.held_reason, slot.held_dw1);
    }
}

void Queue::drop_item(SendItem& item) {
    const uint16_t cid = item.cid;
    const SendItem::Kind kind = item.kind;
    ring_.pop();
    CommandSlot& slot = commands_[cid];
    if (kind == SendItem::Kind::H2CData) --slot.r2ts_in_progress;
    if (--slot.sends_pending == 0 && slot.response_received) {
        complete(cid, slot.held_status, slot.held_dw0, slot.held_reason, slot.held_dw1);
    }
}

void Queue::send_term_req(Fes fes, uint32_t fei, std::span<const uint8_t> error_data) {
    if (transport_ == nullptr) return;
    uint8_t pdu[kTermReqMaxPlen];
    const size_t len = encode_pdu(pdu, make_term_req(PduType::H2CTermReq, fes, fei), error_data, SendParams{});
    // A PDU partly handed over must be finished first, or the controller would read the TermReq as its
    // rest. When the transport cannot take both now, the TermReq is left out: closing says enough.
    const uint32_t rest = out_.active && out_.sent > 0 ? out_.total() - out_.sent : 0;
    if (len == 0 || transport_->send_space() < rest + len) return;
    if (rest > 0 && !write_current()) return;
    const size_t taken = transport_->send({pdu, len});
    sent_offset_ += taken;
    if (taken == len) ++stats_.term_reqs_sent;
}

}  // namespace nvmeddp::nvmetcp::host
