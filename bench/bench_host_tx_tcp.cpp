// The host's write path over its own TCP, and who computes the data digests of what it sends
// (issue 16's transmit digests): the host in one pass with its copy into the connection's mbufs
// (digest:1 offload:0), or the device as the frames leave (digest:1 offload:1, cap::kTxDataDigest:
// the host copies only and sends the DDGST fields zero). digest:0 is the same writes without digests.
//
// A round: the host submits writes of `write` bytes (256 KiB in all), their capsules go out; the
// controller, played here, answers with one R2T per write, acknowledges what arrives until every
// H2CData PDU is there, then completes the writes. The controller reads every frame as Linux's
// nvmet-tcp would (a controller-side StreamParser checking each data digest): a wrong digest fails
// the benchmark. Building the controller's segments and reading the host's frames is not timed.
//
// Counters:
//   host_cyc_per_B      the host's TSC ticks per byte written: submit, its TCP (R2T and response
//                       segments in, ACKs in, segments out), the copy into mbufs, the digest when it
//                       computes it
//   device_cyc_per_B    the device's, as a NIC would absorb it: the tx callback over every frame
//                       (QueueEngine::process_tx: finding the connection, CRC32C of the data, the
//                       DDGST and TCP checksum writes)
//   host_digest_pct     of the PDUs with a data digest, those the host computed
//   device_digests      data digests the device wrote (per run)
#include <benchmark/benchmark.h>

#include "host_tcp_rig.hpp"
#include "nvmetcp/stream_parser.hpp"
#include "pmd/dpdk/offload_port.hpp"
#include "testlib/host_send_stream.hpp"

namespace {

using namespace nvmeddp;
using namespace nvmeddp::bench::host_tcp;

// The controller's side: reads the host's stream from the frames as they leave (after the device,
// when it writes the digests), checks every data digest, and answers.
class Controller {
public:
    explicit Controller(bool digest)
        : parser_([&] {
              nvmetcp::SendParams p;
              p.data_digest = digest;
              return testlib::controller_params(p);
          }(),
                  false) {}

    // From here on the controller reads the stream: next_seq is the first byte of a PDU.
    void start(uint32_t next_seq) {
        next_seq_ = next_seq;
        reading_ = true;
    }

    void read_frame(rte_mbuf* f) {
        if (!reading_) return;
        const pmd::FrameParse p = pmd::parse_frame({rte_pktmbuf_mtod(f, const uint8_t*), f->data_len}, f->pkt_len);
        if (!p.ok() || p.segment.payload_len == 0) return;
        const auto seq = static_cast<uint32_t>(p.segment.seq);
        if (seq != next_seq_) return;  // nothing is lost here: a retransmission, already read
        next_seq_ += p.segment.payload_len;
        uint32_t skip = p.segment.payload_offset, left = p.segment.payload_len;
        for (const rte_mbuf* seg = f; seg != nullptr && left > 0; seg = seg->next) {
            if (skip >= seg->data_len) {
                skip -= seg->data_len;
                continue;
            }
            const uint32_t n = std::min<uint32_t>(seg->data_len - skip, left);
            feed({rte_pktmbuf_mtod_offset(seg, const uint8_t*, skip), n});
            left -= n;
            skip = 0;
        }
    }

    // One R2T for the whole of each write whose capsule arrived since the last call.
    std::vector<uint8_t> r2ts() {
        std::vector<uint8_t> out;
        for (const auto& [cid, len] : capsules_) {
            uint8_t pdu[64];
            const size_t n = nvmetcp::encode_pdu(pdu, nvmetcp::make_r2t(cid, cid, 0, len), {}, nvmetcp::SendParams{});
            out.insert(out.end(), pdu, pdu + n);
        }
        capsules_.clear();
        return out;
    }
    // A CapsuleResp for every write whose data arrived whole.
    std::vector<uint8_t> responses() {
        std::vector<uint8_t> out;
        for (const uint16_t cid : complete_) {
            nvmetcp::NvmeCqe cqe{};
            cqe.cid.set(cid);
            uint8_t pdu[64];
            const size_t n = nvmetcp::encode_pdu(pdu, nvmetcp::make_capsule_resp(cqe), {}, nvmetcp::SendParams{});
            out.insert(out.end(), pdu, pdu + n);
        }
        complete_.clear();
        return out;
    }
    size_t writes_complete() const noexcept { return complete_.size(); }

