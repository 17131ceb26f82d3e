// One NVMe/TCP host queue (admin or I/O): the protocol state machine over one TCP connection.
//
// Life of a queue: the transport connects -> ICReq -> ICResp (checked, digests and alignment applied)
// -> Connect (ConnectData in capsule) -> Ready: commands are submitted, their data received into the
// caller's buffers (C2HData) or sent on the controller's request (R2T -> H2CData) or in capsule, and
// they complete from CapsuleResp or a C2HData with SUCCESS.
//
// Failure is final: a protocol error sends an H2CTermReq (the parser's FES/FEI, the offending header
// as error data), closes the transport and completes every outstanding command with kHostPathError;
// a C2HTermReq, a lost connection or a command timeout do the same without the TermReq. Only a data
// digest mismatch is local to its command (kTransientTransportError).
//
// Threading and memory: one queue is used from one thread. The I/O path (submit, receive, send,
// complete, poll) takes no locks and allocates nothing: slots, the cid free list, the send ring and
// the staging area of the PDU being sent are allocated by the constructor; bring-up allocates the
// Connect's data (1 KiB), freed once the Connect succeeds.
// Completion callbacks may submit new commands; they must not destroy the queue.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "nvmetcp/header_check.hpp"
#include "nvmetcp/host/command_table.hpp"
#include "nvmetcp/host/queue_observer.hpp"
#include "nvmetcp/host/queue_types.hpp"
#include "nvmetcp/host/send_item.hpp"
#include "nvmetcp/host/tx_digest_window.hpp"
#include "nvmetcp/nvme_command.hpp"
#include "nvmetcp/pdu_encoder.hpp"
#include "nvmetcp/stream_parser.hpp"

namespace nvmeddp::nvmetcp::host {

class DdpReceive;

class Queue : private TransferValidator {
public:
    // `transport` may be null and attached later (attach_transport): a TransportFactory needs the
    // queue before it can open the connection.
    Queue(const QueueConfig& config, QueueTransport* transport);
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;
    ~Queue() override = default;

    void attach_transport(QueueTransport* transport) noexcept;

    // Transport events:
    void on_transport_connected();                                       // sends ICReq, then (after ICResp) Connect
    void receive(std::span<const uint8_t> bytes, const RxPiece& piece);  // in-order stream bytes
    // The next stream bytes are C2HData data, this many of them (0: not so, or the queue is not
    // live). receive_data_run() takes spans of them, at most that many bytes in all, at once: what
    // receive() does for each span, without the per-span framing, cursor and device updates (the
    // placement claims are still checked per packet). A completion can come only at the run's end
    // (a C2HData with SUCCESS whose data it ends), after the device heard the buffer is final.
    uint32_t c2h_data_left() const noexcept;
    void receive_data_run(std::span<const RxSpan> spans);
    void on_transport_writable();                                        // send space freed: continue pending sends
    void on_transport_closed(const char* why);                           // outstanding commands fail with kHostPathError

    // Application:
    SubmitResult submit(const IoRequest& request, uint16_t* cid_out = nullptr);
    void poll(uint64_t now_ms);  // timeouts, pending sends
    // Host-side close (controller shutdown): closes the transport, fails what is outstanding with
    // kHostPathError and `why`; state Closed.
    void close(const char* why);

    QueueState state() const noexcept { return state_; }
    const char* failure() const noexcept { return failure_[0] != '\0' ? failure_ : nullptr; }
    uint16_t cntlid() const noexcept { return cntlid_; }
    uint16_t qid() const noexcept { return config_.qid; }
    uint16_t depth() const noexcept { return commands_.depth(); }
    uint32_t outstanding() const noexcept;  // application commands (the queue's own Connect not counted)
    const QueueStats& stats() const noexcept { return stats_; }
    const QueueConfig& config() const noexcept { return config_; }
    const nvmetcp::SendParams& send_params() const noexcept { return send_params_; }
    const nvmetcp::ReceiveParams& receive_params() const noexcept { return parser_.params(); }
    uint32_t maxh2cdata() const noexcept { return maxh2cdata_; }
    const StreamParser& parser() const noexcept { return parser_; }

    void set_observer(QueueObserver* observer) noexcept { observer_ = observer ? observer : &no_observer_; }
    QueueTransport* transport() const noexcept { return transport_; }

