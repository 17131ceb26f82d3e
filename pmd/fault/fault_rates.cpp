#include "pmd/fault/fault_rates.hpp"

#include <charconv>
#include <cmath>

namespace nvmeddp::pmd {

namespace {

// The keys in the order to_string() writes them. `rate` points at a probability, else `count` at
// an integer parameter with its bounds.
struct Key {
    std::string_view name;
    double FaultRates::*rate;
    uint32_t FaultRates::*count;
    uint32_t min;
    uint32_t max;
};

constexpr Key kKeys[] = {
    {"drop", &FaultRates::drop, nullptr, 0, 0},
    {"reorder", &FaultRates::reorder, nullptr, 0, 0},
    {"depth", nullptr, &FaultRates::reorder_depth, 1, kMaxReorderDepth},
    {"dup", &FaultRates::duplicate, nullptr, 0, 0},
    {"delay", &FaultRates::delay, nullptr, 0, 0},
    {"delay_us", nullptr, &FaultRates::delay_us, 0, kMaxDelayUs},
    {"corrupt", &FaultRates::corrupt, nullptr, 0, 0},
    {"lie", &FaultRates::lie, nullptr, 0, 0},
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string rate_error(std::string_view key, double value) {
    return std::string(key) + "=" + std::to_string(value) + ": a rate must be in [0, 1]";
}

std::string count_error(const Key& k, uint64_t value) {
    return std::string(k.name) + "=" + std::to_string(value) + ": must be in [" + std::to_string(k.min) + ", " +
           std::to_string(k.max) + "]";
}

// Parses one value for key k into `out`; empty on success, else why not.
std::string parse_value(const Key& k, std::string_view value, FaultRates& out) {
    const char* first = value.data();
    const char* last = value.data() + value.size();
    if (value.empty()) return std::string(k.name) + ": no value";
    if (k.rate != nullptr) {
        double v = 0;
        const auto [end, ec] = std::from_chars(first, last, v);
        if (ec != std::errc() || end != last || !std::isfinite(v)) {
            return std::string(k.name) + "=" + std::string(value) + ": not a number";
        }
        if (!(v >= 0.0 && v <= 1.0)) return rate_error(k.name, v);
        out.*k.rate = v;
        return {};
    }
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(first, last, v);
    if (ec == std::errc::result_out_of_range) return std::string(k.name) + "=" + std::string(value) + ": too large";
    if (ec != std::errc() || end != last) {
        return std::string(k.name) + "=" + std::string(value) + ": not a whole number";
    }
    if (v < k.min || v > k.max) return count_error(k, v);
    out.*k.count = static_cast<uint32_t>(v);
    return {};
}

std::string format_double(double v) {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back exactly
    return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

}  // namespace

bool FaultRates::any() const noexcept {
    return drop > 0 || reorder > 0 || duplicate > 0 || delay > 0 || corrupt > 0 || lie > 0;
}

std::optional<FaultRates> parse_fault_rates(std::string_view text, std::string* error) {
    const auto fail = [error](std::string why) -> std::optional<FaultRates> {
        if (error != nullptr) *error = std::move(why);
        return std::nullopt;
    };
    FaultRates rates;
    if (trim(text).empty()) return rates;
    bool seen[std::size(kKeys)] = {};
    while (true) {
        const size_t comma = text.find(',');
        const std::string_view item = trim(text.substr(0, comma));
        if (item.empty()) return fail("empty item (two commas in a row, or one at either end)");
        const size_t eq = item.find('=');
        if (eq == std::string_view::npos) return fail(std::string(item) + ": expected key=value");
        const std::string_view key = trim(item.substr(0, eq));
        const std::string_view value = trim(item.substr(eq + 1));
        size_t i = 0;
        while (i < std::size(kKeys) && kKeys[i].name != key) ++i;
        if (i == std::size(kKeys)) {
            return fail("unknown key \"" + std::string(key) +
                        "\" (known: drop, reorder, depth, dup, delay, delay_us, corrupt, lie)");
        }
        if (seen[i]) return fail(std::string(key) + " given twice");
        seen[i] = true;
        if (std::string why = parse_value(kKeys[i], value, rates); !why.empty()) return fail(std::move(why));
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return rates;
}

std::string validate_fault_rates(const FaultRates& rates) {
    for (const Key& k : kKeys) {
        if (k.rate != nullptr) {
            const double v = rates.*k.rate;
            if (!(v >= 0.0 && v <= 1.0)) return rate_error(k.name, v);  // NaN fails too
        } else if (const uint32_t v = rates.*k.count; v < k.min || v > k.max) {
            return count_error(k, v);
        }
    }
    return {};
}

std::string to_string(const FaultRates& rates) {
    static const FaultRates defaults;
    std::string out;
    const auto item = [&out](std::string_view key, const std::string& value) {
        if (!out.empty()) out += ',';
        out += key;
        out += '=';
        out += value;
    };
    for (const Key& k : kKeys) {
        if (k.rate != nullptr) {
            if (rates.*k.rate != 0) item(k.name, format_double(rates.*k.rate));
            continue;
        }
        // A parameter is worth printing when its rate is on or it is not the default (for an exact
        // round trip).
        const double governing = k.count == &FaultRates::reorder_depth ? rates.reorder : rates.delay;
        if (governing != 0 || rates.*k.count != defaults.*k.count) item(k.name, std::to_string(rates.*k.count));
    }
    return out;
}

}  // namespace nvmeddp::pmd
