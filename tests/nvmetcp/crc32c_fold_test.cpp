// The pieces the copy + CRC32C folds are built of, checked on their own: the constants against the
// polynomial, the software instructions the emulated paths use against their definition, isa-l and
// (where this CPU has them) the x86 instructions; and each hardware path against its emulation.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "crc32c_copy_paths.hpp"
#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/crc32c_fold_constants.hpp"
#include "nvmetcp/crc32c_fold_paths.hpp"
#include "nvmetcp/crc32c_fold_soft.hpp"

using namespace nvmeddp::nvmetcp;
using namespace nvmeddp::nvmetcp::crc32c_fold;

namespace {

// x^n mod P for CRC32C's P = x^32 + 0x1EDC6F41, bit i the coefficient of x^i.
uint32_t x_pow_mod_p(unsigned n) {
    uint64_t r = 1;
    for (unsigned i = 0; i < n; ++i) {
        r <<= 1;
        if (r >> 32) r ^= 0x11EDC6F41u;
    }
    return static_cast<uint32_t>(r);
}

uint32_t reflect32(uint32_t v) {
    uint32_t r = 0;
    for (int i = 0; i < 32; ++i) r |= ((v >> i) & 1u) << (31 - i);
    return r;
}

// What crc32c_fold_constants.hpp says each constant is: for a fold by d bits, reflect32(x^n mod P)
// << 1 with n = d + 32 for the low half and d - 32 for the high half.
FoldConstant fold_by(unsigned d) {
    return {uint64_t{reflect32(x_pow_mod_p(d + 32))} << 1, uint64_t{reflect32(x_pow_mod_p(d - 32))} << 1};
}

}  // namespace

TEST(Crc32cFold, ConstantsAreTheFoldDistancesOfThePolynomial) {
    const struct {
        FoldConstant k;
        unsigned bits;
    } cases[] = {{kFold4096, 4096}, {kFold2048, 2048}, {kFold1024, 1024}, {kFold512, 512}, {kFold384, 384}, {kFold256, 256}, {kFold128, 128}};
    for (const auto& c : cases) {
        SCOPED_TRACE(c.bits);
        EXPECT_EQ(c.k.lo, fold_by(c.bits).lo);
        EXPECT_EQ(c.k.hi, fold_by(c.bits).hi);
    }
}

TEST(Crc32cFold, SoftwareCarryLessMultiply) {
    // (x + 1)^2 = x^2 + 1; x^63 * x^63 = x^126; (x^63 + ... + x + 1)^2 = x^126 + ... + x^2 + 1.
    EXPECT_EQ(clmul64(3, 3).lo, 5u);
    EXPECT_EQ(clmul64(3, 3).hi, 0u);
    EXPECT_EQ(clmul64(uint64_t{1} << 63, uint64_t{1} << 63).lo, 0u);
    EXPECT_EQ(clmul64(uint64_t{1} << 63, uint64_t{1} << 63).hi, uint64_t{1} << 62);
    EXPECT_EQ(clmul64(~uint64_t{0}, ~uint64_t{0}).lo, 0x5555555555555555u);
    EXPECT_EQ(clmul64(~uint64_t{0}, ~uint64_t{0}).hi, 0x5555555555555555u);
    // Commutative, and distributive over xor (addition of polynomials over GF(2)).
    std::mt19937_64 rng(1);
    for (int i = 0; i < 1000; ++i) {
        const uint64_t a = rng(), b = rng(), c = rng();
        EXPECT_EQ(clmul64(a, b).lo, clmul64(b, a).lo);
        EXPECT_EQ(clmul64(a, b).hi, clmul64(b, a).hi);
        EXPECT_EQ(clmul64(a, b ^ c).lo, clmul64(a, b).lo ^ clmul64(a, c).lo);
        EXPECT_EQ(clmul64(a, b ^ c).hi, clmul64(a, b).hi ^ clmul64(a, c).hi);
    }
}

TEST(Crc32cFold, SoftwareCrc32InstructionMatchesIsal) {
    std::mt19937_64 rng(2);
    for (int i = 0; i < 1000; ++i) {
        const uint64_t v = rng();
        const auto s = static_cast<uint32_t>(rng());
        uint8_t bytes[8];
        for (int b = 0; b < 8; ++b) bytes[b] = static_cast<uint8_t>(v >> (8 * b));  // little-endian, as loaded
        EXPECT_EQ(crc32c_u64(s | (rng() << 32), v), crc32c_extend(s, bytes, 8));  // upper half of s ignored
        EXPECT_EQ(crc32c_u8(s, bytes[0]), crc32c_extend(s, bytes, 1));
    }
}

