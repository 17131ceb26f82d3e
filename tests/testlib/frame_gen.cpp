#include "testlib/frame_gen.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <random>

namespace nvmeddp::testlib {

namespace {

NVMEDDP_TESTLIB_NO_COVERAGE void put16(std::vector<uint8_t>& out, size_t at, uint16_t v) {
    out[at] = static_cast<uint8_t>(v >> 8);
    out[at + 1] = static_cast<uint8_t>(v);
}

NVMEDDP_TESTLIB_NO_COVERAGE void put32(std::vector<uint8_t>& out, size_t at, uint32_t v) {
    for (size_t i = 0; i < 4; ++i) out[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}


NVMEDDP_TESTLIB_NO_COVERAGE uint64_t fold16(uint64_t acc) noexcept {
    while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
    return acc;
}

// acc plus the big-endian 16-bit words of bytes (an odd last byte padded with a zero), not folded.
// Eight bytes at a time: the sum of native-order 32-bit words is congruent (mod 0xFFFF) to the sum
// of the native 16-bit words, and on a little-endian host that folded sum byte-swapped is congruent
// to the big-endian one (RFC 1071 2(B)); it is zero only when every byte is, as the plain sum. So
// every checksum comes out exactly as the word-by-word sum gives it.
NVMEDDP_TESTLIB_NO_COVERAGE uint64_t sum16(std::span<const uint8_t> bytes, uint64_t acc) noexcept {
    const uint8_t* p = bytes.data();
    size_t n = bytes.size();
    uint64_t native = 0;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        std::memcpy(&w, p, sizeof w);
        native += (w & 0xFFFFFFFFu) + (w >> 32);
    }
    native = fold16(native);
    if constexpr (std::endian::native == std::endian::little) native = ((native & 0xFF) << 8) | (native >> 8);
    acc += native;
    for (; n >= 2; p += 2, n -= 2) acc += static_cast<uint32_t>(p[0] << 8 | p[1]);
    if (n != 0) acc += static_cast<uint32_t>(p[0] << 8);
    return acc;
}

NVMEDDP_TESTLIB_NO_COVERAGE uint16_t checksum_of_sum(uint64_t acc) noexcept { return static_cast<uint16_t>(~fold16(acc)); }

}  // namespace

NVMEDDP_TESTLIB_NO_COVERAGE uint16_t internet_checksum(std::span<const uint8_t> bytes, uint32_t initial) noexcept {
    return checksum_of_sum(sum16(bytes, initial));
}

namespace {

// The TCP checksum field's value for a frame (pseudo-header from the IP header it has).
NVMEDDP_TESTLIB_NO_COVERAGE uint16_t tcp_checksum_of(std::span<const uint8_t> b, const FrameLayout& layout) noexcept {
    const size_t l3 = layout.l3_offset;
    const size_t l4 = layout.l4_offset;
    const bool ipv6 = (b[l3] >> 4) == 6;
    const auto seg_len = static_cast<uint32_t>(layout.ip_end - l4);
    uint64_t pseudo = 0;
    if (ipv6) {
        pseudo = sum16(b.subspan(l3 + 8, 32), 0);
        pseudo += (seg_len >> 16) + (seg_len & 0xFFFF) + 6;
    } else {
        pseudo = sum16(b.subspan(l3 + 12, 8), 0);
        pseudo += seg_len + 6;
    }
    return checksum_of_sum(sum16(b.subspan(l4, seg_len), pseudo));
}

}  // namespace

NVMEDDP_TESTLIB_NO_COVERAGE void refresh_tcp_checksum(std::vector<uint8_t>& frame, const FrameLayout& layout) noexcept {
    put16(frame, layout.l4_offset + 16u, 0);
    put16(frame, layout.l4_offset + 16u, tcp_checksum_of(frame, layout));
}

NVMEDDP_TESTLIB_NO_COVERAGE bool checksums_ok(std::span<const uint8_t> b, const FrameLayout& layout, bool ipv6) noexcept {
    if (layout.ip_end > b.size() || layout.l4_offset + 20u > layout.ip_end) return false;
    const size_t l3 = layout.l3_offset;
    if ((b[l3] >> 4) != (ipv6 ? 6 : 4)) return false;
    // The IPv6 payload length is in no checksum but the TCP pseudo-header's, as the host reads it.
    if (ipv6 && size_t{b[l3 + 4]} * 256 + b[l3 + 5] != layout.ip_end - l3 - 40u) return false;
    if ((b[l3] >> 4) == 4 && internet_checksum(b.subspan(l3, layout.l4_offset - l3)) != 0) return false;
    return tcp_checksum_of(b, layout) == 0;  // summed with its own checksum field: zero when right
}

void rewrite_tcp_seq(std::vector<uint8_t>& frame, const FrameLayout& layout, uint32_t seq) noexcept {
    put32(frame, layout.l4_offset + 4u, seq);
    refresh_tcp_checksum(frame, layout);
}

FlowSpec ipv4_flow() {
    FlowSpec f;
    f.src_ip = {192, 0, 2, 1};
    f.dst_ip = {192, 0, 2, 2};
    return f;
}

FlowSpec ipv6_flow() {
    FlowSpec f;
    f.ipv6 = true;
    f.src_ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    f.dst_ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    return f;
}

size_t tcp_options_len(TcpOptions options) noexcept {
    switch (options) {
        case TcpOptions::None: return 0;
        case TcpOptions::Timestamps: return 12;
        case TcpOptions::TimestampsAndSack: return 24;
    }
    return 0;
}

NVMEDDP_TESTLIB_NO_COVERAGE BuiltFrame build_frame(const FlowSpec& flow, const TcpFields& tcp, std::span<const uint8_t> payload,
                                                   bool pad_to_minimum) {
    // Sized once and zeroed: every field is written over the zeros at its offset.
    const size_t opt_len = tcp_options_len(tcp.options);
    const size_t tcp_len = 20 + opt_len;
    const size_t words = flow.ipv6 ? 0 : std::min<size_t>(flow.ipv4_option_words, 10);
    const size_t ip_header_len = flow.ipv6 ? 40 : 20 + 4 * words;
    const size_t l3 = 14 + (flow.s_vlan ? 4 : 0) + (flow.c_vlan ? 4 : 0);
    const size_t l4 = l3 + ip_header_len;
    const size_t payload_at = l4 + tcp_len;
    BuiltFrame f;
    auto& b = f.bytes;
    b.reserve(std::max<size_t>(60, payload_at + payload.size()));
    b.resize(payload_at + payload.size());

    std::memcpy(b.data(), flow.dst_mac.data(), 6);
    std::memcpy(b.data() + 6, flow.src_mac.data(), 6);
    size_t at = 12;
    if (flow.s_vlan) {
        put16(b, at, 0x88A8);
        put16(b, at + 2, *flow.s_vlan);
        at += 4;
    }
    if (flow.c_vlan) {
        put16(b, at, 0x8100);
        put16(b, at + 2, *flow.c_vlan);
        at += 4;
    }
    put16(b, at, flow.ipv6 ? 0x86DD : 0x0800);

    if (flow.ipv6) {
        put32(b, l3, 0x60000000u | 0x12345u);  // version 6, flow label
        put16(b, l3 + 4, static_cast<uint16_t>(tcp_len + payload.size()));
        b[l3 + 6] = 6;   // next header: TCP
        b[l3 + 7] = 64;  // hop limit
        std::copy(flow.src_ip.begin(), flow.src_ip.end(), b.begin() + static_cast<ptrdiff_t>(l3 + 8));
        std::copy(flow.dst_ip.begin(), flow.dst_ip.end(), b.begin() + static_cast<ptrdiff_t>(l3 + 24));
    } else {
        b[l3] = static_cast<uint8_t>(0x40 | (5 + words));
        put16(b, l3 + 2, static_cast<uint16_t>(ip_header_len + tcp_len + payload.size()));
        put16(b, l3 + 4, static_cast<uint16_t>(tcp.seq));  // identification
        put16(b, l3 + 6, 0x4000);                           // DF
        b[l3 + 8] = 64;                                     // TTL
        b[l3 + 9] = 6;                                      // TCP
        std::copy_n(flow.src_ip.begin(), 4, b.begin() + static_cast<ptrdiff_t>(l3 + 12));
        std::copy_n(flow.dst_ip.begin(), 4, b.begin() + static_cast<ptrdiff_t>(l3 + 16));
        for (size_t i = 20; i < ip_header_len; ++i) b[l3 + i] = i + 1 == ip_header_len ? 0x00 : 0x01;  // NOPs, EOL
        put16(b, l3 + 10, internet_checksum(std::span<const uint8_t>(b).subspan(l3, ip_header_len)));
    }

    put16(b, l4, flow.src_port);
    put16(b, l4 + 2, flow.dst_port);
    put32(b, l4 + 4, tcp.seq);
    put32(b, l4 + 8, tcp.ack);
    b[l4 + 12] = static_cast<uint8_t>((tcp_len / 4) << 4);
    b[l4 + 13] = tcp.flags;
    put16(b, l4 + 14, tcp.window);
    if (opt_len >= 12) {
        const size_t o = l4 + 20;
        b[o] = 1;  // NOP
        b[o + 1] = 1;
        b[o + 2] = 8;  // timestamps
        b[o + 3] = 10;
        put32(b, o + 4, tcp.tsval);
        put32(b, o + 8, tcp.tsval ^ 0xA5A5u);
    }
    if (opt_len >= 24) {
        const size_t o = l4 + 32;
        b[o] = 1;
        b[o + 1] = 1;
        b[o + 2] = 5;  // SACK, one block
        b[o + 3] = 10;
        put32(b, o + 4, tcp.ack + 1000);
        put32(b, o + 8, tcp.ack + 2000);
    }
    if (!payload.empty()) std::memcpy(b.data() + payload_at, payload.data(), payload.size());

    // TCP checksum over the pseudo-header, the TCP header and the payload.
    const uint32_t seg_len = static_cast<uint32_t>(tcp_len + payload.size());
    uint64_t pseudo = 0;
    if (flow.ipv6) {
        pseudo = sum16(std::span<const uint8_t>(b).subspan(l3 + 8, 32), 0);
        pseudo += (seg_len >> 16) + (seg_len & 0xFFFF) + 6;
    } else {
        pseudo = sum16(std::span<const uint8_t>(b).subspan(l3 + 12, 8), 0);
        pseudo += seg_len + 6;
    }
    put16(b, l4 + 16, checksum_of_sum(sum16(std::span<const uint8_t>(b).subspan(l4), pseudo)));

    f.layout = FrameLayout{static_cast<uint16_t>(l3), static_cast<uint16_t>(l4), static_cast<uint16_t>(payload_at),
                           static_cast<uint32_t>(payload.size()), static_cast<uint16_t>(b.size())};
    if (pad_to_minimum && b.size() < 60) b.resize(60, 0);
    return f;
}

namespace {

struct Planned {
    ByteRange range;
    uint8_t faults = 0;
    size_t segment = kNoSegment;
    uint64_t key = 0;  // arrival order: 2 * position (+ 2 * delay + 1 when delivered late)
};

// std::stable_sort for sequences that are nearly in order (frames arrive at most a few places late,
// retransmissions go back a few segments): an insertion sort, linear for them.
template <typename T, typename Less>
NVMEDDP_TESTLIB_NO_COVERAGE void stable_sort_nearly_sorted(std::vector<T>& v, Less less) {
    for (size_t i = 1; i < v.size(); ++i) {
        if (!less(v[i], v[i - 1])) continue;
        T x = std::move(v[i]);
        size_t j = i;
        for (; j > 0 && less(x, v[j - 1]); --j) v[j] = std::move(v[j - 1]);
        v[j] = std::move(x);
    }
}

NVMEDDP_TESTLIB_NO_COVERAGE std::vector<ByteRange> segment_stream(size_t len, const FrameGenOptions& o) {
    std::vector<ByteRange> out;
    std::mt19937_64 rng(o.segment_seed);
    const uint32_t mss = std::max<uint32_t>(1, o.mss);
    size_t cut = 0;
    for (uint64_t at = 0; at < len;) {
        const uint64_t want = o.random_segment_sizes ? 1 + rng() % mss : mss;
        uint64_t n = std::min<uint64_t>(want, len - at);
        while (cut < o.cut_at.size() && o.cut_at[cut] <= at) ++cut;
        if (cut < o.cut_at.size()) n = std::min<uint64_t>(n, o.cut_at[cut] - at);
        out.push_back(ByteRange{at, n});
        at += n;
    }
    return out;
}

}  // namespace

NVMEDDP_TESTLIB_NO_COVERAGE FrameSequence generate_frames(std::span<const uint8_t> stream, const FrameGenOptions& o,
                                                          const FaultPlan& plan) {
    FrameSequence out;
    out.segments = segment_stream(stream.size(), o);
    std::mt19937_64 rng(plan.seed);
    const uint32_t mss = std::max<uint32_t>(1, o.mss);
    const uint64_t max_d = std::max<uint32_t>(1, plan.max_displacement);

    // Sender: every segment in order, plus resegmented retransmissions of recent bytes.
    std::vector<Planned> sent;
    for (size_t i = 0; i < out.segments.size(); ++i) {
        sent.push_back(Planned{out.segments[i], 0, i, 0});
        if (plan.resegment > 0 && unit_draw(rng) < plan.resegment) {
            const size_t first = i - std::min<size_t>(i, rng() % 3);
            const ByteRange& a = out.segments[first];
            const uint64_t begin = a.offset + rng() % a.length;
            const uint64_t end = begin + 1 + rng() % (out.segments[i].end() - begin);
            for (uint64_t at = begin; at < end;) {
                const uint64_t n = std::min<uint64_t>(1 + rng() % mss, end - at);
                sent.push_back(Planned{ByteRange{at, n}, fault::kResegmented, kNoSegment, 0});
                at += n;
            }
        }
    }

    // Network: loss (and the sender's retransmission), reordering, duplication.
    std::vector<Planned> arrived;
    for (size_t p = 0; p < sent.size(); ++p) {
        Planned item = sent[p];
        if (plan.loss > 0 && unit_draw(rng) < plan.loss) {
            if (plan.retransmit_lost) {
                item.faults |= fault::kRetransmit;
                item.key = 2 * (p + 1 + rng() % max_d) + 1;
                arrived.push_back(item);
            }
            continue;
        }
        item.key = 2 * p;
        if (plan.wire_corrupt > 0 && unit_draw(rng) < plan.wire_corrupt) {
            // This copy arrives damaged (and is dropped by a receiver); the sender sends it again.
            Planned bad = item;
            bad.faults |= fault::kWireCorrupt;
            arrived.push_back(bad);
            item.faults |= fault::kRetransmit;
            item.key = 2 * (p + 1 + rng() % max_d) + 1;
        } else if (plan.lying > 0 && unit_draw(rng) < plan.lying) {
            item.faults |= fault::kLying;
        }
        if (plan.reorder > 0 && unit_draw(rng) < plan.reorder) {
            item.faults |= fault::kReordered;
            item.key = 2 * (p + 1 + rng() % max_d) + 1;
        }
        arrived.push_back(item);
        if (plan.duplicate > 0 && unit_draw(rng) < plan.duplicate) {
            Planned copy = item;
            copy.faults |= fault::kDuplicate;
            copy.key = 2 * (p + rng() % (max_d + 1)) + 1;
            arrived.push_back(copy);
        }
    }
    stable_sort_nearly_sorted(arrived, [](const Planned& a, const Planned& b) { return a.key < b.key; });

    if (plan.corrupt_offset) {
        const uint64_t c = *plan.corrupt_offset;
        for (size_t i = 0; i < arrived.size(); ++i) {
            if (arrived[i].range.offset <= c && c < arrived[i].range.end()) {
                arrived[i].faults |= fault::kCorrupted;
                out.corrupted_frame = i;
                break;
            }
        }
    }

    // Frames.
    out.frames.reserve(arrived.size());
    std::vector<uint8_t> payload;
    for (size_t i = 0; i < arrived.size(); ++i) {
        const Planned& item = arrived[i];
        const auto off = static_cast<size_t>(item.range.offset);
        payload.assign(stream.begin() + static_cast<ptrdiff_t>(off),
                       stream.begin() + static_cast<ptrdiff_t>(off + item.range.length));
        if (item.faults & fault::kCorrupted) payload[*plan.corrupt_offset - off] ^= plan.corrupt_xor;
        if ((item.faults & fault::kLying) && !payload.empty()) payload[rng() % payload.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
        TcpFields tcp;
        tcp.seq = static_cast<uint32_t>(o.first_seq + item.range.offset);
        tcp.ack = o.ack;
        tcp.tsval = static_cast<uint32_t>(i + 1);
        switch (o.options) {
            case OptionMode::None: tcp.options = TcpOptions::None; break;
            case OptionMode::Timestamps: tcp.options = TcpOptions::Timestamps; break;
            case OptionMode::Varying: tcp.options = static_cast<TcpOptions>(i % 3); break;
        }
        BuiltFrame built = build_frame(o.flow, tcp, payload, o.pad_to_minimum);
        if (item.faults & fault::kWireCorrupt) {
            // One byte of the IP packet (headers or payload) altered after the checksums.
            const size_t at = built.layout.l3_offset + rng() % (built.layout.ip_end - built.layout.l3_offset);
            built.bytes[at] ^= static_cast<uint8_t>(1 + rng() % 255);
        }
        out.frames.push_back(GeneratedFrame{
            std::move(built.bytes),
            FrameTruth{item.range.offset, static_cast<uint32_t>(item.range.length), tcp.seq, item.faults, item.segment,
                       built.layout}});
    }

    // Stream ranges no frame carries.
    std::vector<ByteRange> carried;
    for (const auto& item : arrived) carried.push_back(item.range);
    stable_sort_nearly_sorted(carried, [](const ByteRange& a, const ByteRange& b) { return a.offset < b.offset; });
    uint64_t covered = 0;
    for (const auto& r : carried) {
        if (r.offset > covered) out.missing.push_back(ByteRange{covered, r.offset - covered});
        covered = std::max(covered, r.end());
    }
    if (covered < stream.size()) out.missing.push_back(ByteRange{covered, stream.size() - covered});
    return out;
}

}  // namespace nvmeddp::testlib
