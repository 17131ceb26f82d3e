// Fuzz target: the transmit digest (pmd/engine/tx_digest_stream.hpp) on a host-to-controller stream
// that goes out as segments the input describes.
//
// The stream is a host's PDUs (CapsuleCmd with or without in-capsule data, H2CData of 1..N bytes,
// H2CTermReq; header digest on or off, CPDA 0..31, data digest on or now and then off; DDGST fields
// zero or holding garbage as the host hands them to TCP), the same with bytes flipped (headers the
// controller refuses, lying lengths, other data), or raw bytes from the input. It starts at a chosen
// sequence number (often just before the wrap), the device keeps 1..64 digests, and the stream goes
// out as segments of chosen sizes, each cut into chunks (some empty, each a buffer of its own): new
// bytes in order, ranges sent before (the host's bytes again) ending before or running into new bytes,
// ranges around a DDGST field, empty segments and, where the input allows, a gap.
//
// A model walks the whole stream at once, PDU by PDU with check_stream_header() as the controller,
// and knows every DDGST field with its CRC32C and where a refused header loses the stream.
// Invariants, on every segment:
//   - every byte out is the model's: the DDGST bytes of new PDUs get their digest; a DDGST byte sent
//     again gets it again while its digest is one of the last `capacity` kept (kept once the PDU's
//     data has passed), and is left as the host sent it once evicted; every other byte is left as it
//     was; once the stream is lost (new bytes not starting at next_new(), or a header the controller
//     refuses: after its 8 bytes) no new byte is written, and bytes sent again still get the digests kept;
//   - bytes_written counts the bytes the model writes; old_sum and new_sum are the sums of those bytes
//     before and after (mod 0xFFFF), and patch_internet_checksum() turns the segment's checksum
//     before into its checksum after;
//   - next_new(), lost(), lost_at() and every counter are the model's (below_ring: a segment with old
//     bytes that starts before the end of the newest evicted DDGST field);
//   - a host stream without flips or gaps comes out, each byte as it first leaves, as the encoder's
//     stream with every digest right, and the model's DDGST fields are the encoder's.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_input.hpp"
#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/header_check.hpp"
#include "nvmetcp/pdu_encoder.hpp"
#include "nvmetcp/wire_int.hpp"
#include "pmd/engine/tx_digest_stream.hpp"
#include "pmd/packet/l4_checksum.hpp"
#include "testlib/host_send_stream.hpp"

using namespace nvmeddp;

namespace {

constexpr uint32_t kMaxPdus = 40;
constexpr uint32_t kMaxOps = 200;
constexpr uint32_t kMaxRawStream = 4096;

struct HostStream {
    std::vector<uint8_t> wire;  // what the controller must receive: every digest right
    std::vector<uint8_t> sent;  // what the host hands to TCP: DDGST fields zero or garbage
    std::vector<uint32_t> digest_at;
    uint32_t pdus = 0;
};

// Data bytes: cheap, and different for every input.
struct Bytes {
    uint32_t state;
    uint8_t next() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        return static_cast<uint8_t>(state);
    }
};

uint32_t data_len(fuzz::FuzzInput& in) {
    const uint8_t size = in.take<uint8_t>();
    return size < 192 ? in.range(1, 64) : in.range(65, 4096);
}