#if defined(__x86_64__)
namespace {

__attribute__((target("pclmul"))) Soft128 hw_clmul(uint64_t a, uint64_t b, bool high) {
    const __m128i va = _mm_set_epi64x(static_cast<long long>(a), static_cast<long long>(a));
    const __m128i vb = _mm_set_epi64x(static_cast<long long>(b), static_cast<long long>(b));
    const __m128i p = high ? _mm_clmulepi64_si128(va, vb, 0x11) : _mm_clmulepi64_si128(va, vb, 0x00);
    return {static_cast<uint64_t>(_mm_cvtsi128_si64(p)), static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(p, p)))};
}

__attribute__((target("sse4.2"))) uint64_t hw_crc32_u64(uint64_t s, uint64_t v) { return _mm_crc32_u64(s, v); }
__attribute__((target("sse4.2"))) uint32_t hw_crc32_u8(uint32_t c, uint8_t v) { return _mm_crc32_u8(c, v); }

}  // namespace
#endif

TEST(Crc32cFold, SoftwareInstructionsMatchTheX86Ones) {
#if defined(__x86_64__)
    if (!__builtin_cpu_supports("pclmul") || !__builtin_cpu_supports("sse4.2")) {
        GTEST_SKIP() << "this CPU lacks SSE4.2 + PCLMULQDQ: the emulated instructions are checked only against their "
                        "definition and isa-l";
    }
    std::mt19937_64 rng(3);
    for (int i = 0; i < 100000; ++i) {
        const uint64_t a = rng(), b = rng();
        for (bool high : {false, true}) {
            const Soft128 sw = clmul64(a, b), hw = hw_clmul(a, b, high);
            ASSERT_EQ(sw.lo, hw.lo) << std::hex << a << " * " << b;
            ASSERT_EQ(sw.hi, hw.hi) << std::hex << a << " * " << b;
        }
        ASSERT_EQ(crc32c_u64(a, b), hw_crc32_u64(a, b));
        ASSERT_EQ(crc32c_u8(static_cast<uint32_t>(a), static_cast<uint8_t>(b)),
                  hw_crc32_u8(static_cast<uint32_t>(a), static_cast<uint8_t>(b)));
    }
#else
    GTEST_SKIP() << "not x86-64: no hardware instructions to compare with";
#endif
}

namespace {

using CopyFn = uint32_t (*)(uint32_t, void*, const void*, size_t) noexcept;

struct HardwareAndEmulation {
    test::CopyPath path;
    CopyFn hardware;  // nullptr off x86
    CopyFn emulated;
};

void PrintTo(const HardwareAndEmulation& p, std::ostream* os) { *os << p.path.name; }

class Crc32cFoldPath : public ::testing::TestWithParam<HardwareAndEmulation> {};

#if defined(__x86_64__)
constexpr CopyFn kPclmul = copy_pclmul;
constexpr CopyFn kAvx2 = copy_avx2;
constexpr CopyFn kAvx512 = copy_avx512;
constexpr CopyFn kAvx512Mixed = copy_avx512_mixed;
constexpr CopyFn kAvx2Mixed = copy_avx2_mixed;
constexpr CopyFn kPclmulMixed = copy_pclmul_mixed;
#else
constexpr CopyFn kPclmul = nullptr;
constexpr CopyFn kAvx2 = nullptr;
constexpr CopyFn kAvx512 = nullptr;
constexpr CopyFn kAvx512Mixed = nullptr;
constexpr CopyFn kAvx2Mixed = nullptr;
constexpr CopyFn kPclmulMixed = nullptr;
#endif

const HardwareAndEmulation kFoldPaths[] = {
    {test::kHardwarePaths[0], kPclmul, copy_pclmul_emulated},
    {test::kHardwarePaths[1], kAvx2, copy_avx2_emulated},
    {test::kHardwarePaths[2], kAvx512, copy_avx512_emulated},
    {test::kHardwarePaths[4], kAvx512Mixed, copy_avx512_mixed_emulated},
    {test::kHardwarePaths[5], kAvx2Mixed, copy_avx2_mixed_emulated},
    {test::kHardwarePaths[6], kPclmulMixed, copy_pclmul_mixed_emulated},
};

}  // namespace

