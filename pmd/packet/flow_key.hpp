// The 5-tuple that names one direction of a TCP connection, as the classifier and the offload
// engine see it.
//
// Layout: 40 bytes, 8-aligned, with no padding (has_unique_object_representations), so equality
// and the hash read the key as five 64-bit words. Both address families share one layout: an IPv4
// address is stored as its IPv4-mapped IPv6 form (::ffff:a.b.c.d, RFC 4291 2.5.5.2), and `family`
// says which header it came from, so an IPv4 flow never equals an IPv6 flow that uses mapped
// addresses on the wire. Ports are in host byte order. A key is oriented as in the packet it was taken from (src =
// sender); the receive side registers keys as the peer sends them, reversed() gives the other way.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "ddp/connection_config.hpp"

namespace nvmeddp::pmd {

using ddp::IpFamily;

struct alignas(8) FlowKey {
    using Addr = std::array<uint8_t, 16>;

    Addr src_addr{};
    Addr dst_addr{};
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    IpFamily family = IpFamily::None;
    // VLAN IDs, 12 bits each, little-endian in these three bytes: the innermost tag in bits 0..11,
    // the outer tag of a double-tagged frame in bits 12..23; 0 for no tag. Two flows that differ only
    // in their VLAN are two connections.
    uint8_t vlans[3] = {};

    // Offset of an IPv4 address inside Addr (after the ::ffff: prefix).
    static constexpr size_t kIpv4Offset = 12;

    // Both constructors assemble the key as five 64-bit words and store it with whole-word writes.
    // That matters on the per-packet path: the hash and the comparison read the key back at once
    // as 64-bit words, and a wide load that spans several narrow stores (bytes of an address, a
    // 16-bit port) cannot be forwarded from the store buffer and stalls for ~10 cycles per word.
    static FlowKey ipv4(const uint8_t* src, const uint8_t* dst, uint16_t sport, uint16_t dport, uint16_t vlan = 0,
                        uint16_t outer_vlan = 0) noexcept {
        return from_words(0, mapped_ipv4_word(src), 0, mapped_ipv4_word(dst),
                          ports_word(sport, dport, IpFamily::Ipv4, vlan_bits(vlan, outer_vlan)));
    }

    static FlowKey ipv6(const uint8_t* src, const uint8_t* dst, uint16_t sport, uint16_t dport, uint16_t vlan = 0,
                        uint16_t outer_vlan = 0) noexcept {
        return from_words(load_word(src), load_word(src + 8), load_word(dst), load_word(dst + 8),
                          ports_word(sport, dport, IpFamily::Ipv6, vlan_bits(vlan, outer_vlan)));
    }

    uint16_t vlan() const noexcept { return static_cast<uint16_t>((vlans[0] | vlans[1] << 8) & 0xFFF); }
    uint16_t outer_vlan() const noexcept { return static_cast<uint16_t>((vlans[1] >> 4 | vlans[2] << 4) & 0xFFF); }

    // The other direction of the same connection.
    FlowKey reversed() const noexcept {
        FlowKey k = *this;
        k.src_addr = dst_addr;
        k.dst_addr = src_addr;
        k.src_port = dst_port;
        k.dst_port = src_port;  // the VLANs are the same both ways
        return k;
    }

    // Multiply-xor hash: each word (xored with the seed) times its own odd constant, summed, then
    // the sum (xored with the seed again) in one 64x64->128-bit multiply whose two halves are xored
    // (the "mum" step of wyhash). The five products are independent, so the cost is one multiply
    // latency, the sum, and one wide multiply (about 10 cycles), with no target flags: the crc32
    // instruction would need -msse4.2 (this layer builds for the baseline ISA, and a function with
    // a target attribute cannot be inlined into the lookup) and would chain five dependent crc32s.
    // The last step is what the table needs: a product's low bits depend only on its inputs' low
    // bits, while most of an IPv4 key's entropy sits in the high half of two words, and the table
    // indexes with the low bits and tags with the high bits; the high half of the wide product
    // depends on every bit of the sum, and xoring it into the low half brings them all down. (It
    // replaced the murmur3 finalizer, two dependent multiplies between three xor-shifts: a miss in
    // bench_engine went from 12.5 to 11.9 ns per frame, a lookup in bench_packet, whose table is in
    // L2, from 6.8 to 6.5.) A per-table seed keeps slot positions unpredictable to peers; this is
    // not a cryptographic PRF, and need not be: entries come from the control plane, and the
    // table's load is capped (flow_classifier.hpp).
    uint64_t hash(uint64_t seed) const noexcept {
        const uint64_t h = (word(0) ^ seed) * 0x9E3779B97F4A7C15ull + (word(1) ^ seed) * 0xC2B2AE3D27D4EB4Full +
                           (word(2) ^ seed) * 0x165667B19E3779F9ull + (word(3) ^ seed) * 0xD6E8FEB86659FD93ull +
                           (word(4) ^ seed) * 0xFF51AFD7ED558CCDull;
        __extension__ using Wide = unsigned __int128;  // GCC and Clang on every 64-bit target
        const Wide wide = static_cast<Wide>(h ^ seed) * 0xC4CEB9FE1A85EC53ull;
        return static_cast<uint64_t>(wide) ^ static_cast<uint64_t>(wide >> 64);
    }

