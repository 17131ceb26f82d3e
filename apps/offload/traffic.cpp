#include "traffic.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include <cstring>

#include "pmd/dpdk/mbuf_meta.hpp"
#include "testlib/flow_config.hpp"

namespace nvmeddp::offload_app {

std::unique_ptr<Connection> make_connection(ddp::Device& device, const Options& o, uint16_t queue, uint32_t index,
                                            std::string& error) {
    auto c = std::make_unique<Connection>();
    c->queue = queue;
    c->device = &device;
    testlib::ReadStreamOptions so;
    so.commands = o.reads;
    so.min_len = o.min_len;
    so.max_len = o.max_len;
    so.max_pdu_data = o.max_pdu_data;
    so.data_digest = o.data_digest;
    so.header_digest = o.header_digest;
    so.other_pdu_rate = 0.2;
    so.seed = o.seed * 1000003 + index;
    testlib::FrameGenOptions fo;
    fo.flow = testlib::ipv4_flow();
    fo.flow.dst_port = static_cast<uint16_t>(40000 + index);
    fo.mss = o.mss;
    fo.first_seq = static_cast<uint32_t>(so.seed * 2654435761u);
    testlib::FaultPlan faults;
    faults.seed = so.seed;
    faults.loss = o.loss;
    faults.reorder = o.reorder;
    faults.duplicate = o.duplicate;
    faults.wire_corrupt = o.wire_corrupt;
    faults.lying = o.lying;
    c->stream = testlib::generate_read_stream(so);
    c->frames = testlib::generate_frames(c->stream.bytes, fo, faults);
    c->copy_floor = std::make_unique<CopyFloor>(c->stream, nvmetcp::kHlenData + (o.header_digest ? nvmetcp::kDigestLen : 0));

    ddp::ConnectionConfig cc;
    cc.tuple = testlib::host_tuple(fo.flow);
    cc.queue_depth = static_cast<uint16_t>(std::min<uint32_t>(1024, std::max<uint32_t>(o.reads, 1)));
    cc.rx_queue = queue;
    cc.data_digest = o.data_digest;
    cc.header_digest = o.header_digest;
    cc.rcv_seq = fo.first_seq;
    if (const ddp::Status s = device.add_connection(cc, c->handle); s != ddp::Status::Ok) {
        error = std::string("add_connection: ") + ddp::to_string(s);
        return nullptr;
    }
    testlib::DdpHostModel::Options ho;
    ho.data_digest = o.data_digest;
    ho.header_digest = o.header_digest;
    ho.first_seq = fo.first_seq;
    ho.segments_per_buffer = 4;
    ho.ipv6 = fo.flow.ipv6;
    ho.receiver.seed = o.seed * 7919 + index;
    c->host = std::make_unique<testlib::DdpHostModel>(&device, c->handle, ho);
    // A host registers what the device accepts and copies the rest itself (offload off: all of it).
    for (const auto& r : c->stream.reads) c->host->register_read(r.cid, static_cast<uint32_t>(r.data.size()));
    return c;
}

namespace {

rte_mbuf* to_mbuf(rte_mempool* pool, const std::vector<uint8_t>& frame) {
    rte_mbuf* head = nullptr;
    const size_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
    for (size_t at = 0; at < frame.size(); at += room) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        if (m == nullptr) {
            rte_pktmbuf_free(head);
            return nullptr;
        }
        const size_t n = std::min(room, frame.size() - at);
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(n)), frame.data() + at, n);
        if (head == nullptr) {
            head = m;
        } else if (rte_pktmbuf_chain(head, m) != 0) {
            rte_pktmbuf_free(m);
            rte_pktmbuf_free(head);
            return nullptr;
        }
    }
    return head;
}

}  // namespace