// The hardware path and its emulation give the same state and bytes, and both equal isa-l.
TEST_P(Crc32cFoldPath, HardwareEqualsEmulationEqualsIsal) {
    const auto& p = GetParam();
    if (p.hardware == nullptr || !test::cpu_runs(p.path)) GTEST_SKIP() << p.path.name << " " << test::not_run_reason(p.path);
    std::mt19937_64 rng(4);
    std::vector<uint8_t> src(40000), hw_dst(src.size()), emu_dst(src.size());
    for (auto& b : src) b = static_cast<uint8_t>(rng());
    for (int i = 0; i < 3000; ++i) {
        const size_t so = rng() % 64;
        const size_t len = i < 1000 ? rng() % 1100 : rng() % (src.size() - so);
        const auto state = static_cast<uint32_t>(rng());
        const uint32_t hw = p.hardware(state, hw_dst.data(), src.data() + so, len);
        const uint32_t emu = p.emulated(state, emu_dst.data(), src.data() + so, len);
        ASSERT_EQ(hw, emu) << "len " << len;
        ASSERT_EQ(hw, crc32c_extend(state, src.data() + so, len)) << "len " << len;
        ASSERT_TRUE(std::equal(hw_dst.begin(), hw_dst.begin() + static_cast<ptrdiff_t>(len), emu_dst.begin()));
    }
}

INSTANTIATE_TEST_SUITE_P(Paths, Crc32cFoldPath, ::testing::ValuesIn(kFoldPaths),
                         [](const auto& param_info) { return test::test_name(param_info.param.path); });

// "pclmul" runs the VEX-encoded build where the CPU has AVX: it must give what the legacy-SSE build
// and the emulation give, on the same inputs.
TEST(Crc32cFold, PclmulVexBuildEqualsLegacyBuildEqualsEmulation) {
#if defined(__x86_64__)
    if (!__builtin_cpu_supports("pclmul") || !__builtin_cpu_supports("sse4.2") || !__builtin_cpu_supports("avx")) {
        GTEST_SKIP() << "this CPU lacks AVX, SSE4.2 or PCLMULQDQ: pclmul runs its legacy-SSE build only";
    }
    std::mt19937_64 rng(6);
    std::vector<uint8_t> src(20000), vex_dst(src.size()), sse_dst(src.size()), emu_dst(src.size());
    for (auto& b : src) b = static_cast<uint8_t>(rng());
    for (int i = 0; i < 3000; ++i) {
        const size_t so = rng() % 64;
        const size_t len = i < 1500 ? static_cast<size_t>(i) : rng() % (src.size() - so);
        const auto state = static_cast<uint32_t>(rng());
        const uint32_t vex = copy_pclmul_vex(state, vex_dst.data(), src.data() + so, len);
        ASSERT_EQ(vex, copy_pclmul(state, sse_dst.data(), src.data() + so, len)) << "len " << len;
        ASSERT_EQ(vex, copy_pclmul_emulated(state, emu_dst.data(), src.data() + so, len)) << "len " << len;
        ASSERT_EQ(vex, crc32c_extend(state, src.data() + so, len)) << "len " << len;
        ASSERT_TRUE(std::equal(src.begin() + static_cast<ptrdiff_t>(so), src.begin() + static_cast<ptrdiff_t>(so + len), vex_dst.begin()));
        // The mixed loop, both builds likewise.
        const uint32_t mixed_vex = copy_pclmul_mixed_vex(state, vex_dst.data(), src.data() + so, len);
        ASSERT_EQ(mixed_vex, copy_pclmul_mixed(state, sse_dst.data(), src.data() + so, len)) << "len " << len;
        ASSERT_EQ(mixed_vex, vex) << "len " << len;
        ASSERT_TRUE(std::equal(src.begin() + static_cast<ptrdiff_t>(so), src.begin() + static_cast<ptrdiff_t>(so + len), vex_dst.begin()));
        ASSERT_TRUE(std::equal(src.begin() + static_cast<ptrdiff_t>(so), src.begin() + static_cast<ptrdiff_t>(so + len), sse_dst.begin()));
    }
#else
    GTEST_SKIP() << "not x86-64";
#endif
}
