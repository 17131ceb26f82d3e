// The vocabulary of one NVMe/TCP host queue: what the transport under it offers, what an application
// submits and gets back, how the queue is configured and what it counts.
//
// Transport-agnostic: a queue runs over anything that implements QueueTransport (kernel sockets in
// socket_transport.hpp, the DPDK user-space TCP elsewhere). The transport delivers its events to the
// queue (Queue::on_transport_connected, receive, on_transport_writable, on_transport_closed).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "nvmeddp/ddp.h"
#include "nvmetcp/crc32c.hpp"
#include "nvmetcp/nvme_command.hpp"
#include "nvmetcp/pdu.hpp"

struct nvmeddp_pkt_meta;  // include/nvmeddp/ddp_mbuf.h

namespace nvmeddp::nvmetcp::host {

// What received bytes came with, for the offload. The core passes it down to the C2HData data step
// (c2h_receive.hpp) and to QueueObserver::on_ic_done; it does not interpret it.
struct RxPiece {
    uint32_t seq = 0;                                 // TCP sequence number of the first byte of the span
    const struct ::nvmeddp_pkt_meta* meta = nullptr;  // the packet's DDP metadata, null when none
    // The span continues the packet of the span before it (the next mbuf of one received frame's
    // chain, e.g. a jumbo or LRO frame): the device framed both as one packet, and its claim's second
    // run and digest verdict speak of the packet, not of the span.
    bool continues_packet = false;
};

// One span of in-order stream bytes and what it came with: Queue::receive_data_run takes several.
struct RxSpan {
    std::span<const uint8_t> bytes;
    RxPiece piece;
};

// The TCP connection under one queue.
class QueueTransport {
public:
    virtual ~QueueTransport() = default;
    virtual size_t send_space() const = 0;                    // bytes send() would take now
    virtual size_t send(std::span<const uint8_t> bytes) = 0;  // copies; returns bytes taken (may be fewer, even 0); never blocks
    virtual void close() = 0;                                 // abort the connection; no callbacks from inside close()
    // Bytes taken by send() that the peer has not acknowledged yet. A transport that cannot say
    // returns 0, and must not carry a queue that leaves its data digests to a device (DdpOffload
    // offloads only our TCP's connections).
    virtual uint64_t unacknowledged() const { return 0; }
    // send(), and the raw CRC32C `crc_state` extended over the bytes taken: a data digest computed
    // as the data goes out. A transport that copies into buffers of its own does both in one pass.
    virtual size_t send_digesting(std::span<const uint8_t> bytes, uint32_t& crc_state) {
        const size_t taken = std::min(send(bytes), bytes.size());
        crc_state = crc32c_extend(crc_state, bytes.data(), taken);
        return taken;
    }
};

// One buffer of a command's data. The offload's segment type ({void* addr; uint64_t len}), so that
// a read registers the very list the application submitted with the device (DdpReceive::setup), not
// a copy of it kept per command. A command moves at most 4 GiB - 1 bytes, so no more of an entry's
// len than that is ever used.
using IoVec = ::nvmeddp_segment;

struct Completion {
    uint16_t cid;
    nvme::Status status;  // from the CQE, or host-side: kHostPathError, kHostAbortedCommand, kTransientTransportError, kDataTransferError
    uint32_t dw0;
    uint64_t bytes;       // data bytes transferred
    const char* reason;   // null on success; for host-side failures a sentence, valid during the callback only (read it before submitting from there)
    uint32_t dw1 = 0;     // CQE DW1 (the upper half of an 8-byte Property Get)
};
using CompletionFn = void (*)(void* ctx, const Completion& completion);

struct IoRequest {
    NvmeSqe sqe{};                // opcode, nsid, cdw10..15 as built by nvme::make_*; the queue sets cid and the SGL
    // The caller keeps the buffers, and this array unchanged, until completion: a read's list may be
    // the one the offload device places by (DdpReceive::setup).
    std::span<const IoVec> data;
    // Total bytes (== sum of data lens, or less: the first data_len bytes): the command's whole
    // transfer, as the SGL tells the controller. It must all move (a read's all arrive, a write's
    // all be asked for and sent): a success with fewer bytes completes with kDataTransferError (and
    // a sentence), never as success.
    uint32_t data_len = 0;
    bool to_controller = false;   // write-like (data goes host -> controller)
    CompletionFn done = nullptr;
    void* ctx = nullptr;
    uint32_t timeout_ms = 0;      // 0: the queue's default
};

enum class SubmitResult : uint8_t { Ok, QueueFull, NotReady, TooLarge, Failed };
const char* to_string(SubmitResult result) noexcept;

struct QueueConfig {
    uint16_t qid = 0;                      // 0 = admin queue
    uint16_t depth = 32;                   // outstanding commands (the Connect sqsize is depth)
    bool header_digest = false;            // asked in ICReq
    bool data_digest = false;
    uint8_t hpda = 0;                      // host PDU data alignment asked in ICReq (0's based dwords)
    uint32_t maxr2t = 0;                   // ICReq MAXR2T (0's based)
    bool disable_sq_flow_control = false;  // Connect cattr bit 2 (the target may then send SUCCESS)
    uint32_t kato_ms = 0;                  // admin queue Connect KATO
    uint32_t command_timeout_ms = 30000;   // also bounds the wait for ICResp
    uint32_t in_capsule_data = 0;          // writes up to this many bytes go in capsule
    uint32_t max_data_len = 4u << 20;      // largest transfer accepted by submit (TooLarge above)
    std::string subnqn, hostnqn;           // for Connect
    uint8_t hostid[16]{};
    uint16_t cntlid = 0xFFFF;              // admin: 0xFFFF; I/O queues: the controller's
};

enum class QueueState : uint8_t { Idle, IcSent, Connecting, Ready, Failed, Closed };
const char* to_string(QueueState state) noexcept;

struct QueueStats {
    uint64_t commands = 0, completions = 0, errors = 0, timeouts = 0;
    uint64_t c2h_pdus = 0, c2h_bytes = 0, h2c_pdus = 0, h2c_bytes = 0, r2ts = 0, capsule_resps = 0, success_flags = 0;
    uint64_t bytes_copied = 0;  // C2H data bytes the host copied into user buffers
    uint64_t bytes_placed = 0;  // ... that the offload placed (0 until the offload is plugged in)
    uint64_t digests_computed = 0, digests_offloaded = 0, digest_errors = 0;
    uint64_t term_reqs_sent = 0, term_reqs_received = 0;
    // The transmit digest offload: PDUs whose data digest the device wrote, and the times the send
    // path waited for an acknowledgement (the device remembers a bounded number of them).
    uint64_t digests_left_to_device = 0, device_digest_waits = 0;

    QueueStats& operator+=(const QueueStats& s) noexcept {
        uint64_t* a = &commands;
        const uint64_t* b = &s.commands;
        for (size_t i = 0; i < sizeof(QueueStats) / sizeof(uint64_t); ++i) a[i] += b[i];
        return *this;
    }
};
static_assert(sizeof(QueueStats) % sizeof(uint64_t) == 0, "QueueStats: counters only, all uint64_t");

}  // namespace nvmeddp::nvmetcp::host
