// An NVMe/TCP controller as the host sees it: the admin queue brought up and the controller enabled,
// identified and given its I/O queues, kept alive, and shut down.
//
// Asynchronous and single-threaded: start() opens the admin queue's connection; every later step
// happens in poll(), which also drives the queues' timeouts and the keep alive. The caller's loop runs
// the transports (e.g. SocketTransportFactory::poll) and poll() until state() is Ready or Failed;
// every wait is bounded (connect_timeout_ms for connections, CAP.TO for CSTS.RDY, command timeouts).
//
// Bring-up, in order: IC + Connect (admin) -> Property Get CAP -> Property Get VS -> Property Set CC
// (EN=1) -> Property Get CSTS until RDY -> Identify controller -> Identify active namespace list ->
// Identify namespace -> Set Features number of queues -> IC + Connect of every I/O queue.
// A discovery controller (subnqn = the discovery NQN) stops after Identify controller: it has no
// namespaces and no I/O queues.
//
// Failure during the first bring-up is final. Once Ready, losing the controller (a queue fails: the
// connection drops, a TermReq, a command timeout, a failed keep alive) is final too unless
// reconnect_delay_ms / ctrl_loss_tmo_ms (nvme-cli's reconnect_delay, ctrl_loss_tmo) allow recovery:
// then every queue is closed and freed (the offload's connections removed with them: no registration
// survives), the controller is Reconnecting, and every reconnect_delay_ms it runs the whole bring-up
// again on new connections until it is Ready (reconnects() counts it) or ctrl_loss_tmo_ms has passed
// since the loss (Failed). I/O outstanding at the loss, and I/O submitted while reconnecting, waits
// and is sent again once Ready (requeue_io), or fails at once with kHostPathError; I/O still waiting
// when the controller fails completes with kHostPathError and the reason.
//
// Several threads (io_pollers.hpp runs this): once Ready, the thread that polls the controller (the
// control thread) may delegate its I/O queues with delegate_io(true). Each I/O queue then belongs to
// one thread, which polls it with poll_io() and submits to it; poll() touches only the admin queue
// (and keep alive). Whatever needs every queue (an I/O queue that failed, the admin queue or keep
// alive failing, shutdown) waits, with the controller still Ready, until the control thread has the
// queues back (io_wanted_back(), then delegate_io(false) once no other thread touches them); the
// next poll() acts on it. Each I/O queue has its own command slots, so threads never share one.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nvmetcp/host/queue.hpp"
#include "nvmetcp/nvme_data.hpp"

namespace nvmeddp::nvmetcp::host {

struct ControllerConfig {
    std::string subnqn, hostnqn;  // hostnqn default: "nqn.2014-08.org.nvmexpress:uuid:<hostid as uuid>"
    uint8_t hostid[16]{};
    uint16_t io_queues = 1, queue_depth = 32;
    bool header_digest = false, data_digest = false, disable_sq_flow_control = false;
    uint8_t hpda = 0;
    uint32_t kato_ms = 5000;  // keep alive sent every kato/2 on the admin queue; 0: none
    // The namespace to read and write: 0, the first in the controller's active namespace list (1
    // when it has no list); else this one, which must be in the list when the controller gives one.
    uint32_t nsid = 0;
    uint32_t connect_timeout_ms = 5000, command_timeout_ms = 30000;
    // Recovery once Ready (see above): both 0 = none. A delay with no ctrl_loss_tmo retries forever.
    uint32_t reconnect_delay_ms = 0, ctrl_loss_tmo_ms = 0;
    bool requeue_io = true;  // I/O waits for the reconnect (true) or fails at the loss
    // Set on every I/O queue before it connects (the receive offload follows I/O queues: it adds a
    // queue's connection to the device when its IC exchange is done). Null: none.
    QueueObserver* io_queue_observer = nullptr;
};

// The host NQN a host without one uses: the UUID form made from its host identifier.
std::string default_hostnqn(const uint8_t hostid[16]);

class TransportFactory {  // opens the TCP connection of one queue
public:
    virtual ~TransportFactory() = default;
    // The factory delivers that connection's events to `queue` (on_transport_connected when up, receive,
    // on_transport_writable, on_transport_closed). null + *error when it cannot start.
    virtual QueueTransport* open(uint16_t qid, Queue& queue, std::string* error) = 0;
    virtual void release(QueueTransport* transport) = 0;  // the queue is gone: free the transport (closes it if open)
};

enum class ControllerState : uint8_t { Idle, Connecting, Ready, Reconnecting, Failed };
const char* to_string(ControllerState state) noexcept;

class Controller {
public:
    Controller(const ControllerConfig& config, TransportFactory& factory);
    ~Controller();  // releases every transport through the factory
    Controller(const Controller&) = delete;
    Controller& operator=(const Controller&) = delete;

