// Fuzz target: one NVMe/TCP host queue (nvmetcp/host/queue.hpp) with the fuzzer as the controller.
//
// The input picks the queue's settings (digests asked, HPDA, flow control, depth) and the ICResp
// (digests granted, CPDA, MAXH2CDATA, or a malformed one), then runs operations: the application
// submits reads and writes (buffers in several IoVecs, each with guard bytes around it), the
// controller sends PDUs built from the input (C2HData for any cid at any datao/datal with any flags,
// CapsuleResp, R2T, C2HTermReq; a digest right or wrong) or raw bytes, in pieces of any size, one by
// one or gathered into runs as the TCP transport hands them (rx_span_batch.hpp); the
// send space shrinks and grows; time passes; the connection may close.
// Invariants:
//   - no crash, no read or write outside the bytes given (ASan), no hang (libFuzzer's timeout);
//   - the queue writes into the application's buffers only inside the IoVecs of a command it has
//     outstanding (guard bytes intact, buffers of completed commands untouched afterwards);
//   - every submitted command completes exactly once, at the latest when the connection closes;
//   - a completion's byte count never exceeds the command's length;
//   - everything the queue sends parses as host-to-controller PDUs (a TermReq ends it).
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_input.hpp"
#include "nvmetcp/host/queue.hpp"
#include "nvmetcp/host/rx_span_batch.hpp"
#include "nvmetcp/nvme_command.hpp"
#include "nvmetcp/pdu_encoder.hpp"
#include "nvmetcp/stream_parser.hpp"

using namespace nvmeddp;
using namespace nvmeddp::nvmetcp;
using namespace nvmeddp::nvmetcp::host;

namespace {

constexpr size_t kGuard = 16;
constexpr uint8_t kGuardByte = 0xA5;
constexpr uint32_t kMaxIo = 3 * 4096;

// What the queue sends, checked as a controller would parse it.
class Wire : public QueueTransport {
public:
    Wire() : parser_(controller_params(), true) {}
    size_t send_space() const override { return space_; }
    size_t send(std::span<const uint8_t> bytes) override {
        apply_pending();
        const size_t n = std::min(bytes.size(), space_);
        space_ -= n;
        std::span<const uint8_t> in = bytes.first(n);
        while (!failed_) {  // until NeedMore: a PDU's end comes as an event after its last byte
            const ParseStep step = parser_.step(in);
            in = in.subspan(step.consumed);
            if (step.event.kind == EventKind::Error) {
                // A TermReq of ours is the one PDU after which anything goes (the parser refuses
                // everything after it); anything else must parse.
                if (step.event.error.kind != ErrorKind::TermReqReceived) {
                    char text[160];
                    fuzz::invariant_broken("the host sent a PDU a controller cannot parse: ",
                                           describe(step.event.error, text, sizeof text));
                }
                failed_ = true;
            }
            if (step.event.kind == EventKind::NeedMore) break;
            if (step.event.kind == EventKind::Header && is_term_req(parser_.header().type())) term_req_sent_ = true;
        }
        return n;
    }
    void close() override { closed_ = true; }

    // The controller's view after IC: digests and the HPDA the host asked (data it receives is
    // padded to the CPDA the controller gave).
    void negotiated(bool header_digest, bool data_digest, uint8_t cpda) {
        ReceiveParams p = controller_params();
        p.header_digest = header_digest;
        p.data_digest = data_digest;
        p.pda = cpda;
        pending_params_ = p;
        have_pending_ = true;
    }
    void apply_pending() {
        if (have_pending_ && parser_.at_pdu_boundary()) {
            parser_.set_params(pending_params_);
            have_pending_ = false;
        }
    }

