// A run of bytes that is one piece of something longer: a segment of an mbuf chain, a part of a
// frame's TCP payload. Kept apart so that any layer can hand such pieces down without naming its
// own types (the engine's PayloadChunk has exactly this shape and can be this type).
#pragma once

#include <cstdint>
#include <span>

namespace nvmeddp::pmd {

// No default member initialisers: callers keep arrays of these per packet and fill only what they
// use, and zeroing them would cost more than the work they describe.
struct ByteChunk {
    const uint8_t* data;
    uint32_t len;

    std::span<const uint8_t> bytes() const noexcept { return {data, len}; }
};

}  // namespace nvmeddp::pmd
