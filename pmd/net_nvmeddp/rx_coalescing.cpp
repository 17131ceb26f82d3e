#include "pmd/net_nvmeddp/rx_coalescing.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>

#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/l4_checksum.hpp"
#include "pmd/packet/net_headers.hpp"

namespace nvmeddp::pmd::nic {

namespace {

constexpr uint8_t kStopFlags = tcp_flags::kSyn | tcp_flags::kFin | tcp_flags::kRst | tcp_flags::kUrg |
                               tcp_flags::kCwr | tcp_flags::kEce;
constexpr size_t kTimestampLen = 10;   // kind 8, length 10, TSval, TSecr
constexpr size_t kTimestampValues = 2;  // where TSval starts in it

// The checksums, from the port's verdicts where it gave them, else computed.
bool checksums_ok(const rte_mbuf* m, std::span<const uint8_t> first, const TcpSegment& seg) noexcept {
    const uint64_t ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    const uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    if (ip == RTE_MBUF_F_RX_IP_CKSUM_BAD || l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD) return false;
    if (ip != RTE_MBUF_F_RX_IP_CKSUM_GOOD && !ipv4_header_checksum_ok(first, seg)) return false;
    if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD) return true;
    TcpChecksum sum(first, seg);
    for (const rte_mbuf* s = m->next; s != nullptr; s = s->next) sum.add({rte_pktmbuf_mtod(s, const uint8_t*), s->data_len});
    return sum.ok();
}

// A received frame that may take part in a coalesced one (the conditions in the header), parsed.
bool mergeable(const rte_mbuf* m, TcpSegment& seg) noexcept {
    const std::span<const uint8_t> first(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len);
    const FrameParse parse = parse_frame(first, m->pkt_len);  // no fragments, no IPv6 extension headers
    if (!parse.ok()) return false;
    seg = parse.segment;
    const bool ip_options = seg.flow.family == IpFamily::Ipv4 && seg.l4_offset - seg.l3_offset != sizeof(Ipv4Header);
    return (seg.tcp_flags & tcp_flags::kAck) != 0 && (seg.tcp_flags & kStopFlags) == 0 && seg.payload_len > 0 &&
           !ip_options && m->pkt_len == seg.payload_offset + seg.payload_len && rte_mbuf_refcnt_read(m) == 1 &&
           checksums_ok(m, first, seg);
}

// Where the timestamp option's kind byte sits in the options, or -1.
int timestamp_at(const uint8_t* opts, size_t len) noexcept {
    for (size_t i = 0; i < len;) {
        if (opts[i] == 0) break;  // end of options
        if (opts[i] == 1) {       // NOP
            ++i;
            continue;
        }
        if (i + 1 >= len || opts[i + 1] < 2 || i + opts[i + 1] > len) break;
        if (opts[i] == 8 && opts[i + 1] == kTimestampLen) return static_cast<int>(i);
        i += opts[i + 1];
    }
    return -1;
}

// The frame being built: its first frame (`head`) and what the next must match.
struct Building {
    rte_mbuf* head = nullptr;
    rte_mbuf* last = nullptr;  // last segment of the chain
    TcpSegment seg;            // the first frame's
    uint32_t next_seq = 0;
    uint32_t payload = 0;      // payload bytes so far
    uint32_t largest = 0;      // largest payload merged
    uint32_t frames = 0;
    int ts_at = -1;            // timestamp option in the options, or -1

