// Test rig for the offload engine: a ddp::Device over the software driver, one offloaded connection
// matching a generated flow, the engine run on generated frames burst by burst, and a DdpHostModel
// (a realistic TCP receiver and an NVMe/TCP host applying contract v3) consuming what comes out.
// Beside it runs the same host without the offload on the same frames: for any input, every read's
// status and (when it succeeded) its bytes must be the same with the offload on as off
// (differential_problem()). Shared by the engine tests and the engine fuzzer.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ddp/device.hpp"
#include "nvmetcp/crc32c.hpp"
#include "pmd/engine/sw_driver.hpp"
#include "testlib/ddp_host_model.hpp"
#include "testlib/flow_config.hpp"
#include "testlib/frame_gen.hpp"
#include "testlib/read_stream_gen.hpp"

namespace nvmeddp::pmd_test {

struct RigOptions {
    testlib::ReadStreamOptions stream{};
    testlib::FrameGenOptions frames{};
    testlib::FaultPlan faults{};
    uint32_t segments_per_buffer = 1;
    size_t frames_per_burst = 8;
    uint16_t queue_depth = 128;
    bool host_answers_resync = true;
    testlib::TcpReceiverModel::Options receiver{};
    // The port's MARK: none (the classifier finds the flow), the connection's own, or random ids
    // (a stale rule, a reused id). Foreign frames: frames of another flow that carry the connection's
    // MARK, at this rate per frame (the engine must not follow them; the host never sees them).
    enum class Marks : uint8_t { None, Own, Random } marks = Marks::None;
    double foreign_rate = 0;
    uint64_t mark_seed = 1;
    // The host gives up on this read (tears it down) once this many frames went through.
    std::optional<std::pair<uint16_t, size_t>> abort_after{};
    // Reads left unregistered (the host copies them) and reads registered too short.
    std::vector<uint16_t> unregistered{};
    std::vector<std::pair<uint16_t, uint32_t>> short_registrations{};
    // Nonzero: every frame sent in its place with two payload bytes or more comes as an mbuf chain
    // of two segments, cut at a point of its payload drawn from this seed (chain_cut()). The
    // engine's straight paths take only a payload in one piece, so such frames are the state
    // machine's alone (engine_straight_test.cpp).
    uint64_t chain_seed = 0;
    // false: the constructor leaves `frames` empty, for a caller that alters the stream first and
    // then generates the frames itself (the fuzzer: generating them twice doubled its cost).
    bool make_frames = true;
    // The queue's pool of PDUs with holes (SoftwareDriverConfig::gap_pdus); 0: its default.
    uint32_t gap_pdus = 0;
};

// Reads of `len` bytes each, with data digests, nothing but their C2HData in the stream.
inline RigOptions equal_reads(uint32_t commands, uint32_t len) {
    RigOptions o;
    o.stream.commands = commands;
    o.stream.min_len = o.stream.max_len = len;
    o.stream.data_digest = true;
    o.stream.seed = 3;
    return o;
}

class EngineRig {
public:
    explicit EngineRig(const RigOptions& o) : options_(o) {
        pmd::SoftwareDriverConfig dc;
        dc.limits.max_connections = 16;  // one is used; small tables keep a rig cheap (fuzzing)
        dc.log = [this](const std::string& line) { log.push_back(line); };
        dc.gap_pdus = o.gap_pdus;
        auto d = std::make_unique<pmd::SoftwareDriver>(dc);
        driver = d.get();
        device = std::make_unique<ddp::Device>(std::move(d));

        stream = testlib::generate_read_stream(o.stream);
        ddp::ConnectionConfig c;
        c.tuple = testlib::host_tuple(o.frames.flow);  // the frames are the controller's
        c.queue_depth = o.queue_depth;
        c.header_digest = o.stream.header_digest;
        c.data_digest = o.stream.data_digest;
        c.rx_pda = static_cast<uint8_t>(o.stream.pda);
        c.rcv_seq = o.frames.first_seq;
        status = device->add_connection(c, handle);
        queue().poll_idle();  // the engine applies the new connection

        testlib::DdpHostModel::Options ho;
        ho.header_digest = o.stream.header_digest;
        ho.data_digest = o.stream.data_digest;
        ho.pda = o.stream.pda;
        ho.first_seq = o.frames.first_seq;
        ho.segments_per_buffer = o.segments_per_buffer;
        ho.answer_resync = o.host_answers_resync;
        ho.ipv6 = o.frames.flow.ipv6;
        ho.receiver = o.receiver;
        host = std::make_unique<testlib::DdpHostModel>(device.get(), handle, ho);
        host_off = std::make_unique<testlib::DdpHostModel>(nullptr, 0, ho);
        for (const auto& r : stream.reads) {
            const auto len = static_cast<uint32_t>(r.data.size());
            host_off->expect_read(r.cid, len);
            if (std::find(o.unregistered.begin(), o.unregistered.end(), r.cid) != o.unregistered.end()) {
                host->expect_read(r.cid, len);
                continue;
            }
            std::optional<uint32_t> reg_len;
            for (const auto& [cid, l] : o.short_registrations) {
                if (cid == r.cid) reg_len = l;
            }
            host->register_read(r.cid, len, reg_len);
        }
        if (o.make_frames) frames = testlib::generate_frames(stream.bytes, o.frames, o.faults);
        mark_rng_.seed(o.mark_seed);
        chain_rng_.seed(o.chain_seed);
    }

