// The one-pass copy + CRC32C against memcpy + isa-l, for every path: the x86 hardware paths where
// this CPU has their instructions (else the test is skipped, saying so), and their algorithms on
// software-emulated instructions on every CPU, so that a wrong fold constant or tail in the AVX-512,
// AVX2 or PCLMULQDQ path (plain or mixed) fails on a machine without those instructions too. Every
// length up to 1 KiB at every source alignment mod 64, every source/destination alignment pair at the lengths where the fold changes step, longer
// lengths up to 1 MiB, random states; the bytes around the destination must stay untouched.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "crc32c_copy_paths.hpp"
#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/crc32c_copy.hpp"

using namespace nvmeddp::nvmetcp;
using nvmeddp::nvmetcp::test::CopyPath;

namespace {

constexpr size_t kAlign = 64;  // a ZMM register: every offset the loads and stores can see
constexpr uint8_t kGuard = 0xA5;

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
}

// Copies src[so, so + len) to dst + guard + dof through the selected path and checks the state
// against isa-l, the copy, and that no byte outside it was written.
::testing::AssertionResult copies_and_extends(std::vector<uint8_t>& dst, const std::vector<uint8_t>& src, size_t so,
                                              size_t dof, size_t len, uint32_t state) {
    std::fill(dst.begin(), dst.end(), kGuard);
    const size_t at = kAlign + dof;
    const uint32_t got = crc32c_copy_extend(state, dst.data() + at, src.data() + so, len);
    const uint32_t want = crc32c_extend(state, src.data() + so, len);
    auto where = [&] { return " (len " + std::to_string(len) + ", src +" + std::to_string(so) + ", dst +" + std::to_string(dof) + ")"; };
    if (got != want) return ::testing::AssertionFailure() << std::hex << "state " << got << ", isa-l " << want << where();
    if (!std::equal(src.begin() + static_cast<ptrdiff_t>(so), src.begin() + static_cast<ptrdiff_t>(so + len),
                    dst.begin() + static_cast<ptrdiff_t>(at))) {
        return ::testing::AssertionFailure() << "copy differs" << where();
    }
    for (size_t i = 0; i < dst.size(); ++i) {
        if ((i < at || i >= at + len) && dst[i] != kGuard) {
            return ::testing::AssertionFailure() << "wrote byte " << i << " outside the copy" << where();
        }
    }
    return ::testing::AssertionSuccess();
}

// Each test runs with its path selected, and puts the default back after.
class Crc32cCopyPath : public ::testing::TestWithParam<CopyPath> {
protected:
    void SetUp() override {
        if (!crc32c_copy_select(GetParam().name)) GTEST_SKIP() << GetParam().name << " " << test::not_run_reason(GetParam());
    }
    void TearDown() override { crc32c_copy_select(default_.c_str()); }

private:
    std::string default_ = crc32c_copy_name();
};

}  // namespace

TEST_P(Crc32cCopyPath, EveryLengthTo1KiBAtEverySourceAlignment) {
    const auto src = random_bytes(1024 + kAlign, 11);
    std::vector<uint8_t> dst(1024 + 3 * kAlign);
    std::mt19937 rng(12);
    for (size_t len = 0; len <= 1024; ++len) {
        for (size_t so = 0; so < kAlign; ++so) {
            const size_t dof = (so * 7 + len) % kAlign;  // every destination alignment too, paired differently per length
            ASSERT_TRUE(copies_and_extends(dst, src, so, dof, len, static_cast<uint32_t>(rng())));
        }
    }
}

// Lengths around each change of step: the 16-, 32-, 64-, 128-, 256- and 512-byte blocks, the mixed
// loops going on in their plain fold (512 + 64, + 128, + 256 and the same after 1024), and the byte tail.
TEST_P(Crc32cCopyPath, EveryAlignmentPairWhereTheFoldChangesStep) {
    const auto src = random_bytes(1500 + kAlign, 13);
    std::vector<uint8_t> dst(1500 + 3 * kAlign);
    std::mt19937 rng(14);
    for (size_t len : {0, 1, 7, 8, 9, 15, 16, 17, 24, 63, 64, 65, 72, 80, 127, 128, 129, 144, 159, 160, 176, 191, 255,
                       256, 257, 264, 272, 320, 383, 384, 511, 512, 513, 527, 575, 576, 639, 640, 767, 1023, 1024, 1040, 1087, 1088, 1151, 1152, 1448}) {
        for (size_t so = 0; so < kAlign; ++so) {
            for (size_t dof = 0; dof < kAlign; ++dof) {
                ASSERT_TRUE(copies_and_extends(dst, src, so, dof, len, static_cast<uint32_t>(rng())));
            }
        }
    }
}

