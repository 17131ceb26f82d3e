// What the host benchmarks over the host's own TCP share (bench_host_rx_tcp.cpp, bench_host_tx_tcp.cpp):
// the EAL, the queue's transport over a tcp::Connection (as nvmetcp/host/dpdk/tcp_transport.cpp's
// TcpQueueTransport), the port's transmit side as the controller sees it (Wire), and the rig: the host
// (HostRig) behind a tcp::Connection, the controller's side played by the benchmark.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <functional>
#include <string>

#include "host_rx_rig.hpp"
#include "nvmetcp/host/dpdk/segment_pieces.hpp"
#include "pmd/dpdk/eal.hpp"
#include "pmd/dpdk/mbuf_meta.hpp"
#include "pmd/dpdk/payload_chunks.hpp"
#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/net_headers.hpp"
#include "tcp/connection.hpp"
#include "tcp/frame_builder.hpp"
#include "tcp/timer_wheel.hpp"
#include "tcp/tx_batch.hpp"

namespace nvmeddp::bench::host_tcp {

using namespace nvmeddp::bench::host_rx;
using nvmetcp::host::Queue;
using nvmetcp::host::RxPiece;

// The EAL and the mbuf metadata's dynamic field, once per process: empty, or what failed.
inline const std::string& eal_error() {
    static const std::string error = [] {
        pmd::EalOptions o;
        o.lcores = "0";
        o.program = "bench_host_rx";
        std::string e = pmd::init_eal(o);
        return e.empty() ? pmd::MbufMeta::register_once() : e;
    }();
    return error;
}

// The queue's transport over the connection, and the connection's handler feeding the queue: what
// nvmetcp/host/dpdk/tcp_transport.cpp's TcpQueueTransport does, without its close handling.
class ConnectionTransport final : public nvmetcp::host::QueueTransport, public tcp::ConnectionHandler {
public:
    void attach(tcp::Connection* connection, Queue* queue) {
        connection_ = connection;
        queue_ = queue;
    }
    size_t send_space() const override { return connection_->send_space(); }
    size_t send(std::span<const uint8_t> bytes) override { return connection_->send(bytes); }
    // The copy into the connection's mbufs and the data digest in one pass, as the host does.
    size_t send_digesting(std::span<const uint8_t> bytes, uint32_t& crc_state) override {
        return connection_->send(bytes, &crc_state);
    }
    uint64_t unacknowledged() const override { return connection_->send_queued(); }
    void close() override { closed = true; }

    void on_connected(tcp::Connection&) override { queue_->on_transport_connected(); }
    void on_data(tcp::Connection&, std::span<tcp::RxSegment> segments) override {
        nvmetcp::host::receive_segments(*queue_, segments, [] { return true; });
    }
    void on_acked(tcp::Connection&, uint64_t) override { queue_->on_transport_writable(); }
    void on_closed(tcp::Connection&, tcp::TcpError) override { closed = true; }
    bool closed = false;

private:
    tcp::Connection* connection_ = nullptr;
    Queue* queue_ = nullptr;
};

// The port's transmit side as the controller sees it: the end of what the host sent (for the
// controller's ACKs) and the first bytes of its payload (to find the Connect's cid). Frames are
// freed, as a port does once it sent them.
struct Wire {
    static uint16_t take(void* ctx, rte_mbuf** frames, uint16_t n) {
        auto* w = static_cast<Wire*>(ctx);
        const uint64_t t = __rdtsc();
        if (w->on_burst) w->on_burst(frames, n);
        for (uint16_t i = 0; i < n; ++i) {
            rte_mbuf* f = frames[i];
            const pmd::FrameParse p = pmd::parse_frame({rte_pktmbuf_mtod(f, const uint8_t*), f->data_len}, f->pkt_len);
            if (p.ok()) {
                const uint32_t syn = (p.segment.tcp_flags & pmd::tcp_flags::kSyn) != 0 ? 1 : 0;
                w->sent_end = p.segment.seq + syn + p.segment.payload_len;
                for (uint32_t k = 0; k < p.segment.payload_len && w->head.size() < 4096; ++k) {
                    uint8_t b;
                    w->head.push_back(*static_cast<const uint8_t*>(rte_pktmbuf_read(f, p.segment.payload_offset + k, 1, &b)));
                }
            }
            rte_pktmbuf_free(f);
        }
        w->ticks += __rdtsc() - t;
        return n;
    }
    uint32_t sent_end = 0;
    std::vector<uint8_t> head;
    // What a benchmark does with each burst before the frames are freed (a device's tx callback,
    // the controller reading them); TSC ticks spent here, which are not the host's.
    std::function<void(rte_mbuf**, uint16_t)> on_burst;
    uint64_t ticks = 0;
};

// One mbuf holding a frame, as a port's rx burst gives it.
inline rte_mbuf* mbuf_of_frame(rte_mempool* pool, const uint8_t* bytes, size_t len) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr || rte_pktmbuf_tailroom(m) < len) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(len)), bytes, len);
    return m;
}

