// The one-pass copy + CRC32C against memcpy + isa-l: every length up to a few KiB, every source and
// destination alignment mod 16, random seeds; and the destination bytes around the copy untouched.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string_view>
#include <vector>

#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/crc32c_copy.hpp"

using namespace nvmeddp::nvmetcp;

namespace {

// Runs a test body once per implementation this CPU has, restoring the default after.
template <typename F>
void for_each_implementation(F&& body) {
    const char* initial = crc32c_copy_implementation();
    for (const char* name : {"two-pass", "pclmul", "avx512"}) {
        if (!crc32c_copy_select(name)) continue;
        SCOPED_TRACE(crc32c_copy_implementation());
        body();
    }
    crc32c_copy_select(std::string_view(initial).find("AVX-512") != std::string_view::npos ? "avx512"
                       : std::string_view(initial).find("PCLMUL") != std::string_view::npos ? "pclmul"
                                                                                           : "two-pass");
}

}  // namespace

TEST(Crc32cCopy, EqualsCrcAndCopyForEveryLengthAndAlignment) { for_each_implementation([] {
    std::mt19937_64 rng(11);
    std::vector<uint8_t> src(5000 + 32);
    for (auto& b : src) b = static_cast<uint8_t>(rng());
    std::vector<uint8_t> dst(src.size() + 64);
    for (size_t len = 0; len <= 3000; ++len) {
        const size_t so = len % 16;
        const size_t dof = (len * 7) % 16;
        const auto state = static_cast<uint32_t>(rng());
        std::fill(dst.begin(), dst.end(), 0xA5);
        const uint32_t got = crc32c_copy_extend(state, dst.data() + 8 + dof, src.data() + so, len);
        ASSERT_EQ(got, crc32c_extend(state, src.data() + so, len)) << "len " << len;
        ASSERT_TRUE(std::equal(src.begin() + static_cast<ptrdiff_t>(so), src.begin() + static_cast<ptrdiff_t>(so + len),
                               dst.begin() + static_cast<ptrdiff_t>(8 + dof)))
            << "len " << len;
        for (size_t i = 0; i < 8 + dof; ++i) ASSERT_EQ(dst[i], 0xA5);
        for (size_t i = 8 + dof + len; i < dst.size(); ++i) ASSERT_EQ(dst[i], 0xA5);
    }
}); }

TEST(Crc32cCopy, LargeBuffersAndTheKnownAnswer) { for_each_implementation([] {
    const char* msg = "123456789";
    uint8_t out[9];
    EXPECT_EQ(~crc32c_copy_extend(Crc32c::kSeed, out, msg, 9), 0xE3069283u);
    std::mt19937_64 rng(5);
    std::vector<uint8_t> src(1 << 20), dst(1 << 20);
    for (auto& b : src) b = static_cast<uint8_t>(rng());
    for (size_t len : {size_t{4096}, size_t{65536}, size_t{1} << 20, size_t{1448 * 45 + 3}}) {
        EXPECT_EQ(crc32c_copy_extend(Crc32c::kSeed, dst.data(), src.data(), len), crc32c_extend(Crc32c::kSeed, src.data(), len));
        EXPECT_TRUE(std::equal(src.begin(), src.begin() + static_cast<ptrdiff_t>(len), dst.begin()));
    }
    // Incremental over pieces equals one pass.
    uint32_t s = Crc32c::kSeed;
    for (size_t at = 0; at < 100000; at += 1448) s = crc32c_copy_extend(s, dst.data() + at, src.data() + at, std::min<size_t>(1448, 100000 - at));
    EXPECT_EQ(s, crc32c_extend(Crc32c::kSeed, src.data(), 100000));
}); }

TEST(Crc32cCopy, ReportsWhichImplementationRuns) {
#if defined(__x86_64__)
    EXPECT_EQ(crc32c_copy_is_fused(), __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.2"));
#endif
    std::printf("crc32c_copy: %s\n", crc32c_copy_implementation());
    EXPECT_FALSE(crc32c_copy_select("sse9"));
}
