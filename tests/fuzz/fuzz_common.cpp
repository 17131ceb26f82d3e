#include <cstdio>
#include <cstdlib>

#include "fuzz_input.hpp"

namespace nvmeddp::fuzz {

void invariant_broken(const char* what, const char* detail) {
    std::fprintf(stderr, "fuzz invariant broken: %s %s\n", what, detail);
    std::abort();
}

}  // namespace nvmeddp::fuzz