// The rig: the host (HostRig) behind a tcp::Connection, the controller's side played here.
class TcpHostRig {
public:
    // mss: the largest payload the controller sends; the connection announces at least that.
    // tx_digests: the device writes the data digests of what the host sends (cap::kTxDataDigest).
    TcpHostRig(bool digest, bool offload, uint32_t mss, rte_mempool* pool, bool tx_digests = false)
        : pool_(pool), host_(digest, offload, &transport_, tx_digests), timers_(4096, 1000, 1'000'000), tx_(&Wire::take, &wire_) {
        ctx_.pool = pool;
        ctx_.builder = &builder_;
        ctx_.timers = &timers_;
        ctx_.tx = &tx_;
        ctx_.now_us = 1'000'000;
        ctx_.owner = this;
        ctx_.mark_dirty = [](void* self, tcp::Connection&) { static_cast<TcpHostRig*>(self)->dirty_ = true; };
        tcp::ConnectionConfig config;
        config.mss = static_cast<uint16_t>(std::max<uint32_t>(config.mss, mss));
        conn_ = std::make_unique<tcp::Connection>(config, ctx_);
        transport_.attach(conn_.get(), &host_.queue());
        host_.send_queue_end = [this] { return conn_->send_queue_end().raw(); };
    }
    ~TcpHostRig() { conn_.reset(); }

    // SYN out, SYN-ACK in; then the ICResp and the Connect's CapsuleResp in, through the engine.
    const char* bring_up() {
        tcp::Route route;
        route.src_ip = tcp::IpAddress::v4(192, 0, 2, 2);
        route.dst_ip = tcp::IpAddress::v4(192, 0, 2, 1);
        route.src_port = 40000;
        route.dst_port = 4420;
        conn_->open_active(route, tcp::Seq(1000), &transport_);
        finish_burst();
        tcp::InSegment syn_ack;
        syn_ack.seq = tcp::Seq(seq_ - 1);
        syn_ack.ack = tcp::Seq(wire_.sent_end);
        syn_ack.flags = pmd::tcp_flags::kSyn | pmd::tcp_flags::kAck;
        syn_ack.window = 0xFFFF;
        syn_ack.options.has_mss = true;
        syn_ack.options.mss = peer_mss;
        // Window scaling, as Linux offers it: unscaled, our window would stop at 64 KiB, less than a
        // burst of 32 jumbo frames that wait in the ready queue until the burst is delivered.
        syn_ack.options.has_wscale = true;
        syn_ack.options.wscale = 7;
        conn_->input(syn_ack);
        finish_burst();
        if (!wire_.head.empty() && wire_.head[0] != static_cast<uint8_t>(nvmetcp::PduType::ICReq)) return "no ICReq";
        if (!feed_payload(host_.icresp(), false)) return "the ICResp was not taken";
        if (host_.offload() && !host_.rx().active()) return "the offload could not be added to the device";
        const std::vector<uint8_t> resp = HostRig::connect_resp(wire_.head);
        if (resp.empty()) return "no Connect capsule after the ICReq";
        if (!feed_payload(resp, true)) return "the Connect's answer was not taken";
        return host_.ready_or_why();
    }

