// Command line of nvmeddp-selfcheck.
#pragma once

#include <cstdint>
#include <string>

namespace nvmeddp::selfcheck {

struct Options {
    uint64_t seed = 1;
    uint32_t pdus = 2000;          // PDUs per generated stream
    uint32_t max_data = 131072;    // largest C2HData payload
    uint32_t max_piece = 1448;     // random segmentation: largest piece (one TCP MSS by default)
    bool quiet = false;
};

enum class ParseOutcome { Run, Help, Error };

// Fills options from argv; on Error, message says what was wrong.
ParseOutcome parse_options(int argc, char** argv, Options& options, std::string& message);
void print_usage(const char* argv0);

}  // namespace nvmeddp::selfcheck
