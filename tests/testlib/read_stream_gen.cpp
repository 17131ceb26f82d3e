#include "testlib/read_stream_gen.hpp"

#include <algorithm>
#include <random>

#include "nvmetcp/pdu_encoder.hpp"
#include "testlib/pdu_stream_gen.hpp"

namespace nvmeddp::testlib {

using namespace nvmetcp;

namespace {

PduRecord record_of(const std::vector<uint8_t>& stream, uint64_t at, uint16_t cid, bool read) {
    PduRecord r;
    r.type = static_cast<PduType>(stream[at]);
    r.offset = at;
    r.plen = static_cast<uint32_t>(stream.size() - at);
    r.pdo = stream[at + 3];
    r.cid = cid;
    r.read = read;
    if (r.type == PduType::C2HData) {
        C2HDataPdu h;
        std::copy_n(stream.begin() + static_cast<ptrdiff_t>(at), sizeof h, reinterpret_cast<uint8_t*>(&h));
        r.datao = h.datao.get();
        r.datal = h.datal.get();
    }
    return r;
}

}  // namespace

ReadStream generate_read_stream(const ReadStreamOptions& o) {
    std::mt19937_64 rng(o.seed);
    ReadStream out;
    const SendParams params{o.header_digest, o.data_digest, o.pda};
    uint16_t other = 0;
    auto maybe_other = [&] {
        if (o.other_pdu_rate <= 0 || std::uniform_real_distribution<double>(0, 1)(rng) >= o.other_pdu_rate) return;
        const auto cid = static_cast<uint16_t>(kOtherCidBase + (other++ % 0x0FFF));
        uint64_t at;
        if (rng() % 2) {
            NvmeCqe cqe{};
            cqe.cid.set(cid);
            at = append_pdu(out.bytes, make_capsule_resp(cqe), {}, params);
        } else {
            at = append_pdu(out.bytes, make_r2t(cid, static_cast<uint16_t>(rng()), 0, 4096), {}, params);
        }
        out.pdus.push_back(record_of(out.bytes, at, cid, false));
    };

    for (uint32_t i = 0; i < o.commands; ++i) {
        GeneratedRead read;
        read.cid = static_cast<uint16_t>(o.first_cid + i);
        const uint32_t span = o.max_len > o.min_len ? o.max_len - o.min_len : 0;
        const uint32_t len = o.min_len + (span ? static_cast<uint32_t>(rng() % (span + 1)) : 0);
        read.data = random_bytes(rng, len);
        const uint32_t piece = o.max_pdu_data == 0 ? len : o.max_pdu_data;
        for (uint32_t datao = 0; datao < len; datao += piece) {
            maybe_other();
            const uint32_t datal = std::min(piece, len - datao);
            const bool last = datao + datal == len;
            uint8_t flags = last ? pdu_flags::kLastPdu : 0;
            if (last && o.success_flag) flags |= pdu_flags::kSuccess;
            const std::span<const uint8_t> data(read.data.data() + datao, datal);
            const uint64_t at = append_pdu(out.bytes, make_c2h_data(read.cid, datao, datal, flags), data, params);
            out.pdus.push_back(record_of(out.bytes, at, read.cid, true));
        }
        if (!o.success_flag) {
            NvmeCqe cqe{};
            cqe.cid.set(read.cid);
            const uint64_t at = append_pdu(out.bytes, make_capsule_resp(cqe), {}, params);
            out.pdus.push_back(record_of(out.bytes, at, read.cid, true));
        }
        out.reads.push_back(std::move(read));
    }
    maybe_other();
    return out;
}

}  // namespace nvmeddp::testlib