    // The receive offload of this queue's connection (ddp_receive.hpp), once it was added to the
    // device (sk_add); null: none. Reads are registered at submit, C2HData bytes the device placed
    // are not copied, digests it verified are not recomputed, registrations are torn down before
    // completion. Switching it off (null) at any time is safe for commands not yet submitted;
    // registered ones keep it until they complete, so only detach it with nothing outstanding.
    void set_offload(DdpReceive* offload) noexcept;
    DdpReceive* offload() const noexcept { return offload_; }
    // The device writes the data digest of every PDU this queue sends from now on (the transmit
    // digest offload, sk_add with tx_data_digest): the send path leaves the DDGST fields zero, keeps
    // at most `in_flight` such PDUs unacknowledged (tx_digest_window.hpp), and fails the queue if
    // the offload says the device lost the stream. Call it before the first PDU after the IC
    // exchange, with the offload set; it allocates the window.
    void leave_data_digests_to_device(uint32_t in_flight) { device_digests_.start(in_flight); }
    bool data_digests_left_to_device() const noexcept { return device_digests_.enabled(); }

private:
    // --- queue.cpp: lifecycle, submission, completion, failure
    SubmitResult enqueue(const IoRequest& request, bool internal, uint16_t* cid_out);
    void submit_connect();
    static void on_connect_done(void* ctx, const Completion& completion);
    void complete(uint16_t cid, nvme::Status status, uint32_t dw0, const char* reason, uint32_t dw1 = 0);
    void deliver_completion(uint16_t cid, nvme::Status status, uint32_t dw0, const char* reason, uint32_t dw1);
    static void on_teardown_done(void* arg, uint16_t cid);
    bool verify_digest_in_buffer(CommandSlot& slot, uint32_t received_digest);
    void complete_when_sent(uint16_t cid, nvme::Status status, uint32_t dw0, uint32_t dw1);
    void fail(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
    void finish_failure(QueueState final_state);
    void check_timeouts(uint64_t now_ms);
    bool live() const noexcept;

    // --- queue_receive.cpp: the parser's events
    void parse(std::span<const uint8_t> bytes, const RxPiece& piece);
    void on_header();
    void on_pdu_end(const ParseEvent& event, const RxPiece& piece);
    void on_icresp();
    void on_capsule_resp();
    void on_c2h_header();
    void on_c2h_end(const ParseEvent& event, const RxPiece& piece);
    void on_r2t();
    void on_c2h_term_req();
    void protocol_error(const ParseError& error, std::span<const uint8_t> header);
    Verdict check_transfer(PduType type, uint16_t cccid, uint16_t tag, uint32_t offset, uint32_t length) override;

    // --- queue_send.cpp: items -> PDUs -> transport
    void pump_sends();
    bool start_next_pdu();
    bool device_digest_room();
    void begin_data_digest();
    bool write_current();
    void finish_current();
    void stage_capsule(uint16_t cid);
    void stage_h2c_data(SendItem& item);
    void drop_item(SendItem& item);
    void send_term_req(Fes fes, uint32_t fei, std::span<const uint8_t> error_data);

    // The PDU being handed to the transport: staged header (+HDGST, padding), data from the IoVecs,
    // data digest.
    struct OutgoingPdu {
        bool active = false;
        bool ends_item = false;  // the item at the ring's head is done when this PDU is out
        SendItem::Kind kind = SendItem::Kind::IcReq;
        uint16_t cid = 0;
        uint32_t header_len = 0;
        uint32_t data_len = 0;
        uint32_t digest_len = 0;
        uint32_t digest_state = 0;  // raw CRC32C of the data handed to the transport so far
        bool digest_by_device = false;  // the DDGST goes out zero: the device writes it
        uint32_t sent = 0;          // bytes of this PDU handed to the transport
        IoVecCursor data;
        uint8_t digest[kDigestLen]{};
        // hlen + HDGST + padding to CPDA (<= 128), or a TermReq with its error data (<= 152)
        alignas(8) uint8_t header[256]{};
        uint32_t total() const noexcept { return header_len + data_len + digest_len; }
    };

    QueueConfig config_;
    QueueTransport* transport_;
    QueueObserver no_observer_;
    QueueObserver* observer_ = &no_observer_;
    DdpReceive* offload_ = nullptr;
    QueueState state_ = QueueState::Idle;
    bool connected_before_attach_ = false;
    CommandTable commands_;
    SendRing ring_;
    OutgoingPdu out_;
    uint64_t sent_offset_ = 0;  // stream bytes handed to the transport, from the connection's first
    TxDigestWindow device_digests_;
    bool waiting_for_device_digests_ = false;  // the window is full (counted once per wait)
    StreamParser parser_;
    nvmetcp::SendParams send_params_{};
    uint32_t maxh2cdata_ = 0;
    uint16_t cntlid_ = 0xFFFF;
    uint16_t connect_cid_ = 0xFFFF;
    uint64_t now_ms_ = 0;
    uint64_t last_timeout_check_ms_ = UINT64_MAX;
    uint64_t ic_deadline_ms_ = 0;  // 0: not yet stamped by poll()
    uint32_t internal_outstanding_ = 0;
    QueueStats stats_{};
    // The Connect's data (1 KiB): held from submit_connect() until the Connect succeeds, not for the
    // queue's life; a queue that failed before that frees it with itself.
    std::unique_ptr<nvme::ConnectData> connect_data_;
    IoVec connect_iov_{};

    // The header being processed (from its Header event to its PduEnd).
    uint64_t rx_pdu_offset_ = 0;  // stream offset of its first byte
    uint64_t rx_piece_offset_ = 0;  // stream offset of the first byte of the span being received
    uint16_t rx_cid_ = 0;
    uint32_t rx_datao_ = 0;
    uint32_t rx_datal_ = 0;
    bool rx_digest_deferred_ = false;  // the parser skips the data digest: checked at PduEnd (offload)
    bool rx_success_ = false;
    ICRespPdu icresp_{};
    TermReqPdu term_req_{};

    char failure_[384]{};
    // Reasons of failures that concern one command, queue-owned rather than one buffer per slot
    // (96 bytes x queue depth). A timeout fails the queue, so one is ever written; the sentence of a
    // digest mismatch or of data missing is written as its completion is delivered
    // (Completion::reason is valid during the callback) and stays until the next such completion.
    // Only a submission from inside that callback can bring one about before the callback returns
    // (its send finishing a write the controller answered early, with missing data): a callback
    // that submits reads its reason first.
    char timeout_reason_[96]{};
    char data_reason_[64]{};
};

}  // namespace nvmeddp::nvmetcp::host
