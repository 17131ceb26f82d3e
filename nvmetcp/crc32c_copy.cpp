// Which copy + CRC32C path runs: the fastest the CPU has (crc32c_fold_*.cpp), or a name a test or
// benchmark selected.
#include "nvmetcp/crc32c_copy.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <new>
#include <string>
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
// Zen 4 and 5 do one VPCLMULQDQ per 2 cycles whatever its width) and loses where it is fast (Intel
// cores run VPCLMULQDQ one per cycle and crc32 one per cycle on one port, by Intel's published
// figures). So a start-up calibration decides, on the copies the engine makes of a PDU's data:
// packets' payloads of 1448 and 8948 bytes (a standard and a jumbo frame's) read from 2 bytes past
// a 64-byte boundary (an mbuf's 128-byte headroom and 66 bytes of Ethernet, IPv4 and TCP headers
// with timestamps) into consecutive bytes of a 64 KiB buffer (the command's). Rounds alternate the
// two candidates; the fastest round of each size counts, and the two sizes' times are added. Mixed
// must win by 3%: between near-equal figures the plain fold stays.
//
// Why packets and not 8 KiB copied between 64-byte-aligned buffers in L1, as an earlier calibration
// did: there avx512-mixed ran 1.4x avx512 on Zen 5, yet 0.85-0.9x at 1448 bytes whatever the
// alignment or buffer, 0.9x at 8948 bytes from a source 2 bytes off a boundary into a 512 KiB
// destination, and the engine placing digest-checked reads ran 3-9% slower with it at five of six
// PDU and MSS sizes: the aligned copy in L1 is the mixed loop's best case, not the engine's.
struct Calibration {
    double plain_gbps = 0;
    double mixed_gbps = 0;
};

constexpr size_t kCalibrationPayloads[] = {1448, 8948};
constexpr size_t kCalibrationPdu = 64 * 1024;
constexpr size_t kCalibrationSourceOffset = 128 + 66;  // in a 64-byte-aligned mbuf: 2 past a boundary
constexpr int kCalibrationRounds = 15;

// Nanoseconds for one PDU's data copied in payloads of `payload` bytes from the same packet buffer.
double pdu_ns(Impl impl, size_t payload, const uint8_t* packet, uint8_t* pdu) noexcept {
    using Clock = std::chrono::steady_clock;
    uint32_t state = 0xFFFFFFFFu;
    const auto t0 = Clock::now();
    for (size_t done = 0; done < kCalibrationPdu; done += payload) {
        const size_t n = std::min(payload, kCalibrationPdu - done);
        state = run(impl, state, pdu + done, packet + kCalibrationSourceOffset, n);
    }
    const auto elapsed = Clock::now() - t0;
    asm volatile("" : : "r"(state));
    return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
}

// Nothing measured (zero figures) when the buffers cannot be had: the plain fold stays.
Calibration calibrate(Impl plain, Impl mixed) noexcept {
    constexpr size_t kAlign = 64;
    constexpr size_t kPacketBytes = kCalibrationSourceOffset + *std::max_element(std::begin(kCalibrationPayloads),
                                                                                 std::end(kCalibrationPayloads));
    const std::unique_ptr<uint8_t[]> memory(new (std::nothrow) uint8_t[kPacketBytes + kCalibrationPdu + 2 * kAlign]);
    if (!memory) return {};
    uint8_t* packet = memory.get() + (kAlign - reinterpret_cast<uintptr_t>(memory.get()) % kAlign);
    uint8_t* pdu = packet + (kPacketBytes + kAlign - 1) / kAlign * kAlign;
    for (size_t i = 0; i < kPacketBytes; ++i) packet[i] = static_cast<uint8_t>(i * 151 + 17);
    std::memset(pdu, 0, kCalibrationPdu);  // its pages touched before any round is timed
    double plain_ns = 0, mixed_ns = 0;
    for (size_t payload : kCalibrationPayloads) {
        double plain_best = 1e18, mixed_best = 1e18;
        for (int r = 0; r < kCalibrationRounds; ++r) {  // alternating, so that a slow moment hits both
            plain_best = std::min(plain_best, pdu_ns(plain, payload, packet, pdu));
            mixed_best = std::min(mixed_best, pdu_ns(mixed, payload, packet, pdu));
        }
        plain_ns += plain_best;
        mixed_ns += mixed_best;
    }
    constexpr double kBytes = static_cast<double>(kCalibrationPdu) * std::size(kCalibrationPayloads);
    return {plain_ns > 0 ? kBytes / plain_ns : 0, mixed_ns > 0 ? kBytes / mixed_ns : 0};
}

// Why the default is what it is, for crc32c_copy_default_reason().
char g_reason[256];

Impl calibrated() noexcept {
    for (auto [plain, mixed] : {std::pair{Impl::Avx512, Impl::Avx512Mixed}, std::pair{Impl::Avx2, Impl::Avx2Mixed},
                                std::pair{Impl::Pclmul, Impl::PclmulMixed}}) {
        if (!available(plain)) continue;
        const Calibration c = calibrate(plain, mixed);
        const Impl chosen = c.mixed_gbps > 1.03 * c.plain_gbps ? mixed : plain;
        if (c.plain_gbps == 0) {
            std::snprintf(g_reason, sizeof g_reason,
                          "the widest fold this CPU has, plain: no memory to calibrate plain against mixed");
            return chosen;
        }
        std::snprintf(g_reason, sizeof g_reason,
                      "the widest fold this CPU has, calibrated at start-up: %s %.1f GB/s, %s %.1f GB/s "
                      "(payloads of %zu and %zu bytes into a %zu KiB buffer, fastest of %d rounds each)",
                      info(plain).name, c.plain_gbps, info(mixed).name, c.mixed_gbps, kCalibrationPayloads[0],
                      kCalibrationPayloads[1], kCalibrationPdu / 1024, kCalibrationRounds);
        return chosen;
    }
    if (available(Impl::Crc32q)) {
        std::snprintf(g_reason, sizeof g_reason, "this CPU has SSE4.2 but no carry-less multiply");
        return Impl::Crc32q;
    }
    std::snprintf(g_reason, sizeof g_reason, "this CPU has neither SSE4.2 nor carry-less multiply");
    return Impl::TwoPass;
}

// Whether a path may be named in NVMEDDP_CRC32C_PATH: one this CPU runs, not an emulation (those are
// for tests, through crc32c_copy_select()).
bool may_be_forced(const ImplInfo& i) noexcept {
    return available(i.impl) && !std::string_view(i.name).ends_with("-emulated");
}

// NVMEDDP_CRC32C_PATH names a path to use instead of calibrating (to compare paths end to end, or
// to keep one across runs); any other name is refused on stderr, and the calibration decides.
Impl pick() noexcept {
    const char* forced = std::getenv("NVMEDDP_CRC32C_PATH");
    if (forced != nullptr && *forced != '\0') {
        for (const auto& i : kImpls) {
            if (forced != std::string_view(i.name) || !may_be_forced(i)) continue;
            std::snprintf(g_reason, sizeof g_reason, "set by NVMEDDP_CRC32C_PATH");
            return i.impl;
        }
        std::string names;
        for (const auto& i : kImpls) {
            if (may_be_forced(i)) names += std::string(names.empty() ? "" : ", ") + i.name;
        }
        std::fprintf(stderr, "nvmeddp: NVMEDDP_CRC32C_PATH=%s is not a copy + CRC32C path this CPU runs (it runs: %s); "
                     "calibrating instead\n", forced, names.c_str());
    }
    return calibrated();
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
