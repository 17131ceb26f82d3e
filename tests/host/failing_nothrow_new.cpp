// The replacement of operator new(size_t, const std::nothrow_t&) for the whole host_tests program
// (failing_nothrow_new.hpp). It allocates through the throwing operator new so that every
// allocation, and its delete, stays the one the C++ runtime (or a sanitizer's) pairs as new/delete.
#include "failing_nothrow_new.hpp"

#include <atomic>
#include <new>

namespace nvmeddp::nvmetcp::host::test {
namespace {
std::atomic<bool> fail_next{false};
std::atomic<uint64_t> failures{0};
}  // namespace

void fail_next_nothrow_new() noexcept { fail_next.store(true); }
uint64_t nothrow_new_failures() noexcept { return failures.load(); }

}  // namespace nvmeddp::nvmetcp::host::test

void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    using namespace nvmeddp::nvmetcp::host::test;
    if (fail_next.exchange(false)) {
        failures.fetch_add(1);
        return nullptr;
    }
    try {
        return ::operator new(size);
    } catch (...) {
        return nullptr;
    }
}