    uint8_t* tcp() const noexcept { return rte_pktmbuf_mtod_offset(head, uint8_t*, seg.l4_offset); }
    size_t options_len() const noexcept { return seg.payload_offset - seg.l4_offset - sizeof(TcpHeader); }
    uint32_t ip_length_field(uint32_t more) const noexcept {  // IPv4 total length / IPv6 payload length
        const uint32_t tcp_len = seg.payload_offset - seg.l4_offset + payload + more;
        return seg.flow.family == IpFamily::Ipv4 ? seg.l4_offset - seg.l3_offset + tcp_len : tcp_len;
    }
};

// Options the same byte for byte, but for the timestamp values, and TSval not going back.
bool same_options(const Building& b, const rte_mbuf* m, const TcpSegment& s) noexcept {
    const size_t len = b.options_len();
    if (s.payload_offset - s.l4_offset != b.seg.payload_offset - b.seg.l4_offset) return false;
    const uint8_t* mine = b.tcp() + sizeof(TcpHeader);
    const uint8_t* theirs = rte_pktmbuf_mtod_offset(m, const uint8_t*, s.l4_offset + sizeof(TcpHeader));
    if (b.ts_at < 0) return std::memcmp(mine, theirs, len) == 0;
    const size_t values = static_cast<size_t>(b.ts_at) + kTimestampValues;
    const size_t after = static_cast<size_t>(b.ts_at) + kTimestampLen;
    if (std::memcmp(mine, theirs, values) != 0 || std::memcmp(mine + after, theirs + after, len - after) != 0) return false;
    const auto tsval = [](const uint8_t* p) { return load_be32(p); };
    return static_cast<int32_t>(tsval(theirs + values) - tsval(mine + values)) >= 0;
}

bool joins(const Building& b, const rte_mbuf* m, const TcpSegment& s, uint32_t max_frame_len) noexcept {
    return s.flow == b.seg.flow && s.seq == b.next_seq && b.head->pkt_len + s.payload_len <= max_frame_len &&
           b.ip_length_field(s.payload_len) <= kMaxLroIpLength &&
           b.head->nb_segs + m->nb_segs <= kMaxLroSegments && same_options(b, m, s);
}

void start(Building& b, rte_mbuf* m, const TcpSegment& s) noexcept {
    b = Building{};
    b.head = m;
    b.last = rte_pktmbuf_lastseg(m);
    b.seg = s;
    b.next_seq = s.seq + s.payload_len;
    b.payload = b.largest = s.payload_len;
    b.frames = 1;
    b.ts_at = timestamp_at(b.tcp() + sizeof(TcpHeader), b.options_len());
}

// m's payload goes at the end of the frame being built; its ACK, window and timestamps replace the
// frame's, its PSH is added; its headers go.
void merge(Building& b, rte_mbuf* m, const TcpSegment& s) noexcept {
    const uint8_t* theirs = rte_pktmbuf_mtod_offset(m, const uint8_t*, s.l4_offset);
    uint8_t* mine = b.tcp();
    std::memcpy(mine + offsetof(TcpHeader, ack), theirs + offsetof(TcpHeader, ack), sizeof(be32));
    std::memcpy(mine + offsetof(TcpHeader, window), theirs + offsetof(TcpHeader, window), sizeof(be16));
    mine[offsetof(TcpHeader, flags)] |= theirs[offsetof(TcpHeader, flags)] & tcp_flags::kPsh;  // it ends the frame
    if (b.ts_at >= 0) {
        const size_t values = sizeof(TcpHeader) + static_cast<size_t>(b.ts_at) + kTimestampValues;
        std::memcpy(mine + values, theirs + values, kTimestampLen - kTimestampValues);
    }
    rte_pktmbuf_adj(m, s.payload_offset);  // the headers are in the first segment (parse_frame)
    if (m->data_len == 0 && m->next != nullptr) {  // a segment of headers only: not worth chaining
        rte_mbuf* rest = m->next;
        rest->pkt_len = m->pkt_len;
        rest->nb_segs = static_cast<uint16_t>(m->nb_segs - 1);
        m->next = nullptr;
        m->nb_segs = 1;
        rte_pktmbuf_free(m);
        m = rest;
    }
    b.last->next = m;
    b.last = rte_pktmbuf_lastseg(m);
    b.head->nb_segs = static_cast<uint16_t>(b.head->nb_segs + m->nb_segs);
    b.head->pkt_len += m->pkt_len;
    b.next_seq += s.payload_len;
    b.payload += s.payload_len;
    b.largest = std::max(b.largest, s.payload_len);
    ++b.frames;
}

void finish(Building& b, LroCounters& counters) noexcept {
    if (b.head == nullptr || b.frames < 2) return;  // a frame alone is left as it came
    uint8_t* ip = rte_pktmbuf_mtod_offset(b.head, uint8_t*, b.seg.l3_offset);
    uint64_t verdicts = RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    if (b.seg.flow.family == IpFamily::Ipv4) {
        auto* h = reinterpret_cast<Ipv4Header*>(ip);  // alignment 1 (be_int.hpp)
        h->total_length.set(static_cast<uint16_t>(b.ip_length_field(0)));
        h->checksum.set(0);
        InternetSum sum;
        sum.add({ip, sizeof(Ipv4Header)});
        const auto v = static_cast<uint16_t>(~sum.folded());  // CPU byte order, as summed
        std::memcpy(&h->checksum, &v, sizeof v);
        verdicts |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    } else {
        reinterpret_cast<Ipv6Header*>(ip)->payload_length.set(static_cast<uint16_t>(b.ip_length_field(0)));
    }
    // The TCP checksum field is left stale (see the header): the flags say every part was verified.
    b.head->ol_flags = (b.head->ol_flags & ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK)) | verdicts;
    b.head->tso_segsz = static_cast<uint16_t>(b.largest);
    ++counters.frames;
    counters.merged += b.frames;
}

}  // namespace

uint16_t coalesce_tcp_frames(rte_mbuf** pkts, uint16_t n, uint32_t max_frame_len, LroCounters& counters) noexcept {
    Building b;
    uint16_t out = 0;
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        TcpSegment s;
        const bool ok = mergeable(m, s);
        if (ok && b.head != nullptr && joins(b, m, s, max_frame_len)) {
            merge(b, m, s);
            if ((s.tcp_flags & tcp_flags::kPsh) != 0) {
                finish(b, counters);
                b.head = nullptr;
            }
            continue;
        }
        finish(b, counters);
        b.head = nullptr;
        pkts[out++] = m;
        // It starts a frame if it may be written and nothing ends it already.
        if (ok && RTE_MBUF_DIRECT(m) && (s.tcp_flags & tcp_flags::kPsh) == 0) start(b, m, s);
    }
    finish(b, counters);
    return out;
}

}  // namespace nvmeddp::pmd::nic
