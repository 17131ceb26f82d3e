// Which copy + CRC32C path runs: the fastest the CPU has (crc32c_fold_*.cpp), or a name a test or
// benchmark selected.
#include "nvmetcp/crc32c_copy.hpp"

#include <cstring>
#include <string_view>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

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
    Crc32q,
    PclmulEmulated,
    Avx2Emulated,
    Avx512Emulated,
    Avx512MixedEmulated,
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
    {Impl::Crc32q, "crc32q", "one pass, SSE4.2 crc32 on three interleaved lanes"},
    {Impl::PclmulEmulated, "pclmul-emulated", "one pass, PCLMULQDQ folding emulated in software (tests only)"},
    {Impl::Avx2Emulated, "avx2-emulated", "one pass, AVX2 VPCLMULQDQ folding emulated in software (tests only)"},
    {Impl::Avx512Emulated, "avx512-emulated", "one pass, AVX-512 VPCLMULQDQ folding emulated in software (tests only)"},
    {Impl::Avx512MixedEmulated, "avx512-mixed-emulated",
     "one pass, AVX-512 VPCLMULQDQ folding and crc32 on half the bytes each, emulated in software (tests only)"},
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
        case Impl::Crc32qEmulated: return true;
#if defined(__x86_64__)
        case Impl::Crc32q: return __builtin_cpu_supports("sse4.2");
        case Impl::Pclmul: return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.2");
        case Impl::Avx2: return available(Impl::Pclmul) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("vpclmulqdq");
        case Impl::Avx512:
            return available(Impl::Pclmul) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("vpclmulqdq");
        case Impl::Avx512Mixed: return available(Impl::Avx512);
#else
        case Impl::Pclmul:
        case Impl::Avx2:
        case Impl::Avx512:
        case Impl::Avx512Mixed:
        case Impl::Crc32q: return false;
#endif
    }
    return false;
}

// The best hardware path of this CPU: the widest fold it has; without carry-less multiply (CPUs
// before Westmere), crc32 on three interleaved lanes. Flags decide: where both pclmul and crc32q run,
// pclmul was faster here at 1448 bytes and slower at 8948 (bench_nvmetcp), no clear winner to
// calibrate for.
//
// Where AVX-512 runs, the CPU's family decides between avx512 and avx512-mixed: on AMD Zen 5 (family
// 0x1A) VPCLMULQDQ does one instruction per 2 cycles whatever its width and crc32 two per cycle, and
// the mixed loop copies 512 bytes in about 24 cycles where avx512 takes 33 (scratch rdtsc loop, 64
// KiB in L2). On Intel cores (by Intel's published figures, not measured here) crc32 runs one per
// cycle on one port and VPCLMULQDQ one ZMM per cycle: half the bytes through crc32 would run at
// about half avx512's speed there. Other CPUs (Zen 4, not measured) keep avx512.
bool crc32_outruns_vpclmulqdq() noexcept {
#if defined(__x86_64__)
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid(0, &eax, &ebx, &ecx, &edx) == 0) return false;
    const bool amd = ebx == 0x68747541 && edx == 0x69746e65 && ecx == 0x444d4163;  // "AuthenticAMD"
    if (!amd || __get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
    const unsigned family = ((eax >> 8) & 0xF) + ((eax >> 20) & 0xFF);
    return family >= 0x1A;
#else
    return false;
#endif
}

Impl pick() noexcept {
    if (available(Impl::Avx512Mixed) && crc32_outruns_vpclmulqdq()) return Impl::Avx512Mixed;
    for (Impl impl : {Impl::Avx512, Impl::Avx2, Impl::Pclmul, Impl::Crc32q}) {
        if (available(impl)) return impl;
    }
    return Impl::TwoPass;
}

Impl g_impl = pick();

#if defined(__x86_64__)
// "pclmul" in VEX encodings where the CPU has AVX (crc32c_fold_pclmul_vex.cpp says why).
const bool g_pclmul_vex = __builtin_cpu_supports("avx");
#endif

}  // namespace

uint32_t crc32c_copy_extend(uint32_t state, void* dst, const void* src, size_t len) noexcept {
    switch (g_impl) {
#if defined(__x86_64__)
        case Impl::Avx512: return crc32c_fold::copy_avx512(state, dst, src, len);
        case Impl::Avx512Mixed: return crc32c_fold::copy_avx512_mixed(state, dst, src, len);
        case Impl::Avx2: return crc32c_fold::copy_avx2(state, dst, src, len);
        case Impl::Pclmul:
            return g_pclmul_vex ? crc32c_fold::copy_pclmul_vex(state, dst, src, len) : crc32c_fold::copy_pclmul(state, dst, src, len);
        case Impl::Crc32q: return crc32c_fold::copy_crc32q(state, dst, src, len);
#else
        case Impl::Avx512:
        case Impl::Avx512Mixed:
        case Impl::Avx2:
        case Impl::Pclmul:
        case Impl::Crc32q: break;
#endif
        case Impl::PclmulEmulated: return crc32c_fold::copy_pclmul_emulated(state, dst, src, len);
        case Impl::Avx2Emulated: return crc32c_fold::copy_avx2_emulated(state, dst, src, len);
        case Impl::Avx512Emulated: return crc32c_fold::copy_avx512_emulated(state, dst, src, len);
        case Impl::Avx512MixedEmulated: return crc32c_fold::copy_avx512_mixed_emulated(state, dst, src, len);
        case Impl::Crc32qEmulated: return crc32c_fold::copy_crc32q_emulated(state, dst, src, len);
        case Impl::TwoPass: break;
    }
    return two_pass(state, dst, src, len);
}

bool crc32c_copy_is_fused() noexcept { return g_impl != Impl::TwoPass; }

const char* crc32c_copy_implementation() noexcept { return info(g_impl).description; }

const char* crc32c_copy_name() noexcept { return info(g_impl).name; }

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