    uint64_t data_bytes = 0;
    uint64_t digests_checked = 0;
    uint64_t digest_errors = 0;
    const char* error = nullptr;

private:
    void feed(std::span<const uint8_t> in) {
        while (error == nullptr) {
            const nvmetcp::ParseStep s = parser_.step(in);
            in = in.subspan(s.consumed);
            const nvmetcp::ParseEvent& ev = s.event;
            if (ev.kind == nvmetcp::EventKind::NeedMore) return;
            if (ev.kind == nvmetcp::EventKind::Error) {
                error = "the controller refused a PDU the host sent";
                return;
            }
            if (ev.kind == nvmetcp::EventKind::Header) {
                const nvmetcp::HeaderView& h = parser_.header();
                if (h.type() == nvmetcp::PduType::CapsuleCmd) {
                    const auto& cmd = h.as<nvmetcp::CapsuleCmdPdu>();
                    nvmetcp::nvme::SglDescriptor sgl;
                    std::memcpy(&sgl, cmd.sqe.dptr, sizeof sgl);
                    capsules_.emplace_back(cmd.sqe.cid.get(), sgl.length.get());
                } else if (h.type() == nvmetcp::PduType::H2CData) {
                    const auto& d = h.as<nvmetcp::H2CDataPdu>();
                    last_h2c_ = d.cccid.get();
                    last_pdu_ = (h.flags() & nvmetcp::pdu_flags::kLastPdu) != 0;
                }
            } else if (ev.kind == nvmetcp::EventKind::Data) {
                data_bytes += ev.data_len;
            } else if (ev.kind == nvmetcp::EventKind::PduEnd) {
                if (ev.digest == nvmetcp::DigestStatus::Mismatch) ++digest_errors;
                if (ev.digest == nvmetcp::DigestStatus::Verified) ++digests_checked;
                if (parser_.header().type() == nvmetcp::PduType::H2CData && last_pdu_) complete_.push_back(last_h2c_);
            }
        }
    }

