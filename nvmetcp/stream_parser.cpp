#include "nvmetcp/stream_parser.hpp"

#include <algorithm>
#include <cstring>

namespace nvmeddp::nvmetcp {
namespace {


ParseError sequence_error() {
    return fatal_error(ErrorKind::UnexpectedPdu, Fes::PduSequenceError, ch_offset::kType);
}

}  // namespace

StreamParser::StreamParser(const ReceiveParams& params, bool expect_ic, TransferValidator* validator) noexcept
    : params_(params), validator_(validator), expect_ic_(expect_ic) {
    view_.bytes_ = header_;
}

ParseStep StreamParser::step(std::span<const uint8_t> in) noexcept {
    ParseStep total;
    // Each state handler consumes what it can; handlers that only consume (padding, partial headers)
    // return NeedMore and the loop goes on with the rest of the input in the same call.
    for (;;) {
        ParseStep s;
        switch (state_) {
            case State::CommonHeader: s = on_common_header(in); break;
            case State::Header:       s = on_header(in); break;
            case State::Padding:      s = on_padding(in); break;
            case State::Data:         s = on_data(in); break;
            case State::DataDigest:   s = on_data_digest(in); break;
            case State::EndOfPdu:     s = on_end_of_pdu(); break;
            case State::Failed:       return {total.consumed, ParseEvent{EventKind::Error, pdu_start_, nullptr, 0, 0, DigestStatus::None, 0, error_}};
        }
        in = in.subspan(s.consumed);
        stream_offset_ += s.consumed;
        stats_.bytes += s.consumed;
        total.consumed += s.consumed;
        if (s.event.kind != EventKind::NeedMore) {
            total.event = s.event;
            return total;
        }
        if (in.empty() && state_ != State::EndOfPdu) return total;
    }
}

// Copies up to `want - have_` bytes of the current PDU into the header buffer.
size_t StreamParser::gather(std::span<const uint8_t> in, uint32_t want) noexcept {
    const size_t n = std::min<size_t>(in.size(), want - have_);
    if (n == 0) return 0;  // in.data() may be null
    std::memcpy(header_ + have_, in.data(), n);
    have_ += static_cast<uint32_t>(n);
    return n;
}

ParseStep StreamParser::fail(ParseError error, size_t consumed) noexcept {
    error.pdu_offset = pdu_start_;
    error.fatal = true;
    error_ = error;
    state_ = State::Failed;
    return {consumed, ParseEvent{EventKind::Error, pdu_start_, nullptr, 0, 0, DigestStatus::None, 0, error}};
}

ParseError StreamParser::check_sequence(PduType type) const noexcept {
    if (terminated_) return sequence_error();
    if (expect_ic_ && !is_ic(type) && !is_term_req(type)) return sequence_error();
    if (!expect_ic_ && is_ic(type)) return sequence_error();
    return {};
}

ParseStep StreamParser::on_common_header(std::span<const uint8_t> in) noexcept {
    if (have_ == 0) pdu_start_ = stream_offset_;
    const size_t n = gather(in, sizeof(CommonHeader));
    if (have_ < sizeof(CommonHeader)) return {n, {}};

    const auto& ch = view_.common();
    if (is_receivable(params_.role, ch.type)) {
        if (auto error = check_sequence(ch.pdu_type())) return fail(error, n);
    }
    if (auto error = check_common_header(ch, params_, layout_)) return fail(error, n);
    state_ = State::Header;
    return {n, {}};
}

ParseError StreamParser::check_with_validator() const noexcept {
    if (validator_ == nullptr) return {};
    using Verdict = TransferValidator::Verdict;
    Verdict verdict = Verdict::Ok;
    switch (view_.type()) {
        case PduType::C2HData: {
            const auto& h = view_.as<C2HDataPdu>();
            verdict = validator_->check_transfer(PduType::C2HData, h.cccid.get(), 0, h.datao.get(), h.datal.get());
            break;
        }
        case PduType::H2CData: {
            const auto& h = view_.as<H2CDataPdu>();
            verdict = validator_->check_transfer(PduType::H2CData, h.cccid.get(), h.ttag.get(), h.datao.get(), h.datal.get());
            break;
        }
        case PduType::R2T: {
            const auto& h = view_.as<R2TPdu>();
            verdict = validator_->check_transfer(PduType::R2T, h.cccid.get(), h.ttag.get(), h.r2to.get(), h.r2tl.get());
            break;
        }
        default:
            return {};
    }
    // datao/r2to and datal/r2tl sit at the same offsets in all three PDUs.
    switch (verdict) {
        case Verdict::Ok:
            return {};
        case Verdict::UnknownCommand:
            return fatal_error(ErrorKind::UnknownCommand, Fes::InvalidHeaderField, offsetof(C2HDataPdu, cccid));
        case Verdict::OffsetOutOfRange:
            return fatal_error(ErrorKind::DataOutOfRange, Fes::DataOutOfRange, offsetof(C2HDataPdu, datao));
        case Verdict::LengthOutOfRange:
            return fatal_error(ErrorKind::DataOutOfRange, Fes::DataOutOfRange, offsetof(C2HDataPdu, datal));
    }
    return {};
}

ParseStep StreamParser::on_header(std::span<const uint8_t> in) noexcept {
    const size_t n = gather(in, layout_.header_len);
    if (have_ < layout_.header_len) return {n, {}};

    const uint32_t hlen = view_.common().hlen;
    view_.len_ = hlen;
    if (auto error = check_header_digest(header_, layout_)) return fail(error, n);
    if (auto error = check_full_header(header_, layout_, params_)) return fail(error, n);
    if (auto error = check_with_validator()) return fail(error, n);

    enter_body();
    return {n, ParseEvent{EventKind::Header, pdu_start_, nullptr, 0, 0, DigestStatus::None, 0, {}}};
}

void StreamParser::enter_body() noexcept {
    digest_skipped_ = false;
    data_crc_.reset();
    if (layout_.data_len == 0) {
        state_ = State::EndOfPdu;
        digest_status_ = DigestStatus::None;
    } else {
        state_ = have_ < layout_.data_offset ? State::Padding : State::Data;
    }
}

ParseStep StreamParser::on_padding(std::span<const uint8_t> in) noexcept {
    const size_t n = std::min<size_t>(in.size(), layout_.data_offset - have_);
    have_ += static_cast<uint32_t>(n);
    if (have_ == layout_.data_offset) state_ = State::Data;
    return {n, {}};
}

ParseStep StreamParser::on_data(std::span<const uint8_t> in) noexcept {
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(in.size(), data_left()));
    if (n == 0) return {0, {}};
    const uint32_t offset_in_data = data_taken();
    if (reads_data()) data_crc_.update(in.data(), n);
    data_taken_in(n);
    return {n, ParseEvent{EventKind::Data, stream_offset_, in.data(), n, offset_in_data, DigestStatus::None, 0, {}}};
}

