// nvmeddp-selfcheck: the protocol core checked end to end on generated traffic (see --help).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/pdu_encoder.hpp"
#include "nvmetcp/stream_parser.hpp"
#include "options.hpp"
#include "testlib/pdu_stream_gen.hpp"

namespace {

using namespace nvmeddp;
using namespace nvmeddp::nvmetcp;
using selfcheck::Options;

struct Tally {
    int passed = 0;
    int failed = 0;
    void record(bool ok) { ok ? ++passed : ++failed; }
};

// --- CRC32C known answers --------------------------------------------------------------------------

void check_crc(const Options& o, Tally& tally) {
    struct Vector {
        const char* name;
        std::vector<uint8_t> bytes;
        uint32_t crc;
    };
    std::vector<uint8_t> inc(32), dec(32);
    std::iota(inc.begin(), inc.end(), uint8_t{0});
    for (size_t i = 0; i < 32; ++i) dec[i] = static_cast<uint8_t>(31 - i);
    const std::vector<Vector> vectors = {
        {"\"123456789\"", {'1', '2', '3', '4', '5', '6', '7', '8', '9'}, 0xE3069283u},
        {"RFC 3720 B.4 32 x 00", std::vector<uint8_t>(32, 0x00), 0x8A9136AAu},
        {"RFC 3720 B.4 32 x FF", std::vector<uint8_t>(32, 0xFF), 0x62A8AB43u},
        {"RFC 3720 B.4 incrementing", inc, 0x46DD794Eu},
        {"RFC 3720 B.4 decrementing", dec, 0x113FDB5Cu},
    };
    if (!o.quiet) std::printf("CRC32C known answers\n");
    for (const auto& v : vectors) {
        const uint32_t got = crc32c(v.bytes);
        tally.record(got == v.crc);
        if (!o.quiet || got != v.crc) {
            std::printf("  %-28s 0x%08X  %s\n", v.name, got, got == v.crc ? "ok" : "MISMATCH");
        }
    }
}

// --- generated streams, random segmentation ----------------------------------------------------------

struct StreamConfig {
    const char* name;
    Role role;
    bool hdgst;
    bool ddgst;
    uint32_t pda;
};

std::string first_difference(const testlib::ParseOutcome& out, const testlib::GeneratedStream& gen) {
    if (out.failed) {
        char buf[256];
        return std::string("parse error: ") + describe(out.error, buf, sizeof buf);
    }
    if (out.pdus.size() != gen.pdus.size()) {
        return "parsed " + std::to_string(out.pdus.size()) + " PDUs, generated " + std::to_string(gen.pdus.size());
    }
    for (size_t i = 0; i < gen.pdus.size(); ++i) {
        const auto want = gen.pdus[i].has_data_digest ? DigestStatus::Verified : DigestStatus::None;
        if (out.pdus[i].type != gen.pdus[i].type || out.pdus[i].offset != gen.pdus[i].offset ||
            out.pdus[i].data != gen.pdus[i].data || out.pdus[i].digest != want) {
            return "PDU " + std::to_string(i) + " at offset " + std::to_string(gen.pdus[i].offset) + " differs";
        }
    }
    return {};
}

// Seconds for one parse of the whole stream with nothing done per event: the parser's own speed
// (informational; the benchmarks in bench/ are the measured figures).
double time_pure_parse(const ReceiveParams& rp, std::span<const uint8_t> stream) {
    StreamParser parser(rp, true);
    const auto t0 = std::chrono::steady_clock::now();
    for (;;) {
        const auto s = parser.step(stream);
        stream = stream.subspan(s.consumed);
        if (s.event.kind == EventKind::NeedMore || s.event.kind == EventKind::Error) break;
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void check_streams(const Options& o, Tally& tally) {
    const StreamConfig configs[] = {
        {"host, no digests", Role::Host, false, false, 0},
        {"host, HDGST", Role::Host, true, false, 0},
        {"host, DDGST", Role::Host, false, true, 0},
        {"host, HDGST+DDGST", Role::Host, true, true, 0},
        {"host, HDGST+DDGST, HPDA 7", Role::Host, true, true, 7},
        {"controller, HDGST+DDGST", Role::Controller, true, true, 0},
    };
    if (!o.quiet) {
        std::printf("\nGenerated streams (%u PDUs each, data up to %u bytes, cut into pieces of 1..%u bytes)\n",
                    o.pdus, o.max_data, o.max_piece);
        std::printf("  %-28s %8s %10s %9s %9s %11s %s\n", "stream", "PDUs", "MiB", "digests", "pieces", "parse GB/s",
                    "result");
    }
    std::mt19937_64 rng(o.seed);
    for (const auto& c : configs) {
        testlib::StreamOptions so;
        so.receiver = c.role;
        so.header_digest = c.hdgst;
        so.data_digest = c.ddgst;
        so.pda = c.pda;
        so.pdu_count = o.pdus;
        so.max_data_len = o.max_data;
        so.seed = rng();
        const auto gen = testlib::generate_stream(so);

        ReceiveParams rp;
        rp.role = c.role;
        rp.header_digest = c.hdgst;
        rp.data_digest = c.ddgst;
        rp.pda = c.pda;
        rp.limits.maxh2cdata = 128 * 1024;

        StreamParser whole_parser(rp, true);
        const auto whole = testlib::parse_whole(whole_parser, gen.bytes);
        const double seconds = time_pure_parse(rp, gen.bytes);

        const auto cuts = testlib::random_cuts(rng, gen.bytes.size(), o.max_piece);
        StreamParser cut_parser(rp, true);
        const auto cut = testlib::parse_with_cuts(cut_parser, gen.bytes, cuts);

        std::string problem = first_difference(whole, gen);
        if (problem.empty()) problem = first_difference(cut, gen);
        if (problem.empty() && !(cut == whole)) problem = "segmented parse differs from whole-buffer parse";
        tally.record(problem.empty());
        const auto& st = cut_parser.stats();
        if (!o.quiet || !problem.empty()) {
            std::printf("  %-28s %8llu %10.2f %9llu %9zu %11.2f %s%s\n", c.name,
                        static_cast<unsigned long long>(st.pdus), static_cast<double>(st.bytes) / (1 << 20),
                        static_cast<unsigned long long>(st.digests_verified), cuts.size(),
                        seconds > 0 ? static_cast<double>(gen.bytes.size()) / seconds / 1e9 : 0.0,
                        problem.empty() ? "ok" : "FAILED: ", problem.c_str());
        }
    }
}

// --- injected protocol errors --------------------------------------------------------------------------

struct Injection {
    const char* name;
    Role role;
    bool hdgst;
    bool ddgst;
    std::function<void(std::vector<uint8_t>&)> build;  // appends the offending PDU(s)
    ErrorKind kind;
    Fes fes;
    uint32_t fei;
};

void c2h(std::vector<uint8_t>& s, bool hd, bool dd, uint8_t flags = 0, uint32_t datao = 0) {
    testlib::append_pdu(s, make_c2h_data(1, datao, 512, flags), std::vector<uint8_t>(512, 0x3C), SendParams{hd, dd, 0});
}
void reseal(std::vector<uint8_t>& s) { store_le32(s.data() + s[2], crc32c(s.data(), s[2])); }

void check_injections(const Options& o, Tally& tally) {
    const std::vector<Injection> cases = {
        {"unknown PDU type", Role::Host, false, false, [](auto& s) { c2h(s, false, false); s[0] = 0x0B; },
         ErrorKind::UnknownPduType, Fes::InvalidHeaderField, 0},
        {"H2CData sent to the host", Role::Host, false, false,
         [](auto& s) { testlib::append_pdu(s, make_h2c_data(1, 1, 0, 4, 0), std::vector<uint8_t>(4), SendParams{}); },
         ErrorKind::UnknownPduType, Fes::InvalidHeaderField, 0},
        {"hlen 25 on C2HData", Role::Host, false, false, [](auto& s) { c2h(s, false, false); s[2] = 25; },
         ErrorKind::BadHlen, Fes::InvalidHeaderField, 2},
        {"pdo inside the header digest", Role::Host, true, false, [](auto& s) { c2h(s, true, false); s[3] = 26; },
         ErrorKind::BadPdo, Fes::InvalidHeaderField, 3},
        {"plen shorter than the header", Role::Host, false, false, [](auto& s) { c2h(s, false, false); s[4] = 16; s[5] = 0; },
         ErrorKind::BadPlen, Fes::InvalidHeaderField, 4},
        {"HDGSTF without negotiation", Role::Host, false, false, [](auto& s) { c2h(s, true, false); },
         ErrorKind::BadDigestFlags, Fes::InvalidHeaderField, 1},
        {"DDGSTF missing", Role::Host, false, true, [](auto& s) { c2h(s, false, false); },
         ErrorKind::BadDigestFlags, Fes::InvalidHeaderField, 1},
        {"header digest mismatch", Role::Host, true, false, [](auto& s) { c2h(s, true, false); s[9] ^= 1; },
         ErrorKind::HeaderDigestMismatch, Fes::HeaderDigestError, 24},
        {"SUCCESS without LAST_PDU", Role::Host, false, false,
         [](auto& s) { c2h(s, false, false, pdu_flags::kSuccess); }, ErrorKind::BadFlags, Fes::InvalidHeaderField, 1},
        {"datal disagrees with plen", Role::Host, true, false, [](auto& s) { c2h(s, true, false); s[16] ^= 4; reseal(s); },
         ErrorKind::DatalMismatch, Fes::InvalidHeaderField, 16},
        {"datao + datal wraps", Role::Host, false, false, [](auto& s) { c2h(s, false, false, 0, 0xFFFFFF00u); },
         ErrorKind::DataOutOfRange, Fes::DataOutOfRange, 12},
        {"H2CData over MAXH2CDATA", Role::Controller, false, false,
         [](auto& s) {
             testlib::append_pdu(s, make_h2c_data(1, 1, 0, 256 * 1024, 0), std::vector<uint8_t>(256 * 1024), SendParams{});
         },
         ErrorKind::DataLimitExceeded, Fes::DataLimitExceeded, 16},
        {"TermReq plen over 152", Role::Host, false, false,
         [](auto& s) {
             testlib::append_pdu(s, make_term_req(PduType::C2HTermReq, Fes::InvalidHeaderField, 0), {}, SendParams{});
             s[4] = 153;
         },
         ErrorKind::BadPlen, Fes::InvalidHeaderField, 4},
    };
    if (!o.quiet) std::printf("\nInjected protocol errors (each must be caught with its FES and field offset)\n");
    for (const auto& c : cases) {
        std::vector<uint8_t> stream;
        c.build(stream);
        ReceiveParams rp;
        rp.role = c.role;
        rp.header_digest = c.hdgst;
        rp.data_digest = c.ddgst;
        StreamParser parser(rp, false);
        const auto out = testlib::parse_whole(parser, stream);
        const bool ok = out.failed && out.error.kind == c.kind && out.error.fes == c.fes && out.error.fei == c.fei;
        tally.record(ok);
        if (!o.quiet || !ok) {
            char buf[256];
            std::printf("  %-30s -> %s  %s\n", c.name, out.failed ? describe(out.error, buf, sizeof buf) : "not detected",
                        ok ? "ok" : "WRONG");
        }
    }

    // A data digest mismatch fails the one PDU (and so its command), not the connection.
    std::vector<uint8_t> stream;
    c2h(stream, false, true);
    stream[40] ^= 0x10;
    c2h(stream, false, true);
    ReceiveParams rp;
    rp.data_digest = true;
    StreamParser parser(rp, false);
    const auto out = testlib::parse_whole(parser, stream);
    const bool ok = !out.failed && out.pdus.size() == 2 && out.pdus[0].digest == DigestStatus::Mismatch &&
                    out.pdus[1].digest == DigestStatus::Verified;
    tally.record(ok);
    if (!o.quiet || !ok) {
        std::printf("  %-30s -> %s  %s\n", "data digest mismatch",
                    ok ? "PDU failed, next PDU verified, connection kept" : "not as expected", ok ? "ok" : "WRONG");
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    std::string message;
    switch (selfcheck::parse_options(argc, argv, options, message)) {
        case selfcheck::ParseOutcome::Help:
            selfcheck::print_usage(argv[0]);
            return 0;
        case selfcheck::ParseOutcome::Error:
            std::fprintf(stderr, "nvmeddp-selfcheck: %s\n", message.c_str());
            return 2;
        case selfcheck::ParseOutcome::Run:
            break;
    }
    Tally tally;
    check_crc(options, tally);
    check_streams(options, tally);
    check_injections(options, tally);
    std::printf("%sselfcheck: %d passed, %d failed\n", options.quiet ? "" : "\n", tally.passed, tally.failed);
    return tally.failed == 0 ? 0 : 1;
}