HostStream make_host_stream(fuzz::FuzzInput& in, const nvmetcp::SendParams& params) {
    HostStream s;
    Bytes bytes{in.take<uint32_t>() | 1};  // xorshift stays at zero from zero
    const bool garbage_digests = in.take<uint8_t>() < 64;
    const uint32_t pdus = in.range(1, kMaxPdus);
    std::vector<uint8_t> data, buf;
    for (uint32_t i = 0; i < pdus; ++i) {
        const uint8_t kind = in.take<uint8_t>() % 8;
        const auto cid = static_cast<uint16_t>(i);
        data.resize(kind < 2 ? 0 : kind == 7 ? in.range(0, nvmetcp::kTermReqMaxErrorData) : data_len(in));
        for (auto& b : data) b = bytes.next();
        buf.assign(data.size() + 256, 0);
        size_t len = 0;
        if (kind == 7) {
            len = nvmetcp::encode_pdu(buf, nvmetcp::make_term_req(nvmetcp::PduType::H2CTermReq,
                                                                  nvmetcp::Fes::InvalidHeaderField, 0),
                                      data, params);
        } else if (kind >= 4) {
            len = nvmetcp::encode_pdu(buf, nvmetcp::make_h2c_data(cid, 7, 0, static_cast<uint32_t>(data.size()), 0),
                                      data, params);
        } else {
            nvmetcp::NvmeSqe sqe{};
            sqe.cid.set(cid);
            len = nvmetcp::encode_pdu(buf, nvmetcp::make_capsule_cmd(sqe), data, params);
        }
        if (len == 0) fuzz::invariant_broken("the encoder refused a PDU of the generator");
        const size_t at = s.wire.size();
        s.wire.insert(s.wire.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(len));
        s.sent.insert(s.sent.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(len));
        ++s.pdus;
        if (params.data_digest && kind >= 2 && kind < 7) {
            const size_t d = at + len - 4;
            for (size_t k = d; k < d + 4; ++k) s.sent[k] = garbage_digests ? bytes.next() : 0;
            s.digest_at.push_back(static_cast<uint32_t>(d));
        }
    }
    return s;
}

// The whole stream walked at once, as the controller would take it PDU by PDU.
struct StreamModel {
    struct Digest {
        int64_t at;  // the DDGST field's first byte; its PDU's data ends there
        uint8_t bytes[4];
    };
    std::vector<Digest> digests;      // of every PDU whose header passed and whose data is in the stream
    std::vector<int64_t> headers;     // first byte of every PDU whose common header passed
    int64_t refused_end = -1;         // just after the first common header refused: the stream is lost there

    StreamModel(const std::vector<uint8_t>& s, const nvmetcp::ReceiveParams& params) {
        const auto len = static_cast<int64_t>(s.size());
        for (int64_t h = 0; h + 8 <= len;) {
            nvmetcp::CommonHeader ch;
            std::memcpy(&ch, &s[static_cast<size_t>(h)], sizeof(ch));
            nvmetcp::PduLayout layout;
            if (nvmetcp::check_stream_header(ch, params, layout)) {
                refused_end = h + 8;
                break;
            }
            headers.push_back(h);
            if (layout.has_data_digest) {
                const int64_t data = h + layout.data_offset;
                const int64_t at = data + layout.data_len;
                if (at <= len) {
                    Digest d{at, {}};
                    nvmetcp::store_le32(d.bytes, nvmetcp::crc32c(&s[static_cast<size_t>(data)], layout.data_len));
                    digests.push_back(d);
                }
            }
            h += ch.plen.get();
        }
    }
    // Digests kept once the stream has passed up to `next`: a PDU's digest is kept when its data ends.
    size_t kept(int64_t next) const {
        return static_cast<size_t>(std::count_if(digests.begin(), digests.end(), [&](const Digest& d) { return d.at <= next; }));
    }
};

// What the device must have done so far.
struct Expected {
    int64_t next = 0;
    bool lost = false;
    int64_t lost_at = 0;
    uint64_t digests_rewritten = 0;
    uint64_t below_ring = 0;
};

uint32_t word_sum(const std::vector<uint8_t>& b) {
    uint64_t s = 0;
    for (size_t i = 0; i < b.size(); ++i) s += (i % 2 == 0) ? uint32_t{b[i]} << 8 : b[i];
    while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
    return static_cast<uint32_t>(s);
}

uint16_t canonical(uint16_t checksum) { return checksum == 0xFFFF ? 0 : checksum; }

class Harness {
public:
    Harness(const std::vector<uint8_t>& sent, const nvmetcp::ReceiveParams& params, uint32_t iss, uint32_t capacity)
        : sent_(sent), model_(sent, params), iss_(iss), capacity_(capacity), tx_(pmd::TcpSeq(iss), params, capacity),
          first_out_(sent.size()) {}

    const StreamModel& model() const { return model_; }
    const std::vector<uint8_t>& first_out() const { return first_out_; }
    const pmd::TxDigestStream& tx() const { return tx_; }
    int64_t sender_next() const { return sender_next_; }
    int64_t size() const { return static_cast<int64_t>(sent_.size()); }

