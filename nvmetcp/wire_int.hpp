// Little-endian integers as they sit on the NVMe/TCP wire.
//
// Stored as bytes so that every PDU struct has alignment 1, no padding and no packed attribute:
// a header can be memcpy'd from any offset of a packet, and sizeof/offsetof are the wire layout.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nvmeddp::nvmetcp {

template <typename T>
struct LittleEndian {
    static_assert(sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);
    uint8_t bytes[sizeof(T)];

    constexpr T get() const noexcept {
        T v = 0;
        for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(bytes[i]) << (8 * i));
        return v;
    }
    constexpr void set(T v) noexcept {
        for (size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<uint8_t>(v >> (8 * i));
    }
};

using le16 = LittleEndian<uint16_t>;
using le32 = LittleEndian<uint32_t>;
using le64 = LittleEndian<uint64_t>;

static_assert(sizeof(le16) == 2 && alignof(le16) == 1);
static_assert(sizeof(le32) == 4 && alignof(le32) == 1);

// Reads a little-endian u32 from the first four bytes at p (e.g. a digest inside a packet).
inline uint32_t load_le32(const uint8_t* p) noexcept {
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
           static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

inline void store_le32(uint8_t* p, uint32_t v) noexcept {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
    p[2] = static_cast<uint8_t>(v >> 16);
    p[3] = static_cast<uint8_t>(v >> 24);
}

}  // namespace nvmeddp::nvmetcp
