// CRC32C (Castagnoli) as NVMe/TCP digests use it: seed ~0, final inversion, little-endian on the wire.
//
// Incremental: a digest may be fed any number of fragments (a PDU split over TCP segments and mbufs)
// and gives the same value as one pass over the whole buffer. The arithmetic is isa-l's crc32_iscsi
// (PCLMULQDQ folding), the fastest CRC32C on this class of machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace nvmeddp::nvmetcp {

// Advances a raw (not inverted) CRC32C state over len bytes.
uint32_t crc32c_extend(uint32_t state, const void* data, size_t len) noexcept;

class Crc32c {
public:
    static constexpr uint32_t kSeed = 0xFFFFFFFFu;

    void update(const void* data, size_t len) noexcept { state_ = crc32c_extend(state_, data, len); }
    void update(std::span<const uint8_t> bytes) noexcept { update(bytes.data(), bytes.size()); }
    uint32_t value() const noexcept { return ~state_; }
    void reset() noexcept { state_ = kSeed; }

private:
    uint32_t state_ = kSeed;
};

// One-shot digest of a buffer.
inline uint32_t crc32c(const void* data, size_t len) noexcept {
    return ~crc32c_extend(Crc32c::kSeed, data, len);
}
inline uint32_t crc32c(std::span<const uint8_t> bytes) noexcept { return crc32c(bytes.data(), bytes.size()); }

}  // namespace nvmeddp::nvmetcp