    // Sends sent[off, off + len) as one segment cut into chunks of the sizes given (the last one takes
    // what is left), and checks everything the device did against the model.
    void send(int64_t off, uint32_t len, const std::vector<uint32_t>& cuts) {
        const auto from = sent_.begin() + off;
        const std::vector<uint8_t> before(from, from + len);
        std::vector<uint8_t> expect = before;
        uint64_t written = 0, old_sum = 0, new_sum = 0;
        auto write = [&](int64_t p, uint8_t value) {
            const auto i = static_cast<size_t>(p - off);
            const uint32_t shift = i % 2 == 0 ? 8 : 0;
            old_sum += uint64_t{expect[i]} << shift;
            new_sum += uint64_t{value} << shift;
            expect[i] = value;
            ++written;
        };
        model_segment(off, len, write);

        std::vector<std::unique_ptr<uint8_t[]>> buffers;
        std::vector<pmd::TxPayloadChunk> chunks;
        uint32_t at = 0;
        for (size_t k = 0; k <= cuts.size(); ++k) {
            const uint32_t n = k < cuts.size() ? std::min(cuts[k], len - at) : len - at;
            buffers.push_back(std::make_unique<uint8_t[]>(n));  // its own allocation: ASan sees a read or write past it
            if (n > 0) std::memcpy(buffers.back().get(), before.data() + at, n);  // data() of an empty vector may be null
            chunks.push_back({buffers.back().get(), n});
            at += n;
        }
        const pmd::TxSegmentEdit edit = tx_.on_segment(pmd::TcpSeq(iss_ + static_cast<uint32_t>(off)), chunks);
        std::vector<uint8_t> out;
        for (const pmd::TxPayloadChunk& c : chunks) out.insert(out.end(), c.data, c.data + c.len);

        const std::string where = "segment at " + std::to_string(off) + " len " + std::to_string(len);
        if (out != expect) {
            const auto i = std::mismatch(out.begin(), out.end(), expect.begin()).first - out.begin();
            const std::string detail = where + ", byte " + std::to_string(off + i) + ": out " + std::to_string(out[i]) +
                                       " expected " + std::to_string(expect[i]) + " (host's " + std::to_string(before[i]) + ")";
            fuzz::invariant_broken("a byte out is not the model's:", detail.c_str());
        }
        if (edit.bytes_written != written) fuzz::invariant_broken("bytes_written is not the bytes written:", where.c_str());
        if (edit.old_sum % 0xFFFF != old_sum % 0xFFFF || edit.new_sum % 0xFFFF != new_sum % 0xFFFF) {
            fuzz::invariant_broken("old_sum/new_sum are not the sums of the bytes written:", where.c_str());
        }
        const auto checksum_before = static_cast<uint16_t>(~word_sum(before));
        const auto checksum_after = static_cast<uint16_t>(~word_sum(out));
        if (canonical(pmd::patch_internet_checksum(checksum_before, edit.old_sum, edit.new_sum)) != canonical(checksum_after)) {
            fuzz::invariant_broken("the patched checksum is not the segment's:", where.c_str());
        }
        for (int64_t p = std::max(off, sender_next_); p < off + len; ++p) {
            first_out_[static_cast<size_t>(p)] = out[static_cast<size_t>(p - off)];
        }
        if (len > 0) sender_next_ = std::max(sender_next_, off + len);  // an empty segment sends nothing
        check_state(where);
    }

private:
    // What the device must write into the segment [off, off + len), and the state after it.
    template <typename Write>
    void model_segment(int64_t off, uint32_t len, Write&& write) {
        if (len == 0) return;
        const int64_t end = off + len;
        const auto& digests = model_.digests;
        if (off < e_.next) {  // bytes sent before: DDGST bytes of the last `capacity` digests kept
            const int64_t old_end = std::min(end, e_.next);
            const size_t kept = model_.kept(e_.next);
            const size_t first = kept > capacity_ ? kept - capacity_ : 0;
            const int64_t floor = first > 0 ? digests[first - 1].at + 4 : 0;
            if (off < floor) ++e_.below_ring;
            for (size_t i = first; i < kept; ++i) {
                const StreamModel::Digest& d = digests[i];
                if (d.at >= old_end || d.at + 4 <= off) continue;
                ++e_.digests_rewritten;
                for (int64_t b = 0; b < 4; ++b) {
                    if (d.at + b >= off && d.at + b < old_end) write(d.at + b, d.bytes[b]);
                }
            }
        }
        if (e_.lost || end <= e_.next) return;
        if (off > e_.next) {
            e_.lost = true;
            e_.lost_at = e_.next;
            return;
        }
        // New bytes, up to the end of a refused header.
        const bool refused = model_.refused_end >= 0 && model_.refused_end <= end;
        const int64_t stop = refused ? model_.refused_end : end;
        for (const StreamModel::Digest& d : digests) {
            for (int64_t b = 0; b < 4; ++b) {
                if (d.at + b >= e_.next && d.at + b < stop) write(d.at + b, d.bytes[b]);
            }
        }
        e_.next = stop;
        if (refused) {
            e_.lost = true;
            e_.lost_at = stop;
        }
    }