    friend bool operator==(const FlowKey& a, const FlowKey& b) noexcept {
        return ((a.word(0) ^ b.word(0)) | (a.word(1) ^ b.word(1)) | (a.word(2) ^ b.word(2)) |
                (a.word(3) ^ b.word(3)) | (a.word(4) ^ b.word(4))) == 0;
    }

    // The i-th 64-bit word of the key (i < 5). Read word by word, not by copying the key into a
    // uint64_t[5]: GCC materialises such an array on the stack with vector stores and reads it back
    // with scalar loads, which costs a store-forwarding stall per word.
    uint64_t word(size_t i) const noexcept {
        uint64_t w;
        std::memcpy(&w, reinterpret_cast<const unsigned char*>(this) + 8 * i, sizeof w);
        return w;
    }

private:
    static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big);

    static uint64_t load_word(const uint8_t* p) noexcept {
        uint64_t w;
        std::memcpy(&w, p, sizeof w);
        return w;
    }

    // Bytes 8..15 of ::ffff:a.b.c.d (00 00 ff ff a b c d) as a native 64-bit word.
    static uint64_t mapped_ipv4_word(const uint8_t* addr) noexcept {
        uint32_t v;
        std::memcpy(&v, addr, sizeof v);
        if constexpr (std::endian::native == std::endian::little) {
            return uint64_t{v} << 32 | 0xFFFF0000u;
        } else {
            return uint64_t{0xFFFF} << 32 | v;
        }
    }

    static constexpr uint32_t vlan_bits(uint16_t vlan, uint16_t outer) noexcept {
        return uint32_t{vlan & 0xFFFu} | uint32_t{outer & 0xFFFu} << 12;
    }

    // Bytes 32..39 (src_port, dst_port, family, vlans) as a native 64-bit word.
    static constexpr uint64_t ports_word(uint16_t sport, uint16_t dport, IpFamily family, uint32_t vlans) noexcept {
        const uint64_t f = static_cast<uint8_t>(family);
        // vlans[] is little-endian whatever the CPU: byte 37 holds bits 0..7.
        // On a little-endian CPU that is the 24 bits in place, one shift: spelt byte by byte, GCC
        // 12 spilled the value as 32 bits and reloaded it as 64, a store-forwarding stall that cost
        // parse_frame about 15 ns per frame (perf annotate).
        if constexpr (std::endian::native == std::endian::little) {
            return uint64_t{sport} | uint64_t{dport} << 16 | f << 32 | uint64_t{vlans & 0xFFFFFFu} << 40;
        } else {
            const uint64_t v0 = vlans & 0xFF, v1 = vlans >> 8 & 0xFF, v2 = vlans >> 16 & 0xFF;
            return uint64_t{sport} << 48 | uint64_t{dport} << 32 | f << 24 | v0 << 16 | v1 << 8 | v2;
        }
    }

    static FlowKey from_words(uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3, uint64_t w4) noexcept {
        const uint64_t w[5] = {w0, w1, w2, w3, w4};
        FlowKey k;
        std::memcpy(&k, w, sizeof w);
        return k;
    }
};
static_assert(sizeof(FlowKey) == 40 && alignof(FlowKey) == 8);
static_assert(std::has_unique_object_representations_v<FlowKey>, "padding would make equality and hash read garbage");
static_assert(std::is_trivially_copyable_v<FlowKey>);
static_assert(offsetof(FlowKey, dst_addr) == 16 && offsetof(FlowKey, src_port) == 32 &&
              offsetof(FlowKey, dst_port) == 34 && offsetof(FlowKey, family) == 36);

}  // namespace nvmeddp::pmd
