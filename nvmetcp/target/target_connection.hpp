// One NVMe/TCP connection of the target, which is one queue (admin or I/O) once connected.
//
// Receive: socket -> StreamParser (Role::Controller; this class is its TransferValidator, refusing
// H2CData for no outstanding R2T, or out of its window or order) -> ICReq, capsules, H2CData.
// Send: the Outbox, which makes C2HData PDUs as the socket drains. The command handlers live in
// fabrics_commands.cpp (Connect, Property Get/Set), admin_commands.cpp and io_commands.cpp.
//
// A fatal protocol error from the host gets a C2HTermReq (FES, FEI, the offending header), and the
// connection closes once it went out and the host closed too (or after a bound if the host does not).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nvmetcp/stream_parser.hpp"
#include "nvmetcp/target/command_table.hpp"
#include "nvmetcp/target/outbox.hpp"
#include "nvmetcp/target/target_context.hpp"

namespace nvmeddp::nvmetcp::target {

class TargetConnection final : private TransferValidator {
public:
    TargetConnection(int fd, uint64_t id, std::string peer, TargetContext& context);
    ~TargetConnection() override;
    TargetConnection(const TargetConnection&) = delete;
    TargetConnection& operator=(const TargetConnection&) = delete;

    uint64_t id() const noexcept { return id_; }
    int fd() const noexcept { return fd_; }

    void on_readable();
    void on_writable();
    // Closes the socket now; the reason goes to the log.
    void close(const std::string& reason);

    bool closed() const noexcept { return fd_ < 0; }
    bool wants_read() const noexcept;
    bool wants_write() const noexcept { return !closed() && outbox_.has_output(); }
    // A TermReq is on its way out; closing_since() bounds the wait for the host to read it.
    bool closing() const noexcept { return stopping_; }
    std::chrono::steady_clock::time_point closing_since() const noexcept { return stopping_since_; }

    // The queue it serves, after a successful Connect.
    bool connected() const noexcept { return connected_; }
    uint16_t cntlid() const noexcept { return cntlid_; }
    uint16_t qid() const noexcept { return qid_; }

private:
    // Receive path (target_connection.cpp).
    void receive(std::span<const uint8_t> bytes);
    void on_header();
    void on_data(const ParseEvent& event);
    void on_pdu_end(const ParseEvent& event);
    void on_icreq();
    void fatal(const ParseError& error, std::span<const uint8_t> header);
    void send_output();
    void drain();
    std::string stop_reason() const;
    Verdict check_transfer(PduType type, uint16_t cccid, uint16_t tag, uint32_t offset, uint32_t length) override;

    // Command dispatch and completions (target_connection.cpp).
    void execute(const NvmeSqe& sqe, std::span<const uint8_t> capsule);
    // result: CQE dword 0 (low half) and dword 1 (high half, Property Get of 8 bytes).
    void complete(uint16_t cid, nvme::Status status, uint64_t result = 0, std::optional<uint16_t> sqhd = {});
    std::vector<uint8_t> completion_pdu(uint16_t cid, nvme::Status status, uint64_t result, std::optional<uint16_t> sqhd);
    // Sends data to the host (`data`, or `owned` when data is empty), then completes with success.
    void send_to_host(uint16_t cid, std::span<const uint8_t> data, std::vector<uint8_t> owned);
    Controller* controller() noexcept;

    // fabrics_commands.cpp
    void fabrics_command(const NvmeSqe& sqe, std::span<const uint8_t> capsule);
    void connect(const NvmeSqe& sqe, std::span<const uint8_t> capsule);
    void property_get(const NvmeSqe& sqe);
    void property_set(const NvmeSqe& sqe);

    // admin_commands.cpp
    void admin_command(const NvmeSqe& sqe);
    void identify(const NvmeSqe& sqe);
    void get_log_page(const NvmeSqe& sqe);
    void set_features(const NvmeSqe& sqe);
    void get_features(const NvmeSqe& sqe);
    void async_event_request(const NvmeSqe& sqe);

    // io_commands.cpp
    void io_command(const NvmeSqe& sqe, std::span<const uint8_t> capsule);
    void read(const NvmeSqe& sqe, uint8_t* data, uint32_t length);
    void write(const NvmeSqe& sqe, uint8_t* data, uint32_t length, std::span<const uint8_t> capsule);
    void send_r2t(uint32_t slot);
    void on_h2c_data_end(const ParseEvent& event);

    TargetContext& context_;
    const TargetConfig& config_;
    int fd_;
    uint64_t id_;
    std::string peer_;
    StreamParser parser_;
    Outbox outbox_;
    std::vector<uint8_t> rx_buffer_;
    bool stopping_ = false;  // a TermReq is on its way (or the output stopped): no more commands
    bool draining_ = false;  // the output ended and FIN went out: reading only to drop, until EOF
    std::string stop_reason_;
    std::chrono::steady_clock::time_point stopping_since_{};

    // The PDU being received.
    NvmeSqe capsule_sqe_{};
    std::vector<uint8_t> capsule_data_;
    bool capsule_overflow_ = false;  // more in-capsule data than the queue takes
    uint32_t h2c_slot_ = CommandTable::kNone;
    uint32_t h2c_datao_ = 0;
    uint32_t h2c_datal_ = 0;

    // The queue, after Connect.
    bool connected_ = false;
    uint16_t cntlid_ = 0;
    uint16_t qid_ = 0;
    uint32_t sq_size_ = 0;  // entries (sqsize + 1)
    uint32_t sqhd_ = 0;
    bool sq_flow_control_disabled_ = false;
    CommandTable commands_;
};

}  // namespace nvmeddp::nvmetcp::target
