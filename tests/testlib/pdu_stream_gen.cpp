#include "testlib/pdu_stream_gen.hpp"

#include <algorithm>

namespace nvmeddp::testlib {

using namespace nvmetcp;

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n) {
    std::vector<uint8_t> out(n);
    for (auto& b : out) b = static_cast<uint8_t>(rng());
    return out;
}

uint64_t append_pdu(std::vector<uint8_t>& stream, std::span<const uint8_t> header, std::span<const uint8_t> data,
                    const SendParams& params) {
    const auto plan = plan_pdu(static_cast<PduType>(header[0]), static_cast<uint32_t>(data.size()), params);
    const uint64_t at = stream.size();
    stream.resize(at + plan.plen);
    const size_t written = encode_pdu(std::span<uint8_t>(stream).subspan(at), header, data, params);
    stream.resize(at + written);
    return at;
}

namespace {

ExpectedPdu push(std::vector<uint8_t>& stream, std::span<const uint8_t> header, std::vector<uint8_t> data,
                 const SendParams& params) {
    const uint64_t at = append_pdu(stream, header, data, params);
    const bool ddgst = (stream[at + 1] & pdu_flags::kDdgst) != 0;
    return ExpectedPdu{static_cast<PduType>(header[0]), at, static_cast<uint32_t>(stream.size() - at), std::move(data),
                       ddgst};
}

}  // namespace

GeneratedStream generate_stream(const StreamOptions& o) {
    std::mt19937_64 rng(o.seed);
    GeneratedStream out;
    const SendParams params{o.header_digest, o.data_digest, o.pda};
    const uint8_t digests = static_cast<uint8_t>((o.header_digest ? ic_digest::kHeader : 0) |
                                                 (o.data_digest ? ic_digest::kData : 0));
    auto data_len = [&] { return 1 + static_cast<uint32_t>(rng() % o.max_data_len); };
    const bool host = o.receiver == Role::Host;

    if (o.start_with_ic) {
        if (host) {
            out.pdus.push_back(push(out.bytes, header_bytes(make_icresp(static_cast<uint8_t>(o.pda), digests, 128 * 1024)), {}, params));
        } else {
            out.pdus.push_back(push(out.bytes, header_bytes(make_icreq(static_cast<uint8_t>(o.pda), digests, 0)), {}, params));
        }
    }
    for (size_t i = 0; i < o.pdu_count; ++i) {
        const auto cid = static_cast<uint16_t>(rng());
        const unsigned pick = static_cast<unsigned>(rng() % 4);
        if (host) {
            if (pick < 2) {
                const uint32_t len = data_len();
                uint8_t flags = 0;
                if (rng() % 2) flags |= pdu_flags::kLastPdu;
                if ((flags & pdu_flags::kLastPdu) && rng() % 2) flags |= pdu_flags::kSuccess;
                const auto hdr = make_c2h_data(cid, static_cast<uint32_t>(rng() % (1u << 20)), len, flags);
                out.pdus.push_back(push(out.bytes, header_bytes(hdr), random_bytes(rng, len), params));
            } else if (pick == 2) {
                NvmeCqe cqe{};
                cqe.cid.set(cid);
                out.pdus.push_back(push(out.bytes, header_bytes(make_capsule_resp(cqe)), {}, params));
            } else {
                const auto hdr = make_r2t(cid, static_cast<uint16_t>(rng()), 0, data_len());
                out.pdus.push_back(push(out.bytes, header_bytes(hdr), {}, params));
            }
        } else {
            if (pick < 2) {
                const uint32_t len = std::min<uint32_t>(data_len(), 128 * 1024);
                const auto hdr = make_h2c_data(cid, static_cast<uint16_t>(rng()), 0, len, pdu_flags::kLastPdu);
                out.pdus.push_back(push(out.bytes, header_bytes(hdr), random_bytes(rng, len), params));
            } else {
                NvmeSqe sqe{};
                sqe.opcode = 0x01;
                sqe.cid.set(cid);
                const uint32_t in_capsule = pick == 2 ? std::min<uint32_t>(data_len(), 4096) : 0;
                out.pdus.push_back(push(out.bytes, header_bytes(make_capsule_cmd(sqe)), random_bytes(rng, in_capsule), params));
            }
        }
    }
    return out;
}

ParseOutcome parse_with_cuts(StreamParser& parser, std::span<const uint8_t> stream, const std::vector<size_t>& cuts) {
    ParseOutcome out;
    ParsedPdu current{};
    uint64_t next_data_offset = 0;
    size_t start = 0;
    auto feed = [&](std::span<const uint8_t> in) {
        for (;;) {
            const auto [consumed, ev] = parser.step(in);
            in = in.subspan(consumed);
            switch (ev.kind) {
                case EventKind::NeedMore:
                    return true;
                case EventKind::Error:
                    out.failed = true;
                    out.error = ev.error;
                    return false;
                case EventKind::Header: {
                    const auto h = parser.header().bytes();
                    current = ParsedPdu{parser.header().type(), ev.stream_offset, {h.begin(), h.end()}, {}, DigestStatus::None};
                    next_data_offset = 0;
                    break;
                }
                case EventKind::Data:
                    ++out.data_events;
                    if (ev.data_offset != next_data_offset) out.data_offsets_consistent = false;
                    next_data_offset = ev.data_offset + ev.data_len;
                    current.data.insert(current.data.end(), ev.data, ev.data + ev.data_len);
                    break;
                case EventKind::PduEnd:
                    current.digest = ev.digest;
                    out.pdus.push_back(current);
                    break;
            }
        }
    };
    for (size_t cut : cuts) {
        if (cut <= start || cut > stream.size()) continue;
        if (!feed(stream.subspan(start, cut - start))) return out;
        start = cut;
    }
    feed(stream.subspan(start));
    return out;
}

ParseOutcome parse_whole(StreamParser& parser, std::span<const uint8_t> stream) {
    return parse_with_cuts(parser, stream, {});
}

std::vector<size_t> random_cuts(std::mt19937_64& rng, size_t length, size_t max_piece) {
    std::vector<size_t> cuts;
    size_t at = 0;
    while (at < length) {
        at += 1 + rng() % max_piece;
        cuts.push_back(std::min(at, length));
    }
    return cuts;
}

}  // namespace nvmeddp::testlib
