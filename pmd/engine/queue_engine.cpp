#include "pmd/engine/queue_engine.hpp"

#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/l4_checksum.hpp"

namespace nvmeddp::pmd {

namespace {

uint32_t index_of(uint32_t conn_id) noexcept { return NVMEDDP_CONN_INDEX(conn_id); }

}  // namespace

QueueEngine::QueueEngine(uint16_t queue, uint32_t max_connections, uint64_t classifier_seed, uint32_t gap_pdus)
    : queue_(queue),
      commands_(size_t{2} * max_connections),
      by_id_(max_connections),
      classifier_(max_connections, classifier_seed),
      tx_commands_(size_t{2} * max_connections),
      tx_by_id_(max_connections, nullptr),
      tx_classifier_(max_connections, classifier_seed),
      gap_pool_(gap_pdus != 0 ? gap_pdus : GapPduPool::default_pdus(max_connections)) {}

uint64_t QueueEngine::add_connection(ConnectionEngine* engine, const FlowKey& key, bool classify,
                                     TxConnection* tx) noexcept {
    // The tx side's add first: should the rx ring be full, the caller gives up the connection, whose
    // tx entry is then removed again (remove_tx_connection) before anything is freed.
    if (tx != nullptr && tx_commands_.push(TxCommand{true, index_of(engine->conn_id()), tx, key.reversed()}) == 0) return 0;
    return commands_.push(Command{Command::Kind::Add, classify, engine->conn_id(), engine, key});
}

uint64_t QueueEngine::remove_connection(uint32_t conn_id, const FlowKey& key, bool classify) noexcept {
    return commands_.push(Command{Command::Kind::Remove, classify, conn_id, nullptr, key});
}

uint64_t QueueEngine::remove_tx_connection(uint32_t conn_id, const FlowKey& key) noexcept {
    return tx_commands_.push(TxCommand{false, index_of(conn_id), nullptr, key.reversed()});
}

void QueueEngine::begin_tx_burst() noexcept {
    // A removal is complete once consumed: the sending lcore's earlier bursts are over, and from this
    // one on the connection is not found.
    tx_commands_.drain([this](const TxCommand& c) { apply_tx(c); });
}

void QueueEngine::apply_tx(const TxCommand& c) noexcept {
    if (c.index >= tx_by_id_.size()) return;
    if (c.add) {
        if (tx_classifier_.insert(c.key, c.index, queue_) == ClassifierStatus::Ok) {
            tx_by_id_[c.index] = c.tx;
            ++tx_connections_;
        } else {  // its frames would pass unseen: the host learns it before its next PDU
            c.tx->stream.give_up("no room in the tx classifier for the connection");
            carry_tx_counters(*c.tx);
        }
    } else if (tx_by_id_[c.index] != nullptr) {
        tx_classifier_.erase(c.key);
        tx_by_id_[c.index] = nullptr;
        --tx_connections_;
    }
}

void QueueEngine::begin_burst() noexcept {
    gate_.enter();
    // Applied inside the burst, after enter(): a removal is complete once the command is consumed,
    // since no earlier burst is still running and this one no longer sees the connection.
    commands_.drain([this](const Command& c) { apply(c); });
}

void QueueEngine::apply(const Command& c) noexcept {
    last_engine_ = nullptr;
    last_plain_.engine = nullptr;
    const uint32_t index = index_of(c.conn_id);
    if (index >= by_id_.size()) return;
    if (c.kind == Command::Kind::Add) {
        by_id_[index] = Entry{c.engine, c.key};
        if (c.classify && classifier_.insert(c.key, index, queue_) == ClassifierStatus::Ok) {
            ++classified_with_ports(c.key.src_port, c.key.dst_port);
        }
    } else {
        // This lcore is the last to run the connection's engine: what it borrowed goes back here.
        if (by_id_[index].engine != nullptr) by_id_[index].engine->leave_queue();
        by_id_[index] = Entry{};
        if (c.classify && classifier_.erase(c.key) == ClassifierStatus::Ok) {
            --classified_with_ports(c.key.src_port, c.key.dst_port);
        }
    }
}

ConnectionEngine* QueueEngine::find_engine(const FlowKey& flow, const uint32_t* mark) noexcept {
    if (mark != nullptr) {
        if (*mark < by_id_.size()) {
            const Entry& e = by_id_[*mark];
            if (e.engine != nullptr && e.key == flow) {
                counters_.by_mark.add();
                return e.engine;
            }
        }
        counters_.stale_mark.add();
    }
    return classify(flow);
}

ConnectionEngine* QueueEngine::classify(const FlowKey& flow) noexcept {
    if (classified_with_ports(flow.src_port, flow.dst_port) == 0) {
        counters_.not_offloaded.add();
        return nullptr;
    }
    if (last_engine_ != nullptr && last_key_ == flow) {
        counters_.by_classifier.add();
        return last_engine_;
    }
    const FlowTarget* target = classifier_.find(flow);
    if (target == nullptr || target->connection_id >= by_id_.size()) {
        counters_.not_offloaded.add();
        return nullptr;
    }
    ConnectionEngine* engine = by_id_[target->connection_id].engine;
    if (engine == nullptr) {
        counters_.not_offloaded.add();
        return nullptr;
    }
    counters_.by_classifier.add();
    last_key_ = flow;
    last_engine_ = engine;
    return engine;
}

bool QueueEngine::deliver(ConnectionEngine& engine, uint32_t seq, uint32_t payload_len, size_t payload_offset,
                          std::span<const uint8_t> first, std::span<const PayloadChunk> more, L4Checksum l4,
                          PacketMeta& meta) noexcept {
    // The payload: the rest of the first segment, then later segments, cut at the IP length (a
    // frame may carry Ethernet padding or a trailer beyond it).
    PayloadChunk chunks[kMaxChunks];  // filled below, up to count (not zeroed: 1 KiB per packet)
    size_t count = 0;
    uint32_t left = payload_len;
    const size_t in_first = first.size() > payload_offset ? first.size() - payload_offset : 0;
    if (left > 0 && in_first > 0) {
        const auto take = static_cast<uint32_t>(in_first < left ? in_first : left);
        chunks[count++] = PayloadChunk{first.data() + payload_offset, take};
        left -= take;
    }
    for (size_t i = 0; left > 0 && i < more.size(); ++i) {
        if (count == kMaxChunks) {
            counters_.too_many_chunks.add();
            return false;
        }
        const uint32_t take = more[i].len < left ? more[i].len : left;
        chunks[count++] = PayloadChunk{more[i].data, take};
        left -= take;
    }
    if (left > 0) {  // fewer bytes than the IP header promised: parse_frame checked frame_len, so
        counters_.not_tcp.add();  // the segments disagree with it; leave the frame to the host
        return false;
    }
    return hand_over(engine, seq, {chunks, count}, l4, meta);
}

bool QueueEngine::general_checksums_ok(std::span<const uint8_t> first, const TcpSegment& seg,
                                       std::span<const PayloadChunk> more) noexcept {
    return ipv4_header_checksum_ok(first, seg) && tcp_checksum_ok(first, seg, more);
}

bool QueueEngine::process_frame(std::span<const uint8_t> first, size_t frame_len, const uint8_t* plain_tcp,
                                std::span<const PayloadChunk> more, const uint32_t* mark, L4Checksum l4,
                                PacketMeta& meta) noexcept {
    counters_.frames.add();
    // A plain frame without a MARK (its ports' bucket has a classified connection: process()
    // checked) is remembered below by its own bytes, for the next frame's process().
    const bool by_ports = plain_tcp != nullptr && mark == nullptr;
    const FrameParse parsed = detail::parse_frame_after_shape_check(first, frame_len, plain_tcp);
    if (!parsed.ok()) {
        counters_.not_tcp.add();
        return false;
    }
    const TcpSegment& seg = parsed.segment;
    // A segment without payload gives the engine nothing to place or to follow (on_segment takes
    // nothing from it), so it is not looked up: an ACK costs the parse only. Unless the port found
    // its checksum bad: that one is still counted on its connection.
    if (seg.payload_len == 0 && l4 != L4Checksum::Bad) {
        counters_.no_payload.add();
        return false;
    }
    ConnectionEngine* engine = find_engine(seg.flow, mark);
    if (engine == nullptr) return false;
    if (by_ports) {
        last_plain_ = PlainFlow{PlainFlow::addresses_of(first.data()), detail::plain_ipv4_ports_raw(plain_tcp), engine};
    }
    // Unknown means verify here (a segment without payload left above: nothing of it is taken, so
    // there is nothing to protect).
    if (l4 == L4Checksum::Unknown) l4 = verify_checksums(first, plain_tcp, &seg, more);
    return deliver(*engine, seg.seq, seg.payload_len, seg.payload_offset, first, more, l4, meta);
}

bool QueueEngine::process_tx(std::span<uint8_t> first, size_t frame_len, std::span<const TxPayloadChunk> more,
                             bool checksum_in_frame) noexcept {
    if (tx_connections_ == 0) return false;
    const FrameParse parsed = parse_frame(first, frame_len);
    if (!parsed.ok() || parsed.segment.payload_len == 0) return false;
    const TcpSegment& seg = parsed.segment;
    const FlowTarget* target = tx_classifier_.find(seg.flow);
    if (target == nullptr || target->connection_id >= tx_by_id_.size()) return false;
    TxConnection* c = tx_by_id_[target->connection_id];
    if (c == nullptr) return false;
    counters_.tx_frames.add();

    // The payload in batches of kMaxChunks pieces (a TSO frame may span more mbufs than that). Each
    // batch is given its payload offset, so its checksum sums come aligned and add up directly.
    TxPayloadChunk chunks[kMaxChunks];
    size_t count = 0;
    uint32_t batch_offset = 0, batch_len = 0, old_sum = 0, new_sum = 0;
    auto flush = [&]() noexcept {
        if (count == 0) return;
        const TxSegmentEdit e = c->stream.on_segment(TcpSeq(seg.seq + batch_offset), {chunks, count}, batch_offset);
        old_sum += e.old_sum;
        new_sum += e.new_sum;
        batch_offset += batch_len;
        batch_len = 0;
        count = 0;
    };
    auto add = [&](uint8_t* data, uint32_t len) noexcept {
        if (count == kMaxChunks) flush();
        chunks[count++] = TxPayloadChunk{data, len};
        batch_len += len;
    };
    uint32_t left = seg.payload_len;
    const size_t in_first = first.size() > seg.payload_offset ? first.size() - seg.payload_offset : 0;
    if (in_first > 0) {
        const auto take = static_cast<uint32_t>(in_first < left ? in_first : left);
        add(first.data() + seg.payload_offset, take);
        left -= take;
    }
    for (size_t i = 0; left > 0 && i < more.size(); ++i) {
        const uint32_t take = more[i].len < left ? more[i].len : left;
        add(more[i].data, take);
        left -= take;
    }
    flush();
    if (checksum_in_frame && old_sum != new_sum) {
        uint8_t* field = first.data() + seg.l4_offset + 16;  // the TCP header's checksum
        const auto before = static_cast<uint16_t>(field[0] << 8 | field[1]);
        const uint16_t after = patch_internet_checksum(before, old_sum, new_sum);
        field[0] = static_cast<uint8_t>(after >> 8);
        field[1] = static_cast<uint8_t>(after);
        counters_.tx_checksums_patched.add();
    }
    carry_tx_counters(*c);
    return true;
}

void QueueEngine::carry_tx_counters(TxConnection& c) noexcept {
    const TxDigestCounters& now = c.stream.counters();
    if (now.digests_written != c.reported.digests_written) {
        c.counters.tx_ddgst_written.add(now.digests_written - c.reported.digests_written);
    }
    if (now.digests_rewritten != c.reported.digests_rewritten) {
        c.counters.tx_ddgst_rewritten.add(now.digests_rewritten - c.reported.digests_rewritten);
    }
    if (now.lost != c.reported.lost) c.counters.tx_stream_lost.add(now.lost - c.reported.lost);
    if (now.below_ring != c.reported.below_ring) c.counters.tx_ddgst_unknown.add(now.below_ring - c.reported.below_ring);
    c.reported = now;
}

}  // namespace nvmeddp::pmd
