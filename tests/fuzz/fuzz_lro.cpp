// Fuzz target: net_nvmeddp's software LRO (pmd/net_nvmeddp/rx_coalescing.hpp) on a burst of frames
// that the input describes: two flows (IPv4 or IPv6), each frame continuing its flow, leaving a gap
// or repeating an earlier sequence number; payloads of 0..2000 bytes, TCP flags, timestamp options
// whose TSval rises or falls, SACK blocks now and then, a corrupted byte (a bad checksum) with or
// without the port's BAD verdict, a frame still shared by someone else (refcnt 2), padding after the
// IP packet, and mbuf chains of chosen segment sizes.
// Invariants:
//   - every frame out is the head of a frame in, in order: the burst is cut into runs of
//     consecutive frames, each delivered as one frame;
//   - a run of one is delivered exactly as it came (bytes and checksum verdicts);
//   - a run of several is one flow, each frame continuing the one before, each with payload, ACK,
//     none of SYN/FIN/RST/URG/CWR/ECE, no PSH but on the last, a valid checksum, the same options
//     but for a TSval that does not fall, not shared, no padding; the frame delivered holds the
//     first frame's headers (IP length right, IPv4 header checksum valid), the last frame's ACK,
//     and every payload byte of the run in order, flagged RX_LRO with tso_segsz the largest
//     payload, within the frame length limit;
//   - a shared frame's bytes are not changed, and every mbuf is back in the pool at the end.
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "fuzz_dpdk.hpp"
#include "fuzz_input.hpp"
#include "pmd/net_nvmeddp/rx_coalescing.hpp"
#include "pmd/packet/be_int.hpp"
#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/l4_checksum.hpp"
#include "pmd/packet/net_headers.hpp"
#include "testlib/frame_gen.hpp"

using namespace nvmeddp;

namespace {

rte_mempool* g_pool = nullptr;
void bring_up() { g_pool = fuzz::dpdk_pool("fuzz_lro", "fuzz_lro_pool", 8191); }

constexpr uint32_t kMaxFrames = 48;
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20;

struct Sent {
    std::vector<uint8_t> bytes;    // the frame as built (after any corruption)
    std::vector<uint8_t> payload;  // its TCP payload
    testlib::FrameLayout layout;
    int flow = 0;
    uint32_t seq = 0, ack = 0;
    uint8_t flags = 0;
    bool checksum_ok = true;
    bool said_bad = false;  // the port's verdict: BAD
    bool shared = false;
    bool padded = false;
    int options = 0;  // 0 none, 1 timestamps, 2 timestamps and SACK
    uint32_t tsval = 0;
    rte_mbuf* head = nullptr;
};

rte_mbuf* chain(const std::vector<uint8_t>& bytes, uint32_t first, uint32_t rest) {
    rte_mbuf* head = nullptr;
    size_t at = 0;
    for (uint32_t piece = first; at < bytes.size(); piece = rest) {
        rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
        if (m == nullptr) fuzz::invariant_broken("mbuf pool exhausted (a leak?)");
        const size_t n = std::min<size_t>({piece, bytes.size() - at, rte_pktmbuf_tailroom(m)});
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(n)), bytes.data() + at, n);
        at += n;
        if (head == nullptr) {
            head = m;
        } else if (rte_pktmbuf_chain(head, m) != 0) {
            fuzz::invariant_broken("chain too long");
        }
    }
    return head;
}

std::vector<uint8_t> bytes_of(const rte_mbuf* m) {
    std::vector<uint8_t> out;
    for (; m != nullptr; m = m->next) {
        const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
        out.insert(out.end(), p, p + m->data_len);
    }
    return out;
}

// Whether frames b may follow a in a merged run (the rules of rx_coalescing.hpp, from what the
// generator knows of them).
bool may_follow(const Sent& a, const Sent& b) {
    return a.flow == b.flow && b.seq == a.seq + static_cast<uint32_t>(a.payload.size()) && a.options == b.options &&
           (a.options == 0 || static_cast<int32_t>(b.tsval - a.tsval) >= 0) && (a.flags & kPsh) == 0;
}
bool may_merge(const Sent& s) {
    return !s.payload.empty() && (s.flags & kAck) != 0 && (s.flags & (kSyn | kFin | kRst | kUrg | 0xC0)) == 0 &&
           s.checksum_ok && !s.said_bad && !s.shared && !s.padded;
}

