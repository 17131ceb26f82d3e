// Which copy + CRC32C path runs: the fastest the CPU has (crc32c_fold_*.cpp), or a name a test or
// benchmark selected.
#include "nvmetcp/crc32c_copy.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>

#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/crc32c_fold_paths.hpp"

namespace nvmeddp::nvmetcp {

namespace {

uint32_t two_pass(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    std::memcpy(dst, src, len);
    return crc32c_extend(state, dst, len);
}

enum class Impl : uint8_t {
    TwoPass,
    Pclmul,
    Avx2,
    Avx512,
    Avx512Mixed,
    Avx2Mixed,
    PclmulMixed,
    Crc32q,
    PclmulEmulated,
    Avx2Emulated,
    Avx512Emulated,
    Avx512MixedEmulated,
    Avx2MixedEmulated,
    PclmulMixedEmulated,
    Crc32qEmulated
};

struct ImplInfo {
    Impl impl;
    const char* name;         // what crc32c_copy_select() takes
    const char* description;  // what crc32c_copy_implementation() says
};

constexpr ImplInfo kImpls[] = {
    {Impl::TwoPass, "two-pass", "two passes: memcpy, then isa-l"},
    {Impl::Pclmul, "pclmul", "one pass, PCLMULQDQ (VEX-encoded where the CPU has AVX)"},
    {Impl::Avx2, "avx2", "one pass, AVX2 VPCLMULQDQ"},
    {Impl::Avx512, "avx512", "one pass, AVX-512 VPCLMULQDQ"},
    {Impl::Avx512Mixed, "avx512-mixed", "one pass, AVX-512 VPCLMULQDQ on half the bytes, crc32 on the other half"},
    {Impl::Avx2Mixed, "avx2-mixed", "one pass, AVX2 VPCLMULQDQ on part of the bytes, crc32 on the rest"},
    {Impl::PclmulMixed, "pclmul-mixed", "one pass, PCLMULQDQ on part of the bytes, crc32 on the rest"},
    {Impl::Crc32q, "crc32q", "one pass, SSE4.2 crc32 on three interleaved lanes"},
    {Impl::PclmulEmulated, "pclmul-emulated", "one pass, PCLMULQDQ folding emulated in software (tests only)"},
    {Impl::Avx2Emulated, "avx2-emulated", "one pass, AVX2 VPCLMULQDQ folding emulated in software (tests only)"},
    {Impl::Avx512Emulated, "avx512-emulated", "one pass, AVX-512 VPCLMULQDQ folding emulated in software (tests only)"},
    {Impl::Avx512MixedEmulated, "avx512-mixed-emulated",
     "one pass, AVX-512 VPCLMULQDQ folding and crc32 on half the bytes each, emulated in software (tests only)"},
    {Impl::Avx2MixedEmulated, "avx2-mixed-emulated",
     "one pass, AVX2 VPCLMULQDQ folding and crc32 on part of the bytes each, emulated in software (tests only)"},
    {Impl::PclmulMixedEmulated, "pclmul-mixed-emulated",
     "one pass, PCLMULQDQ folding and crc32 on part of the bytes each, emulated in software (tests only)"},
    {Impl::Crc32qEmulated, "crc32q-emulated", "one pass, three interleaved crc32 lanes in software (tests only)"},
};

const ImplInfo& info(Impl impl) noexcept {
    for (const auto& i : kImpls) {
        if (i.impl == impl) return i;
    }
    return kImpls[0];
}

// Whether this CPU has every instruction the path runs, each path checked on its own flags: a CPU may
// have one wide path and not another (Zen 3: AVX2 + VPCLMULQDQ, no AVX-512).
bool available(Impl impl) noexcept {
    switch (impl) {
        case Impl::TwoPass:
        case Impl::PclmulEmulated:
        case Impl::Avx2Emulated:
        case Impl::Avx512Emulated:
        case Impl::Avx512MixedEmulated:
        case Impl::Avx2MixedEmulated:
        case Impl::PclmulMixedEmulated:
        case Impl::Crc32qEmulated: return true;
#if defined(__x86_64__)
        case Impl::Crc32q: return __builtin_cpu_supports("sse4.2");
        case Impl::Pclmul: return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.2");
        case Impl::Avx2: return available(Impl::Pclmul) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("vpclmulqdq");
        case Impl::Avx512:
            return available(Impl::Pclmul) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("vpclmulqdq");
        case Impl::Avx512Mixed: return available(Impl::Avx512);
        case Impl::Avx2Mixed: return available(Impl::Avx2);
        case Impl::PclmulMixed: return available(Impl::Pclmul);
#else
        case Impl::Pclmul:
        case Impl::Avx2:
        case Impl::Avx512:
        case Impl::Avx512Mixed:
        case Impl::Avx2Mixed:
        case Impl::PclmulMixed:
        case Impl::Crc32q: return false;
#endif
    }
    return false;
}

#if defined(__x86_64__)
// "pclmul" in VEX encodings where the CPU has AVX (crc32c_fold_pclmul_vex.cpp says why). Before
// g_impl: its calibration runs the path.
const bool g_pclmul_vex = __builtin_cpu_supports("avx");
#endif

uint32_t run(Impl impl, uint32_t state, void* dst, const void* src, size_t len) noexcept {
    switch (impl) {
#if defined(__x86_64__)
        case Impl::Avx512: return crc32c_fold::copy_avx512(state, dst, src, len);
        case Impl::Avx512Mixed: return crc32c_fold::copy_avx512_mixed(state, dst, src, len);
        case Impl::Avx2: return crc32c_fold::copy_avx2(state, dst, src, len);
        case Impl::Pclmul:
            return g_pclmul_vex ? crc32c_fold::copy_pclmul_vex(state, dst, src, len) : crc32c_fold::copy_pclmul(state, dst, src, len);
        case Impl::Avx2Mixed: return crc32c_fold::copy_avx2_mixed(state, dst, src, len);
        case Impl::PclmulMixed:
            return g_pclmul_vex ? crc32c_fold::copy_pclmul_mixed_vex(state, dst, src, len)
                                : crc32c_fold::copy_pclmul_mixed(state, dst, src, len);
        case Impl::Crc32q: return crc32c_fold::copy_crc32q(state, dst, src, len);
#else
        case Impl::Avx512:
        case Impl::Avx512Mixed:
        case Impl::Avx2:
        case Impl::Avx2Mixed:
        case Impl::Pclmul:
        case Impl::PclmulMixed:
        case Impl::Crc32q: break;
#endif
        case Impl::PclmulEmulated: return crc32c_fold::copy_pclmul_emulated(state, dst, src, len);
        case Impl::Avx2Emulated: return crc32c_fold::copy_avx2_emulated(state, dst, src, len);
        case Impl::Avx512Emulated: return crc32c_fold::copy_avx512_emulated(state, dst, src, len);
        case Impl::Avx512MixedEmulated: return crc32c_fold::copy_avx512_mixed_emulated(state, dst, src, len);
        case Impl::Avx2MixedEmulated: return crc32c_fold::copy_avx2_mixed_emulated(state, dst, src, len);
        case Impl::PclmulMixedEmulated: return crc32c_fold::copy_pclmul_mixed_emulated(state, dst, src, len);
        case Impl::Crc32qEmulated: return crc32c_fold::copy_crc32q_emulated(state, dst, src, len);
        case Impl::TwoPass: break;
    }
    return two_pass(state, dst, src, len);
}

// Without carry-less multiply (CPUs before Westmere) the best path is crc32 on three interleaved
// lanes. With it, the widest fold the CPU has, plain or mixed (crc32c_fold_mixed.hpp), and flags
// cannot tell which: the mixed loop wins where the carry-less multiply is slow next to crc32 (AMD
// Zen 4 and 5 do one VPCLMULQDQ per 2 cycles whatever its width: on Zen 5 avx2-mixed ran at 1.8-2x
// avx2, pclmul-mixed at 3x pclmul, avx512-mixed at 1.1-1.3x avx512) and loses where it is fast
// (Intel cores run VPCLMULQDQ one per cycle and crc32 one per cycle on one port, by Intel's published
// figures). So a start-up calibration decides, on 8 KiB in cache (a jumbo frame's payload): each of
// the two copies the buffer kCalibrationCalls times per round, rounds alternating, and the fastest
// round of each counts. Mixed must win by 3%: between near-equal figures the plain fold stays.
struct Calibration {
    double plain_gbps = 0;
    double mixed_gbps = 0;
};

constexpr size_t kCalibrationBytes = 8192;
constexpr int kCalibrationRounds = 9;
constexpr int kCalibrationCalls = 16;

// GB/s of one round: kCalibrationCalls copies of the buffer.
double round_gbps(Impl impl, const uint8_t* src, uint8_t* dst) noexcept {
    using Clock = std::chrono::steady_clock;
    uint32_t sink = 0;
    const auto t0 = Clock::now();
    for (int i = 0; i < kCalibrationCalls; ++i) sink ^= run(impl, sink, dst, src, kCalibrationBytes);
    const auto elapsed = Clock::now() - t0;
    asm volatile("" : : "r"(sink));
    const double ns = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
    return ns <= 0 ? 0 : static_cast<double>(kCalibrationBytes) * kCalibrationCalls / ns;
}

Calibration calibrate(Impl plain, Impl mixed) noexcept {
    static uint8_t src[kCalibrationBytes];
    static uint8_t dst[kCalibrationBytes];
    for (size_t i = 0; i < kCalibrationBytes; ++i) src[i] = static_cast<uint8_t>(i * 151 + 17);
    Calibration c;
    for (int r = 0; r < kCalibrationRounds; ++r) {  // alternating, so that a slow moment hits both
        c.plain_gbps = std::max(c.plain_gbps, round_gbps(plain, src, dst));
        c.mixed_gbps = std::max(c.mixed_gbps, round_gbps(mixed, src, dst));
    }
    return c;
}

// Why the default is what it is, for crc32c_copy_default_reason().
char g_reason[192];

Impl pick() noexcept {
    for (auto [plain, mixed] : {std::pair{Impl::Avx512, Impl::Avx512Mixed}, std::pair{Impl::Avx2, Impl::Avx2Mixed},
                                std::pair{Impl::Pclmul, Impl::PclmulMixed}}) {
        if (!available(plain)) continue;
        const Calibration c = calibrate(plain, mixed);
        const Impl chosen = c.mixed_gbps > 1.03 * c.plain_gbps ? mixed : plain;
        std::snprintf(g_reason, sizeof g_reason,
                      "the widest fold this CPU has, calibrated at start-up: %s %.1f GB/s, %s %.1f GB/s "
                      "(%zu bytes in cache, fastest of %d rounds)",
                      info(plain).name, c.plain_gbps, info(mixed).name, c.mixed_gbps, kCalibrationBytes, kCalibrationRounds);
        return chosen;
    }
    if (available(Impl::Crc32q)) {
        std::snprintf(g_reason, sizeof g_reason, "this CPU has SSE4.2 but no carry-less multiply");
        return Impl::Crc32q;
    }
    std::snprintf(g_reason, sizeof g_reason, "this CPU has neither SSE4.2 nor carry-less multiply");
    return Impl::TwoPass;
}

Impl g_impl = pick();

}  // namespace

uint32_t crc32c_copy_extend(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    return run(g_impl, state, dst, src, len);
}

bool crc32c_copy_is_fused() noexcept { return g_impl != Impl::TwoPass; }

const char* crc32c_copy_implementation() noexcept { return info(g_impl).description; }

const char* crc32c_copy_name() noexcept { return info(g_impl).name; }

const char* crc32c_copy_default_reason() noexcept { return g_reason; }

bool crc32c_copy_select(const char* name) noexcept {
    const std::string_view n = name;
    for (const auto& i : kImpls) {
        if (n != i.name) continue;
        if (!available(i.impl)) return false;
        g_impl = i.impl;
        return true;
    }
    return false;
}

}  // namespace nvmeddp::nvmetcp
