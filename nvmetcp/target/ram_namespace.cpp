#include "nvmetcp/target/ram_namespace.hpp"

#include "nvmetcp/byte_pattern.hpp"

namespace nvmeddp::nvmetcp::target {

RamNamespace::RamNamespace(uint32_t nsid, uint64_t bytes, uint32_t block_size, std::array<uint8_t, 16> nguid)
    : data_(bytes), nsid_(nsid), block_size_(block_size), nguid_(nguid) {
    // One pattern word per 8 bytes rather than one per byte: a 64 MiB namespace fills in a few ms.
    const uint64_t whole_words = bytes / 8;
    for (uint64_t w = 0; w < whole_words; ++w) {
        const uint64_t word = pattern_word(kNamespacePattern, w);
        for (unsigned k = 0; k < 8; ++k) data_[w * 8 + k] = static_cast<uint8_t>(word >> (8 * k));
    }
    fill_pattern(kNamespacePattern, whole_words * 8, std::span<uint8_t>(data_).subspan(whole_words * 8));
}

}  // namespace nvmeddp::nvmetcp::target
