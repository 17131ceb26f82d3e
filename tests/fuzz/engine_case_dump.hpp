// fuzz_engine's account of an input that broke the differential invariant, for a person to read
// (NVMEDDP_FUZZ_VERBOSE=1 fuzz_engine <crash file>): the input's choices, each read with and without
// the offload, each frame with the claim the engine attached, and the PDUs of the stream as a
// receiver parses them.
#pragma once

#include <cinttypes>
#include <cstdio>
#include <span>

#include "nvmetcp/stream_parser.hpp"
#include "pmd/engine_rig.hpp"

namespace nvmeddp::fuzz {

inline void dump_stream_pdus(const pmd_test::RigOptions& o, std::span<const uint8_t> bytes) {
    nvmetcp::ReceiveParams params;
    params.header_digest = o.stream.header_digest;
    params.data_digest = o.stream.data_digest;
    params.pda = o.stream.pda;
    nvmetcp::StreamParser parser(params, false);
    for (;;) {
        const auto [used, ev] = parser.step(bytes);
        bytes = bytes.subspan(used);
        if (ev.kind == nvmetcp::EventKind::NeedMore) return;
        if (ev.kind == nvmetcp::EventKind::Error) {
            std::fprintf(stderr, "parse error at %" PRIu64 " fes %u\n", ev.stream_offset, static_cast<unsigned>(ev.error.fes));
            return;
        }
        if (ev.kind != nvmetcp::EventKind::Header) continue;
        const nvmetcp::HeaderView& h = parser.header();
        std::fprintf(stderr, "pdu at %" PRIu64 " type %u flags %x plen %u", ev.stream_offset, static_cast<unsigned>(h.type()),
                     h.flags(), h.common().plen.get());
        if (h.type() == nvmetcp::PduType::C2HData) {
            const auto& d = h.as<nvmetcp::C2HDataPdu>();
            std::fprintf(stderr, " cccid %u datao %u datal %u", d.cccid.get(), d.datao.get(), d.datal.get());
        } else if (h.type() == nvmetcp::PduType::CapsuleResp) {
            std::fprintf(stderr, " cid %u", h.as<nvmetcp::CapsuleRespPdu>().cqe.cid.get());
        }
        std::fprintf(stderr, "\n");
    }
}

inline void dump_engine_case(const pmd_test::EngineRig& rig, bool raw, bool flipped) {
    const pmd_test::RigOptions& o = rig.options_;
    std::fprintf(stderr,
                 "raw %d flipped %d ddgst %d hdgst %d pda %u mss %u frames %zu loss %.3f reorder %.3f dup %.3f reseg %.3f "
                 "wire %.3f lying %.3f replace %.2f coalesce %d marks %d foreign %.3f\n",
                 raw, flipped, o.stream.data_digest, o.stream.header_digest, o.stream.pda, o.frames.mss, rig.frames.frames.size(),
                 o.faults.loss, o.faults.reorder, o.faults.duplicate, o.faults.resegment, o.faults.wire_corrupt, o.faults.lying,
                 o.receiver.replace, o.receiver.coalesce, static_cast<int>(o.marks), o.foreign_rate);
    if (o.abort_after) std::fprintf(stderr, "abort cid %u after frame %zu\n", o.abort_after->first, o.abort_after->second);
    for (const auto& [cid, r] : rig.host->reads()) {
        std::fprintf(stderr, "cid %u len %u registered %d status on %d off %d next datao %u/%u\n", cid, r.length, r.registered,
                     static_cast<int>(rig.host->status(cid)), static_cast<int>(rig.host_off->status(cid)), r.next_offset,
                     rig.host_off->read(cid).next_offset);
    }
    for (size_t k = 0; k < rig.metas.size(); ++k) {
        const size_t i = rig.processed[k];
        const auto& t = rig.frames.frames[i].truth;
        const auto& m = rig.metas[k];
        std::fprintf(stderr, "frame %zu offset %" PRIu64 " len %u faults %x", i, t.stream_offset, t.length, t.faults);
        if (m) {
            std::fprintf(stderr, " flags %x place +%u len %u at %u cccid %u tag %u run2 tag %u len %u", m->flags,
                         m->place_seq - o.frames.first_seq, m->place_len, m->place_buf_off, m->place_cccid, m->place_tag,
                         m->place2_tag, m->place2_len);
        }
        std::fprintf(stderr, "\n");
    }
    dump_stream_pdus(o, rig.stream.bytes);
    const auto& t = rig.host->totals();
    const ddp::Stats s = rig.stats();
    std::fprintf(stderr, "host: claimed %" PRIu64 " copied %" PRIu64 " refused %" PRIu64 " parse failed %d/%d; device: placed %" PRIu64
                         " rewrite %" PRIu64 " behind host %" PRIu64 "\n",
                 t.claimed_placed, t.copied, t.claims_refused, t.parse_failed, rig.host_off->totals().parse_failed, s.placed_bytes,
                 s.place_rewrite, s.place_behind_host);
}

}  // namespace nvmeddp::fuzz
