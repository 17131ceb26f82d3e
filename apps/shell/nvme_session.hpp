// One connected NVMe/TCP controller of the shell: the host Controller over the HostStack's TCP, with
// the port's offload following its I/O queues (DdpOffload), and blocking reads and writes for the
// `read` / `write` commands. Every wait is bounded by the timeout given at connect.
//
// The stack is polled only from here while connected (the shell's idle loop calls pump()), so the
// keep alive goes out while the prompt waits for a command.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nvmetcp/host/controller.hpp"
#include "nvmetcp/host/dpdk/ddp_offload.hpp"
#include "nvmetcp/host/dpdk/host_stack.hpp"

namespace nvmeddp::shell {

struct ConnectRequest {
    std::string traddr;
    uint16_t trsvcid = 4420;
    std::string subnqn;
    std::string hostnqn;  // empty: the controller's default
    uint16_t io_queues = 1;
    bool header_digest = false, data_digest = false;
};

// What one read or write did.
struct IoOutcome {
    bool completed = false;  // false: no completion within the timeout
    bool ok = false;         // completed with success status
    std::string failure;     // the status or the host's reason when !ok
    std::vector<uint8_t> data;  // a read's bytes
    uint64_t bytes_placed = 0, bytes_copied = 0;  // the queue's counters during this I/O (reads)
};

class NvmeSession {
public:
    // null and *error saying why (no answer within the timeout, the controller's failure, ...).
    static std::unique_ptr<NvmeSession> connect(nvmetcp::host::HostStack& stack, const ConnectRequest& request,
                                                unsigned timeout_s, std::string* error);
    // Shuts the controller down (bounded), lets the connections close, removes them from the
    // device (sk_del) and waits (bounded) for the device to finish. Lines of what happened go to
    // `report` (may be null).
    void disconnect(std::vector<std::string>* report);
    ~NvmeSession();

    NvmeSession(const NvmeSession&) = delete;
    NvmeSession& operator=(const NvmeSession&) = delete;

    // One round: the stack's port (the device's engine, TCP) and the controller.
    void pump();

    // Reads or writes `blocks` blocks at `lba` on I/O queue `qid` (1..); writes send `data`.
    // Refusals (range, size, queue) come back as completed = true, ok = false.
    IoOutcome io(bool write, uint64_t lba, uint32_t blocks, uint16_t qid, const std::vector<uint8_t>& data);

    nvmetcp::host::Controller& controller() noexcept { return *controller_; }
    nvmetcp::host::DdpOffload* offload() noexcept { return offload_.get(); }
    const ConnectRequest& request() const noexcept { return request_; }

private:
    struct PendingIo;  // an I/O's completion state; outlives a timed-out wait (the queue still holds the buffer)

    NvmeSession(nvmetcp::host::HostStack& stack, unsigned timeout_s);
    static void on_done(void* ctx, const nvmetcp::host::Completion& completion);
    void reap();

    nvmetcp::host::HostStack& stack_;
    uint64_t timeout_ms_;
    ConnectRequest request_;
    // Destroyed in reverse: the controller (its transports) before the factory, both before the
    // offload, which removes the connections from the device.
    std::unique_ptr<nvmetcp::host::DdpOffload> offload_;
    std::unique_ptr<nvmetcp::host::TcpTransportFactory> factory_;
    std::unique_ptr<nvmetcp::host::Controller> controller_;
    std::vector<std::unique_ptr<PendingIo>> pending_;
    bool closed_ = false;
};

uint64_t now_ms() noexcept;

}  // namespace nvmeddp::shell