    bool start(std::string* error);
    void poll(uint64_t now_ms);
    ControllerState state() const noexcept { return state_; }
    const std::string& failure() const noexcept { return failure_; }  // "<step>: <why>"

    Queue& io_queue(uint16_t index) { return *io_[index].queue; }  // 0 .. io_queue_count()-1 (qid index+1)
    uint16_t io_queue_count() const noexcept { return static_cast<uint16_t>(io_.size()); }
    // Application commands the I/O queues still hold. After shutdown() a read whose buffers the
    // offload device has not let go of yet completes from a later poll(): until then the device may
    // still use its buffers and its buffer list (IoRequest::data), so destroy the controller, and
    // free what the commands were submitted with, only once this is 0.
    uint32_t io_outstanding() const noexcept {
        uint32_t n = 0;
        for (const QueueHolder& holder : io_) n += holder.queue ? holder.queue->outstanding() : 0;
        return n;
    }
    Queue& admin_queue() { return *admin_.queue; }
    const nvme::IdentifyController& identify() const noexcept { return identify_; }
    uint32_t block_size() const noexcept { return block_size_; }
    uint64_t namespace_blocks() const noexcept { return namespace_blocks_; }
    uint32_t nsid() const noexcept { return nsid_; }
    uint64_t cap() const noexcept { return cap_; }
    uint32_t version() const noexcept { return vs_; }
    bool is_discovery() const noexcept;

    // Every I/O queue's counters summed, including the queues of earlier connections (a reconnect
    // makes new queues, whose own counters start at 0). From the thread that has every queue.
    QueueStats io_stats() const;
    uint32_t reconnects() const noexcept { return reconnects_; }      // recoveries that reached Ready
    uint32_t losses() const noexcept { return losses_; }              // times the controller was lost once Ready
    const std::string& last_loss() const noexcept { return last_loss_; }  // why, the last time
    uint32_t waiting_io() const noexcept;  // I/O waiting for a reconnect

    // The I/O queues on other threads (see above). Control thread: delegate only when
    // can_delegate_io() (Ready, Failed or shut down, nothing waiting, not shutting down), and give them back only
    // when no other thread touches them any more. poll_io(): from the thread that has queue `index`
    // while delegated (or the control thread when not): its timeouts and deferred work; a queue that
    // is not Ready any more makes io_wanted_back() true.
    bool can_delegate_io() const noexcept;
    void delegate_io(bool delegated) noexcept;
    bool io_delegated() const noexcept { return io_delegated_; }
    bool io_wanted_back() const noexcept {
        return io_delegated_ && (admin_wants_io_ || io_trouble_.load(std::memory_order_acquire));
    }
    void poll_io(uint16_t index, uint64_t now_ms);
    // Fails the controller now, whatever it was doing (a reconnect that would go on for ever, when
    // the application stops waiting): I/O waiting or outstanding fails with kHostPathError and `why`.
    // Control thread, I/O not delegated.
    void give_up(const std::string& why);

    // Read/write nlb blocks (1..65536) at slba of the namespace on I/O queue `index`. While the
    // controller reconnects (requeue_io), the I/O waits and is sent once it is Ready again.
    SubmitResult read(uint16_t index, uint64_t slba, uint32_t nlb, std::span<const IoVec> data, CompletionFn done, void* ctx);
    SubmitResult write(uint16_t index, uint64_t slba, uint32_t nlb, std::span<const IoVec> data, CompletionFn done, void* ctx);
    SubmitResult flush(uint16_t index, CompletionFn done, void* ctx);

    // Closes the I/O queues, sets CC.SHN (normal) and waits in poll() for CSTS.SHST complete (bounded by
    // kShutdownTimeoutMs), then closes the admin queue: state() becomes Idle. On a controller that is
    // not Ready it only closes the queues.
    void shutdown();
    bool shutting_down() const noexcept { return step_ == Step::ShutdownSetCc || step_ == Step::ShutdownWait; }
    static constexpr uint32_t kShutdownTimeoutMs = 5000;

private:
    enum class Step : uint8_t {
        None, AdminConnect, GetCap, GetVs, EnableCc, WaitReady, IdentifyController, ActiveNamespaces,
        IdentifyNamespace, SetQueueCount, IoConnect, Running, ShutdownSetCc, ShutdownWait, Done,
    };
    struct QueueHolder {
        std::unique_ptr<Queue> queue;
        QueueTransport* transport = nullptr;
    };
    struct AdminResult {
        bool ready = false;
        nvme::Status status{};
        uint32_t dw0 = 0, dw1 = 0;
        std::string reason;
    };

