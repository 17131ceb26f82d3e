// Fuzz target: one tcp::Connection with the fuzzer as its peer.
//
// The input picks both initial sequence numbers (so the wrap is reachable), the MSS and whether the
// connection opens actively or passively, then runs operations: the peer sends a segment (anywhere
// around what it has sent: old, in order, ahead, overlapping; any flags; an ACK number around what
// we sent; any window; timestamps rising or not; SACK blocks), time passes (timers fire), the
// application sends bytes, closes or aborts. Both sides' bytes are a function of their stream
// offset, so every copy of a byte is as good as another.
// Our initial sequence number, modulo 3, also picks the out-of-order queue: the connection's own,
// one borrowed from an endpoint's reserve of one queue, or none to borrow (every queue lent: 8
// inline entries, pruned from the end, SACKed segments among them). The peer's, modulo 2, turns
// header prediction (connection_fast_path.cpp) on or off.
// Invariants:
//   - what the connection delivers is exactly the peer's stream from its first byte on (a prefix of
//     the truth: nothing skipped, duplicated or reordered);
//   - every frame it sends parses, has valid checksums, and every data byte in it is the
//     application's byte at that sequence number, never beyond what the application gave; a FIN
//     comes only after close() and sits right after the last byte given;
//   - no crash or hang (libFuzzer's timeout), and every mbuf is back in the pool at the end.
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_dpdk.hpp"
#include "fuzz_input.hpp"
#include "pmd/dpdk/eal.hpp"
#include "pmd/dpdk/mbuf_meta.hpp"
#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/l4_checksum.hpp"
#include "pmd/packet/net_headers.hpp"
#include "tcp/connection.hpp"
#include "tcp/ooo_reserve.hpp"

using namespace nvmeddp;
using tcp::Seq;
namespace F = pmd::tcp_flags;

namespace {

rte_mempool* g_pool = nullptr;

void bring_up() { g_pool = fuzz::dpdk_pool("fuzz_tcp_connection", "fuzz_conn_pool", 8191); }

uint8_t peer_byte(uint64_t offset) { return static_cast<uint8_t>((offset * 2654435761u) >> 13); }
uint8_t our_byte(uint64_t offset) { return static_cast<uint8_t>((offset * 40503u + 17) >> 5); }

// The peer's byte at every sequence number is fixed (by its distance from the peer's first data
// byte as the fuzzer plays it), so any copy of a byte is right. The connection may still take
// another ISN for the peer (a SYN the fuzzer sent elsewhere): what it delivers is then checked by
// sequence number, and must be contiguous from its first byte.
class Checker : public tcp::ConnectionHandler {
public:
    explicit Checker(Seq peer_data) : peer_data_(peer_data) {}
    void on_data(tcp::Connection&, std::span<tcp::RxSegment> segments) override {
        for (const tcp::RxSegment& s : segments) {
            if (started_ && s.seq != next_) fuzz::invariant_broken("delivered out of order or with a gap");
            started_ = true;
            Seq seq = s.seq;
            for (const rte_mbuf* m = s.m; m != nullptr; m = m->next) {
                const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
                for (uint16_t i = 0; i < m->data_len; ++i, seq = seq + 1) {
                    if (p[i] != peer_byte(peer_data_.bytes_to(seq)))
                        fuzz::invariant_broken("delivered a byte that is not the peer's at its sequence number");
                }
            }
            if (seq != s.seq + s.len) fuzz::invariant_broken("a segment's length is not its bytes");
            next_ = seq;
        }
    }
    void on_closed(tcp::Connection&, tcp::TcpError) override { closed = true; }
    bool closed = false;

private:
    Seq peer_data_;
    Seq next_;
    bool started_ = false;
};

struct Rig {
    tcp::FrameBuilder builder;
    tcp::TimerWheel timers{1024, 1000, 1'000'000};
    tcp::TxBatch tx{&Rig::capture, this};
    tcp::ConnectionContext ctx;
    std::vector<rte_mbuf*> frames;
    bool dirty = false;

