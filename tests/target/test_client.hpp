// A small blocking NVMe/TCP host for the target tests: one connection, PDUs encoded with the core's
// encoder and parsed with StreamParser(Role::Host), every wait bounded by SO_RCVTIMEO.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nvmetcp/nvme_command.hpp"
#include "nvmetcp/pdu_encoder.hpp"
#include "nvmetcp/stream_parser.hpp"

namespace nvmeddp::nvmetcp::target::testing {

inline constexpr char kHostNqn[] = "nqn.2026-12.io.nvmeddp:test-host";

// What the host received for one command.
struct Completion {
    uint16_t cid = 0;
    NvmeCqe cqe{};
    bool by_success_flag = false;         // completed by C2HData SUCCESS (no CapsuleResp)
    std::vector<uint8_t> data;            // C2HData bytes, placed at datao
    std::vector<C2HDataPdu> c2h_headers;  // in arrival order
    std::vector<uint8_t> c2h_pdos;        // PDO of each C2HData
    bool digest_mismatch = false;
    nvme::Status status() const { return nvme::status_of(cqe); }
};

class TestClient {
public:
    explicit TestClient(uint16_t port, int timeout_ms = 3000);
    ~TestClient();
    TestClient(const TestClient&) = delete;
    TestClient& operator=(const TestClient&) = delete;

    bool connected() const { return fd_ >= 0; }

    // ICReq/ICResp; false on anything but a good ICResp. The ICResp is kept in icresp().
    bool initialize(uint8_t hpda = 0, bool header_digest = false, bool data_digest = false);
    const ICRespPdu& icresp() const { return icresp_; }
    const SendParams& send_params() const { return send_; }

    void send_bytes(std::span<const uint8_t> bytes);
    template <typename Pdu>
    void send_pdu(const Pdu& header, std::span<const uint8_t> data = {}) {
        std::vector<uint8_t> out(plan_pdu(header.ch.pdu_type(), static_cast<uint32_t>(data.size()), send_).plen);
        encode_pdu(out, header, data, send_);
        send_bytes(out);
    }
    void send_command(const NvmeSqe& sqe, std::span<const uint8_t> in_capsule = {});

    // Reads PDUs until the completion of `cid` is in (nullopt on timeout, close or protocol error).
    std::optional<Completion> wait_completion(uint16_t cid);
    // Reads PDUs until an R2T is in.
    std::optional<R2TPdu> wait_r2t();
    // Reads PDUs until a C2HTermReq is in; its header and error data.
    std::optional<std::vector<uint8_t>> wait_term_req();
    // Reads until the target closes the connection (true) or the wait times out (false).
    bool wait_closed();

    // Convenience: a command and its completion.
    std::optional<Completion> execute(const NvmeSqe& sqe, std::span<const uint8_t> in_capsule = {});
    // Connect (admin: cntlid 0xFFFF) to `subnqn`; the completion.
    std::optional<Completion> connect(uint16_t qid, uint16_t cntlid, uint16_t queue_depth, bool disable_sq_flow_control,
                                      const std::string& subnqn, const std::string& hostnqn = kHostNqn);
    // Property Set CC.EN = 1 and poll CSTS.RDY; true when ready.
    bool enable_controller();
    uint16_t next_cid() { return next_cid_++; }

    // Where reception stopped: the parser's error, the connection closed, or a timeout.
    const ParseError& parse_error() const { return parse_error_; }
    bool closed_by_target() const { return closed_by_target_; }
    bool timed_out() const { return timed_out_; }
    const std::deque<std::vector<uint8_t>>& term_reqs() const { return term_reqs_; }
    // What arrived so far for a command that has not completed (null: nothing).
    const Completion* partial(uint16_t cid) const {
        auto it = in_progress_.find(cid);
        return it == in_progress_.end() ? nullptr : &it->second;
    }

private:
    bool receive_pdu();  // one PDU into the collections below; false: stopped (see above)
    void on_pdu_end(const ParseEvent& event);

    int fd_ = -1;
    StreamParser parser_;
    SendParams send_{};
    uint8_t hpda_ = 0;
    ICRespPdu icresp_{};
    bool have_icresp_ = false;
    uint16_t next_cid_ = 1;

    std::vector<uint8_t> rx_;
    size_t rx_pos_ = 0, rx_len_ = 0;
    std::vector<uint8_t> header_;  // of the PDU being received
    std::vector<uint8_t> data_;
    bool pdu_done_ = false;

    std::map<uint16_t, Completion> in_progress_;
    std::map<uint16_t, Completion> completions_;
    std::deque<R2TPdu> r2ts_;
    std::deque<std::vector<uint8_t>> term_reqs_;
    ParseError parse_error_{};
    bool closed_by_target_ = false;
    bool timed_out_ = false;
};

}  // namespace nvmeddp::nvmetcp::target::testing