std::string pump_queue(uint16_t tx_port, uint16_t port, uint16_t queue, rte_mempool* pool, std::vector<Connection*>& connections) {
    constexpr size_t kPerConnection = 8;
    constexpr size_t kBurst = 32;
    struct Sent {
        Connection* connection;
        size_t frame;
    };
    auto is_wire_corrupt = [](const Sent& s) {
        return (s.connection->frames.frames[s.frame].truth.faults & testlib::fault::kWireCorrupt) != 0;
    };
    auto same_bytes = [](const Sent& s, std::span<const uint8_t> bytes) {
        const std::vector<uint8_t>& f = s.connection->frames.frames[s.frame].bytes;
        return f.size() == bytes.size() && std::memcmp(f.data(), bytes.data(), f.size()) == 0;
    };
    std::vector<uint8_t> scratch(65536);
    for (;;) {
        Sent sent[kBurst];
        rte_mbuf* tx[kBurst];
        size_t n = 0;
        for (Connection* c : connections) {
            for (size_t k = 0; k < kPerConnection && n < kBurst && c->next_frame < c->frames.frames.size(); ++k) {
                tx[n] = to_mbuf(pool, c->frames.frames[c->next_frame].bytes);
                if (tx[n] == nullptr) return "mbuf pool exhausted";
                sent[n++] = Sent{c, c->next_frame++};
            }
        }
        if (n == 0) break;
        const uint16_t accepted = rte_eth_tx_burst(tx_port, queue, tx, static_cast<uint16_t>(n));
        for (size_t k = accepted; k < n; ++k) {
            rte_pktmbuf_free(tx[k]);
            ++sent[k].connection->frames_lost_in_port;
        }

        // Back they come, in order on a loopback port, each paired with the frame sent by its bytes.
        // A frame damaged on the wire (fault::kWireCorrupt) may have its addresses or ports altered:
        // the port then steers it to another queue, or drops it. Either way it never reaches its
        // connection, as a host's TCP would drop it for its checksum. Such a frame arriving here from
        // another queue matches nothing sent here and is dropped the same way. Every undamaged
        // frame must come back: one that does not within 1 s is lost in the port.
        size_t next = 0, clean_left = 0;
        for (size_t k = 0; k < accepted; ++k) clean_left += is_wire_corrupt(sent[k]) ? 0 : 1;
        const uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz();
        while (clean_left > 0 && rte_get_timer_cycles() < deadline) {
            rte_mbuf* rx[kBurst];
            const uint16_t got = rte_eth_rx_burst(port, queue, rx, kBurst);
            for (uint16_t i = 0; i < got; ++i) {
                const auto* p = static_cast<const uint8_t*>(rte_pktmbuf_read(rx[i], 0, rx[i]->pkt_len, scratch.data()));
                const std::span<const uint8_t> bytes{p, rx[i]->pkt_len};
                // The first frame from `next` on that it is, past damaged frames that went elsewhere;
                // none if an undamaged one (which comes back in order) comes first.
                size_t k = next;
                while (k < accepted && !same_bytes(sent[k], bytes)) k = is_wire_corrupt(sent[k]) ? k + 1 : accepted;
                if (k < accepted) {
                    for (size_t j = next; j < k; ++j) ++sent[j].connection->frames_steered_away;
                    next = k + 1;
                    clean_left -= is_wire_corrupt(sent[k]) ? 0 : 1;
                    Connection& c = *sent[k].connection;
                    const nvmeddp_pkt_meta* meta = pmd::MbufMeta::has(rx[i]) ? pmd::MbufMeta::get(rx[i]) : nullptr;
                    const testlib::FrameTruth& truth = c.frames.frames[sent[k].frame].truth;
                    c.host->on_frame(bytes, truth.layout, meta);
                    if (!is_wire_corrupt(sent[k])) c.copy_floor->on_frame(truth.stream_offset, truth.length);
                } else {
                    ++connections.front()->stray_frames;
                }
                rte_pktmbuf_free(rx[i]);
            }
        }
        for (size_t k = next; k < accepted; ++k) {
            ++(is_wire_corrupt(sent[k]) ? sent[k].connection->frames_steered_away : sent[k].connection->frames_lost_in_port);
        }
        for (Connection* c : connections) c->device->poll(c->handle);  // deferred teardowns, if any
    }
    return {};
}


}  // namespace nvmeddp::offload_app