    bool open_queue(QueueHolder& holder, const QueueConfig& config, std::string* error);
    QueueConfig admin_queue_config() const;
    QueueConfig io_queue_config(uint16_t qid) const;
    void issue(Step step, const NvmeSqe& sqe, std::span<uint8_t> buffer = {});
    static void on_admin_done(void* ctx, const Completion& completion);
    static void on_keep_alive_done(void* ctx, const Completion& completion);
    void advance();
    void on_result();
    void open_io_queues(uint32_t granted);
    bool namespace_active(uint32_t nsid) const noexcept;  // in the controller's active namespace list
    std::string active_namespace_text() const;           // that list, for a message
    void check_io_connect();
    void keep_alive();
    void fail(const std::string& why);
    void lose(const std::string& why);
    bool recovering() const noexcept { return state_ == ControllerState::Reconnecting; }
    void start_attempt();
    void close_all(const char* why);
    SubmitResult submit_io(uint16_t index, const IoRequest& request);

    // Every application I/O goes through a slot of the controller's, so that it can wait across a
    // reconnect: the queue completes into on_io_done, which parks it or hands the completion over.
    struct IoSlot {
        Controller* owner = nullptr;
        IoRequest request;   // as the application gave it (its done/ctx)
        uint16_t index = 0;  // the I/O queue asked for
        bool in_use = false;
    };
    // The slots of one I/O queue (index), used only by the thread that has the queue: free ones, and
    // those waiting for a reconnect, oldest first. A line of its own: queues sit on different threads.
    struct alignas(64) QueueSlots {
        std::vector<uint32_t> free;
        std::vector<uint32_t> parked;
        size_t parked_head = 0;
        bool has_parked() const noexcept { return parked_head < parked.size(); }
    };
    static void on_io_done(void* ctx, const Completion& completion);
    SubmitResult send_slot(uint32_t slot);
    void resubmit_parked();
    void fail_parked(const char* why);
    void release_slot(uint32_t slot) noexcept;
    QueueSlots& slots_of(uint32_t slot) noexcept { return queue_slots_[slot / slots_per_queue_]; }
    bool any_parked() const noexcept;
    void finish_slot(uint32_t slot, const Completion& completion);  // release, then the application's callback
    SubmitResult submit_blocks(uint16_t index, uint64_t slba, uint32_t nlb, std::span<const IoVec> data,
                               CompletionFn done, void* ctx, bool write);

    ControllerConfig config_;
    TransportFactory& factory_;
    ControllerState state_ = ControllerState::Idle;
    Step step_ = Step::None;
    std::string failure_;
    QueueHolder admin_;
    std::vector<QueueHolder> io_;

    uint64_t now_ms_ = 0;
    uint64_t step_deadline_ms_ = 0;  // bounds AdminConnect, WaitReady, IoConnect, ShutdownWait
    bool deadline_set_ = false;
    uint64_t retry_at_ms_ = 0;  // WaitReady/ShutdownWait: when to read CSTS again
    uint64_t next_keep_alive_ms_ = 0;
    bool keep_alive_outstanding_ = false;
    std::string keep_alive_failure_;
    bool command_outstanding_ = false;
    AdminResult result_;
    IoVec buffer_iov_{};

    std::vector<IoSlot> io_slots_;           // queue_depth * 2 (outstanding + waiting) per I/O queue
    std::vector<QueueSlots> queue_slots_;    // io_queues of them; slot s is queue s / slots_per_queue_'s
    uint32_t slots_per_queue_ = 0;
    bool io_delegated_ = false;
    bool admin_wants_io_ = false;            // delegated: the admin side needs every queue back
    bool shutdown_asked_ = false;            // shutdown() while delegated: done once the queues are back
    std::atomic<bool> io_trouble_{false};    // delegated: a thread saw its I/O queue fail
    uint32_t reconnects_ = 0, losses_ = 0, attempts_ = 0;
    QueueStats retired_io_stats_{};  // of the I/O queues a reconnect released
    uint64_t lost_at_ms_ = 0, next_attempt_ms_ = 0;
    std::string last_loss_;

    uint64_t cap_ = 0;
    uint32_t vs_ = 0;
    nvme::IdentifyController identify_{};
    nvme::IdentifyNamespace namespace_{};
    uint32_t active_namespaces_[1024]{};
    uint32_t nsid_ = 0;
    uint32_t block_size_ = 0;
    uint64_t namespace_blocks_ = 0;
};

}  // namespace nvmeddp::nvmetcp::host