    // One more read, registered with the offload (and expected by the host without it).
    void add_read(uint16_t cid, uint32_t length) {
        host->register_read(cid, length);
        host_off->expect_read(cid, length);
    }

    // Removes the connection the way an application shuts down: the engine keeps polling until the
    // driver has let go.
    ~EngineRig() {
        if (handle == 0) return;
        device->remove_connection(handle);
        for (int i = 0; i < 1000 && device->connection_count() != 0; ++i) {
            queue().poll_idle();
            device->poll(handle);
        }
    }

    pmd::QueueEngine& queue() { return driver->queue(0); }
    pmd::ConnectionEngine* engine() { return driver->engine(handle); }

    // A frame carrying stream bytes [offset, offset + len) of the rig's flow.
    testlib::GeneratedFrame frame_of(uint64_t offset, uint32_t len) const {
        testlib::TcpFields tcp;
        tcp.seq = static_cast<uint32_t>(options_.frames.first_seq + offset);
        const std::span<const uint8_t> payload(stream.bytes.data() + offset, len);
        testlib::BuiltFrame b = testlib::build_frame(options_.frames.flow, tcp, payload);
        return testlib::GeneratedFrame{std::move(b.bytes), testlib::FrameTruth{offset, len, tcp.seq, 0, testlib::kNoSegment, b.layout}};
    }
    // Replaces the generated frames with frames cut at the given stream offsets.
    void cut_at(std::vector<uint64_t> cuts) {
        frames.frames.clear();
        uint64_t at = 0;
        cuts.push_back(stream.bytes.size());
        for (uint64_t c : cuts) {
            if (c <= at || c > stream.bytes.size()) continue;
            frames.frames.push_back(frame_of(at, static_cast<uint32_t>(c - at)));
            at = c;
        }
    }

    // Index of the first frame at or after `from` (in arrival order) whose payload holds the first
    // byte of a PDU: losing it takes a header with it, and the framing.
    size_t frame_with_header(size_t from) const {
        for (size_t i = from; i < frames.frames.size(); ++i) {
            const auto& t = frames.frames[i].truth;
            for (const auto& p : stream.pdus) {
                if (p.offset > t.stream_offset && p.offset < t.stream_offset + t.length) return i;
            }
        }
        return frames.frames.size();
    }
    // Index of the first frame at or after `from` that lies wholly inside one PDU's data.
    size_t frame_inside_data(size_t from) const {
        for (size_t i = from; i < frames.frames.size(); ++i) {
            const auto& t = frames.frames[i].truth;
            for (const auto& p : stream.pdus) {
                const uint64_t d0 = p.offset + p.pdo;
                if (p.type == nvmetcp::PduType::C2HData && t.stream_offset >= d0 && t.stream_offset + t.length <= d0 + p.datal) return i;
            }
        }
        return frames.frames.size();
    }

