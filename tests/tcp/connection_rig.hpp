// A connection under test, alone: the test plays its peer with crafted segments (InSegment, as the
// endpoint would hand them in) and reads what it sends back from the frames it produced, decoded by
// the packet layer's parser (an independent reading of the builder's work). The clock is the test's.
#pragma once

#include <gtest/gtest.h>
#include <rte_ip.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <utility>
#include <optional>
#include <span>
#include <vector>

#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/l4_checksum.hpp"
#include "pmd/packet/net_headers.hpp"
#include "tcp/connection.hpp"
#include "tcp_test_support.hpp"

namespace nvmeddp::tcp_test {

// A segment the connection sent, as the peer reads it.
struct Sent {
    tcp::Seq seq;
    tcp::Seq ack;
    uint8_t flags = 0;
    uint16_t window = 0;
    tcp::TcpOptions options;
    std::vector<uint8_t> payload;
    uint16_t tso_segsz = 0;  // cut by the port from a TSO frame of segments this size (0: sent as it was)
    size_t frame = 0;        // which frame the connection handed to the port, counted per take_sent()

    bool has(uint8_t f) const { return (flags & f) == f; }
};

// What the rig's port does for the connection: nothing (checksums in software, one segment per
// frame), or tx checksum offload with TSO, as a NIC: the rig then completes the checksums and cuts
// TSO frames into segments the way a port does (PSH and FIN on the last segment only), before
// reading them.
struct RigPort {
    bool tso = false;
    uint32_t max_wire_segment = 0;  // ConnectionContext::tso_max_wire_segment
};

// A port's work on one frame the connection sent with offloads (IPv4 only, as the rig's route):
// its checksums completed and, for a TSO frame, cut into segments of tso_segsz payload bytes.
inline std::vector<std::vector<uint8_t>> port_output(const rte_mbuf* m, const std::vector<uint8_t>& frame) {
    const size_t headers = size_t{m->l2_len} + m->l3_len + m->l4_len;
    const size_t payload = frame.size() - headers;
    const bool tso = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0 && m->tso_segsz != 0;
    const size_t step = tso ? m->tso_segsz : std::max<size_t>(payload, 1);
    std::vector<std::vector<uint8_t>> out;
    for (size_t at = 0; at < payload || (at == 0 && payload == 0); at += step) {
        const size_t len = std::min(step, payload - at);
        const bool last = at + len == payload;
        std::vector<uint8_t> seg(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(headers));
        seg.insert(seg.end(), frame.begin() + static_cast<std::ptrdiff_t>(headers + at),
                   frame.begin() + static_cast<std::ptrdiff_t>(headers + at + len));
        uint8_t* ip = seg.data() + m->l2_len;
        uint8_t* tcp = ip + m->l3_len;
        reinterpret_cast<pmd::be16*>(ip + 2)->set(static_cast<uint16_t>(seg.size() - m->l2_len));
        reinterpret_cast<pmd::be16*>(ip + 4)->set(static_cast<uint16_t>(pmd::load_be16(ip + 4) + out.size()));
        reinterpret_cast<pmd::be32*>(tcp + 4)->set(static_cast<uint32_t>(pmd::load_be32(tcp + 4) + at));
        if (!last) tcp[13] &= static_cast<uint8_t>(~(pmd::tcp_flags::kFin | pmd::tcp_flags::kPsh));
        ip[10] = ip[11] = 0;
        const uint16_t ip_sum = rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(ip));
        std::memcpy(ip + 10, &ip_sum, 2);
        tcp[16] = tcp[17] = 0;
        const uint16_t tcp_sum = rte_ipv4_udptcp_cksum(reinterpret_cast<const rte_ipv4_hdr*>(ip), tcp);
        std::memcpy(tcp + 16, &tcp_sum, 2);
        out.push_back(std::move(seg));
        if (payload == 0) break;
    }
    return out;
}

