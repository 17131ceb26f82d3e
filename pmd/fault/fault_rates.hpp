// What the fault shim (fault_shim.hpp) does to the frames of one direction of a port, and its text
// form for command lines ("--rx-faults drop=0.01,reorder=0.01,delay_us=500").
//
// Each rate is a probability per frame, decided independently for every frame from a seeded
// generator, so a run with the same seed and traffic is the same run. 0 means off (the default).
// Text: comma-separated key=value items; keys drop, reorder, dup, delay, corrupt, lie (rates in
// [0, 1]), delay_us (microseconds a delayed frame is held, 0..10,000,000) and depth (frames that may
// pass a reordered one, 1..256). The empty string is all off. to_string() writes the same syntax, so
// parse_fault_rates(to_string(r)) gives r back exactly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nvmeddp::pmd {

struct FaultRates {            // each a probability per frame, 0 = off (the default)
    double drop = 0;
    double reorder = 0;        // frame held back and released after up to `reorder_depth` later frames passed it
    double duplicate = 0;      // a copy (rte_pktmbuf_copy into the shim's pool) goes out right after the frame
    double delay = 0;          // frame held for `delay_us`, then released (other frames pass it)
    double corrupt = 0;        // one TCP payload byte flipped, checksum left wrong (a frame the receiver must drop)
    double lie = 0;            // one TCP payload byte flipped and the TCP checksum fixed (a lying peer; only digests catch it)
    uint32_t reorder_depth = 3;
    uint32_t delay_us = 2000;
    bool any() const noexcept;

    friend bool operator==(const FaultRates&, const FaultRates&) = default;
};

// The bounds the text form accepts; FaultShim::attach holds FaultRates made in code to them too.
inline constexpr uint32_t kMaxReorderDepth = 256;
inline constexpr uint32_t kMaxDelayUs = 10'000'000;

// "drop=0.01,reorder=0.01,dup=0.005,delay=0.01,delay_us=500,depth=4,corrupt=0.001,lie=0.0005" -> rates;
// nullopt with *error saying which key or value is wrong (unknown key, not a number, outside [0,1], ...).
// Empty string = all off. Spaces around keys and values are ignored.
std::optional<FaultRates> parse_fault_rates(std::string_view text, std::string* error);

// Empty when the rates are valid, else what is wrong (the same words parse_fault_rates uses).
std::string validate_fault_rates(const FaultRates& rates);

// The same syntax, only non-zero rates; delay_us and depth when they differ from the defaults or
// their rate is on.
std::string to_string(const FaultRates& rates);

}  // namespace nvmeddp::pmd
