// The offload engine of one rx queue: what the lcore polling that queue runs on every received frame.
//
// Per burst:  begin_burst()  enters the QuiescentGate and applies pending control commands
//             process(...)   per frame with TCP payload: find the offloaded connection (rte_flow
//                            MARK, else the software classifier on the 5-tuple), run its
//                            ConnectionEngine (a segment without payload has nothing for it)
//             end_burst()    leaves the gate
// Frames of other flows and non-TCP frames pass untouched (process() returns false).
//
// The transmit side (process_tx(), tx_digest_stream.hpp): frames the port sends on the tx queue of
// the same index, for the connections whose data digests the device writes. Its tables have their
// own command ring, drained by whichever lcore sends on that tx queue (begin_tx_burst()): it need not
// be the one that polls the rx queue (testpmd forwards rx of one port to tx of another on one lcore).
//
// The connection table and the classifier are written only here, by commands the control path
// queues (add/remove connection); the control path learns that a command took effect through its
// sequence number. Nothing here locks or allocates after construction.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "ddp/counters.hpp"
#include "ddp/quiescent_gate.hpp"
#include "pmd/engine/command_ring.hpp"
#include "pmd/engine/connection_engine.hpp"
#include "pmd/engine/gap_pdu_pool.hpp"
#include "pmd/engine/tx_digest_stream.hpp"
#include "pmd/packet/flow_classifier.hpp"
#include "pmd/packet/flow_key.hpp"
#include "pmd/packet/frame_parser.hpp"
#include "pmd/packet/l4_checksum.hpp"

namespace nvmeddp::pmd {

// Per-queue counters, written by the polling lcore.
// What the port says of a frame's TCP checksum (DPDK: RTE_MBUF_F_RX_L4_CKSUM_*). Unknown covers
// ports without rx checksum offload and RTE_MBUF_F_RX_L4_CKSUM_NONE: the engine verifies it itself.
enum class L4Checksum : uint8_t { Unknown, Good, Bad };

struct QueueCounters {
    ddp::Counter frames;           // frames given to process()
    ddp::Counter not_tcp;          // not a TCP segment the engine can follow (frame_parser.hpp)
    ddp::Counter not_offloaded;    // TCP with payload, but of no offloaded connection
    ddp::Counter no_payload;       // TCP without payload (ACK, FIN, RST) the port found good or did
                                   // not check: nothing to place, so not looked up (no metadata)
    ddp::Counter by_mark;          // found by the steering MARK
    ddp::Counter by_classifier;    // found by the software classifier
    ddp::Counter stale_mark;       // a MARK naming no connection of this queue, or one whose 5-tuple
                                   // is not the frame's (a removed rule, a reused id): classifier asked
    ddp::Counter too_many_chunks;  // an offloaded connection's frame in more segments than handled
    ddp::Counter bad_checksum;     // an offloaded connection's frame with a bad TCP checksum
    ddp::Counter checksum_verified;  // TCP checksums the engine verified itself (port said Unknown)
    ddp::Counter tx_frames;          // frames of a connection whose digests the device writes
    ddp::Counter tx_checksums_patched;  // of those, TCP checksums in the frame mended after a write
};

// A connection whose transmitted data digests the device writes: its stream, and the connection's
// counters, to which the stream's are carried after each frame.
struct TxConnection {
    TxConnection(TcpSeq snd_seq, const nvmetcp::ReceiveParams& params, uint32_t capacity, ddp::EngineCounters& c)
        : stream(snd_seq, params, capacity), counters(c) {}
    TxDigestStream stream;
    ddp::EngineCounters& counters;
    TxDigestCounters reported{};
};

class QueueEngine {
public:
    // Largest number of payload chunks (mbuf segments) of one frame; beyond it the frame is left to
    // the host and the connection sees a gap (resync).
    static constexpr size_t kMaxChunks = 64;

    // gap_pdus: the PDUs with holes its connections share (gap_pdu_pool.hpp); 0: the default for
    // max_connections.
    QueueEngine(uint16_t queue, uint32_t max_connections, uint64_t classifier_seed, uint32_t gap_pdus = 0);

