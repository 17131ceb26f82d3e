#include "testlib/read_stream_gen.hpp"

#include <algorithm>
#include <random>
#include <span>

#include "nvmetcp/pdu_encoder.hpp"
#include "testlib/frame_gen.hpp"
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

// std::mt19937_64 as the standard defines it ([rand.eng.mers], [rand.predef]): the same numbers from
// the same seed, so that every stream (and the fuzzers' regression inputs) stays what it was. Its
// own so that a read's data, the low byte of one draw per byte as random_bytes() (pdu_stream_gen.hpp)
// makes it, comes in bulk, without a call and coverage hooks per byte: that was the dearest part
// of a fuzzer's input.
class Mt64 {
public:
    using result_type = uint64_t;
    static constexpr uint64_t min() noexcept { return 0; }
    static constexpr uint64_t max() noexcept { return UINT64_MAX; }

    explicit Mt64(uint64_t seed) noexcept { init(seed); }
    uint64_t operator()() noexcept {
        if (at_ == kN) twist();
        return temper(x_[at_++]);
    }
    // The low bytes of the next out.size() draws.
    NVMEDDP_TESTLIB_NO_COVERAGE void fill_low_bytes(std::span<uint8_t> out) noexcept {
        size_t done = 0;
        while (done < out.size()) {
            if (at_ == kN) twist();
            const size_t n = std::min(out.size() - done, kN - at_);
            for (size_t k = 0; k < n; ++k) out[done + k] = static_cast<uint8_t>(temper(x_[at_ + k]));
            at_ += n;
            done += n;
        }
    }

private:
    static constexpr size_t kN = 312;
    static constexpr size_t kM = 156;
    static constexpr uint64_t kUpper = ~uint64_t{0} << 31;
    static constexpr uint64_t kLower = ~kUpper;

    static uint64_t temper(uint64_t z) noexcept {
        z ^= (z >> 29) & 0x5555555555555555u;
        z ^= (z << 17) & 0x71D67FFFEDA60000u;
        z ^= (z << 37) & 0xFFF7EEE000000000u;
        return z ^ (z >> 43);
    }
    static uint64_t step(uint64_t a, uint64_t b, uint64_t far) noexcept {
        const uint64_t y = (a & kUpper) | (b & kLower);
        return far ^ (y >> 1) ^ ((y & 1) != 0 ? 0xB5026F5AA96619E9u : 0);
    }
    NVMEDDP_TESTLIB_NO_COVERAGE void init(uint64_t seed) noexcept {
        x_[0] = seed;
        for (size_t i = 1; i < kN; ++i) x_[i] = 6364136223846793005u * (x_[i - 1] ^ (x_[i - 1] >> 62)) + i;
        at_ = kN;
    }
    NVMEDDP_TESTLIB_NO_COVERAGE void twist() noexcept {
        for (size_t k = 0; k < kN; ++k) x_[k] = step(x_[k], x_[(k + 1) % kN], x_[(k + kM) % kN]);
        at_ = 0;
    }

    uint64_t x_[kN];
    size_t at_;
};

}  // namespace

ReadStream generate_read_stream(const ReadStreamOptions& o) {
    Mt64 rng(o.seed);
    ReadStream out;
    const SendParams params{o.header_digest, o.data_digest, o.pda};
    uint16_t other = 0;
    auto maybe_other = [&] {
        if (o.other_pdu_rate <= 0 || unit_draw(rng) >= o.other_pdu_rate) return;
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
        read.cid = o.cids.empty() ? static_cast<uint16_t>(o.first_cid + i) : o.cids[i % o.cids.size()];
        const uint32_t span = o.max_len > o.min_len ? o.max_len - o.min_len : 0;
        const uint32_t len = o.min_len + (span ? static_cast<uint32_t>(rng() % (span + 1)) : 0);
        read.data.resize(len);
        rng.fill_low_bytes(read.data);
        const uint32_t piece = o.max_pdu_data == 0 ? len : o.max_pdu_data;
        read.first_pdu = UINT64_MAX;
        for (uint32_t datao = 0; datao < len; datao += piece) {
            maybe_other();
            if (read.first_pdu == UINT64_MAX) read.first_pdu = out.bytes.size();
            const uint32_t datal = std::min(piece, len - datao);
            const bool last = datao + datal == len;
            uint8_t flags = last ? pdu_flags::kLastPdu : 0;
            if (last && o.success_flag) flags |= pdu_flags::kSuccess;
            const std::span<const uint8_t> data(read.data.data() + datao, datal);
            const uint64_t at = append_pdu(out.bytes, make_c2h_data(read.cid, datao, datal, flags), data, params);
            out.pdus.push_back(record_of(out.bytes, at, read.cid, true));
        }
        if (read.first_pdu == UINT64_MAX) read.first_pdu = out.bytes.size();  // a read of no data
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
