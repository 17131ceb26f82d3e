#include "pmd/packet/l4_checksum.hpp"

#include <cstddef>
#include <cstring>
#include <string_view>

#include "pmd/packet/word_sum.hpp"

namespace nvmeddp::pmd {

namespace {

using SumFn = uint64_t (*)(const uint8_t*, size_t) noexcept;

using detail::add_carry;
using detail::fold_sum;
using detail::load_word32;
using detail::load_word64;
using detail::sum_avx2;
using detail::sum_avx512;
using detail::sum_short;
using detail::sum_words;

uint64_t sum_baseline(const uint8_t* p, size_t n) noexcept { return sum_words(p, n); }

bool has_avx2() noexcept {
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx2");
#else
    return false;
#endif
}
bool has_avx512() noexcept {
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#else
    return false;
#endif
}

constexpr size_t kInlineSumBelow = 64;

SumFn g_sum = has_avx512() ? sum_avx512 : has_avx2() ? sum_avx2 : sum_baseline;

// Headers and pseudo-headers are short: summed inline, without the call through g_sum (whose
// vector loops only start at 64 bytes anyway). That call was most of a short segment's check.
inline __attribute__((always_inline)) uint64_t sum_span(const uint8_t* p, size_t n) noexcept {
    return n < kInlineSumBelow ? sum_short(p, n) : g_sum(p, n);
}

}  // namespace

void InternetSum::add(std::span<const uint8_t> bytes) noexcept {
    if (bytes.empty()) return;
    uint64_t s = sum_span(bytes.data(), bytes.size());
    if (odd_) {
        // These bytes start at an odd position: each sits in the other half of its 16-bit word than
        // where it was summed. Swapping the bytes of the folded sum moves them all (RFC 1071 2(B)).
        const uint16_t f = fold_sum(s);
        s = static_cast<uint16_t>(f << 8 | f >> 8);
    }
    acc_ = add_carry(acc_, s);
    odd_ = odd_ != ((bytes.size() & 1) != 0);
}

uint16_t InternetSum::folded() const noexcept { return fold_sum(acc_); }

bool ipv4_header_checksum_ok(std::span<const uint8_t> first, const TcpSegment& seg) noexcept {
    if (seg.flow.family != IpFamily::Ipv4) return true;
    if (seg.l4_offset < seg.l3_offset + 20u || first.size() < seg.l4_offset) return false;
    InternetSum sum;
    sum.add(first.subspan(seg.l3_offset, seg.l4_offset - seg.l3_offset));
    return sum.folded() == 0xFFFF;
}

TcpChecksum::TcpChecksum(std::span<const uint8_t> first, const TcpSegment& seg) noexcept {
    const bool v6 = seg.flow.family == IpFamily::Ipv6;
    const size_t ip_header_min = v6 ? 40 : 20;
    if ((!v6 && seg.flow.family != IpFamily::Ipv4) || seg.l4_offset < seg.l3_offset + ip_header_min ||
        seg.payload_offset < seg.l4_offset || first.size() < seg.payload_offset) {
        return;  // not a segment parse_frame() described from these bytes: never ok()
    }
    const size_t end = size_t{seg.payload_offset} + seg.payload_len;
    const size_t len = end - seg.l4_offset;  // TCP header + payload: the pseudo-header's length

    // Pseudo-header, in network byte order as on the wire (RFC 9293 3.1; RFC 8200 8.1 for IPv6).
    uint8_t pseudo[40] = {};
    size_t pseudo_len = 0;
    const uint8_t* ip = first.data() + seg.l3_offset;
    if (v6) {
        std::memcpy(pseudo, ip + 8, 32);  // source and destination addresses
        pseudo[32] = static_cast<uint8_t>(len >> 24);
        pseudo[33] = static_cast<uint8_t>(len >> 16);
        pseudo[34] = static_cast<uint8_t>(len >> 8);
        pseudo[35] = static_cast<uint8_t>(len);
        pseudo[39] = 6;  // next header: TCP
        pseudo_len = 40;
    } else {
        std::memcpy(pseudo, ip + 12, 8);
        pseudo[9] = 6;  // protocol: TCP
        pseudo[10] = static_cast<uint8_t>(len >> 8);
        pseudo[11] = static_cast<uint8_t>(len);
        pseudo_len = 12;
    }
    sum_.add({pseudo, pseudo_len});

    const size_t in_first = (first.size() < end ? first.size() : end) - seg.l4_offset;
    sum_.add(first.subspan(seg.l4_offset, in_first));
    left_ = static_cast<uint32_t>(len - in_first);
    valid_ = true;
}

void TcpChecksum::add(std::span<const uint8_t> more) noexcept {
    if (left_ == 0) return;
    const size_t take = more.size() < left_ ? more.size() : left_;
    sum_.add(more.first(take));
    left_ -= static_cast<uint32_t>(take);
}

bool tcp_checksum_ok(std::span<const uint8_t> first, const TcpSegment& seg, std::span<const ByteChunk> more) noexcept {
    TcpChecksum c(first, seg);
    for (const ByteChunk& chunk : more) c.add(chunk.bytes());
    return c.ok();
}

bool plain_ipv4_checksums_ok(std::span<const uint8_t> first, std::span<const ByteChunk> more) noexcept {
    const uint8_t* ip = first.data() + detail::kPlainL3;
    // The IP header (20 bytes, no options: plain_ipv4_tcp() checked) as its first 12 bytes and its
    // two addresses, which the TCP checksum's pseudo-header holds too: loaded and summed once for
    // both. Every word starts at an even offset, so this grouping sums to what any other does.
    static_assert(offsetof(Ipv4Header, src) == 12 && sizeof(Ipv4Header) == 20);
    const uint64_t addresses = load_word64(ip + offsetof(Ipv4Header, src));
    const uint64_t before_addresses = add_carry(load_word64(ip), load_word32(ip + 8));
    if (fold_sum(add_carry(before_addresses, addresses)) != 0xFFFF) return false;
    // TCP header and payload: plain_ipv4_tcp() checked that the IP length covers a TCP header and
    // lies within the frame.
    const size_t len = size_t{load_be16(ip + offsetof(Ipv4Header, total_length))} - sizeof(Ipv4Header);
    if (first.size() < detail::kPlainL4 + len) {  // the segment goes on in later pieces (an mbuf chain)
        return tcp_checksum_ok(first, detail::plain_ipv4_segment(first.data(), first.data() + detail::kPlainL4).segment,
                               more);
    }
    // The pseudo-header: both addresses as they lie in the IP header, then zero, the protocol and
    // the length (RFC 9293 3.1), in network byte order like the rest.
    const uint8_t protocol_and_length[4] = {0, ip_proto::kTcp, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
    uint64_t acc = add_carry(addresses, load_word32(protocol_and_length));
    const uint8_t* tcp = first.data() + detail::kPlainL4;
    acc = add_carry(acc, sum_span(tcp, len));
    return fold_sum(acc) == 0xFFFF;
}

const char* l4_checksum_implementation() noexcept {
    if (g_sum == sum_avx512 && has_avx512()) return "avx512";
    return g_sum == sum_avx2 && has_avx2() ? "avx2" : "baseline";
}

bool l4_checksum_select(const char* name) noexcept {
    const std::string_view n = name;
    if (n == "baseline") {
        g_sum = sum_baseline;
        return true;
    }
    if (n == "avx2" && has_avx2()) {
        g_sum = sum_avx2;
        return true;
    }
    if (n == "avx512" && has_avx512()) {
        g_sum = sum_avx512;
        return true;
    }
    return false;
}

uint16_t patch_internet_checksum(uint16_t checksum, uint32_t old_sum, uint32_t new_sum) noexcept {
    const uint64_t sum = (~checksum & 0xFFFFu) + (~fold_sum(old_sum) & 0xFFFFu) + uint64_t{fold_sum(new_sum)};
    return static_cast<uint16_t>(~fold_sum(sum));
}

}  // namespace nvmeddp::pmd
