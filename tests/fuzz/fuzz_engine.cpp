// Fuzz target: the offload engine on a connection's packets, driven end to end as in the engine
// tests (tests/pmd/engine_rig.hpp): software driver, ddp::Device, registrations with guard bytes
// around every segment, and the verifying host model.
//
// The input chooses: the read workload (sizes, PDU split, digests, padding), the segmentation and
// faults (reordering, loss, duplicates, resegmented retransmissions, sequence wraparound), and byte
// flips in the stream before it is framed (lying plen/pdo/datao/datal, wrong CCCIDs, corrupted data
// and digests) -- or, in raw mode, the whole TCP stream. Invariants on every input:
//   - no write outside a registered buffer (guard bytes around every segment intact);
//   - every byte the device claims to have placed is in the buffer and equal to the byte the host
//     would have copied (wrong_claims == 0);
//   - every "digest verified" mark is right (false_digest_claims == 0);
//   - with no byte flipped, every read ends up exactly as generated;
//   - no crash, no undefined behaviour, no hang (libFuzzer's timeout).
#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "fuzz_input.hpp"
#include "nvmetcp/stream_parser.hpp"
#include "pmd/engine_rig.hpp"

using namespace nvmeddp;

namespace {

// (cid, buffer offset) written by more than one C2HData of the stream as the receiver parses it.
std::set<std::pair<uint16_t, uint64_t>> contested_bytes(const std::vector<uint8_t>& stream, const pmd_test::RigOptions& o) {
    nvmetcp::ReceiveParams p;
    p.header_digest = o.stream.header_digest;
    p.data_digest = o.stream.data_digest;
    p.pda = o.stream.pda;
    nvmetcp::StreamParser parser(p, false);
    std::map<std::pair<uint16_t, uint64_t>, int> writes;
    std::span<const uint8_t> in(stream);
    for (;;) {
        const auto [used, ev] = parser.step(in);
        in = in.subspan(used);
        if (ev.kind == nvmetcp::EventKind::NeedMore || ev.kind == nvmetcp::EventKind::Error) break;
        if (ev.kind == nvmetcp::EventKind::Data && parser.header().type() == nvmetcp::PduType::C2HData) {
            const auto& h = parser.header().as<nvmetcp::C2HDataPdu>();
            for (uint32_t j = 0; j < ev.data_len; ++j) ++writes[{h.cccid.get(), uint64_t{h.datao.get()} + ev.data_offset + j}];
        }
    }
    std::set<std::pair<uint16_t, uint64_t>> out;
    for (const auto& [place, n] : writes) {
        if (n > 1) out.insert(place);
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput in(data, size);
    pmd_test::RigOptions o;
    const bool raw = in.flag();
    o.stream.commands = in.range(1, 6);
    o.stream.min_len = in.range(1, 3000);
    o.stream.max_len = o.stream.min_len + in.range(0, 9000);
    o.stream.max_pdu_data = in.flag() ? in.range(1, 4096) : 0;
    o.stream.data_digest = in.flag();
    o.stream.header_digest = in.flag();
    o.stream.pda = in.flag() ? in.range(0, 31) : 0;
    o.stream.success_flag = in.flag();
    o.stream.other_pdu_rate = in.probability(0.5);
    o.stream.seed = in.take<uint16_t>();
    // At most ~1500 frames per input, so that an input takes milliseconds: tiny segments only for
    // small streams.
    o.frames.mss = std::max(in.range(1, 2000), o.stream.commands * (o.stream.max_len + 200) / 1500 + 1);
    o.frames.random_segment_sizes = in.flag();
    o.frames.segment_seed = in.take<uint16_t>();
    if (in.flag()) o.frames.first_seq = testlib::first_seq_wrapping_at(in.range(0, 20000));
    o.faults.seed = in.take<uint16_t>();
    o.faults.reorder = in.probability(0.2);
    o.faults.loss = in.probability(0.2);
    o.faults.duplicate = in.probability(0.2);
    o.faults.resegment = in.probability(0.1);
    o.faults.retransmit_lost = !in.flag();
    o.segments_per_buffer = in.range(1, 4);
    o.frames_per_burst = in.range(1, 32);
    o.host_answers_resync = (in.take<uint8_t>() & 7) != 0;

    pmd_test::EngineRig rig(o);
    if (rig.status != ddp::Status::Ok) fuzz::invariant_broken("add_connection refused");
    std::vector<uint16_t> cids;
    for (const auto& r : rig.stream.reads) cids.push_back(r.cid);

    bool flipped = false;
    if (raw) {
        // The rest of the input is the stream itself; reads 0..7 registered with random lengths.
        const auto rest = in.rest();
        rig.stream.bytes.assign(rest.begin(), rest.end());
        o.frames.mss = std::max<uint32_t>(o.frames.mss, static_cast<uint32_t>(rest.size() / 1500 + 1));
        for (uint16_t cid = 0; cid < 8; ++cid) {
            if (std::find(cids.begin(), cids.end(), cid) == cids.end()) {
                rig.host->register_read(cid, 1 + (cid * 977u) % 5000);
                cids.push_back(cid);
            }
        }
        flipped = true;
    } else {
        while (in.left() >= 5 && !rig.stream.bytes.empty()) {
            const uint32_t at = in.take<uint32_t>() % rig.stream.bytes.size();
            const uint8_t x = in.take<uint8_t>();
            rig.stream.bytes[at] ^= x;
            flipped = flipped || x != 0;
        }
    }
    rig.frames = testlib::generate_frames(rig.stream.bytes, o.frames, o.faults);
    rig.run();

    const auto& t = rig.host->totals();
    for (uint16_t cid : cids) {
        if (!rig.host->guards_intact(cid)) fuzz::invariant_broken("write outside a registered buffer, cid", std::to_string(cid).c_str());
    }
    // A flipped stream may carry two PDUs of one command whose data overlap: a protocol violation that
    // a host rejects, failing the command. The engine, running ahead of the host (a burst, or past a
    // hole the host waits on), may place the later PDU over the earlier one's bytes before the host
    // looks at them, so a claim there can find the later byte. Only such contested bytes may.
    if (t.wrong_claims != 0) {
        const auto contested = contested_bytes(rig.stream.bytes, o);
        for (const auto& place : t.wrong_claim_places) {
            if (contested.count(place) == 0) fuzz::invariant_broken("a byte claimed placed is not in the buffer:", t.first_wrong_claim.c_str());
        }
    }
    if (t.false_digest_claims != 0) fuzz::invariant_broken("a digest marked verified is wrong:", t.first_false_digest_claim.c_str());
    const bool complete = rig.frames.missing.empty();
    if (!flipped && complete && !t.parse_failed) {
        if (const std::string p = rig.read_problem(); !p.empty()) fuzz::invariant_broken("read wrong:", p.c_str());
    }
    return 0;
}
