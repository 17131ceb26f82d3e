// The transmit half of the offload: the device writes the data digest (DDGST) of every PDU the host
// sends, so the host's write path hands its data to TCP without computing a CRC.
//
// A TxDigestStream follows one connection's host-to-controller byte stream as its frames leave the
// port (a tx callback, or the vdev's tx path). New bytes (beyond the highest sequence number seen)
// arrive in order, since a TCP sender sends new data in order: the stream tracks the PDU framing in
// them from the common headers (the host's own, checked as a controller would check them), runs
// CRC32C over each PDU's data and writes the digest into the DDGST field as it goes out. The digest
// bytes the host put there are overwritten, whatever they were.
//
// A retransmission carries bytes seen before. The digest of each of the last `capacity` PDUs is kept
// (a ring, in sequence order), and a retransmitted DDGST field gets the same value again. The host
// keeps at most `capacity` PDUs with a data digest unacknowledged (it waits for acknowledgements
// before it sends more), so a PDU whose digest left the ring is acknowledged and never sent again.
// Digests more than a TCP window's largest size (2^30 bytes) behind the newest byte are forgotten
// too: nothing that old is sent again, and after 2^32 bytes their sequence numbers would name new
// bytes (a connection that writes once and then only reads sends 4 GiB of commands in minutes).
//
// New bytes that do not start where the last new bytes ended (a gap: frames that left without
// passing here), or a header a controller would refuse, lose the stream for good: no new digest is
// written from then on (retransmitted fields still get the ones kept), tx_lost counts it, and the
// host must fail the connection (the PDUs whose
// digests it left to the device would reach the controller wrong; the controller's own digest check
// fails the I/O either way: a wrong byte is never accepted).
//
// One instance is touched only by the lcore that sends on the connection's tx queue.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "ddp/tcp_seq.hpp"
#include "nvmetcp/header_check.hpp"

namespace nvmeddp::pmd {

using ddp::TcpSeq;

// A writable piece of a frame's TCP payload (an mbuf segment's part).
struct TxPayloadChunk {
    uint8_t* data;
    uint32_t len;
};

// What passing one segment changed: digest bytes written, and their ones' complement sums before and
// after (16-bit words in network order, aligned as the TCP checksum aligns them: a byte at an even
// payload offset is a high byte, since the TCP header is a whole number of words), for a caller that
// must patch a TCP checksum already computed. Sums of several calls on one frame add directly.
struct TxSegmentEdit {
    uint32_t bytes_written = 0;
    uint32_t old_sum = 0;
    uint32_t new_sum = 0;
};

struct TxDigestCounters {
    uint64_t digests_written = 0;    // DDGST fields of new PDUs, written whole
    uint64_t digests_rewritten = 0;  // retransmitted DDGST fields (or parts) given their value again
    uint64_t pdus = 0;               // PDUs whose header passed here
    uint64_t lost = 0;               // 1 once the stream is lost (a gap, or a header refused)
    uint64_t below_ring = 0;         // retransmitted bytes older than every kept digest (should stay 0)
};

class TxDigestStream {
public:
    // Follows the stream from snd_seq, the first byte of a PDU (the one after ICReq, normally).
    // params: as the controller checks what it receives (Role::Controller, the negotiated digests,
    // CPDA); capacity: digests kept for retransmissions (the host's limit of PDUs in flight).
    TxDigestStream(TcpSeq snd_seq, const nvmetcp::ReceiveParams& params, uint32_t capacity);

    // One outgoing segment, or a part of one: the sequence number of its first byte, its bytes, and
    // the payload offset of its first byte in the frame (for the checksum sums' alignment).
    TxSegmentEdit on_segment(TcpSeq seq, std::span<const TxPayloadChunk> payload,
                             uint32_t first_offset = 0) noexcept;

    // The device cannot follow the stream at all (no room to find its frames): lost from the start.
    void give_up(const char* why) noexcept { lose(why); }
    bool lost() const noexcept { return lost_; }
    TcpSeq next_new() const noexcept { return next_; }  // the first byte not seen yet
    const TxDigestCounters& counters() const noexcept { return counters_; }
    const char* lost_reason() const noexcept { return lost_reason_; }
    TcpSeq lost_at() const noexcept { return lost_at_; }

private:
    enum class Part : uint8_t { Header, BeforeData, Data, Digest, Rest };

    struct KeptDigest {
        TcpSeq at;       // the DDGST field's first byte
        uint8_t bytes[4];
    };

    void take_new(uint8_t* p, uint32_t n, uint32_t payload_offset, TxSegmentEdit& edit) noexcept;
    void start_pdu() noexcept;
    void keep_digest() noexcept;
    void rewrite_old(TcpSeq seq, std::span<const TxPayloadChunk> payload, uint32_t old_len, uint32_t first_offset,
                     TxSegmentEdit& edit) noexcept;
    void forget_beyond_window() noexcept;
    void lose(const char* why) noexcept;
    static void write_byte(uint8_t* at, uint8_t value, uint32_t payload_offset, TxSegmentEdit& edit) noexcept;

    nvmetcp::ReceiveParams params_;
    TcpSeq next_;             // the next new byte
    Part part_ = Part::Header;
    TcpSeq part_end_;         // where the current part ends (Header: unused, its bytes are counted)
    uint8_t header_[8]{};
    uint32_t header_have_ = 0;
    TcpSeq data_begin_, data_end_, pdu_end_;
    uint32_t crc_state_ = 0;
    uint8_t digest_[4]{};

    std::unique_ptr<KeptDigest[]> ring_;  // the last capacity_ digests, oldest at head_
    uint32_t capacity_ = 0;
    uint32_t head_ = 0;
    uint32_t count_ = 0;
    TcpSeq floor_;  // every DDGST field at or after it is in the ring

    bool lost_ = false;
    const char* lost_reason_ = "";
    TcpSeq lost_at_;
    TxDigestCounters counters_;
};

}  // namespace nvmeddp::pmd
