// Shared by the tcp/ test files (one binary, tcp_tests): the EAL brought up once without hugepages
// and an mbuf pool, so that tests can build segments as the endpoint receives them. If the EAL
// cannot start, every test that needs it fails (REQUIRE_TCP_EAL) and says why.
#pragma once

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace nvmeddp::tcp_test {

// Empty once the EAL and the pool are up, else why not.
const std::string& eal_error();
// 8191 mbufs of 2 KiB data room.
rte_mempool* pool();

#define REQUIRE_TCP_EAL()                                  \
    ASSERT_TRUE(::nvmeddp::tcp_test::eal_error().empty()) \
        << "cannot run without the EAL: " << ::nvmeddp::tcp_test::eal_error()

// An mbuf (chain of segments of at most `seg` bytes) holding `bytes`; null when the pool is empty.
rte_mbuf* mbuf_of(std::span<const uint8_t> bytes, size_t seg = 2048);
// The data of an mbuf chain.
std::vector<uint8_t> bytes_of(const rte_mbuf* m);
// Mbufs of the pool in use right now (to see that a test freed what it took).
unsigned mbufs_in_use();

}  // namespace nvmeddp::tcp_test
