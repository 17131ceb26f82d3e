// The Ethernet header that every frame tcp/ sends or takes starts with: ARP, neighbour discovery
// and TCP. Destination, source, at most one 802.1Q tag (the endpoint's VLAN), the EtherType.
// Written and read here once, for all three.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "pmd/packet/be_int.hpp"
#include "pmd/packet/net_headers.hpp"
#include "tcp/addresses.hpp"

namespace nvmeddp::tcp {

constexpr size_t ethernet_header_size(bool has_vlan) noexcept {
    return sizeof(pmd::EthernetHeader) + (has_vlan ? sizeof(pmd::VlanTag) : 0);
}

// Writes the header at `at` (ethernet_header_size(has_vlan) bytes); returns its size.
inline size_t write_ethernet(uint8_t* at, const MacAddress& dst, const MacAddress& src, bool has_vlan,
                             uint16_t vlan_tci, uint16_t ether_type) noexcept {
    pmd::EthernetHeader eth;
    std::memcpy(eth.dst, dst.bytes.data(), sizeof eth.dst);
    std::memcpy(eth.src, src.bytes.data(), sizeof eth.src);
    if (has_vlan) {
        eth.ether_type.set(pmd::ether_type::kVlan);
        pmd::VlanTag tag;
        tag.tci.set(vlan_tci);
        tag.inner_type.set(ether_type);
        std::memcpy(at + sizeof eth, &tag, sizeof tag);
    } else {
        eth.ether_type.set(ether_type);
    }
    std::memcpy(at, &eth, sizeof eth);
    return ethernet_header_size(has_vlan);
}

// A received frame's EtherType, past at most one 802.1Q tag, and where what it names begins.
struct EthernetPayload {
    uint16_t ether_type = 0;
    size_t offset = 0;
};

// nullopt when the frame ends inside the header or its tag.
inline std::optional<EthernetPayload> read_ethernet(std::span<const uint8_t> frame) noexcept {
    if (frame.size() < sizeof(pmd::EthernetHeader)) return std::nullopt;
    EthernetPayload p;
    p.offset = offsetof(pmd::EthernetHeader, ether_type);
    p.ether_type = pmd::load_be16(frame.data() + p.offset);
    p.offset += 2;
    if (p.ether_type == pmd::ether_type::kVlan) {
        if (frame.size() - p.offset < sizeof(pmd::VlanTag)) return std::nullopt;
        p.ether_type = pmd::load_be16(frame.data() + p.offset + offsetof(pmd::VlanTag, inner_type));
        p.offset += sizeof(pmd::VlanTag);
    }
    return p;
}

}  // namespace nvmeddp::tcp
