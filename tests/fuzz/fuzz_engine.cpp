// Fuzz target: the offload engine on a connection's packets, driven end to end as in the engine
// tests (tests/pmd/engine_rig.hpp): software driver, ddp::Device, registrations with guard bytes
// around every segment, and a realistic host (its TCP receiver drops bad checksums, trims, replaces
// out-of-order copies and coalesces; its NVMe/TCP host applies contract v3 claims exactly), beside
// the same host without the offload on the same frames.
//
// The input chooses: the read workload (sizes, PDU split down to tiny PDUs, digests, padding), the
// segmentation and faults (reordering, loss, duplicates, resegmented retransmissions, sequence
// wraparound, frames corrupted on the wire, copies corrupted with a valid checksum), the receiver's
// choices, MARKs (none, own, random; foreign frames carrying the connection's MARK), a read torn
// down mid-stream, and byte flips in the stream before it is framed (lying plen/pdo/datao/datal,
// wrong CCCIDs, corrupted data and digests) -- or, in raw mode, the whole TCP stream.
// Invariants on every input:
//   - every read's status, and the bytes of every read that succeeded, are the same with the
//     offload as without it (the offload may cost speed, never change an outcome);
//   - no write outside a registered buffer (guard bytes around every segment intact);
//   - no frame of another flow followed because of its MARK;
//   - with command ids handed out again, after every burst no buffer of a read the host is still
//     receiving holds another read's byte, and no buffer changed after its teardown (nothing
//     flipped or lying);
//   - with nothing flipped or lying and nothing lost for good, every read ends up exactly as
//     generated;
//   - with nothing flipped or lying, the device never finds a digest wrong: a digest it checked
//     across holes (runs joined by CRC32C combine) is as right as one checked in order;
//   - late placement and joined digests are parts of their totals (late_placed_bytes <=
//     placed_bytes, digest_combined <= digest_offloaded);
//   - each stream byte has at most one copy marked NVMEDDP_PKT_CRC;
//   - no crash, no undefined behaviour, no hang (libFuzzer's timeout).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_input.hpp"
#include "engine_case_dump.hpp"
#include "pmd/engine_rig.hpp"

