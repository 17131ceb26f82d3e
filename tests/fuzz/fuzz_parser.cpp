// Fuzz target: the PDU stream parser on arbitrary bytes (and mutations of valid streams, from the
// seed corpus), for either direction and every digest/PDA setting. Invariants on every input:
//   - nothing crashes or reads out of bounds (ASan), nothing undefined (UBSan);
//   - the outcome is the same whether the bytes come whole, cut at fuzzer-chosen points, or one by
//     one (for short inputs): PDUs, headers, data, digest verdicts, and the error with FES/FEI;
//   - the resync header search never reports a candidate outside the bytes.
#include <cstdio>
#include <cstdlib>
#include <random>

#include "fuzz_input.hpp"
#include "nvmetcp/header_search.hpp"
#include "nvmetcp/stream_parser.hpp"
#include "testlib/pdu_stream_gen.hpp"

using namespace nvmeddp;
using namespace nvmeddp::nvmetcp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput in(data, size);
    const uint8_t config = in.take<uint8_t>();
    ReceiveParams params;
    params.role = (config & 1) ? Role::Controller : Role::Host;
    params.header_digest = (config & 2) != 0;
    params.data_digest = (config & 4) != 0;
    params.pda = (config & 8) ? 3 : 0;
    params.limits.max_data_len = 1u << 20;
    const bool expect_ic = (config & 16) != 0;
    const uint64_t cut_seed = in.take<uint16_t>();
    const std::span<const uint8_t> stream = in.rest();

    StreamParser whole(params, expect_ic);
    const testlib::ParseOutcome a = testlib::parse_whole(whole, stream);

    std::mt19937_64 rng(cut_seed);
    StreamParser cut(params, expect_ic);
    const testlib::ParseOutcome b = testlib::parse_with_cuts(cut, stream, testlib::random_cuts(rng, stream.size(), 1 + cut_seed % 1500));
    if (!(a == b)) fuzz::invariant_broken("parse differs between whole and cut input");
    if (!b.data_offsets_consistent) fuzz::invariant_broken("data events not contiguous");

    if (stream.size() <= 4096) {
        std::vector<size_t> every;
        for (size_t i = 1; i <= stream.size(); ++i) every.push_back(i);
        StreamParser bytewise(params, expect_ic);
        if (!(a == testlib::parse_with_cuts(bytewise, stream, every))) fuzz::invariant_broken("parse differs byte by byte");
    }

    const HeaderCandidate c = find_pdu_header(stream, params, 0);
    if (c.strength != CandidateStrength::None && c.offset + sizeof(CommonHeader) > stream.size()) {
        fuzz::invariant_broken("header candidate outside the bytes");
    }
    return 0;
}