    // --- control side (serialised by the caller) ---
    // Sequence numbers of the commands; 0 when the command ring is full (cannot happen when each
    // connection id has at most one add and one remove outstanding: the ring holds 2 per id).
    // classify: find its frames by 5-tuple (the port does not MARK them).
    // tx: the connection's transmit digests, when the device writes them (null: it does not); they
    // are added on the tx side's own ring. 0 when a ring is full.
    uint64_t add_connection(ConnectionEngine* engine, const FlowKey& key, bool classify,
                            TxConnection* tx = nullptr) noexcept;
    uint64_t remove_connection(uint32_t conn_id, const FlowKey& key, bool classify) noexcept;
    // conn_id is the metadata's id (index and generation); MARK values and the classifier use the index.
    bool applied(uint64_t seq) const noexcept { return commands_.consumed(seq); }
    // The tx side's removal of a connection added with a TxConnection: its sequence number on the tx
    // ring, consumed (tx_applied) once the sending lcore no longer sees it.
    uint64_t remove_tx_connection(uint32_t conn_id, const FlowKey& key) noexcept;
    bool tx_applied(uint64_t seq) const noexcept { return tx_commands_.consumed(seq); }
    ddp::QuiescentGate& gate() noexcept { return gate_; }
    // The PDUs with holes of this queue's connections: given to each ConnectionEngine added here.
    // Its stats are the lcore's to read (or anyone's while the queue is not polled).
    GapPduPool& gap_pool() noexcept { return gap_pool_; }

    // --- data side (the polling lcore) ---
    void begin_burst() noexcept;
    void end_burst() noexcept { gate_.leave(); }
    // first: the frame's first segment (all headers in it); frame_len: the whole frame; more: the
    // payload bytes of later segments; mark: the port's MARK for this frame, if it set one; l4: what
    // the port says of the TCP checksum.
    // Inline for the usual frames, in the frame shape detail::plain_ipv4_tcp() takes, without the
    // call, the flow key and the payload chunks' stack of process_frame() (which gets the shape
    // check's result and does not repeat it): the payload-less segment (an ACK); without a MARK, a
    // frame whose ports' bucket no classified connection has (another service's, another
    // connection's to the target port); and a frame of the plain flow the queue last looked up
    // (remembered by its own bytes, last_plain_) whose payload lies in its first segment (no mbuf
    // chain), given to that flow's engine from here. bench_engine, Zen 5, four alternating rounds,
    // when each came here: a pure ACK 7.0-7.5 -> 2.2-2.4 ns; another flow's frame 4.4 -> 2.9 ns; a
    // CapsuleResp packet of the remembered flow 12.2 -> 9.9 ns (294 -> 237 instructions). A
    // payload-less segment whose checksum the port found bad is still counted on its connection.
    [[gnu::always_inline]] bool process(std::span<const uint8_t> first, size_t frame_len, std::span<const PayloadChunk> more,
                                        const uint32_t* mark, L4Checksum l4, PacketMeta& meta) noexcept {
        const uint8_t* plain_tcp = detail::plain_ipv4_tcp(first, frame_len);
        if (plain_tcp != nullptr) {
            const uint32_t payload_len = detail::plain_ipv4_payload_len(first.data(), plain_tcp);
            if (l4 != L4Checksum::Bad && payload_len == 0) {
                counters_.frames.add();
                counters_.no_payload.add();
                return false;
            }
            if (mark == nullptr) {
                const uint32_t ports = detail::plain_ipv4_ports_raw(plain_tcp);
                // Only the classifier could name the frame's connection, and none has its ports'
                // bucket: no flow key, no lookup (classify() checks the same for the other shapes).
                if (classified_by_ports_[port_bucket(ports)] == 0) {
                    counters_.frames.add();
                    counters_.not_offloaded.add();
                    return false;
                }
                // What the parse and the lookup would find; a frame in pieces, or one whose first
                // segment lacks bytes the IP length promised, takes process_frame().
                const size_t payload_offset = detail::kPlainL4 + detail::tcp_header_len(plain_tcp);
                if (payload_len > 0 && more.empty() && first.size() >= payload_offset + payload_len &&
                    last_plain_.names(first.data(), ports)) {
                    counters_.frames.add();
                    counters_.by_classifier.add();
                    if (l4 == L4Checksum::Unknown) l4 = verify_checksums(first, plain_tcp, nullptr, more);
                    const PayloadChunk payload{first.data() + payload_offset, payload_len};
                    return hand_over(*last_plain_.engine, load_be32(plain_tcp + offsetof(TcpHeader, seq)), {&payload, 1},
                                     l4, meta);
                }
            }
        }
        return process_frame(first, frame_len, plain_tcp, more, mark, l4, meta);
    }