using namespace nvmeddp;

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
    o.faults.wire_corrupt = in.probability(0.1);
    o.faults.lying = in.flag() ? in.probability(0.05) : 0;
    o.segments_per_buffer = in.range(1, 4);
    o.frames_per_burst = in.range(1, 32);
    const uint8_t host_bits = in.take<uint8_t>();
    o.host_answers_resync = (host_bits & 7) != 0;
    // A target that writes each PDU by itself: segments start at every PDU too (a CapsuleResp alone
    // in a packet takes the engine's straight path). From a spare bit of the same byte, so that no
    // other field of the corpus's inputs moves.
    const bool cut_at_pdus = (host_bits & 8) != 0;
    // Command ids handed out again (bit 4, with the pool's size from bits 5-6): the reads take turns
    // on one to three ids, each issued and set up when the read before it on its id completes,
    // and one frame in ten reaches the host past the engine, so that late copies of a completed
    // read's frames meet its id set up again (engine_cid_reuse_test.cpp).
    const bool reuse_ids = !raw && (host_bits & 0x10) != 0;
    if (reuse_ids) {
        const std::vector<uint16_t> pool = {2, 0, 1};
        o.stream.cids.assign(pool.begin(), pool.begin() + 1 + ((host_bits >> 5) & 3) % 3);
        o.engine_miss = 0.1;
    }
    o.receiver.seed = in.take<uint16_t>();
    o.receiver.replace = in.probability(1.0);
    o.receiver.coalesce = in.flag();
    o.marks = static_cast<pmd_test::RigOptions::Marks>(in.range(0, 2));
    o.foreign_rate = in.probability(0.1);
    o.mark_seed = in.take<uint16_t>();
    o.miss_seed = o.faults.seed;
    if (in.flag()) o.abort_after = std::pair<uint16_t, size_t>(static_cast<uint16_t>(in.range(0, 5)), in.range(0, 400));

    // At most ~1200 C2HData PDUs per input: tiny PDUs only for small reads. (A PDU per data byte of
    // six 12 KB reads, each padded to 128 bytes, made streams of megabytes: a tenth of the inputs
    // took two thirds of the time, for no behaviour a thousand tiny PDUs do not show.)
    if (o.stream.max_pdu_data != 0) {
        o.stream.max_pdu_data = std::max(o.stream.max_pdu_data, (o.stream.commands * o.stream.max_len + 1199) / 1200);
    }
    o.make_frames = false;  // generated below, once the stream is altered
    pmd_test::EngineRig rig(o);
    if (rig.status != ddp::Status::Ok) fuzz::invariant_broken("add_connection refused");
    std::vector<uint16_t> cids;
    for (const auto& r : rig.stream.reads) cids.push_back(r.cid);
    if (rig.options_.abort_after) rig.options_.abort_after->first = cids[rig.options_.abort_after->first % cids.size()];

    bool flipped = false;
    if (raw) {
        // The rest of the input is the stream itself; reads 0..7 registered with random lengths.
        const auto rest = in.rest();
        rig.stream.bytes.assign(rest.begin(), rest.end());
        o.frames.mss = std::max<uint32_t>(o.frames.mss, static_cast<uint32_t>(rest.size() / 1500 + 1));
        for (uint16_t cid = 0; cid < 8; ++cid) {
            if (std::find(cids.begin(), cids.end(), cid) == cids.end()) {
                rig.add_read(cid, 1 + (cid * 977u) % 5000);
                cids.push_back(cid);
            }
        }
        flipped = true;
    } else {
        // The same bound on frames by the stream's real size (PDU headers, digests and padding
        // included), which the estimate above leaves out.
        o.frames.mss = std::max<uint32_t>(o.frames.mss, static_cast<uint32_t>(rig.stream.bytes.size() / 1500 + 1));
        while (in.left() >= 5 && !rig.stream.bytes.empty()) {
            const uint32_t at = in.take<uint32_t>() % rig.stream.bytes.size();
            const uint8_t x = in.take<uint8_t>();
            rig.stream.bytes[at] ^= x;
            flipped = flipped || x != 0;
        }
    }
    // Every byte the device writes is its read's own, checked after every burst, where the frames
    // carry the generated bytes; only with ids handed out again, where a write of another read's
    // bytes can hide under the host's later copy (the scan over every buffer after every burst
    // would slow every input down).
    rig.options_.audit_device_writes = reuse_ids && !flipped && o.faults.lying == 0;
    if (cut_at_pdus && !raw) {
        for (const auto& p : rig.stream.pdus) o.frames.cut_at.push_back(p.offset);
    }
    rig.frames = testlib::generate_frames(rig.stream.bytes, rig.frames_for_stream(o.frames), o.faults);
    if (rig.frames.frames.size() > 4000) return 0;  // too slow to be worth an input (resegmenting tiny MSS)
    rig.run();

    const auto& t = rig.host->totals();
    for (uint16_t cid : cids) {
        if (!rig.host->guards_intact(cid)) fuzz::invariant_broken("write outside a registered buffer, cid", std::to_string(cid).c_str());
    }
    if (rig.foreign_followed != 0) fuzz::invariant_broken("a frame of another flow was followed for its MARK");
    if (t.wrong_claims != 0) fuzz::invariant_broken("a byte taken from a claim is not the byte received:", t.first_wrong_claim.c_str());
    if (t.false_digest_claims != 0) fuzz::invariant_broken("a digest trusted is wrong:", t.first_false_digest_claim.c_str());
    if (!rig.device_write_problem.empty()) fuzz::invariant_broken("the device wrote where it may not:", rig.device_write_problem.c_str());
    if (const std::string p = rig.differential_problem(); !p.empty()) {
        if (std::getenv("NVMEDDP_FUZZ_VERBOSE") != nullptr) fuzz::dump_engine_case(rig, raw, flipped);
        fuzz::invariant_broken("the offload changed an outcome:", p.c_str());
    }
    const ddp::Stats s = rig.stats();
    if (!flipped && o.faults.lying == 0 && s.digest_failed != 0) fuzz::invariant_broken("the device found a right digest wrong");
    if (s.late_placed_bytes > s.placed_bytes || s.digest_combined > s.digest_offloaded) {
        fuzz::invariant_broken("late placement or joined digests exceed their totals");
    }
    // A stream byte marked NVMEDDP_PKT_CRC in two copies only where the later is a copy of the same
    // range with the same CRC32C: what makes a host's AND of the bit over a PDU's packets exact
    // (ddp_mbuf.h, digested_copies.hpp).
    if (const std::string p = rig.crc_copies_problem(); !p.empty()) fuzz::invariant_broken("CRC marks:", p.c_str());
    // A frame held back (it carries bytes of a read never issued, the host stalled) is as good as
    // missing.
    const bool complete = rig.frames.missing.empty() && rig.held_back == 0;
    if (!flipped && complete && o.faults.lying == 0 && !o.abort_after && !t.parse_failed) {
        if (const std::string p = rig.read_problem(); !p.empty()) fuzz::invariant_broken("read wrong:", p.c_str());
    }
    // NVMEDDP_FUZZ_STATS=1: a line per input with the counters of the paths beyond in-order placement,
    // so that a run over a corpus (-runs=0) shows how often the fuzzer reaches each of them.
    if (std::getenv("NVMEDDP_FUZZ_STATS") != nullptr) {
        std::fprintf(stderr, "fuzz_engine stats: late_placed_bytes %llu digest_combined %llu framing_regained %llu copies_matched %llu copies_claimed %llu reads_reissued %llu host_bits %x\n",
                     static_cast<unsigned long long>(s.late_placed_bytes), static_cast<unsigned long long>(s.digest_combined),
                     static_cast<unsigned long long>(s.framing_regained), static_cast<unsigned long long>(s.copies_matched),
                     static_cast<unsigned long long>(s.copies_claimed), static_cast<unsigned long long>(t.reads_reissued), host_bits);
    }
    return 0;
}