    size_t space_ = 1 << 20;
    bool closed_ = false;
    bool term_req_sent_ = false;

private:
    static ReceiveParams controller_params() {
        ReceiveParams p;
        p.role = Role::Controller;
        p.limits.maxh2cdata = 1u << 20;
        return p;
    }
    StreamParser parser_;
    ReceiveParams pending_params_{};
    bool have_pending_ = false;
    bool failed_ = false;
};

struct Io {
    bool outstanding = false;
    bool write = false;
    uint32_t len = 0;
    uint32_t completions = 0;
    std::vector<uint8_t> storage;  // guard, segment, guard, segment, ...
    std::vector<IoVec> iov;
    std::vector<uint8_t> snapshot;  // the buffer when it completed: it must not change after
};

void on_done(void* ctx, const Completion& c) {
    Io& io = *static_cast<Io*>(ctx);
    if (!io.outstanding) fuzz::invariant_broken("a command completed twice (or was never submitted)");
    if (c.bytes > io.len) fuzz::invariant_broken("a completion reports more bytes than the command has");
    io.outstanding = false;
    ++io.completions;
    io.snapshot = io.storage;
}

bool guards_intact(const Io& io) {
    size_t at = 0;
    for (const IoVec& v : io.iov) {
        const size_t seg_start = static_cast<size_t>(static_cast<const uint8_t*>(v.addr) - io.storage.data());
        for (size_t i = at; i < seg_start; ++i)
            if (io.storage[i] != kGuardByte) return false;
        at = seg_start + v.len;
    }
    for (size_t i = at; i < io.storage.size(); ++i)
        if (io.storage[i] != kGuardByte) return false;
    return true;
}

// The controller's PDU from the fuzzer's choices, encoded with the parameters it thinks hold.
std::vector<uint8_t> make_pdu(fuzz::FuzzInput& in, const SendParams& params, uint16_t depth) {
    std::vector<uint8_t> out(4 * 4096 + 512);
    const uint8_t kind = in.take<uint8_t>() % 6;
    const uint16_t cid = static_cast<uint16_t>(in.range(0, depth));  // sometimes one past the last
    size_t n = 0;
    std::vector<uint8_t> data;
    switch (kind) {
        case 0:
        case 1: {  // C2HData
            const uint32_t datao = in.flag() ? 0 : in.range(0, kMaxIo);
            const uint32_t datal = in.range(1, 4096);
            data.assign(datal, static_cast<uint8_t>(in.take<uint8_t>()));
            uint8_t flags = in.take<uint8_t>() & (pdu_flags::kLastPdu | pdu_flags::kSuccess);
            n = encode_pdu(out, make_c2h_data(cid, datao, datal, flags), data, params);
            break;
        }
        case 2: {  // CapsuleResp
            NvmeCqe cqe{};
            cqe.cid.set(cid);
            cqe.status.set(in.flag() ? 0 : static_cast<uint16_t>(in.take<uint16_t>() & 0xFFFE));
            n = encode_pdu(out, make_capsule_resp(cqe), {}, params);
            break;
        }
        case 3: {  // R2T
            const uint32_t r2to = in.flag() ? 0 : in.range(0, kMaxIo);
            const uint32_t r2tl = in.range(1, kMaxIo);
            n = encode_pdu(out, make_r2t(cid, in.take<uint16_t>(), r2to, r2tl), {}, params);
            break;
        }
        case 4: {  // C2HTermReq
            n = encode_pdu(out, make_term_req(PduType::C2HTermReq, static_cast<Fes>(in.range(0, 7)), in.take<uint32_t>()),
                           {}, SendParams{});
            break;
        }
        default: {  // raw bytes
            const uint32_t len = in.range(1, 64);
            for (uint32_t i = 0; i < len; ++i) out[i] = in.take<uint8_t>();
            n = len;
            break;
        }
    }
    out.resize(n);
    // A byte of it flipped now and then: lying fields, bad digests.
    if (n > 0 && in.take<uint8_t>() < 24) out[in.range(0, static_cast<uint32_t>(n - 1))] ^= static_cast<uint8_t>(in.range(1, 255));
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput in(data, size);
    QueueConfig config;
    config.qid = 1;
    config.depth = static_cast<uint16_t>(in.range(1, 8));
    config.header_digest = in.flag();
    config.data_digest = in.flag();
    config.hpda = static_cast<uint8_t>(in.flag() ? in.range(0, 31) : 0);
    config.disable_sq_flow_control = in.flag();
    config.in_capsule_data = in.flag() ? 4096 : 0;
    config.command_timeout_ms = 1000;
    config.max_data_len = kMaxIo;
    config.subnqn = "nqn.fuzz:sub";
    config.hostnqn = "nqn.fuzz:host";
    config.cntlid = 1;

    Wire wire;
    Queue queue(config, &wire);
    std::vector<std::unique_ptr<Io>> ios;
    uint64_t now = 1;
    uint32_t seq = in.take<uint32_t>();
    queue.poll(now);
    queue.on_transport_connected();

    // The ICResp: usually well formed (granting at most what was asked), sometimes not.
    const uint8_t asked = static_cast<uint8_t>((config.header_digest ? ic_digest::kHeader : 0) |
                                               (config.data_digest ? ic_digest::kData : 0));
    const uint8_t granted = in.flag() ? asked : static_cast<uint8_t>(asked & in.take<uint8_t>());
    const uint8_t cpda = static_cast<uint8_t>(in.flag() ? 0 : in.range(0, 31));
    const uint32_t maxh2cdata = in.flag() ? 4096 : in.range(4096, 65536);
    std::vector<uint8_t> icresp(kHlenIc);
    encode_pdu(icresp, make_icresp(cpda, granted, maxh2cdata), {}, SendParams{});
    if (in.take<uint8_t>() < 16) icresp[in.range(0, kHlenIc - 1)] ^= static_cast<uint8_t>(in.range(1, 255));
    // What the host will take from it, should it accept it (a flip may have changed either field).
    const uint8_t sent_cpda = icresp[offsetof(ICRespPdu, cpda)];
    const uint8_t sent_dgst = icresp[offsetof(ICRespPdu, dgst)];
    wire.negotiated(sent_dgst & ic_digest::kHeader, sent_dgst & ic_digest::kData, sent_cpda);
    queue.receive(icresp, RxPiece{seq, nullptr});
    seq += kHlenIc;
    SendParams params{(sent_dgst & ic_digest::kHeader) != 0, (sent_dgst & ic_digest::kData) != 0, config.hpda};
    // The Connect's response: its cid is the first the queue hands out.
    {
        NvmeCqe cqe{};
        cqe.cid.set(0);
        cqe.dw0.set(1);
        std::vector<uint8_t> resp(128);
        resp.resize(encode_pdu(resp, make_capsule_resp(cqe), {}, params));
        queue.receive(resp, RxPiece{seq, nullptr});
        seq += static_cast<uint32_t>(resp.size());
    }

    for (int step = 0; step < 256 && in.left() > 0; ++step) {
        switch (in.take<uint8_t>() % 8) {
            case 0:
            case 1: {  // the application submits
                auto io = std::make_unique<Io>();
                io->write = in.flag();
                const uint32_t blocks = in.range(1, kMaxIo / 512);
                io->len = blocks * 512;
                const uint32_t segments = in.range(1, 3);
                io->storage.assign(io->len + (segments + 1) * kGuard, kGuardByte);
                uint32_t left = io->len;
                size_t at = kGuard;
                for (uint32_t s = 0; s < segments && left > 0; ++s) {
                    const uint32_t len = s + 1 == segments ? left : std::min(left, in.range(1, left));
                    io->iov.push_back(IoVec{io->storage.data() + at, len});
                    if (io->write) std::memset(io->storage.data() + at, 0x3C, len);
                    at += len + kGuard;
                    left -= len;
                }
                IoRequest r;
                r.sqe = io->write ? nvme::make_write(0, 1, in.range(0, 100), blocks, io->len, false)
                                  : nvme::make_read(0, 1, in.range(0, 100), blocks, io->len);
                r.data = io->iov;
                r.data_len = io->len;
                r.to_controller = io->write;
                r.done = &on_done;
                r.ctx = io.get();
                io->outstanding = true;
                if (queue.submit(r) != SubmitResult::Ok) io->outstanding = false;
                ios.push_back(std::move(io));
                break;
            }
            case 2:
            case 3:
            case 4: {  // the controller sends a PDU, in pieces
                const std::vector<uint8_t> pdu = make_pdu(in, params, config.depth);
                // One by one, or gathered as a transport does (runs of C2HData data at once).
                const bool in_runs = in.flag();
                RxSpanBatch batch(queue);
                size_t at = 0;
                while (at < pdu.size()) {
                    const size_t n = std::min<size_t>(pdu.size() - at, in.flag() ? pdu.size() : in.range(1, 97));
                    const std::span<const uint8_t> piece(pdu.data() + at, n);
                    if (in_runs) batch.add(RxSpan{piece, RxPiece{seq, nullptr}});
                    else queue.receive(piece, RxPiece{seq, nullptr});
                    seq += static_cast<uint32_t>(n);
                    at += n;
                }
                batch.flush();
                break;
            }
            case 5:  // send space comes and goes
                wire.space_ = in.flag() ? 0 : in.range(1, 1 << 16);
                queue.on_transport_writable();
                break;
            case 6:  // time passes
                now += in.range(0, 1500);
                queue.poll(now);
                break;
            default:
                if (in.take<uint8_t>() < 8) queue.on_transport_closed("fuzzer closed the connection");
                break;
        }
        for (const auto& io : ios) {
            if (!guards_intact(*io)) fuzz::invariant_broken("bytes written outside a command's IoVecs");
            if (!io->outstanding && io->completions == 1 && io->storage != io->snapshot)
                fuzz::invariant_broken("a completed command's buffer changed");
        }
    }
    // The end of the connection completes everything still outstanding, once.
    queue.on_transport_closed("end of input");
    for (const auto& io : ios) {
        if (io->outstanding) fuzz::invariant_broken("a command never completed, not even when the connection closed");
        if (io->completions > 1) fuzz::invariant_broken("a command completed more than once");
    }
    return 0;
}