    void check_state(const std::string& where) const {
        const char* w = where.c_str();
        const pmd::TxDigestCounters& c = tx_.counters();
        auto seq = [this](int64_t offset) { return iss_ + static_cast<uint32_t>(offset); };
        if (tx_.next_new().raw() != seq(e_.next)) fuzz::invariant_broken("next_new() wrong after", w);
        if (tx_.lost() != e_.lost || c.lost != (e_.lost ? 1u : 0u)) fuzz::invariant_broken("lost() wrong after", w);
        if (e_.lost && tx_.lost_at().raw() != seq(e_.lost_at)) fuzz::invariant_broken("lost_at() wrong after", w);
        if (e_.lost && *tx_.lost_reason() == '\0') fuzz::invariant_broken("lost without a reason after", w);
        // A digest is written once its whole field has passed; a PDU counts once its common header has.
        const auto& digests = model_.digests;
        const auto& headers = model_.headers;
        const auto written = std::count_if(digests.begin(), digests.end(),
                                           [&](const StreamModel::Digest& d) { return d.at + 4 <= e_.next; });
        const auto pdus = std::count_if(headers.begin(), headers.end(), [&](int64_t h) { return h + 8 <= e_.next; });
        if (c.digests_written != static_cast<uint64_t>(written)) fuzz::invariant_broken("digests_written wrong after", w);
        if (c.pdus != static_cast<uint64_t>(pdus)) fuzz::invariant_broken("pdus wrong after", w);
        if (c.digests_rewritten != e_.digests_rewritten) fuzz::invariant_broken("digests_rewritten wrong after", w);
        if (c.below_ring != e_.below_ring) fuzz::invariant_broken("below_ring wrong after", w);
    }

    const std::vector<uint8_t>& sent_;
    const StreamModel model_;
    const uint32_t iss_;
    const uint32_t capacity_;
    pmd::TxDigestStream tx_;
    Expected e_;
    int64_t sender_next_ = 0;          // the sender's highest byte sent, plus one (gaps included)
    std::vector<uint8_t> first_out_;   // each byte as it first left
};

uint32_t segment_len(fuzz::FuzzInput& in) {
    const uint8_t size = in.take<uint8_t>();
    return size < 64 ? in.range(1, 16) : size < 240 ? in.range(17, 1500) : in.range(1501, 65535);
}