    // The engine's part of one frame (offload 1), chained (a port's LRO) or not, as the offload
    // port's rx callback hands it over (a chain longer than the engine follows is left to the
    // host): timed as the engine's.
    void engine_frame(rte_mbuf* m, nvmeddp_pkt_meta& meta) {
        pmd::PayloadChunk more[pmd::QueueEngine::kMaxChunks];
        size_t count = 0;
        if (!pmd::chained_chunks(m, more, count)) return;
        if (host_.engine().process({rte_pktmbuf_mtod(m, const uint8_t*), m->data_len}, m->pkt_len, {more, count}, nullptr,
                                   pmd::L4Checksum::Good, meta)) {
            pmd::MbufMeta::set(m, meta);
        }
    }
    // The host's TCP takes one frame (its headers already parsed by the port's rx path); a frame the
    // port merged (RTE_MBUF_F_RX_LRO) is taken as the segments it was, as the endpoint does.
    void tcp_frame(rte_mbuf* m, const testlib::FrameLayout& layout, uint32_t seq, uint32_t payload_len) {
        rte_pktmbuf_adj(m, static_cast<uint16_t>(layout.payload_offset));
        if (m->pkt_len > payload_len) rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - payload_len));
        tcp::InSegment s;
        s.seq = tcp::Seq(seq);
        s.ack = tcp::Seq(wire_.sent_end);
        s.flags = pmd::tcp_flags::kAck | pmd::tcp_flags::kPsh;
        s.window = 0xFFFF;
        s.payload = m;
        s.len = payload_len;
        s.take_lro(m);
        conn_->input(s);
    }
    void finish_burst() {
        if (dirty_) {
            dirty_ = false;
            conn_->after_burst();
        }
        tx_.flush();
    }

    // A segment of the controller's bytes, made ready to arrive (untimed: the controller's work), and
    // its arrival at the host's TCP, which acknowledges everything the host sent so far.
    rte_mbuf* controller_segment(const std::vector<uint8_t>& payload, testlib::FrameLayout& layout) {
        testlib::TcpFields tcp;
        tcp.seq = seq_;
        const testlib::BuiltFrame frame = testlib::build_frame(host_.flow(), tcp, payload);
        layout = frame.layout;
        return mbuf_of_frame(pool_, frame.bytes.data(), frame.bytes.size());
    }
    void arrive(rte_mbuf* m, const testlib::FrameLayout& layout, uint32_t payload_len) {
        tcp_frame(m, layout, seq_, payload_len);
        finish_burst();
        seq_ += payload_len;
    }

    // The controller acknowledges everything the host sent so far, without data.
    void ack() {
        tcp::InSegment s;
        s.seq = tcp::Seq(seq_);
        s.ack = tcp::Seq(wire_.sent_end);
        s.flags = pmd::tcp_flags::kAck;
        s.window = 0xFFFF;
        conn_->input(s);
        finish_burst();
    }

    HostRig& host() { return host_; }
    uint32_t& seq() { return seq_; }
    Wire& wire() { return wire_; }

    uint16_t peer_mss = 8960;  // the MSS the SYN-ACK announces: the host's segments are no longer

private:
    // Bring-up: bytes of the controller in one segment, through the engine when `engine` says so.
    bool feed_payload(const std::vector<uint8_t>& payload, bool engine) {
        testlib::FrameLayout layout;
        rte_mbuf* m = controller_segment(payload, layout);
        if (m == nullptr) return false;
        nvmeddp_pkt_meta meta{};
        if (engine && host_.offload()) {
            host_.engine().begin_burst();
            engine_frame(m, meta);
            host_.engine().end_burst();
        }
        arrive(m, layout, static_cast<uint32_t>(payload.size()));
        return true;
    }

    rte_mempool* pool_;
    ConnectionTransport transport_;
    HostRig host_;
    Wire wire_;
    tcp::FrameBuilder builder_;
    tcp::TimerWheel timers_;
    tcp::TxBatch tx_;
    tcp::ConnectionContext ctx_;
    std::unique_ptr<tcp::Connection> conn_;
    bool dirty_ = false;
    uint32_t seq_ = 0x40000001u;  // the controller's ISN + 1
};

// The mbufs of the benchmark: one per frame of the workload's rounds, and the connection's own
// (SYN, ACKs, the host's commands), from one pool of jumbo-sized buffers. With a per-lcore cache of
// 256, as the host's own pool (HostStack): without one, every ACK and command takes the mbuf the
// pool's ring has held longest, cold, and the host pays cache misses it would not pay.
struct FramePool {
    explicit FramePool(size_t frames) {
        static int serial = 0;
        const std::string name = "bench_host_rx_tcp" + std::to_string(serial++);
        pool = rte_pktmbuf_pool_create(name.c_str(), static_cast<unsigned>(frames + 4096), 256, 0, 9216 + RTE_PKTMBUF_HEADROOM,
                                       SOCKET_ID_ANY);
    }
    ~FramePool() {
        if (pool != nullptr) rte_mempool_free(pool);
    }
    rte_mempool* pool = nullptr;
};

}  // namespace nvmeddp::bench::host_tcp
