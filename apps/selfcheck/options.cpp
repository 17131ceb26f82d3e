#include "options.hpp"

#include "common/cli.hpp"

#include <cstdio>
#include <cstring>

namespace nvmeddp::selfcheck {

void print_usage(const char* argv0) {
    std::printf(
        "usage: %s [options]\n"
        "\n"
        "Self-check of the nvmeddp NVMe/TCP protocol core on generated traffic: CRC32C known-answer\n"
        "vectors, stream parsing of generated C2H/H2C PDU streams (every digest and padding setting)\n"
        "cut into random TCP-sized pieces and compared byte for byte with what was generated, and\n"
        "every protocol error class injected and checked for its FES code and field offset.\n"
        "Exits 0 when every check passes, 1 otherwise.\n"
        "\n"
        "options:\n"
        "  --seed N        random seed for traffic and segmentation (default 1)\n"
        "  --pdus N        PDUs per generated stream, 1..1000000 (default 2000)\n"
        "  --max-data N    largest PDU data length in bytes, 1..16777216 (default 131072)\n"
        "  --max-piece N   largest segment when cutting the stream, 1..65536 (default 1448)\n"
        "  --quiet         print only the summary line\n"
        "  -h, --help      this text\n",
        argv0);
}

ParseOutcome parse_options(int argc, char** argv, Options& o, std::string& message) {
    for (int i = 1; i < argc; ++i) {
        const char* arg = argv[i];
        auto value = [&](uint64_t min, uint64_t max, uint64_t& out) {
            const char* v = i + 1 < argc ? argv[++i] : nullptr;
            if (cli::parse_u64(v, min, max, out)) return true;
            message = std::string(arg) + " needs a number in [" + std::to_string(min) + ", " + std::to_string(max) +
                      "], got '" + (v ? v : "") + "'";
            return false;
        };
        uint64_t v = 0;
        if (!std::strcmp(arg, "-h") || !std::strcmp(arg, "--help")) return ParseOutcome::Help;
        if (!std::strcmp(arg, "--quiet")) {
            o.quiet = true;
        } else if (!std::strcmp(arg, "--seed")) {
            if (!value(0, UINT64_MAX, v)) return ParseOutcome::Error;
            o.seed = v;
        } else if (!std::strcmp(arg, "--pdus")) {
            if (!value(1, 1000000, v)) return ParseOutcome::Error;
            o.pdus = static_cast<uint32_t>(v);
        } else if (!std::strcmp(arg, "--max-data")) {
            if (!value(1, 16u << 20, v)) return ParseOutcome::Error;
            o.max_data = static_cast<uint32_t>(v);
        } else if (!std::strcmp(arg, "--max-piece")) {
            if (!value(1, 65536, v)) return ParseOutcome::Error;
            o.max_piece = static_cast<uint32_t>(v);
        } else {
            message = std::string("unknown option '") + arg + "' (see --help)";
            return ParseOutcome::Error;
        }
    }
    return ParseOutcome::Run;
}

}  // namespace nvmeddp::selfcheck
