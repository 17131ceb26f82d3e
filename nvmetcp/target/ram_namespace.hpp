// The target's one namespace (nsid 1 unless configured otherwise): bytes in RAM, initially the
// namespace pattern (byte_pattern.hpp, kNamespacePattern, offset = byte address) so that a host can
// check any read.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace nvmeddp::nvmetcp::target {

class RamNamespace {
public:
    // bytes must be a non-zero multiple of block_size, nsid 1..0xFFFFFFFE (the target checks its
    // config first).
    RamNamespace(uint32_t nsid, uint64_t bytes, uint32_t block_size, std::array<uint8_t, 16> nguid);

    uint32_t nsid() const noexcept { return nsid_; }
    uint32_t block_size() const noexcept { return block_size_; }
    uint64_t blocks() const noexcept { return data_.size() / block_size_; }
    const std::array<uint8_t, 16>& nguid() const noexcept { return nguid_; }

    // Whether blocks [slba, slba + nlb) exist (overflow-safe).
    bool contains(uint64_t slba, uint64_t nlb) const noexcept { return slba <= blocks() && nlb <= blocks() - slba; }
    // The bytes of block slba onwards; only after contains() said yes.
    uint8_t* at_block(uint64_t slba) noexcept { return data_.data() + slba * block_size_; }

    std::span<const uint8_t> bytes() const noexcept { return data_; }

private:
    std::vector<uint8_t> data_;
    uint32_t nsid_;
    uint32_t block_size_;
    std::array<uint8_t, 16> nguid_;
};

}  // namespace nvmeddp::nvmetcp::target
