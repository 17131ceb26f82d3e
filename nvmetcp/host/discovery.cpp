#include "nvmetcp/host/discovery.hpp"

#include <cstring>

#include "nvmetcp/nvme_data.hpp"

namespace nvmeddp::nvmetcp::host {

std::vector<DiscoveryEntry> parse_discovery_log(std::span<const uint8_t> bytes) {
    std::vector<DiscoveryEntry> out;
    if (bytes.size() < sizeof(nvme::DiscoveryLogHeader)) return out;
    nvme::DiscoveryLogHeader header;
    std::memcpy(&header, bytes.data(), sizeof header);
    const uint64_t available = (bytes.size() - sizeof header) / sizeof(nvme::DiscoveryLogEntry);
    const uint64_t count = std::min<uint64_t>(header.numrec.get(), available);
    for (uint64_t i = 0; i < count; ++i) {
        nvme::DiscoveryLogEntry e;
        std::memcpy(&e, bytes.data() + sizeof header + i * sizeof e, sizeof e);
        DiscoveryEntry d;
        d.trtype = e.trtype;
        d.adrfam = e.adrfam;
        d.subtype = e.subtype;
        d.treq = e.treq;
        d.portid = e.portid.get();
        d.cntlid = e.cntlid.get();
        d.asqsz = e.asqsz.get();
        d.trsvcid = nvme::field_text(e.trsvcid, sizeof e.trsvcid);
        d.traddr = nvme::field_text(e.traddr, sizeof e.traddr);
        d.subnqn = nvme::field_text(e.subnqn, sizeof e.subnqn);
        out.push_back(std::move(d));
    }
    return out;
}

ControllerConfig DiscoveryClient::discovery_config(ControllerConfig config) {
    config.subnqn = nvme::kDiscoveryNqn;
    config.io_queues = 0;
    config.kato_ms = 0;  // a discovery controller is asked once and let go
    return config;
}

DiscoveryClient::DiscoveryClient(ControllerConfig config, TransportFactory& factory)
    : controller_(discovery_config(std::move(config)), factory) {}

bool DiscoveryClient::start(std::string* error) {
    if (!controller_.start(error)) {
        fail("discovery controller: " + controller_.failure());
        return false;
    }
    state_ = State::Connecting;
    return true;
}

void DiscoveryClient::fail(const std::string& why) {
    if (state_ == State::Failed) return;
    failure_ = why;
    state_ = State::Failed;
}

void DiscoveryClient::read_log(uint32_t len) {
    log_.assign(len, 0);
    iov_ = IoVec{log_.data(), len};
    IoRequest request;
    request.sqe = nvme::make_get_log_page(0, nvme::log_page::kDiscovery, len, 0);
    request.data = std::span<const IoVec>(&iov_, 1);
    request.data_len = len;
    request.done = &DiscoveryClient::on_log;
    request.ctx = this;
    const SubmitResult result = controller_.admin_queue().submit(request);
    if (result != SubmitResult::Ok) fail(std::string("Get Log Page (discovery): cannot submit: ") + to_string(result));
}

void DiscoveryClient::on_log(void* ctx, const Completion& completion) {
    auto* self = static_cast<DiscoveryClient*>(ctx);
    self->result_ready_ = true;
    self->status_ = completion.status;
    self->reason_ = completion.reason != nullptr ? completion.reason : "";
}

void DiscoveryClient::poll(uint64_t now_ms) {
    controller_.poll(now_ms);
    switch (state_) {
        case State::Connecting:
            if (controller_.state() == ControllerState::Ready) {
                state_ = State::ReadingLog;
                reading_header_ = true;
                read_log(sizeof(nvme::DiscoveryLogHeader));
            } else if (controller_.state() == ControllerState::Failed) {
                fail("discovery controller: " + controller_.failure());
            }
            break;
        case State::ReadingLog:
            if (result_ready_) {
                result_ready_ = false;
                on_result();
            } else if (controller_.state() == ControllerState::Failed) {
                fail("discovery controller: " + controller_.failure());
            }
            break;
        default:
            break;
    }
}

void DiscoveryClient::on_result() {
    if (!status_.ok()) {
        char text[96];
        fail("Get Log Page (discovery): " + (reason_.empty() ? std::string(nvme::describe(status_, text, sizeof text)) : reason_));
        return;
    }
    nvme::DiscoveryLogHeader header;
    std::memcpy(&header, log_.data(), sizeof header);
    if (reading_header_) {
        const uint64_t numrec = header.numrec.get();
        if (numrec > kMaxRecords) {
            fail("Get Log Page (discovery): " + std::to_string(numrec) + " records, more than the " +
                 std::to_string(kMaxRecords) + " this host reads");
            return;
        }
        genctr_ = header.genctr.get();
        if (numrec == 0) {
            state_ = State::Done;
            return;
        }
        reading_header_ = false;
        ++attempts_;
        read_log(static_cast<uint32_t>(sizeof header + numrec * sizeof(nvme::DiscoveryLogEntry)));
        return;
    }
    if (header.genctr.get() != genctr_) {  // the log changed between the two reads: read it again
        if (attempts_ >= kMaxAttempts) {
            fail("Get Log Page (discovery): the log kept changing (generation counter) over " +
                 std::to_string(kMaxAttempts) + " reads");
            return;
        }
        reading_header_ = true;
        read_log(sizeof header);
        return;
    }
    entries_ = parse_discovery_log(log_);
    state_ = State::Done;
}

}  // namespace nvmeddp::nvmetcp::host
