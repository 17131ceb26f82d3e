// Allocation failure on demand for the host's tests: host_tests replaces the nothrow form of
// operator new (failing_nothrow_new.cpp), the one the host uses where running out of memory is a
// failure it reports rather than an exception. Only that form: everything else allocates as usual.
#pragma once

#include <cstdint>

namespace nvmeddp::nvmetcp::host::test {

// The next nothrow operator new (any size) returns null; later ones allocate again.
void fail_next_nothrow_new() noexcept;
// Nothrow allocations failed on demand so far (a test checks its failure was the one it caused).
uint64_t nothrow_new_failures() noexcept;

}  // namespace nvmeddp::nvmetcp::host::test
