// Test helpers for the NVMe/TCP host: a transport that records what the host sends, a reader that parses
// those bytes as a controller would (StreamParser, Role::Controller), builders of the PDUs a controller
// sends, and a completion log.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "nvmetcp/host/queue.hpp"
#include "nvmetcp/pdu_encoder.hpp"
#include "nvmetcp/stream_parser.hpp"

namespace nvmeddp::nvmetcp::host::test {

// The controller id the in-memory harnesses' Connect responses give (and their tests expect).
inline constexpr uint16_t kTestCntlid = 5;

// An I/O queue's config as the in-memory harnesses use it: queue 1, the test NQNs, kTestCntlid.
inline QueueConfig io_queue_config(uint16_t depth) {
    QueueConfig c;
    c.qid = 1;
    c.depth = depth;
    c.subnqn = "nqn.2024-01.io.nvmeddp:test";
    c.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001";
    c.cntlid = kTestCntlid;
    return c;
}

// Records sent bytes; send_space can be limited to make sends short.
class MemoryTransport : public QueueTransport {
public:
    size_t space = std::numeric_limits<size_t>::max();
    std::vector<uint8_t> sent;
    bool closed = false;

    size_t send_space() const override { return closed ? 0 : space; }
    size_t send(std::span<const uint8_t> bytes) override {
        const size_t n = std::min(bytes.size(), send_space());
        sent.insert(sent.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
        if (space != std::numeric_limits<size_t>::max()) space -= n;
        return n;
    }
    void close() override { closed = true; }
};

struct CapturedPdu {
    PduType type{};
    uint8_t flags = 0;
    uint8_t pdo = 0;
    uint32_t plen = 0;
    std::vector<uint8_t> header;  // hlen bytes
    std::vector<uint8_t> data;
    DigestStatus digest = DigestStatus::None;

    template <typename T>
    T as() const {
        T t;
        std::memcpy(&t, header.data(), std::min(sizeof t, header.size()));
        return t;
    }
};

// Parses the host's byte stream as the controller. After the ICReq, set_params() applies what the
// test's ICResp granted.
class PduCapture {
public:
    PduCapture() : parser_(ReceiveParams{Role::Controller, false, false, 0, {}}, true) {}

    void set_params(bool header_digest, bool data_digest, uint32_t cpda, uint32_t maxh2cdata = 128u << 10) {
        ReceiveParams p{Role::Controller, header_digest, data_digest, cpda, {}};
        p.limits.maxh2cdata = maxh2cdata;
        parser_.set_params(p);
    }

    // Parses bytes not seen before; returns the PDUs completed by them.
    std::vector<CapturedPdu> feed(const std::vector<uint8_t>& stream) {
        std::vector<CapturedPdu> out;
        std::span<const uint8_t> in(stream.data() + seen_, stream.size() - seen_);
        seen_ = stream.size();
        for (;;) {
            const ParseStep step = parser_.step(in);
            in = in.subspan(step.consumed);
            const ParseEvent& ev = step.event;
            if (ev.kind == EventKind::NeedMore) break;
            if (ev.kind == EventKind::Error) {
                char text[160];
                ADD_FAILURE() << "the host sent a bad PDU: " << describe(ev.error, text, sizeof text);
                break;
            }
            if (ev.kind == EventKind::Header) {
                current_ = CapturedPdu{};
                const auto& h = parser_.header();
                current_.type = h.type();
                current_.flags = h.flags();
                current_.pdo = h.common().pdo;
                current_.plen = h.common().plen.get();
                current_.header.assign(h.bytes().begin(), h.bytes().end());
            } else if (ev.kind == EventKind::Data) {
                current_.data.insert(current_.data.end(), ev.data, ev.data + ev.data_len);
            } else if (ev.kind == EventKind::PduEnd) {
                current_.digest = ev.digest;
                EXPECT_NE(ev.digest, DigestStatus::Mismatch) << "data digest of a host PDU";
                out.push_back(current_);
            }
        }
        return out;
    }

private:
    StreamParser parser_;
    size_t seen_ = 0;
    CapturedPdu current_;
};

// PDUs a controller sends, encoded with the parameters the host asked for (HPDA, digests).
struct ControllerWire {
    SendParams params{};  // header/data digest and pda = the host's HPDA

    template <typename Pdu>
    std::vector<uint8_t> encode(const Pdu& pdu, std::span<const uint8_t> data = {}) const {
        std::vector<uint8_t> out(sizeof(Pdu) + data.size() + 300);
        out.resize(encode_pdu(out, pdu, data, params));
        EXPECT_FALSE(out.empty());
        return out;
    }
    std::vector<uint8_t> icresp(uint8_t cpda, uint8_t digests, uint32_t maxh2cdata) const {
        return encode(make_icresp(cpda, digests, maxh2cdata));
    }
    std::vector<uint8_t> capsule_resp(uint16_t cid, nvme::Status status = {}, uint32_t dw0 = 0, uint32_t dw1 = 0) const {
        NvmeCqe cqe{};
        cqe.cid.set(cid);
        cqe.dw0.set(dw0);
        cqe.dw1.set(dw1);
        nvme::set_status(cqe, status);
        return encode(make_capsule_resp(cqe));
    }
    std::vector<uint8_t> c2h(uint16_t cid, uint32_t datao, std::span<const uint8_t> data, uint8_t flags = 0) const {
        return encode(make_c2h_data(cid, datao, static_cast<uint32_t>(data.size()), flags), data);
    }
    std::vector<uint8_t> r2t(uint16_t cid, uint16_t ttag, uint32_t offset, uint32_t length) const {
        return encode(make_r2t(cid, ttag, offset, length));
    }
    std::vector<uint8_t> term_req(Fes fes, uint32_t fei) const {
        std::vector<uint8_t> out(kTermReqMaxPlen);
        out.resize(encode_pdu(out, make_term_req(PduType::C2HTermReq, fes, fei), {}, SendParams{}));
        return out;
    }
};

struct CompletionLog {
    struct Entry {
        Completion completion;
        std::string reason;
    };
    std::vector<Entry> entries;

    static void record(void* ctx, const Completion& c) {
        static_cast<CompletionLog*>(ctx)->entries.push_back({c, c.reason ? c.reason : ""});
    }
    const Entry* find(uint16_t cid) const {
        for (const auto& e : entries) {
            if (e.completion.cid == cid) return &e;
        }
        return nullptr;
    }
};

inline std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 131 + seed * 17 + (i >> 8)) & 0xFF);
    return v;
}

inline std::vector<uint8_t> concat(std::initializer_list<std::vector<uint8_t>> parts) {
    std::vector<uint8_t> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

}  // namespace nvmeddp::nvmetcp::host::test