TEST_P(Crc32cCopyPath, LongerLengths) {
    const auto src = random_bytes((size_t{1} << 20) + kAlign, 15);
    std::vector<uint8_t> dst(src.size() + 2 * kAlign);
    std::mt19937 rng(16);
    std::vector<size_t> lengths = {4096, 8948, 65536, 1448 * 45 + 3, (size_t{1} << 20) - 1, size_t{1} << 20};
    for (size_t len = 1025; len < 20000; len += 97) lengths.push_back(len);
    for (size_t len : lengths) {
        const size_t so = rng() % kAlign;
        const size_t dof = rng() % kAlign;
        const size_t n = std::min(len, src.size() - so);
        ASSERT_TRUE(copies_and_extends(dst, src, so, dof, n, static_cast<uint32_t>(rng())));
    }
}

TEST_P(Crc32cCopyPath, KnownAnswerAndPiecesEqualOnePass) {
    const char* msg = "123456789";
    uint8_t out[9];
    EXPECT_EQ(~crc32c_copy_extend(Crc32c::kSeed, out, msg, 9), 0xE3069283u);

    const auto src = random_bytes(100000, 5);
    std::vector<uint8_t> dst(src.size());
    uint32_t s = Crc32c::kSeed;
    for (size_t at = 0; at < src.size(); at += 1448) {
        s = crc32c_copy_extend(s, dst.data() + at, src.data() + at, std::min<size_t>(1448, src.size() - at));
    }
    EXPECT_EQ(s, crc32c_extend(Crc32c::kSeed, src.data(), src.size()));
    EXPECT_EQ(dst, src);
}

INSTANTIATE_TEST_SUITE_P(Paths, Crc32cCopyPath, ::testing::ValuesIn(test::kCopyPaths),
                         [](const auto& param_info) { return test::test_name(param_info.param); });

// The default is the best hardware path, never an emulation: the widest fold the CPU has (AVX-512,
// else AVX2 + VPCLMULQDQ (Zen 3, Alder Lake), else PCLMULQDQ), plain or mixed as the start-up
// calibration found faster, and the reason names both with their figures; and a path can be
// selected exactly when the CPU has its instructions. The log says which paths this CPU ran in
// hardware and which only as emulations.
TEST(Crc32cCopy, DefaultIsTheBestHardwarePathAndTheLogSaysWhichRan) {
    if (const char* forced = std::getenv("NVMEDDP_CRC32C_PATH"); forced != nullptr && *forced != '\0') {
        GTEST_SKIP() << "NVMEDDP_CRC32C_PATH=" << forced << " sets the default instead of the calibration";
    }
    const std::string def = crc32c_copy_name();
    const std::string reason = crc32c_copy_default_reason();
    EXPECT_EQ(def.find("emulated"), std::string::npos);
#if defined(__x86_64__)
    const bool pclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.2");
    const bool avx2 = pclmul && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("vpclmulqdq");
    const bool avx512 = pclmul && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("vpclmulqdq");
    const std::string widest = avx512 ? "avx512" : avx2 ? "avx2" : pclmul ? "pclmul" : "";
    if (widest.empty()) {
        EXPECT_EQ(def, __builtin_cpu_supports("sse4.2") ? "crc32q" : "two-pass");
    } else {
        EXPECT_TRUE(def == widest || def == widest + "-mixed") << def;
        EXPECT_NE(reason.find(widest + " "), std::string::npos) << reason;
        EXPECT_NE(reason.find(widest + "-mixed "), std::string::npos) << reason;
        EXPECT_NE(reason.find("GB/s"), std::string::npos) << reason;
    }
    EXPECT_EQ(crc32c_copy_is_fused(), pclmul);
    EXPECT_EQ(test::cpu_runs(test::kHardwarePaths[0]), pclmul);
    EXPECT_EQ(test::cpu_runs(test::kHardwarePaths[1]), avx2);
    EXPECT_EQ(test::cpu_runs(test::kHardwarePaths[2]), avx512);
    EXPECT_EQ(test::cpu_runs(test::kHardwarePaths[4]), avx512);
    EXPECT_EQ(test::cpu_runs(test::kHardwarePaths[5]), avx2);
    EXPECT_EQ(test::cpu_runs(test::kHardwarePaths[6]), pclmul);
#endif
    std::string hardware, emulated_only;
    for (const auto& p : test::kHardwarePaths) (test::cpu_runs(p) ? hardware : emulated_only) += std::string(" ") + p.name;
    std::printf("crc32c_copy: default %s (%s; %s); in hardware:%s; only emulated:%s\n", def.c_str(),
                crc32c_copy_implementation(), reason.c_str(), hardware.empty() ? " none" : hardware.c_str(),
                emulated_only.empty() ? " none" : emulated_only.c_str());
    EXPECT_EQ(crc32c_copy_name(), def);
    EXPECT_FALSE(crc32c_copy_select("sse9"));
}
