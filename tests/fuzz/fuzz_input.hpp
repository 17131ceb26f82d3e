// Reading a fuzzer's bytes as structured choices: each take() consumes from the front and never
// fails (past the end it returns zeros), so every input is a valid test case.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace nvmeddp::fuzz {

class FuzzInput {
public:
    FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

    template <typename T>
    T take() {
        T v{};
        const size_t n = size_ - at_ < sizeof(T) ? size_ - at_ : sizeof(T);
        if (n > 0) std::memcpy(&v, data_ + at_, n);
        at_ += n;
        return v;
    }
    // A value in [lo, hi].
    uint32_t range(uint32_t lo, uint32_t hi) { return lo + take<uint32_t>() % (hi - lo + 1); }
    bool flag() { return (take<uint8_t>() & 1) != 0; }
    double probability(double max) { return max * take<uint8_t>() / 255.0; }
    std::span<const uint8_t> rest() { return {data_ + at_, size_ - at_}; }
    size_t left() const { return size_ - at_; }

private:
    const uint8_t* data_;
    size_t size_;
    size_t at_ = 0;
};

// Aborts with a message: libFuzzer reports it as a crash and saves the input.
[[noreturn]] void invariant_broken(const char* what, const char* detail = "");

}  // namespace nvmeddp::fuzz
