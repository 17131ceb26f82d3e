// Small command-line helpers shared by the applications: strict number parsing with ranges.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace nvmeddp::cli {

// A whole-string unsigned number (decimal, 0x hex) within [min, max].
inline bool parse_u64(const char* text, uint64_t min, uint64_t max, uint64_t& out) {
    if (text == nullptr || *text == '\0' || *text == '-') return false;
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text, &end, 0);
    if (errno != 0 || *end != '\0' || v < min || v > max) return false;
    out = v;
    return true;
}

// A whole-string real number within [min, max].
inline bool parse_double(const char* text, double min, double max, double& out) {
    if (text == nullptr || *text == '\0') return false;
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(text, &end);
    if (errno != 0 || *end != '\0' || !(v >= min && v <= max)) return false;
    out = v;
    return true;
}

// Walks argv: next value of an option, with a message naming the option when it is missing or bad.
class ArgWalker {
public:
    ArgWalker(int argc, char** argv) : argc_(argc), argv_(argv) {}
    bool done() const { return i_ >= argc_; }
    const char* next() { return argv_[i_++]; }
    const char* value() { return i_ < argc_ ? argv_[i_++] : nullptr; }

    bool number(const char* option, uint64_t min, uint64_t max, uint64_t& out, std::string& message) {
        const char* v = value();
        if (parse_u64(v, min, max, out)) return true;
        message = std::string(option) + " needs a number in [" + std::to_string(min) + ", " + std::to_string(max) +
                  "], got '" + (v ? v : "") + "'";
        return false;
    }
    bool real(const char* option, double min, double max, double& out, std::string& message) {
        const char* v = value();
        if (parse_double(v, min, max, out)) return true;
        message = std::string(option) + " needs a number in [" + std::to_string(min) + ", " + std::to_string(max) +
                  "], got '" + (v ? v : "") + "'";
        return false;
    }

private:
    int argc_;
    char** argv_;
    int i_ = 1;
};

}  // namespace nvmeddp::cli
