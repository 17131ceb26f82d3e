#include "nvmetcp/host/dpdk/ddp_offload.hpp"

#include <algorithm>

#include "nvmetcp/host/dpdk/tcp_transport.hpp"

namespace nvmeddp::nvmetcp::host {
namespace {

void add_stats(DdpReceiveStats& t, const DdpReceiveStats& s) {
    t.setups += s.setups;
    t.setups_skipped += s.setups_skipped;
    t.setups_no_room += s.setups_no_room;
    t.teardowns_sync += s.teardowns_sync;
    t.teardowns_async += s.teardowns_async;
    t.bytes_claimed += s.bytes_claimed;
    t.bytes_refused += s.bytes_refused;
    t.digests_trusted += s.digests_trusted;
    t.digests_recomputed += s.digests_recomputed;
    t.resync_confirmed += s.resync_confirmed;
    t.resync_refused += s.resync_refused;
}

}  // namespace

DdpOffload::DdpOffload(ddp::Device& device, uint16_t rx_queue) : device_(device), rx_queue_(rx_queue) {}

DdpOffload::~DdpOffload() {
    // Not remove() first: the queues are gone by now (the Controller is destroyed before us), and a
    // teardown the device completes inside remove() would call back into one. ~DdpReceive drops
    // those callbacks, then removes the connection (sk_del); what the device has not let go of yet
    // it finishes itself (Device::poll_all, e.g. from HostStack::stop_polling).
    receives_.clear();
}

void DdpOffload::on_ic_done(Queue& queue, uint64_t next_stream_offset, const RxPiece& next) {
    const tcp::Connection* c = TcpTransportFactory::connection_of(queue.transport());
    if (c == nullptr) return;  // not our TCP: nothing the device can follow
    ddp::ConnectionConfig config;
    config.tuple = tcp::connection_tuple(c->route());
    config.queue_depth = queue.depth();
    const int lane_queue = TcpTransportFactory::rx_queue_of(queue.transport());
    config.rx_queue = lane_queue >= 0 ? static_cast<uint16_t>(lane_queue) : rx_queue_;
    config.rx_pda = queue.config().hpda;
    config.header_digest = queue.receive_params().header_digest;
    config.data_digest = queue.receive_params().data_digest;
    config.rcv_seq = next.seq;
    // The queue sends nothing between its ICReq and the ICResp: its next byte starts the next PDU.
    config.tx_data_digest = tx_digests_ && config.data_digest && (device_.enabled_caps() & ddp::cap::kTxDataDigest) != 0;
    config.tx_pda = queue.send_params().pda;
    config.snd_seq = c->send_queue_end().raw();
    auto receive = std::make_unique<DdpReceive>(device_, queue.depth());
    const ddp::Status st = receive->add(config, next_stream_offset);
    const std::lock_guard lock(mutex_);
    if (st != ddp::Status::Ok) {
        ++failed_adds_;
        last_error_ = "qid " + std::to_string(queue.qid()) + ": sk_add refused: " + ddp::to_string(st);
        return;  // the queue runs without the offload
    }
    queue.set_offload(receive.get());
    if (config.tx_data_digest) queue.leave_data_digests_to_device(device_.limits().tx_digests_in_flight);
    receives_.push_back(std::move(receive));
    qids_.push_back(queue.qid());
    ++added_;
}

void DdpOffload::on_closed(Queue& queue) {
    DdpReceive* const r = queue.offload();
    if (r == nullptr) return;
    uint16_t qid = 0;
    {
        const std::lock_guard lock(mutex_);
        const auto it = std::find_if(receives_.begin(), receives_.end(), [r](const auto& p) { return p.get() == r; });
        if (it == receives_.end()) return;
        qid = qids_[static_cast<size_t>(it - receives_.begin())];
    }
    // Outside the lock: removal may complete teardowns, whose callbacks reach the application.
    const std::string line = connection_line(*r, qid);
    r->remove();
    const bool quiescent = r->quiescent();
    const std::lock_guard lock(mutex_);
    retired_lines_ += line;
    // A read whose teardown the device finishes later still needs the queue's poll to deliver it:
    // that DdpReceive stays attached to its closed queue (the Controller waits for such reads before
    // it frees the queue) and is freed with us.
    if (!quiescent) return;
    const auto it = std::find_if(receives_.begin(), receives_.end(), [r](const auto& p) { return p.get() == r; });
    if (it == receives_.end()) return;
    const auto i = it - receives_.begin();
    queue.set_offload(nullptr);
    add_stats(retired_, r->stats());
    ddp::Stats ignored;
    if (device_.connection_stats(r->handle(), ignored) == ddp::Status::Ok) {  // the device still has it
        removing_.push_back(r->handle());
        removals_.store(true, std::memory_order_release);
    }
    receives_.erase(it);
    qids_.erase(qids_.begin() + i);
}

bool DdpOffload::finish_removals() {
    if (!removals_.load(std::memory_order_acquire)) return false;
    const std::lock_guard lock(mutex_);
    ddp::Stats ignored;
    std::erase_if(removing_, [this, &ignored](ddp::ConnectionHandle h) {
        device_.poll(h);
        return device_.connection_stats(h, ignored) != ddp::Status::Ok;
    });
    removals_.store(!removing_.empty(), std::memory_order_release);
    return !removing_.empty();
}

void DdpOffload::handles(std::vector<ddp::ConnectionHandle>& out) const {
    const std::lock_guard lock(mutex_);
    for (const auto& r : receives_) out.push_back(r->handle());
    out.insert(out.end(), removing_.begin(), removing_.end());
}

uint32_t DdpOffload::connections() const {
    const std::lock_guard lock(mutex_);
    return static_cast<uint32_t>(receives_.size());
}

uint32_t DdpOffload::added() const {
    const std::lock_guard lock(mutex_);
    return added_;
}

uint32_t DdpOffload::failed_adds() const {
    const std::lock_guard lock(mutex_);
    return failed_adds_;
}

std::string DdpOffload::last_error() const {
    const std::lock_guard lock(mutex_);
    return last_error_;
}

DdpReceiveStats DdpOffload::totals() const {
    const std::lock_guard lock(mutex_);
    DdpReceiveStats t = retired_;
    for (const auto& r : receives_) add_stats(t, r->stats());
    return t;
}

std::string DdpOffload::connection_line(const DdpReceive& r, uint16_t qid) const {
    ddp::Stats c{};
    if (!r.active() || device_.connection_stats(r.handle(), c) != ddp::Status::Ok) return {};
    return "\n  qid " + std::to_string(qid) + " connection: packets " + std::to_string(c.packets) + ", placed bytes " +
           std::to_string(c.placed_bytes) + ", digests verified " + std::to_string(c.digest_offloaded) +
           ", not verified " + std::to_string(c.digest_fallback) + ", resync requests " +
           std::to_string(c.resync_requests) + ", dropped " + std::to_string(c.drop);
}

std::string DdpOffload::summary() const {
    const DdpReceiveStats t = totals();
    const std::lock_guard lock(mutex_);
    std::string s = std::to_string(added_) + " connection(s) offloaded";
    if (failed_adds_ > 0) s += ", " + std::to_string(failed_adds_) + " refused (" + last_error_ + ")";
    s += "; reads registered " + std::to_string(t.setups) + ", not registered " + std::to_string(t.setups_skipped) +
         (t.setups_no_room > 0 ? " (" + std::to_string(t.setups_no_room) + " for want of room for their buffer lists)" : std::string()) +
         "; teardowns " + std::to_string(t.teardowns_sync) + " at once, " + std::to_string(t.teardowns_async) +
         " later; bytes taken from claims " + std::to_string(t.bytes_claimed) + ", claims refused " +
         std::to_string(t.bytes_refused) + "; digests trusted " + std::to_string(t.digests_trusted) +
         ", computed " + std::to_string(t.digests_recomputed) + "; resyncs confirmed " +
         std::to_string(t.resync_confirmed) + ", refused " + std::to_string(t.resync_refused);
    s += retired_lines_;
    for (size_t i = 0; i < receives_.size(); ++i) s += connection_line(*receives_[i], qids_[i]);
    return s;
}

}  // namespace nvmeddp::nvmetcp::host