void StreamParser::data_taken_in(uint32_t n) noexcept {
    have_ += n;
    stats_.data_bytes += n;
    if (data_left() == 0) {
        if (layout_.has_data_digest) {
            state_ = State::DataDigest;
        } else {
            state_ = State::EndOfPdu;
            digest_status_ = DigestStatus::None;
        }
    }
}

void StreamParser::take_data(std::span<const uint8_t> in) noexcept {
    if (in.empty() || in.size() > data_left()) return;  // not data: step() must frame it
    on_data(in);
    stream_offset_ += in.size();
    stats_.bytes += in.size();
}

void StreamParser::take_data_unread(uint32_t n) noexcept {
    if (n == 0 || n > data_left() || reads_data()) return;  // not data, or bytes the digest needs
    data_taken_in(n);
    stream_offset_ += n;
    stats_.bytes += n;
}

ParseStep StreamParser::on_data_digest(std::span<const uint8_t> in) noexcept {
    const uint32_t digest_at = layout_.data_offset + layout_.data_len;
    const uint32_t got = have_ - digest_at;
    const size_t n = std::min<size_t>(in.size(), kDigestLen - got);
    std::memcpy(digest_ + got, in.data(), n);
    have_ += static_cast<uint32_t>(n);
    if (have_ < digest_at + kDigestLen) return {n, {}};

    digest_error_ = {};
    received_digest_ = load_le32(digest_);
    if (digest_skipped_) {
        digest_status_ = DigestStatus::Offloaded;
        ++stats_.digests_offloaded;
    } else if (data_crc_.value() == received_digest_) {
        digest_status_ = DigestStatus::Verified;
        ++stats_.digests_verified;
    } else {
        digest_status_ = DigestStatus::Mismatch;
        ++stats_.digest_mismatches;
        digest_error_ = ParseError{ErrorKind::DataDigestMismatch, Fes::None, digest_at, pdu_start_, false};
    }
    state_ = State::EndOfPdu;
    return {n, {}};
}

ParseStep StreamParser::on_end_of_pdu() noexcept {
    const PduType type = view_.type();
    if (is_ic(type)) expect_ic_ = false;
    if (is_term_req(type)) terminated_ = true;
    ++stats_.pdus;
    ParseEvent event{EventKind::PduEnd, pdu_start_, nullptr, 0, 0, digest_status_, received_digest_, digest_error_};
    digest_error_ = {};
    received_digest_ = 0;
    digest_status_ = DigestStatus::None;
    state_ = State::CommonHeader;
    have_ = 0;
    return {0, event};
}

}  // namespace nvmeddp::nvmetcp