    nvmetcp::StreamParser parser_;
    bool reading_ = false;
    uint32_t next_seq_ = 0;
    std::vector<std::pair<uint16_t, uint32_t>> capsules_;
    std::vector<uint16_t> complete_;
    uint16_t last_h2c_ = 0;
    bool last_pdu_ = false;
};

void BM_HostWriteTcp(benchmark::State& state) {
    const auto write_len = static_cast<uint32_t>(state.range(0));
    const auto mss = static_cast<uint32_t>(state.range(1));
    const bool digest = state.range(2) != 0;
    const bool device_digests = state.range(3) != 0;
    if (device_digests && !digest) return state.SkipWithError("offload:1 needs digest:1");
    const auto per_round = static_cast<uint32_t>(std::max<uint64_t>(1, kRoundData / write_len));
    if (!eal_error().empty()) return state.SkipWithError(("EAL: " + eal_error()).c_str());

    FramePool fp(0);
    if (fp.pool == nullptr) return state.SkipWithError("rte_pktmbuf_pool_create failed");
    TcpHostRig rig(digest, device_digests, mss, fp.pool, device_digests);
    rig.peer_mss = static_cast<uint16_t>(mss);
    Controller controller(digest);
    pmd::QueueEngine& engine = rig.host().engine();
    uint64_t device_ticks = 0;
    rig.wire().on_burst = [&](rte_mbuf** frames, uint16_t n) {
        if (device_digests) {  // the device's tx callback, as OffloadPort installs it
            const uint64_t t = __rdtsc();
            pmd::engine_tx_burst(engine, frames, n);
            device_ticks += __rdtsc() - t;
        }
        for (uint16_t i = 0; i < n; ++i) controller.read_frame(frames[i]);
    };
    if (const char* why = rig.bring_up()) return state.SkipWithError(why);
    if (device_digests && !rig.host().queue().data_digests_left_to_device())
        return state.SkipWithError("the device does not write the data digests (sk_add without tx_data_digest)");
    controller.start(rig.wire().sent_end);
    device_ticks = 0;

    HostRig& host = rig.host();
    // Two rounds of source buffers, in cache.
    std::vector<uint8_t> sources(2 * uint64_t{per_round} * write_len);
    for (size_t i = 0; i < sources.size(); ++i) sources[i] = static_cast<uint8_t>(i * 131 + (i >> 12));
    uint64_t host_ticks = 0, writes = 0, round = 0;
    const double ticks_per_ns = tsc_per_ns();

    for (auto _ : state) {
        const uint64_t device_before = device_ticks;
        uint64_t round_host = 0;
        auto timed = [&](auto&& host_work) {
            const uint64_t wire_before = rig.wire().ticks;
            const uint64_t t = __rdtsc();
            host_work();
            round_host += __rdtsc() - t - (rig.wire().ticks - wire_before);
        };
        const uint64_t completed_before = host.completed;
        uint8_t* const base = sources.data() + (round++ % 2) * uint64_t{per_round} * write_len;
        bool submitted = true;
        timed([&] {
            host.new_round();
            for (uint32_t i = 0; i < per_round && submitted; ++i) {
                submitted = host.submit_write(base + uint64_t{i} * write_len, write_len) >= 0;
            }
            rig.finish_burst();
        });
        if (!submitted) return state.SkipWithError("submit failed");
        testlib::FrameLayout layout;
        const std::vector<uint8_t> r2ts = controller.r2ts();
        if (r2ts.size() != size_t{per_round} * nvmetcp::kHlenR2T)
            return state.SkipWithError("the controller did not get every write's capsule");
        rte_mbuf* m = rig.controller_segment(r2ts, layout);
        if (m == nullptr) return state.SkipWithError("no mbuf for the controller's segment");
        timed([&] { rig.arrive(m, layout, static_cast<uint32_t>(r2ts.size())); });
        // Acknowledgements until every write's data arrived (the host's window and cwnd pace it).
        for (int acks = 0; controller.writes_complete() < per_round; ++acks) {
            if (acks == 100000 || controller.error != nullptr) return state.SkipWithError("the writes' data did not all arrive");
            timed([&] { rig.ack(); });
        }
        const std::vector<uint8_t> responses = controller.responses();
        m = rig.controller_segment(responses, layout);
        if (m == nullptr) return state.SkipWithError("no mbuf for the controller's segment");
        timed([&] { rig.arrive(m, layout, static_cast<uint32_t>(responses.size())); });
        if (host.completed - completed_before != per_round) return state.SkipWithError("a write did not complete");
        writes += per_round;
        host_ticks += round_host;
        state.SetIterationTime(static_cast<double>(round_host + device_ticks - device_before) / ticks_per_ns * 1e-9);
    }

    const auto& qs = host.queue().stats();
    if (host.failed != 0) return state.SkipWithError("a write failed");
    if (controller.digest_errors != 0) return state.SkipWithError("the controller found a wrong data digest");
    if (controller.data_bytes < writes * write_len) return state.SkipWithError("write data missing at the controller");
    const uint64_t pdus = qs.h2c_pdus;
    if (digest && controller.digests_checked < pdus) return state.SkipWithError("a PDU reached the controller without its digest checked");
    const uint64_t device_written = host.rx().tx_digests_written();
    if (device_digests && (qs.digests_left_to_device < pdus || device_written < pdus))
        return state.SkipWithError("a PDU's data digest was computed by the host or not written by the device");
    const double bytes = static_cast<double>(writes * write_len);
    state.SetBytesProcessed(static_cast<int64_t>(writes * write_len));
    state.counters["host_cyc_per_B"] = static_cast<double>(host_ticks) / bytes;
    state.counters["device_cyc_per_B"] = static_cast<double>(device_ticks) / bytes;
    const uint64_t with_digest = digest ? pdus : 0;
    state.counters["host_digest_pct"] =
        with_digest ? 100.0 * static_cast<double>(with_digest - std::min(with_digest, qs.digests_left_to_device)) / static_cast<double>(with_digest) : 0.0;
    state.counters["device_digests"] = static_cast<double>(device_written);
}

void host_write_tcp_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"write", "mss", "digest", "offload"});
    for (int write : {4096, 32768, 131072, 524288}) {
        for (int mss : {1448, 8948}) {
            b->Args({write, mss, 0, 0});
            b->Args({write, mss, 1, 0});
            b->Args({write, mss, 1, 1});
        }
    }
}
BENCHMARK(BM_HostWriteTcp)->Apply(host_write_tcp_args)->UseManualTime();

}  // namespace