    // Runs every frame through the engine and the host model.
    void run() { run_frames(0, frames.frames.size()); }
    void run_frames(size_t from, size_t to) {
        const uint32_t own = driver->conn_id(handle);
        std::vector<std::pair<size_t, std::optional<::nvmeddp_pkt_meta>>> out;
        out.reserve(std::min(options_.frames_per_burst, to - from));
        for (size_t i = from; i < to;) {
            queue().begin_burst();
            const size_t end = std::min(to, i + options_.frames_per_burst);
            out.clear();
            for (; i < end; ++i) {
                if (options_.abort_after && options_.abort_after->second == i) {
                    queue().end_burst();
                    abort_read(options_.abort_after->first);
                    queue().begin_burst();
                }
                const auto& f = frames.frames[i];
                uint32_t mark = own;
                if (options_.marks == RigOptions::Marks::Random) mark = static_cast<uint32_t>(mark_rng_() % 20);
                const uint32_t* m = options_.marks == RigOptions::Marks::None ? nullptr : &mark;
                ::nvmeddp_pkt_meta meta{};
                std::span<const uint8_t> first(f.bytes);
                pmd::PayloadChunk rest{};
                const size_t payload_at = f.truth.layout.payload_offset;
                if (const uint32_t k = chain_cut(f.truth); k != 0) {
                    first = first.first(payload_at + k);
                    rest = pmd::PayloadChunk{f.bytes.data() + payload_at + k, static_cast<uint32_t>(f.bytes.size() - payload_at - k)};
                }
                const bool offloaded = queue().process(first, f.bytes.size(), {&rest, rest.len != 0 ? 1u : 0u}, m,
                                                       pmd::L4Checksum::Unknown, meta);
                out.emplace_back(i, offloaded ? std::optional(meta) : std::nullopt);
                if (options_.foreign_rate > 0 && testlib::unit_draw(mark_rng_) < options_.foreign_rate) {
                    // The same bytes from another port of the peer, marked as this connection's. The
                    // port is set, not flipped: a copy corrupted on the wire may have that bit flipped
                    // already, and flipping it back made a frame of the connection itself.
                    std::vector<uint8_t> foreign = f.bytes;
                    const auto port = static_cast<uint16_t>(options_.frames.flow.src_port ^ 0x4000);
                    foreign[f.truth.layout.l4_offset] = static_cast<uint8_t>(port >> 8);
                    foreign[f.truth.layout.l4_offset + 1u] = static_cast<uint8_t>(port);
                    testlib::refresh_tcp_checksum(foreign, f.truth.layout);
                    ::nvmeddp_pkt_meta fm{};
                    if (queue().process(foreign, foreign.size(), {}, &own, pmd::L4Checksum::Unknown, fm)) ++foreign_followed;
                }
            }
            queue().end_burst();
            for (auto& [idx, meta] : out) {
                const auto& f = frames.frames[idx];
                metas.push_back(meta);
                host->on_frame(f.bytes, f.truth.layout, meta ? &*meta : nullptr);
                host_off->on_frame(f.bytes, f.truth.layout, nullptr);
            }
            device->poll(handle);
        }
    }

    // Where to cut a frame's payload into two segments (RigOptions::chain_seed): 0 for not at all.
    // Only a frame sent in its place (no reordering, retransmission, duplicate or resegmented copy):
    // the others may fill holes below the stream's front, where the engine pairs two runs only
    // across headers that came whole in one segment (placement_claim.hpp), so a cut there may change
    // a claim legitimately.
    uint32_t chain_cut(const testlib::FrameTruth& t) {
        namespace fault = testlib::fault;
        constexpr uint8_t kLate = fault::kReordered | fault::kRetransmit | fault::kDuplicate | fault::kResegmented;
        if (options_.chain_seed == 0 || t.length < 2 || (t.faults & kLate) != 0) return 0;
        return static_cast<uint32_t>(1 + chain_rng_() % (t.length - 1));
    }

    ddp::Stats stats() const {
        ddp::Stats s{};
        device->connection_stats(handle, s);
        return s;
    }
    uint64_t registered_data_bytes() const {
        uint64_t n = 0;
        for (const auto& r : stream.reads) {
            if (host->read(r.cid).registered) n += r.data.size();
        }
        return n;
    }
    // What is wrong with the reads (guard bytes overwritten, data differing), or "" when nothing.
    std::string read_problem() const {
        for (const auto& r : stream.reads) {
            if (!host->guards_intact(r.cid)) return "guard bytes of cid " + std::to_string(r.cid) + " overwritten";
            if (host->contents(r.cid) != r.data) return "data of cid " + std::to_string(r.cid) + " differs";
        }
        return {};
    }
    bool all_reads_correct() const { return read_problem().empty(); }

