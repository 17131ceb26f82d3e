#include "pmd/queue_engine.hpp"

#include "pmd/frame_parser.hpp"

namespace nvmeddp::pmd {

QueueEngine::QueueEngine(uint16_t queue, uint32_t max_connections, uint64_t classifier_seed)
    : queue_(queue),
      commands_(size_t{2} * max_connections),
      by_id_(max_connections, nullptr),
      classifier_(max_connections, classifier_seed) {}

uint64_t QueueEngine::add_connection(ConnectionEngine* engine, const FlowKey& key, bool classify) noexcept {
    return commands_.push(Command{Command::Kind::Add, classify, engine->conn_id(), engine, key});
}

uint64_t QueueEngine::remove_connection(uint32_t conn_id, const FlowKey& key, bool classify) noexcept {
    return commands_.push(Command{Command::Kind::Remove, classify, conn_id, nullptr, key});
}

void QueueEngine::begin_burst() noexcept {
    gate_.enter();
    // Applied inside the burst, after enter(): a removal is complete once the command is consumed,
    // since no earlier burst is still running and this one no longer sees the connection.
    commands_.drain([this](const Command& c) { apply(c); });
}

void QueueEngine::apply(const Command& c) noexcept {
    if (c.conn_id >= by_id_.size()) return;
    if (c.kind == Command::Kind::Add) {
        by_id_[c.conn_id] = c.engine;
        if (c.classify) classifier_.insert(c.key, c.conn_id, queue_);
    } else {
        by_id_[c.conn_id] = nullptr;
        if (c.classify) classifier_.erase(c.key);
    }
}

bool QueueEngine::process(std::span<const uint8_t> first, size_t frame_len, std::span<const PayloadChunk> more,
                          const uint32_t* mark, L4Checksum l4, PacketMeta& meta) noexcept {
    (void)l4;
    counters_.frames.add();
    const FrameParse parsed = parse_frame(first, frame_len);
    if (!parsed.ok()) {
        counters_.not_tcp.add();
        return false;
    }
    const TcpSegment& seg = parsed.segment;

    ConnectionEngine* engine = nullptr;
    if (mark != nullptr) {
        engine = *mark < by_id_.size() ? by_id_[*mark] : nullptr;
        if (engine == nullptr) {
            counters_.stale_mark.add();
            return false;
        }
        counters_.by_mark.add();
    } else {
        const FlowTarget* target = classifier_.find(seg.flow);
        if (target == nullptr) {
            counters_.not_offloaded.add();
            return false;
        }
        engine = by_id_[target->connection_id];
        if (engine == nullptr) {
            counters_.not_offloaded.add();
            return false;
        }
        counters_.by_classifier.add();
    }

    // The payload: the rest of the first segment, then later segments, cut at the IP length (a
    // frame may carry Ethernet padding or a trailer beyond it).
    PayloadChunk chunks[kMaxChunks];  // filled below, up to count (not zeroed: 256 bytes per packet)
    size_t count = 0;
    uint32_t left = seg.payload_len;
    const size_t in_first = first.size() > seg.payload_offset ? first.size() - seg.payload_offset : 0;
    if (left > 0 && in_first > 0) {
        const auto take = static_cast<uint32_t>(in_first < left ? in_first : left);
        chunks[count++] = PayloadChunk{first.data() + seg.payload_offset, take};
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
    engine->on_segment(seg.seq, {chunks, count}, meta);
    return true;
}

}  // namespace nvmeddp::pmd
