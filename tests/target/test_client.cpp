#include "test_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nvmeddp::nvmetcp::target::testing {
namespace {

ReceiveParams host_params(bool header_digest, bool data_digest, uint32_t hpda) {
    ReceiveParams params;
    params.role = Role::Host;
    params.header_digest = header_digest;
    params.data_digest = data_digest;
    params.pda = hpda;
    return params;
}

}  // namespace

TestClient::TestClient(uint16_t port, int timeout_ms) : parser_(host_params(false, false, 0)), rx_(1u << 20) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

TestClient::~TestClient() {
    if (fd_ >= 0) ::close(fd_);
}

void TestClient::send_bytes(std::span<const uint8_t> bytes) {
    while (!bytes.empty() && fd_ >= 0) {
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            return;  // the target closed or the send timed out: the next wait reports it
        }
        bytes = bytes.subspan(static_cast<size_t>(n));
    }
}

bool TestClient::initialize(uint8_t hpda, bool header_digest, bool data_digest) {
    hpda_ = hpda;
    const uint8_t digests = (header_digest ? ic_digest::kHeader : 0) | (data_digest ? ic_digest::kData : 0);
    uint8_t icreq[kHlenIc];
    encode_pdu(icreq, make_icreq(hpda, digests, 0), {}, SendParams{});
    send_bytes(icreq);
    while (!have_icresp_) {
        if (!receive_pdu()) return false;
    }
    return true;
}

void TestClient::send_command(const NvmeSqe& sqe, std::span<const uint8_t> in_capsule) {
    send_pdu(make_capsule_cmd(sqe), in_capsule);
}

bool TestClient::receive_pdu() {
    if (fd_ < 0) return false;
    pdu_done_ = false;
    for (;;) {
        while (true) {
            const auto [consumed, event] = parser_.step({rx_.data() + rx_pos_, rx_len_ - rx_pos_});
            rx_pos_ += consumed;
            if (event.kind == EventKind::NeedMore) break;
            if (event.kind == EventKind::Error) {
                parse_error_ = event.error;
                return false;
            }
            if (event.kind == EventKind::Header) {
                const auto bytes = parser_.header().bytes();
                header_.assign(bytes.begin(), bytes.end());
                data_.clear();
            } else if (event.kind == EventKind::Data) {
                if (data_.size() < event.data_offset + event.data_len) data_.resize(event.data_offset + event.data_len);
                std::memcpy(data_.data() + event.data_offset, event.data, event.data_len);
            } else if (event.kind == EventKind::PduEnd) {
                on_pdu_end(event);
                return true;
            }
        }
        rx_pos_ = rx_len_ = 0;
        const ssize_t n = ::recv(fd_, rx_.data(), rx_.size(), 0);
        if (n > 0) {
            rx_len_ = static_cast<size_t>(n);
            continue;
        }
        if (n == 0) {
            closed_by_target_ = true;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            timed_out_ = true;
        } else {
            closed_by_target_ = true;  // reset
        }
        return false;
    }
}