// Records what the handler hears.
class RecordingHandler : public tcp::ConnectionHandler {
public:
    void on_connected(tcp::Connection&) override { ++connected; }
    void on_data(tcp::Connection&, std::span<tcp::RxSegment> segments) override {
        for (const tcp::RxSegment& s : segments) {
            const std::vector<uint8_t> b = bytes_of(s.m);
            data.insert(data.end(), b.begin(), b.end());
            seqs.push_back(s.seq);
            metas.push_back(s.m->ol_flags);
        }
    }
    void on_acked(tcp::Connection&, uint64_t bytes) override { acked += bytes; }
    void on_peer_closed(tcp::Connection&) override { ++peer_closed; }
    void on_closed(tcp::Connection&, tcp::TcpError e) override {
        ++closed;
        error = e;
    }

    int connected = 0, peer_closed = 0, closed = 0;
    tcp::TcpError error = tcp::TcpError::None;
    std::vector<uint8_t> data;
    std::vector<tcp::Seq> seqs;
    std::vector<uint64_t> metas;
    uint64_t acked = 0;
};

inline std::vector<uint8_t> bytes(size_t n, uint8_t first = 0) {
    std::vector<uint8_t> b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(first + i);
    return b;
}

// The options a Linux peer answers a SYN with: MSS 1460, window scale 7, SACK, timestamps.
inline tcp::TcpOptions linux_syn_ack() {
    tcp::TcpOptions o;
    o.has_mss = true;
    o.mss = 1460;
    o.has_wscale = true;
    o.wscale = 7;
    o.sack_permitted = true;
    o.has_timestamps = true;
    o.ts_val = 5000;
    o.ts_ecr = 1;
    return o;
}

inline tcp::TcpOptions ts(uint32_t val) {
    tcp::TcpOptions o;
    o.has_timestamps = true;
    o.ts_val = val;
    return o;
}

inline tcp::TcpOptions ts_sack(uint32_t val, std::initializer_list<std::pair<tcp::Seq, tcp::Seq>> blocks) {
    tcp::TcpOptions o = ts(val);
    for (const auto& [l, r] : blocks) o.sack[o.sack_count++] = tcp::SackBlock{l, r};
    return o;
}

class ConnectionRig {
public:
    // ooo_reserve: out-of-order queues the connection borrows from, as an endpoint's (null: its own).
    explicit ConnectionRig(const tcp::ConnectionConfig& config = {}, uint64_t start_us = 1'000'000, RigPort port = {},
                           tcp::OutOfOrderReserve* ooo_reserve = nullptr)
        : builder_(port.tso ? tcp::TxChecksum::Offload : tcp::TxChecksum::Software),
          timers_(4096, 1000, start_us),
          tx_(&ConnectionRig::capture, this) {
        if (port.tso) {
            ctx_.tso_max_payload = 65535 - 20 - 60;
            ctx_.tso_max_wire_segment = port.max_wire_segment;
        }
        ctx_.pool = pool();
        ctx_.builder = &builder_;
        ctx_.timers = &timers_;
        ctx_.tx = &tx_;
        ctx_.now_us = start_us;
        ctx_.ooo_reserve = ooo_reserve;
        ctx_.owner = this;
        ctx_.mark_dirty = [](void* self, tcp::Connection&) { static_cast<ConnectionRig*>(self)->dirty_ = true; };
        ctx_.released = [](void* self, tcp::Connection&) { ++static_cast<ConnectionRig*>(self)->released_; };
        conn_ = std::make_unique<tcp::Connection>(config, ctx_);
    }
    ~ConnectionRig() {
        conn_.reset();
        for (rte_mbuf* f : frames_) rte_pktmbuf_free(f);
    }

    tcp::Connection& conn() { return *conn_; }
    RecordingHandler& handler() { return handler_; }
    uint64_t now() const { return ctx_.now_us; }
    int released() const { return released_; }

    static tcp::Route route() {
        tcp::Route r;
        r.src_mac.bytes = {0x02, 0, 0, 0, 0, 2};
        r.dst_mac.bytes = {0x02, 0, 0, 0, 0, 1};
        r.src_ip = tcp::IpAddress::v4(192, 0, 2, 2);
        r.dst_ip = tcp::IpAddress::v4(192, 0, 2, 1);
        r.src_port = 40000;
        r.dst_port = 4420;
        return r;
    }