    // A frame leaving on this queue's tx queue (first: its first segment, writable, every header in
    // it; more: later segments). For a connection whose digests the device writes, the DDGST fields
    // in it get their values; checksum_in_frame: the frame's TCP checksum is already computed (no
    // checksum offload asked of the port), so it is mended to match. True when the frame was such
    // a connection's.
    // The sending lcore: begin_tx_burst() applies the tx side's commands (so a connection's first
    // frames after sk_add are seen), then process_tx() per frame.
    void begin_tx_burst() noexcept;
    bool process_tx(std::span<uint8_t> first, size_t frame_len, std::span<const TxPayloadChunk> more,
                    bool checksum_in_frame) noexcept;
    bool has_tx_connections() const noexcept { return tx_connections_ != 0; }

    // An idle burst of both sides: applies commands when no packet is coming (port stopped, test
    // harness; only where no lcore polls or sends on the queues).
    void poll_idle() noexcept {
        begin_burst();
        end_burst();
        begin_tx_burst();
    }

    uint16_t queue() const noexcept { return queue_; }
    const QueueCounters& counters() const noexcept { return counters_; }

private:
    struct Command {
        enum class Kind : uint8_t { Add, Remove };
        Kind kind = Kind::Add;
        bool classify = false;
        uint32_t conn_id = 0;
        ConnectionEngine* engine = nullptr;
        FlowKey key{};
    };
    struct TxCommand {
        bool add = true;
        uint32_t index = 0;
        TxConnection* tx = nullptr;
        FlowKey key{};  // as the connection's frames are sent
    };

    // What a MARK names: an engine, and the flow its frames must have (a MARK is a hint: a stale rule
    // or a reused id must not feed another connection's frames to an engine).
    struct Entry {
        ConnectionEngine* engine = nullptr;
        FlowKey key{};
    };

    void apply(const Command& c) noexcept;
    void apply_tx(const TxCommand& c) noexcept;
    void carry_tx_counters(TxConnection& c) noexcept;
    ConnectionEngine* find_engine(const FlowKey& flow, const uint32_t* mark) noexcept;
    // process() for every other frame; plain_tcp: what detail::plain_ipv4_tcp() found in it (with
    // its ports' bucket checked, when it has no MARK).
    bool process_frame(std::span<const uint8_t> first, size_t frame_len, const uint8_t* plain_tcp,
                       std::span<const PayloadChunk> more, const uint32_t* mark, L4Checksum l4, PacketMeta& meta) noexcept;
    // The frame's IPv4 header and TCP checksums verified here (the port could not say): Bad, or
    // Unknown when both are right. plain_tcp as process_frame() has it; seg is the parse's segment,
    // needed only when plain_tcp is null.
    // Inline: on process()'s path the frame is plain, and the out-of-line call that also held the
    // general case cost a CapsuleResp packet 12 instructions more (357 -> 345, callgrind).
    [[gnu::always_inline]] L4Checksum verify_checksums(std::span<const uint8_t> first, const uint8_t* plain_tcp,
                                                       const TcpSegment* seg, std::span<const PayloadChunk> more) noexcept {
        counters_.checksum_verified.add();
        const bool ok = plain_tcp != nullptr ? plain_ipv4_checksums_ok(first, more) : general_checksums_ok(first, *seg, more);
        return ok ? L4Checksum::Unknown : L4Checksum::Bad;
    }
    static bool general_checksums_ok(std::span<const uint8_t> first, const TcpSegment& seg,
                                     std::span<const PayloadChunk> more) noexcept;
    // The engine's turn, the payload in chunks: the segment followed, or, with a bad checksum, only
    // counted on its connection (the host's TCP drops it; its retransmission comes later, in order).
    [[gnu::always_inline]] bool hand_over(ConnectionEngine& engine, uint32_t seq, std::span<const PayloadChunk> payload,
                                          L4Checksum l4, PacketMeta& meta) noexcept {
        if (l4 == L4Checksum::Bad) {
            counters_.bad_checksum.add();
            engine.on_bad_checksum(meta);
        } else {
            engine.on_segment(TcpSeq(seq), payload, meta);
        }
        return true;
    }
    // The end of process_frame() once the connection is known: the payload cut into chunks, the
    // checksum's verdict (l4, verified already where the port did not), the engine's turn.
    [[gnu::always_inline]] inline bool deliver(ConnectionEngine& engine, uint32_t seq, uint32_t payload_len,
                                               size_t payload_offset, std::span<const uint8_t> first,
                                               std::span<const PayloadChunk> more, L4Checksum l4,
                                               PacketMeta& meta) noexcept;
    // Always inlined into process_frame(): -O2 with link-time optimisation had made it a call on
    // every data frame (perf: 8% of an in-order 1448-byte packet's time, the call's overhead mostly).
    [[gnu::always_inline]] inline ConnectionEngine* classify(const FlowKey& flow) noexcept;