    static uint16_t capture(void* self, rte_mbuf** f, uint16_t n) {
        auto* r = static_cast<Rig*>(self);
        r->frames.insert(r->frames.end(), f, f + n);
        return n;
    }
};

tcp::Route route() {
    tcp::Route r;
    r.src_mac.bytes = {2, 0, 0, 0, 0, 2};
    r.dst_mac.bytes = {2, 0, 0, 0, 0, 1};
    r.src_ip = tcp::IpAddress::v4(192, 0, 2, 2);
    r.dst_ip = tcp::IpAddress::v4(192, 0, 2, 1);
    r.src_port = 40000;
    r.dst_port = 4420;
    return r;
}

// What the connection sent, checked against what the application gave it.
struct SentCheck {
    Seq data_start;           // sequence number of our first data byte (ISN + 1)
    uint64_t given = 0;       // bytes the application queued
    bool closed = false;      // close() was called
    Seq highest;              // the highest sequence number sent so far, for the ACKs we play
    bool any = false;

    void check(std::vector<rte_mbuf*>& frames) {
        std::vector<uint8_t> bytes;
        for (rte_mbuf* f : frames) {
            bytes.clear();
            for (const rte_mbuf* m = f; m != nullptr; m = m->next) {
                const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
                bytes.insert(bytes.end(), p, p + m->data_len);
            }
            rte_pktmbuf_free(f);
            const pmd::FrameParse p = pmd::parse_frame(bytes);
            if (!p.ok()) fuzz::invariant_broken("sent a frame the parser refuses:", pmd::to_string(p.error));
            if (!pmd::tcp_checksum_ok(bytes, p.segment) || !pmd::ipv4_header_checksum_ok(bytes, p.segment))
                fuzz::invariant_broken("sent a frame with a bad checksum");
            const pmd::TcpSegment& s = p.segment;
            const Seq seq(s.seq);
            if (s.tcp_flags & F::kSyn) continue;  // the SYN carries no data of ours
            if (s.payload_len > 0) {
                if (seq < data_start) {
                    std::fprintf(stderr, "seq %u data_start %u len %u flags %x\n", seq.raw(), data_start.raw(), s.payload_len, s.tcp_flags);
                    fuzz::invariant_broken("sent data before the first data byte");
                }
                const uint64_t off = data_start.bytes_to(seq);
                if (off + s.payload_len > given) fuzz::invariant_broken("sent bytes the application never gave");
                for (uint32_t i = 0; i < s.payload_len; ++i) {
                    if (bytes[s.payload_offset + i] != our_byte(off + i))
                        fuzz::invariant_broken("sent a data byte that is not the application's");
                }
            }
            if (s.tcp_flags & F::kFin) {
                if (!closed) fuzz::invariant_broken("sent a FIN before close()");
                if (seq + s.payload_len != data_start + static_cast<uint32_t>(given))
                    fuzz::invariant_broken("the FIN is not right after the last byte given");
            }
            const Seq end = seq + s.payload_len + ((s.tcp_flags & F::kFin) ? 1u : 0u);
            if (!any || end > highest) highest = end;
            any = true;
        }
        frames.clear();
    }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    bring_up();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    bring_up();
    fuzz::FuzzInput in(data, size);
    const unsigned in_use_before = rte_mempool_in_use_count(g_pool);
    {
        tcp::ConnectionConfig cfg;
        cfg.rcv_buf = 64 * 1024;
        cfg.snd_buf = 64 * 1024;
        cfg.mss = static_cast<uint16_t>(in.range(88, 1460));
        cfg.ooo_segments = 1024;
        cfg.ready_segments = 256;
        cfg.timestamps = in.flag();
        cfg.sack = in.flag();
        cfg.max_retransmits = 4;
        cfg.syn_retries = 2;
        cfg.time_wait_us = 2'000'000;
        Rig rig;
        rig.ctx.pool = g_pool;
        rig.ctx.builder = &rig.builder;
        rig.ctx.timers = &rig.timers;
        rig.ctx.tx = &rig.tx;
        rig.ctx.now_us = 1'000'000;
        rig.ctx.linear_tx = in.flag();
        rig.ctx.owner = &rig;
        rig.ctx.mark_dirty = [](void* self, tcp::Connection&) { static_cast<Rig*>(self)->dirty = true; };
        const Seq iss(in.take<uint32_t>());
        const Seq irs(in.take<uint32_t>());
        Checker checker(irs + 1);
        const uint32_t sharing = iss.raw() % 3;
        tcp::OutOfOrderReserve reserve(sharing == 1 ? 1 : 0, cfg.ooo_segments);  // outlives conn
        if (sharing != 0) rig.ctx.ooo_reserve = &reserve;
        cfg.header_prediction = (irs.raw() & 1) == 0;  // the short path for in-order data, or only the full one
        auto conn = std::make_unique<tcp::Connection>(cfg, rig.ctx);
        auto finish = [&] {
            while (rig.dirty) {
                rig.dirty = false;
                conn->after_burst();
            }
            rig.tx.flush();
        };

        SentCheck sent;
        sent.data_start = iss + 1;
        if (in.flag()) {
            conn->open_active(route(), iss, &checker);
            if (in.flag()) {  // the peer answers as it should, most of the time
                finish();
                tcp::InSegment syn_ack;
                syn_ack.seq = irs;
                syn_ack.ack = iss + 1;
                syn_ack.flags = F::kSyn | F::kAck;
                syn_ack.window = in.take<uint16_t>();
                syn_ack.options.has_mss = true;
                syn_ack.options.mss = static_cast<uint16_t>(in.range(64, 9000));
                syn_ack.options.has_wscale = in.flag();
                syn_ack.options.wscale = static_cast<uint8_t>(in.range(0, 14));
                syn_ack.options.sack_permitted = in.flag();
                syn_ack.options.has_timestamps = in.flag();
                syn_ack.options.ts_val = in.take<uint32_t>();
                conn->input(syn_ack);
            }
        } else {
            tcp::InSegment syn;
            syn.seq = irs;
            syn.flags = F::kSyn;
            syn.window = in.take<uint16_t>();
            syn.options.has_mss = in.flag();
            syn.options.mss = in.take<uint16_t>();
            syn.options.has_wscale = in.flag();
            syn.options.wscale = static_cast<uint8_t>(in.range(0, 14));
            syn.options.sack_permitted = in.flag();
            syn.options.has_timestamps = in.flag();
            syn.options.ts_val = in.take<uint32_t>();
            conn->open_passive(route(), iss, syn, &checker);
        }
        finish();
        sent.check(rig.frames);

        uint64_t peer_sent = 0;  // the peer's stream bytes it has put out so far (it may resend any)
        uint32_t ts = in.take<uint32_t>();
        const Seq peer_data = irs + 1;
        for (int op = 0; op < 3000 && in.left() > 0 && !checker.closed; ++op) {
            switch (in.range(0, 9)) {
                case 0: case 1: case 2: case 3: {  // a segment from the peer
                    tcp::InSegment s;
                    const uint32_t len = in.range(0, 3) == 0 ? 0 : in.range(1, 3000);
                    const uint64_t back = std::min<uint64_t>(peer_sent, in.range(0, 70'000));
                    uint64_t start = peer_sent - back;
                    if (in.flag()) start += in.range(0, 70'000);  // ahead: a gap before it
                    s.seq = (in.range(0, 15) == 0) ? Seq(in.take<uint32_t>()) : peer_data + static_cast<uint32_t>(start);
                    const uint8_t flag_choice = in.take<uint8_t>();
                    s.flags = F::kAck;
                    if ((flag_choice & 0x0F) == 1) s.flags |= F::kFin;
                    if ((flag_choice & 0x1F) == 2) s.flags = F::kRst;
                    if ((flag_choice & 0x3F) == 3) s.flags |= F::kSyn;
                    if ((flag_choice & 0x3F) == 4) s.flags &= static_cast<uint8_t>(~F::kAck);
                    const Seq exact = sent.any ? sent.highest : iss + 1;
                    const int32_t ack_delta = static_cast<int32_t>(in.range(0, 4000)) - 2000;
                    s.ack = in.flag() ? exact : exact + static_cast<uint32_t>(ack_delta);
                    s.window = in.flag() ? 0xFFFF : in.take<uint16_t>();
                    if (in.flag()) {
                        s.options.has_timestamps = true;
                        ts += in.range(0, 3) == 0 ? static_cast<uint32_t>(-static_cast<int32_t>(in.range(0, 1000))) : in.range(0, 100);
                        s.options.ts_val = ts;
                        s.options.ts_ecr = in.take<uint32_t>();
                    }
                    if (in.flag()) {
                        s.options.sack_count = static_cast<uint8_t>(in.range(1, 4));
                        for (uint8_t b = 0; b < s.options.sack_count; ++b) {
                            const Seq left = iss + in.range(0, 200'000);
                            s.options.sack[b] = {left, left + in.range(0, 20'000)};
                        }
                    }
                    if (len > 0 && (s.flags & F::kRst) == 0) {
                        // The peer's byte at every sequence number is fixed (by its distance from
                        // the peer's first data byte), so any copy, old or new, is right.
                        const uint32_t seg = in.range(64, 2048);
                        rte_mbuf* head = nullptr;
                        for (uint32_t at = 0; at < len;) {
                            rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
                            if (m == nullptr) fuzz::invariant_broken("pool exhausted (mbuf leak?)");
                            const uint32_t n = std::min({seg, len - at, uint32_t{rte_pktmbuf_tailroom(m)}});
                            auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(n)));
                            // A SYN takes the first sequence number: its data starts one later.
                            const Seq first = s.seq + ((s.flags & F::kSyn) ? 1u : 0u);
                            for (uint32_t i = 0; i < n; ++i) p[i] = peer_byte(peer_data.bytes_to(first + (at + i)));
                            at += n;
                            if (head == nullptr) {
                                head = m;
                            } else {
                                rte_pktmbuf_chain(head, m);
                            }
                        }
                        s.payload = head;
                        s.len = len;
                        const uint32_t off = peer_data.bytes_to(s.seq);
                        if (off < (1u << 30)) peer_sent = std::max<uint64_t>(peer_sent, uint64_t{off} + len);
                    }
                    conn->input(s);
                    break;
                }
                case 4: case 5: {  // time passes
                    rig.ctx.now_us += in.flag() ? in.range(0, 2'000) : in.range(0, 3'000'000);
                    rig.timers.advance(rig.ctx.now_us);
                    break;
                }
                case 6: case 7: {  // the application sends
                    const uint32_t n = in.range(1, 20'000);
                    std::vector<uint8_t> bytes(n);
                    for (uint32_t i = 0; i < n; ++i) bytes[i] = our_byte(sent.given + i);
                    if (!sent.closed) sent.given += conn->send(bytes);
                    break;
                }
                case 8:
                    if (in.range(0, 3) == 0) {
                        conn->close();
                        sent.closed = true;
                    }
                    break;
                default:
                    if (in.range(0, 15) == 0) conn->abort();
                    break;
            }
            finish();
            sent.check(rig.frames);
        }
        conn.reset();
        sent.check(rig.frames);
    }
    if (rte_mempool_in_use_count(g_pool) != in_use_before) fuzz::invariant_broken("mbufs leaked");
    return 0;
}