void check_run(const std::vector<Sent>& sent, size_t from, size_t to, rte_mbuf* got, uint32_t max_len) {
    const Sent& first = sent[from];
    const std::vector<uint8_t> bytes = bytes_of(got);
    if (to - from == 1) {
        if (bytes != first.bytes) fuzz::invariant_broken("a frame delivered alone was changed");
        if (first.said_bad && (got->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_BAD) {
            fuzz::invariant_broken("a frame's BAD verdict was lost");
        }
        if ((got->ol_flags & RTE_MBUF_F_RX_LRO) != 0) fuzz::invariant_broken("a frame alone flagged LRO");
        return;
    }
    uint32_t largest = 0;
    std::vector<uint8_t> payload;
    for (size_t i = from; i < to; ++i) {
        if (!may_merge(sent[i])) fuzz::invariant_broken("a frame that may not be merged was");
        if (i > from && !may_follow(sent[i - 1], sent[i])) fuzz::invariant_broken("frames merged that do not continue each other");
        payload.insert(payload.end(), sent[i].payload.begin(), sent[i].payload.end());
        largest = std::max<uint32_t>(largest, static_cast<uint32_t>(sent[i].payload.size()));
    }
    if ((got->ol_flags & RTE_MBUF_F_RX_LRO) == 0) fuzz::invariant_broken("a merged frame not flagged LRO");
    if (got->tso_segsz != largest) fuzz::invariant_broken("tso_segsz is not the largest payload merged");
    if (got->pkt_len > max_len) fuzz::invariant_broken("a merged frame longer than max_lro_pkt_size");
    const pmd::FrameParse p = pmd::parse_frame(bytes);
    if (!p.ok()) fuzz::invariant_broken("a merged frame does not parse:", pmd::to_string(p.error));
    const size_t hdr = first.layout.payload_offset;
    if (p.segment.payload_offset != hdr || p.segment.payload_len != payload.size()) {
        fuzz::invariant_broken("a merged frame's lengths are wrong");
    }
    if (!std::equal(payload.begin(), payload.end(), bytes.begin() + static_cast<std::ptrdiff_t>(hdr))) {
        fuzz::invariant_broken("a merged frame's payload differs from the frames it was made of");
    }
    if (p.segment.seq != first.seq || p.segment.ack != sent[to - 1].ack) fuzz::invariant_broken("seq or ack wrong");
    if (!pmd::ipv4_header_checksum_ok(bytes, p.segment)) fuzz::invariant_broken("IPv4 header checksum wrong");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    bring_up();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    bring_up();
    fuzz::FuzzInput in(data, size);
    const unsigned before = rte_mempool_avail_count(g_pool);
    const uint32_t n = in.range(1, kMaxFrames);
    const bool ipv6 = in.flag();
    const uint32_t max_len = in.range(60, 70000);
    testlib::FlowSpec flows[2] = {ipv6 ? testlib::ipv6_flow() : testlib::ipv4_flow(),
                                  ipv6 ? testlib::ipv6_flow() : testlib::ipv4_flow()};
    flows[1].dst_port = 40001;
    uint32_t next_seq[2] = {in.take<uint32_t>(), in.take<uint32_t>()};
    uint32_t tsval[2] = {100, 100};
    std::vector<Sent> sent(n);
    std::vector<rte_mbuf*> burst(n);
    for (uint32_t i = 0; i < n; ++i) {
        Sent& s = sent[i];
        const uint8_t shape = in.take<uint8_t>();
        s.flow = (shape & 0x07) == 0 ? 1 : 0;
        const uint8_t seq_kind = in.take<uint8_t>();
        s.seq = next_seq[s.flow];
        if (seq_kind < 16) s.seq += in.range(1, 3000);           // a gap
        else if (seq_kind < 32) s.seq -= in.range(1, 3000);      // a repeat
        const uint8_t flag_bits = in.take<uint8_t>();
        s.flags = kAck;
        if (flag_bits < 24) s.flags = static_cast<uint8_t>(s.flags | kPsh);
        else if (flag_bits < 28) s.flags = static_cast<uint8_t>(s.flags | kFin);
        else if (flag_bits < 30) s.flags = kSyn;
        else if (flag_bits < 32) s.flags = static_cast<uint8_t>(s.flags | kRst);
        else if (flag_bits < 34) s.flags = static_cast<uint8_t>(s.flags | kUrg);
        else if (flag_bits < 36) s.flags = static_cast<uint8_t>(s.flags | 0x80);  // CWR
        else if (flag_bits < 38) s.flags = 0;
        const uint8_t opt = in.take<uint8_t>();
        s.options = opt < 200 ? 1 : opt < 230 ? 0 : 2;
        tsval[s.flow] += (opt & 0x08) != 0 ? 0u : (opt & 0x10) != 0 ? static_cast<uint32_t>(-5) : 1u;
        s.tsval = tsval[s.flow];
        const uint32_t len = in.take<uint8_t>() < 16 ? 0 : in.range(1, 2000);
        s.payload.resize(len);
        for (uint32_t k = 0; k < len; ++k) s.payload[k] = static_cast<uint8_t>((s.seq + k) * 2654435761u >> 24);
        s.ack = 1000 + i;
        testlib::TcpFields t;
        t.seq = s.seq;
        t.ack = s.ack;
        t.flags = s.flags;
        t.window = static_cast<uint16_t>(500 + i);
        t.options = s.options == 0 ? testlib::TcpOptions::None
                                   : s.options == 1 ? testlib::TcpOptions::Timestamps : testlib::TcpOptions::TimestampsAndSack;
        t.tsval = s.tsval;
        const testlib::BuiltFrame f = testlib::build_frame(flows[s.flow], t, s.payload, false);
        s.bytes = f.bytes;
        s.layout = f.layout;
        const uint8_t damage = in.take<uint8_t>();
        if (damage < 8 && len > 0) {  // a flipped payload byte: the TCP checksum no longer holds
            s.bytes[f.layout.payload_offset + in.range(0, len - 1)] ^= 0x5A;
            s.checksum_ok = false;
            s.said_bad = (damage & 1) != 0;
        } else if (damage < 12) {
            s.said_bad = true;  // the port says BAD of a good frame: it is not merged either
        } else if (damage < 16) {
            s.bytes.insert(s.bytes.end(), 6, 0);  // bytes after the IP packet
            s.padded = true;
        }
        const uint32_t first_piece = in.take<uint8_t>() < 32 ? in.range(1, 200) : in.range(200, 2048);
        s.head = chain(s.bytes, first_piece, in.range(64, 2048));  // <= 34 mbufs a frame
        if (s.said_bad) s.head->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
        if (in.take<uint8_t>() < 8) {
            s.shared = true;  // every segment: rte_pktmbuf_free walks the chain, one reference each
            for (rte_mbuf* seg = s.head; seg != nullptr; seg = seg->next) rte_mbuf_refcnt_update(seg, 1);
        }
        burst[i] = s.head;
        if (s.seq == next_seq[s.flow]) next_seq[s.flow] = s.seq + len;
    }

    pmd::nic::LroCounters counters;
    const uint16_t out = pmd::nic::coalesce_tcp_frames(burst.data(), static_cast<uint16_t>(n), max_len, counters);
    if (out == 0 || out > n) fuzz::invariant_broken("frames out of range");
    // Map each frame out to the frame in that heads its run.
    std::vector<size_t> starts;
    size_t at = 0;
    for (uint16_t k = 0; k < out; ++k) {
        while (at < n && sent[at].head != burst[k]) ++at;
        if (at == n) fuzz::invariant_broken("a frame out is not the head of a frame in, in order");
        starts.push_back(at++);
    }
    if (starts[0] != 0) fuzz::invariant_broken("the burst's first frame is missing");
    for (uint16_t k = 0; k < out; ++k) {
        check_run(sent, starts[k], k + 1 < out ? starts[k + 1] : n, burst[k], max_len);
    }
    for (const Sent& s : sent) {
        if (s.shared && bytes_of(s.head) != s.bytes) fuzz::invariant_broken("a shared frame was written");
    }
    for (const Sent& s : sent) {
        if (s.shared) rte_pktmbuf_free(s.head);  // the other reference
    }
    for (uint16_t k = 0; k < out; ++k) rte_pktmbuf_free(burst[k]);
    if (rte_mempool_avail_count(g_pool) != before) fuzz::invariant_broken("mbufs leaked or freed twice");
    return 0;
}
