#include "nvmetcp/crc32c.hpp"

#include <isa-l/crc.h>

#include <climits>

namespace nvmeddp::nvmetcp {

uint32_t crc32c_extend(uint32_t state, const void* data, size_t len) noexcept {
    // crc32_iscsi takes an int length and a non-const pointer it does not write through.
    auto* bytes = static_cast<unsigned char*>(const_cast<void*>(data));
    constexpr size_t kChunk = size_t{1} << 30;
    while (len > kChunk) {
        state = crc32_iscsi(bytes, static_cast<int>(kChunk), state);
        bytes += kChunk;
        len -= kChunk;
    }
    return crc32_iscsi(bytes, static_cast<int>(len), state);
}

}  // namespace nvmeddp::nvmetcp
