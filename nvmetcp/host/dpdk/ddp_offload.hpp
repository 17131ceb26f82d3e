// The receive offload for the I/O queues of a host over our DPDK TCP: adds each queue's connection
// to the offload device when its IC exchange is done (sk_add, with the connection's addresses and
// the sequence number of the first byte after the ICResp), gives the queue its DdpReceive, and
// removes the connections again (sk_del) when it is destroyed.
//
// Give it to ControllerConfig::io_queue_observer; it must outlive the Controller. Queues whose
// transport is not one of TcpTransportFactory's (kernel sockets) are not offloaded.
//
// Queues on several threads (IoPollers): a queue closes on the thread that has it, so the list of
// offloaded connections is kept under a mutex (connection set-up and removal only, never per I/O).
#pragma once

#include <cstdint>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ddp/device.hpp"
#include "nvmetcp/host/ddp_receive.hpp"
#include "nvmetcp/host/queue.hpp"
#include "nvmetcp/host/queue_observer.hpp"

namespace nvmeddp::nvmetcp::host {

class DdpOffload : public QueueObserver {
public:
    // rx_queue: the port's receive queue the connections arrive on, where their transport does not
    // say (TcpTransportFactory::rx_queue_of: each lane's own).
    DdpOffload(ddp::Device& device, uint16_t rx_queue);
    ~DdpOffload() override;  // sk_del of every connection added

    // The device writes the data digests of the PDUs each queue sends, where it offers that
    // (cap::kTxDataDigest) and data digests were negotiated; on by default. For queues added later.
    void set_tx_digests(bool on) noexcept { tx_digests_ = on; }
    bool tx_digests() const noexcept { return tx_digests_; }

    void on_ic_done(Queue& queue, uint64_t next_stream_offset, const RxPiece& next) override;
    // The queue failed or closed: its connection leaves the device (sk_del), so a reconnect starts
    // from a new sk_add and no registration of the old connection survives.
    void on_closed(Queue& queue) override;

    uint32_t connections() const;  // offloaded now
    uint32_t added() const;        // sk_adds that succeeded, ever
    uint32_t failed_adds() const;
    std::string last_error() const;
    DdpReceiveStats totals() const;
    // Connections removed (sk_del) that the device has not let go of yet: finishes those it can
    // (Device::poll of each, from the thread of their queues' lane); true while some remain. Cheap
    // when there are none: no lock.
    bool finish_removals();
    // Every connection of ours the device may still hold (offloaded, or removed and not let go of):
    // appended to `out`.
    void handles(std::vector<ddp::ConnectionHandle>& out) const;
    // One line: what the host did with the device's claims (for the app's report).
    std::string summary() const;

private:
    std::string connection_line(const DdpReceive& r, uint16_t qid) const;

    ddp::Device& device_;
    uint16_t rx_queue_;
    bool tx_digests_ = true;
    mutable std::mutex mutex_;  // guards everything below
    std::vector<std::unique_ptr<DdpReceive>> receives_;
    std::vector<uint16_t> qids_;       // of each receive's queue
    std::vector<ddp::ConnectionHandle> removing_;  // removed, not let go of yet (see finish_removals)
    std::atomic<bool> removals_{false};            // removing_ is not empty
    DdpReceiveStats retired_;          // of the connections removed already
    std::string retired_lines_;        // their device statistics, as summary() prints them
    uint32_t added_ = 0;
    uint32_t failed_adds_ = 0;
    std::string last_error_;
};

}  // namespace nvmeddp::nvmetcp::host