    // Feeds one segment, then lets the connection finish the burst (deliver, ACK, send).
    void feed(tcp::Seq seq, tcp::Seq ack, uint8_t flags, std::span<const uint8_t> payload = {},
              const tcp::TcpOptions& options = {}, uint16_t window = 0xFFFF) {
        tcp::InSegment s;
        s.seq = seq;
        s.ack = ack;
        s.flags = flags;
        s.window = window;
        s.options = options;
        s.len = static_cast<uint32_t>(payload.size());
        if (!payload.empty()) s.payload = mbuf_of(payload, 700);  // chains, as jumbo frames arrive
        conn_->input(s);
        if (!hold_burst) finish_burst();
    }
    // While set, feed() leaves the burst open: several segments arrive in one rx burst, and
    // finish_burst() ends it.
    bool hold_burst = false;
    void finish_burst() {
        if (dirty_) {
            dirty_ = false;
            conn_->after_burst();
        }
        tx_.flush();
    }
    // Moves the clock and runs the timers that came due.
    void advance_us(uint64_t us) {
        ctx_.now_us += us;
        timers_.advance(ctx_.now_us);
        finish_burst();
    }

    // Segments sent since the last call, decoded.
    std::vector<Sent> take_sent() {
        std::vector<Sent> out;
        for (size_t frame = 0; frame < frames_.size(); ++frame) {
            rte_mbuf* f = frames_[frame];
            const bool offloaded = (f->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM) != 0;
            const uint16_t tso_segsz = (f->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0 ? f->tso_segsz : 0;
            std::vector<std::vector<uint8_t>> wire{bytes_of(f)};
            if (offloaded) wire = port_output(f, wire[0]);
            rte_pktmbuf_free(f);
            for (const std::vector<uint8_t>& bytes : wire) {
            const pmd::FrameParse p = pmd::parse_frame(bytes);
            EXPECT_TRUE(p.ok()) << "the connection sent a frame the parser refuses: " << pmd::to_string(p.error);
            if (!p.ok()) continue;
            EXPECT_TRUE(pmd::tcp_checksum_ok(bytes, p.segment)) << "bad TCP checksum on a sent segment";
            Sent s;
            s.seq = tcp::Seq(p.segment.seq);
            s.ack = tcp::Seq(p.segment.ack);
            s.flags = p.segment.tcp_flags;
            const auto* th = reinterpret_cast<const pmd::TcpHeader*>(bytes.data() + p.segment.l4_offset);
            s.window = th->window.get();
            const size_t opt_at = p.segment.l4_offset + sizeof(pmd::TcpHeader);
            const tcp::OptionsParse op = tcp::parse_options(
                std::span<const uint8_t>(bytes).subspan(opt_at, p.segment.payload_offset - opt_at));
            EXPECT_EQ(op.error, tcp::OptionsError::None);
            s.options = op.options;
            s.payload.assign(bytes.begin() + p.segment.payload_offset,
                             bytes.begin() + p.segment.payload_offset + p.segment.payload_len);
            s.tso_segsz = tso_segsz;
            s.frame = frame;
            out.push_back(std::move(s));
            }
        }
        frames_.clear();
        return out;
    }

    // Opens actively and completes the handshake with a SYN-ACK from `irs` offering `peer` options.
    // Returns our ISN.
    tcp::Seq establish(tcp::Seq irs, const tcp::TcpOptions& peer_options) {
        conn_->open_active(route(), tcp::Seq(1000), &handler_);
        finish_burst();
        std::vector<Sent> syn = take_sent();
        EXPECT_EQ(syn.size(), 1u);
        const tcp::Seq iss = syn.empty() ? tcp::Seq(0) : syn[0].seq;
        feed(irs, iss + 1, pmd::tcp_flags::kSyn | pmd::tcp_flags::kAck, {}, peer_options);
        take_sent();
        return iss;
    }

private:
    static uint16_t capture(void* self, rte_mbuf** frames, uint16_t n) {
        auto* rig = static_cast<ConnectionRig*>(self);
        rig->frames_.insert(rig->frames_.end(), frames, frames + n);
        return n;
    }

    tcp::FrameBuilder builder_;
    tcp::TimerWheel timers_;
    tcp::TxBatch tx_;
    tcp::ConnectionContext ctx_;
    std::unique_ptr<tcp::Connection> conn_;
    RecordingHandler handler_;
    std::vector<rte_mbuf*> frames_;
    bool dirty_ = false;
    int released_ = 0;
};

}  // namespace nvmeddp::tcp_test
