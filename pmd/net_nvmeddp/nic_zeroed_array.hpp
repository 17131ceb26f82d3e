// A fixed-size array of an implicit-lifetime type, zero-filled, mapped from the kernel (anonymous
// mmap) for the rule table's large arrays: its pages stay the shared zero page until written, so a
// port whose table can hold 65536 rules pays in memory for the rules it has, and the whole array goes
// back to the kernel when the port is closed. All-zero bytes must be a valid value of T.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <type_traits>

namespace nvmeddp::pmd {

template <typename T>
class ZeroedArray {
    static_assert(std::is_trivially_destructible_v<T> && std::is_trivially_copyable_v<T>);

public:
    explicit ZeroedArray(size_t n) noexcept : bytes_(n * sizeof(T)) {
        void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        data_ = p == MAP_FAILED ? nullptr : static_cast<T*>(p);
    }
    ~ZeroedArray() {
        if (data_ != nullptr) munmap(data_, bytes_);
    }
    ZeroedArray(const ZeroedArray&) = delete;
    ZeroedArray& operator=(const ZeroedArray&) = delete;

    bool ok() const noexcept { return data_ != nullptr; }  // false when the kernel refused the mapping
    T& operator[](size_t i) const noexcept { return data_[i]; }

private:
    size_t bytes_;
    T* data_ = nullptr;
};

}  // namespace nvmeddp::pmd