void TestClient::on_pdu_end(const ParseEvent& event) {
    const auto* ch = reinterpret_cast<const CommonHeader*>(header_.data());
    switch (ch->pdu_type()) {
        case PduType::ICResp: {
            std::memcpy(&icresp_, header_.data(), sizeof icresp_);
            const bool hd = icresp_.dgst & ic_digest::kHeader, dd = icresp_.dgst & ic_digest::kData;
            send_ = SendParams{hd, dd, icresp_.cpda};
            parser_.set_params(host_params(hd, dd, hpda_));
            have_icresp_ = true;
            break;
        }
        case PduType::C2HData: {
            C2HDataPdu h;
            std::memcpy(&h, header_.data(), sizeof h);
            Completion& c = in_progress_[h.cccid.get()];
            c.cid = h.cccid.get();
            c.c2h_headers.push_back(h);
            c.c2h_pdos.push_back(h.ch.pdo);
            if (event.digest == DigestStatus::Mismatch) c.digest_mismatch = true;
            const size_t end = h.datao.get() + data_.size();
            if (c.data.size() < end) c.data.resize(end);
            std::memcpy(c.data.data() + h.datao.get(), data_.data(), data_.size());
            if (h.ch.flags & pdu_flags::kSuccess) {
                c.by_success_flag = true;
                c.cqe.cid.set(c.cid);
                completions_[c.cid] = std::move(c);
                in_progress_.erase(h.cccid.get());
            }
            break;
        }
        case PduType::CapsuleResp: {
            CapsuleRespPdu r;
            std::memcpy(&r, header_.data(), sizeof r);
            const uint16_t cid = r.cqe.cid.get();
            Completion c = std::move(in_progress_[cid]);
            in_progress_.erase(cid);
            c.cid = cid;
            c.cqe = r.cqe;
            completions_[cid] = std::move(c);
            break;
        }
        case PduType::R2T: {
            R2TPdu r;
            std::memcpy(&r, header_.data(), sizeof r);
            r2ts_.push_back(r);
            break;
        }
        case PduType::C2HTermReq: {
            std::vector<uint8_t> term = header_;
            term.insert(term.end(), data_.begin(), data_.end());
            term_reqs_.push_back(std::move(term));
            break;
        }
        default:
            break;
    }
}

std::optional<Completion> TestClient::wait_completion(uint16_t cid) {
    for (;;) {
        auto it = completions_.find(cid);
        if (it != completions_.end()) {
            Completion c = std::move(it->second);
            completions_.erase(it);
            return c;
        }
        if (!receive_pdu()) return std::nullopt;
    }
}

std::optional<R2TPdu> TestClient::wait_r2t() {
    while (r2ts_.empty()) {
        if (!receive_pdu()) return std::nullopt;
    }
    R2TPdu r = r2ts_.front();
    r2ts_.pop_front();
    return r;
}

std::optional<std::vector<uint8_t>> TestClient::wait_term_req() {
    while (term_reqs_.empty()) {
        if (!receive_pdu()) return std::nullopt;
    }
    return term_reqs_.front();
}

bool TestClient::wait_closed() {
    while (receive_pdu()) {
    }
    if (closed_by_target_) return true;
    // The parser stops at a TermReq or an error; what follows must be the end of the stream.
    uint8_t byte;
    for (;;) {
        const ssize_t n = ::recv(fd_, &byte, 1, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return true;
        if (n < 0 && errno != EINTR) return false;
    }
}

std::optional<Completion> TestClient::execute(const NvmeSqe& sqe, std::span<const uint8_t> in_capsule) {
    send_command(sqe, in_capsule);
    return wait_completion(sqe.cid.get());
}

std::optional<Completion> TestClient::connect(uint16_t qid, uint16_t cntlid, uint16_t queue_depth,
                                              bool disable_sq_flow_control, const std::string& subnqn,
                                              const std::string& hostnqn) {
    nvme::ConnectData data;
    const uint8_t hostid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    nvme::make_connect_data(data, subnqn.c_str(), hostnqn.c_str(), hostid, cntlid);
    const NvmeSqe sqe = nvme::make_connect(next_cid(), qid, queue_depth, qid == 0 ? 30000 : 0, disable_sq_flow_control);
    return execute(sqe, {reinterpret_cast<const uint8_t*>(&data), sizeof data});
}

bool TestClient::enable_controller() {
    auto set = execute(nvme::make_property_set(next_cid(), nvme::reg::kCc, nvme::reg::kCcEnableValue, false));
    if (!set || !set->status().ok()) return false;
    auto csts = execute(nvme::make_property_get(next_cid(), nvme::reg::kCsts, false));
    return csts && csts->status().ok() && (csts->cqe.dw0.get() & nvme::reg::kCstsReady);
}

}  // namespace nvmeddp::nvmetcp::target::testing