    // The host gives up on a read: both hosts, at the same point of the stream.
    ddp::Status abort_read(uint16_t cid) {
        host_off->abort_read(cid);
        return host->abort_read(cid);
    }

    // How the offload changed an outcome (a read's status, or the bytes of a read that succeeded),
    // or "" when it changed none: the invariant that matters.
    std::string differential_problem() const {
        for (const auto& [cid, off] : host_off->reads()) {
            const auto s_on = host->status(cid);
            const auto s_off = host_off->status(cid);
            if (s_on != s_off) {
                return "cid " + std::to_string(cid) + ": status " + std::to_string(static_cast<int>(s_on)) +
                       " with the offload, " + std::to_string(static_cast<int>(s_off)) + " without";
            }
            if (!host->guards_intact(cid)) return "guard bytes of cid " + std::to_string(cid) + " overwritten";
            if (s_on == testlib::DdpHostModel::ReadStatus::Ok && host->contents(cid) != host_off->contents(cid)) {
                const auto a = host->contents(cid);
                const auto b = host_off->contents(cid);
                size_t at = 0;
                while (at < a.size() && a[at] == b[at]) ++at;
                return "cid " + std::to_string(cid) + ": bytes differ from the host without offload, first at offset " +
                       std::to_string(at);
            }
        }
        return {};
    }

    // Bytes marked NVMEDDP_PKT_CRC in more than one copy (ddp_mbuf.h): every copy marked after the
    // first of its bytes covers exactly the first one's range, and its payload has the same CRC32C
    // (digested_copies.hpp). What goes wrong otherwise, or "".
    std::string crc_copies_problem() const {
        struct Marked {
            uint64_t begin = 0, end = 0;
            uint32_t crc = 0;
        };
        std::vector<Marked> first;  // per stream byte, the first copy marked CRC (end 0: none yet)
        first.resize(stream.bytes.size());
        for (size_t i = 0; i < metas.size() && i < frames.frames.size(); ++i) {
            if (!metas[i] || (metas[i]->flags & NVMEDDP_PKT_CRC) == 0) continue;
            const testlib::FrameTruth& t = frames.frames[i].truth;
            const uint8_t* payload = frames.frames[i].bytes.data() + t.layout.payload_offset;
            const Marked m{t.stream_offset, t.stream_offset + t.length, nvmetcp::crc32c_extend(0, payload, t.length)};
            for (uint64_t b = m.begin; b < m.end && b < first.size(); ++b) {
                if (first[b].end == 0) {
                    first[b] = m;
                } else if (first[b].begin != m.begin || first[b].end != m.end || first[b].crc != m.crc) {
                    return "stream offset " + std::to_string(b) + " marked CRC in copies [" + std::to_string(first[b].begin) +
                           ", " + std::to_string(first[b].end) + ") and [" + std::to_string(m.begin) + ", " +
                           std::to_string(m.end) + ")" + (first[b].crc != m.crc ? " of other bytes" : "");
                }
            }
        }
        return {};
    }

    RigOptions options_;
    pmd::SoftwareDriver* driver = nullptr;
    std::unique_ptr<ddp::Device> device;
    ddp::ConnectionHandle handle = 0;
    ddp::Status status = ddp::Status::Ok;
    testlib::ReadStream stream;
    testlib::FrameSequence frames;
    std::unique_ptr<testlib::DdpHostModel> host;
    std::unique_ptr<testlib::DdpHostModel> host_off;  // the same host, no offload
    uint64_t foreign_followed = 0;  // foreign frames the engine took for the connection's (must stay 0)
    std::mt19937_64 mark_rng_{1};
    std::mt19937_64 chain_rng_{1};
    std::vector<std::optional<::nvmeddp_pkt_meta>> metas;
    std::vector<std::string> log;
};

}  // namespace nvmeddp::pmd_test
