// The Internet checksum (RFC 1071) accumulated over pieces of a packet that may end on odd bytes,
// as TCP's checksum needs: pseudo-header, TCP header, then the payload in as many chunks as its
// mbuf chain has. Words are summed 32 bits at a time into a 64-bit accumulator (the compiler
// vectorises the loop), so a 1448-byte payload costs tens of nanoseconds, not a byte loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nvmeddp::pmd {

class OnesSum {
public:
    void add(const uint8_t* p, size_t n) noexcept {
        if (n == 0) return;
        if (odd_) {  // the previous piece ended in the middle of a 16-bit word: this byte completes it
            sum_ += uint64_t{p[0]} << 8;  // the second byte of a word: the high half of a little-endian load
            ++p;
            --n;
            odd_ = false;
        }
        uint64_t s = 0;
        size_t i = 0;
        for (; i + 4 <= n; i += 4) {
            uint32_t w;
            std::memcpy(&w, p + i, 4);
            s += w;
        }
        for (; i + 2 <= n; i += 2) {
            uint16_t w;
            std::memcpy(&w, p + i, 2);
            s += w;
        }
        if (i < n) {  // one byte left: the first of a word the next piece completes (the low half of a
            s += p[i];  // little-endian load)
            odd_ = true;
        }
        sum_ += s;
    }

    // The ones' complement sum folded to 16 bits. The loads are little-endian, so this is the
    // byte-swapped sum of the wire's big-endian words (RFC 1071 2(B): the sum does not depend on the
    // byte order otherwise); 0xFFFF for a packet whose checksum is right either way.
    uint16_t fold() const noexcept {
        uint64_t s = sum_;
        while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
        return static_cast<uint16_t>(s);
    }

private:
    uint64_t sum_ = 0;
    bool odd_ = false;
};

}  // namespace nvmeddp::pmd