// Chunk sizes for a segment: one chunk, or many small and empty ones, or mbuf-like pieces.
std::vector<uint32_t> chunk_cuts(fuzz::FuzzInput& in) {
    std::vector<uint32_t> cuts;
    const uint8_t shape = in.take<uint8_t>();
    const uint32_t n = shape % 4 == 0 ? 0 : in.range(1, 16);
    for (uint32_t k = 0; k < n; ++k) {
        const uint8_t size = in.take<uint8_t>();
        cuts.push_back(size < 8 ? 0 : size < 200 ? size - 7 : (size - 199) * 128u);
    }
    return cuts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput in(data, size);
    const uint8_t mode = in.take<uint8_t>();  // < 160 a host's stream, < 224 the same with flips, else raw
    nvmetcp::SendParams send_params;
    send_params.header_digest = in.flag();
    send_params.data_digest = in.take<uint8_t>() >= 16;
    send_params.pda = in.range(0, nvmetcp::kMaxCpda);
    const nvmetcp::ReceiveParams params = testlib::controller_params(send_params);

    HostStream host;
    if (mode < 224) {
        host = make_host_stream(in, send_params);
    } else {
        const uint32_t n = in.range(0, kMaxRawStream);
        for (uint32_t k = 0; k < n && in.left() > 0; ++k) host.sent.push_back(in.take<uint8_t>());
    }
    bool clean = mode < 160;
    if (mode >= 160 && mode < 224 && !host.sent.empty()) {
        for (uint32_t flips = in.range(1, 4); flips > 0; --flips) {
            host.sent[in.range(0, static_cast<uint32_t>(host.sent.size()) - 1)] ^= static_cast<uint8_t>(in.range(1, 255));
        }
    }
    const auto stream_len = static_cast<uint32_t>(host.sent.size());
    const uint32_t iss = in.flag() ? 0u - in.range(0, stream_len) : in.take<uint32_t>();
    const uint32_t capacity = in.range(1, 64);
    const bool gaps = in.take<uint8_t>() < 48;

    Harness h(host.sent, params, iss, capacity);
    if (clean) {
        // The model's DDGST fields are the encoder's: what the model says below is the truth.
        const auto& digests = h.model().digests;
        if (digests.size() != host.digest_at.size() || h.model().refused_end >= 0 || h.model().headers.size() != host.pdus) {
            fuzz::invariant_broken("the model does not see the encoder's PDUs");
        }
        for (size_t i = 0; i < digests.size(); ++i) {
            if (digests[i].at != host.digest_at[i] ||
                std::memcmp(digests[i].bytes, &host.wire[host.digest_at[i]], 4) != 0) {
                fuzz::invariant_broken("the model's digest is not the encoder's");
            }
        }
    }

    for (uint32_t op = 0; op < kMaxOps && in.left() > 0; ++op) {
        const uint8_t kind = in.take<uint8_t>();
        const int64_t next = h.sender_next();
        int64_t off = next;
        uint32_t len = 0;
        if (kind < 112 || next == 0) {  // new bytes
            len = segment_len(in);
        } else if (kind < 176) {  // bytes sent before, maybe running into new ones
            off = next - in.range(1, static_cast<uint32_t>(std::min<int64_t>(next, 70000)));
            len = segment_len(in);
        } else if (kind < 240) {  // around a DDGST field sent before
            const auto& digests = h.model().digests;
            const auto sent_digests = static_cast<uint32_t>(
                std::count_if(digests.begin(), digests.end(), [&](const auto& d) { return d.at < next; }));
            if (sent_digests == 0) continue;
            const int64_t at = digests[in.range(0, sent_digests - 1)].at;
            off = std::max<int64_t>(0, at - in.range(0, 40));
            len = in.range(1, 48);
        } else if (kind < 248) {  // an empty segment (a pure ACK) anywhere sent
            off = in.range(0, static_cast<uint32_t>(next));
        } else if (gaps) {  // bytes that never reach the device, then new ones
            off = next + in.range(1, 64);
            len = segment_len(in);
        } else {
            continue;
        }
        if (off > h.size()) continue;
        len = static_cast<uint32_t>(std::min<int64_t>(len, h.size() - off));
        if (off > next && len > 0) clean = false;
        h.send(off, len, chunk_cuts(in));
    }
    // The rest of the stream, as a sender would go on.
    while (h.sender_next() < h.size()) {
        h.send(h.sender_next(), static_cast<uint32_t>(std::min<int64_t>(1460, h.size() - h.sender_next())), {});
    }
    if (clean) {
        if (h.first_out() != host.wire) fuzz::invariant_broken("the stream did not leave with every digest right");
        if (h.tx().lost() || h.tx().counters().digests_written != host.digest_at.size() ||
            h.tx().counters().pdus != host.pdus) {
            fuzz::invariant_broken("a clean stream's counters are wrong");
        }
    }
    return 0;
}