    const uint16_t queue_;
    ddp::QuiescentGate gate_;
    CommandRing<Command> commands_;
    std::vector<Entry> by_id_;  // connection index -> engine (this lcore's copy)
    FlowClassifier classifier_;
    // The connection the classifier found last, and its key. A NIC's burst holds trains of one
    // flow's frames (a read's data comes back to back), so most lookups find the key of the frame
    // before and skip the hash and the probe. Emptied by every add or removal (apply), so it never
    // names a connection the table no longer has.
    FlowKey last_key_{};
    ConnectionEngine* last_engine_ = nullptr;
    // The same for the frame shape detail::plain_ipv4_tcp() takes (untagged IPv4, 20-byte header,
    // TCP), by the frame's own bytes: the addresses and ports as they lie on the wire, which name
    // the flow key whole for that shape (no VLAN, IPv4). A frame of the same bytes, without a MARK,
    // skips the parse, the key and its comparison (bench_engine, MSS 1448, 64 KiB PDUs: see the
    // README). Its own engine pointer, set only from such a frame and emptied with last_engine_.
    struct PlainFlow {
        uint64_t addresses = 0;  // IPv4 source and destination, 8 bytes from offset 26
        uint32_t ports = 0;      // TCP source and destination port, 4 bytes from offset 34
        ConnectionEngine* engine = nullptr;
        static uint64_t addresses_of(const uint8_t* frame) noexcept {
            uint64_t v;
            std::memcpy(&v, frame + detail::kPlainL3 + offsetof(Ipv4Header, src), sizeof v);
            return v;
        }
        bool names(const uint8_t* frame, uint32_t frame_ports) const noexcept {
            return engine != nullptr && addresses_of(frame) == addresses && frame_ports == ports;
        }
    };
    PlainFlow last_plain_{};
    // How many of the classifier's connections have each value of the XOR of their four port bytes
    // (source and destination). A frame whose value no such connection has is not looked up: another
    // service's traffic sharing the queue, and another connection to the same target port (its own
    // local port), cost one load instead of the hash and a probe that misses. A connection of the
    // same value as a classified one (about N/256 of them, with N classified) is still looked up.
    // The XOR of the bytes is the same in either byte order, so the frame's ports need no swap.
    // Kept with the classifier's entries (apply).
    std::array<uint32_t, 256> classified_by_ports_{};
    static constexpr uint8_t port_bucket(uint32_t both_ports) noexcept {
        both_ports ^= both_ports >> 16;
        return static_cast<uint8_t>(both_ports ^ (both_ports >> 8));
    }
    uint32_t& classified_with_ports(uint16_t src_port, uint16_t dst_port) noexcept {
        return classified_by_ports_[port_bucket((uint32_t{src_port} << 16) | dst_port)];
    }
    // The transmit side: connection index -> its TxConnection, found by the frame's 5-tuple as sent.
    CommandRing<TxCommand> tx_commands_;
    std::vector<TxConnection*> tx_by_id_;
    FlowClassifier tx_classifier_;
    uint32_t tx_connections_ = 0;
    QueueCounters counters_;
    GapPduPool gap_pool_;
};

}  // namespace nvmeddp::pmd
