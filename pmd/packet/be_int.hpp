// Big-endian (network byte order) integers as they sit in Ethernet, IP and TCP headers.
//
// The counterpart of nvmetcp/wire_int.hpp for the network headers: stored as bytes so that every
// header struct has alignment 1 and no padding, can be memcpy'd from any offset of a frame (a VLAN
// tag or IP options shift everything after them by amounts that are not multiples of 4), and
// sizeof/offsetof are the wire layout.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nvmeddp::pmd {

// Reads a big-endian value at p; the caller has checked that the bytes are there. Written as one
// shift-or expression (no loop) so that the compiler emits a single load and byte swap.
constexpr uint16_t load_be16(const uint8_t* p) noexcept {
    return static_cast<uint16_t>(static_cast<uint16_t>(p[0]) << 8 | p[1]);
}
constexpr uint32_t load_be32(const uint8_t* p) noexcept {
    return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 |
           static_cast<uint32_t>(p[3]);
}

template <typename T>
struct BigEndian {
    static_assert(sizeof(T) == 2 || sizeof(T) == 4);
    uint8_t bytes[sizeof(T)];

    constexpr T get() const noexcept {
        if constexpr (sizeof(T) == 2) {
            return load_be16(bytes);
        } else {
            return load_be32(bytes);
        }
    }
    constexpr void set(T v) noexcept {
        for (size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<uint8_t>(v >> (8 * (sizeof(T) - 1 - i)));
    }
};

using be16 = BigEndian<uint16_t>;
using be32 = BigEndian<uint32_t>;

static_assert(sizeof(be16) == 2 && alignof(be16) == 1);
static_assert(sizeof(be32) == 4 && alignof(be32) == 1);
static_assert(be16{{0x12, 0x34}}.get() == 0x1234);
static_assert(be32{{0x12, 0x34, 0x56, 0x78}}.get() == 0x12345678u);

}  // namespace nvmeddp::pmd
