// The C API of include/nvmeddp/host.h over the C++ host: a Controller per nvmeddp_ctrlr, on kernel
// sockets (SocketTransportFactory) or on the HostStack's TCP (TcpTransportFactory, with DdpOffload
// when the host has the offload device). Argument checks for what C cannot express, then the same
// calls. No exception leaves it.
//
// Why per-command storage: host::IoRequest keeps a span of the caller's IoVec array until the command
// completes, while a C caller may reuse its nvmeddp_iov array at once. So every command gets a slot
// (allocated at connect: queue_depth per queue, max_iovs IoVecs each) holding the converted array and
// the caller's callback, and the slot goes back to its queue's free list before the callback runs.
//
// Lanes: the host keeps the controllers of each lane in a list of its own, so that the thread of a
// lane touches only its lane (its queue pair or sockets, its controllers, its completion count).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "nvmeddp/host.h"
#include "nvmetcp/host/controller.hpp"
#include "nvmetcp/host/dpdk/ddp_offload.hpp"
#include "nvmetcp/host/dpdk/host_stack.hpp"
#include "nvmetcp/host/socket_transport.hpp"
#include "nvmetcp/host/transport_id.hpp"
#include "tcp/clock.hpp"

namespace ddp = nvmeddp::ddp;
namespace host = nvmeddp::nvmetcp::host;
namespace nvme = nvmeddp::nvmetcp::nvme;

namespace {

uint64_t now_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

void set_error(char* err, size_t errlen, const std::string& text) {
    if (err != nullptr && errlen > 0) std::snprintf(err, errlen, "%s", text.c_str());
}

// One command in flight (or free): what the C caller gave, and the IoVec array the queue reads.
struct PendingIo {
    nvmeddp_ctrlr* ctrlr = nullptr;
    uint16_t queue = 0;
    uint16_t index = 0;
    nvmeddp_io_cb cb = nullptr;
    void* arg = nullptr;
    host::IoVec* iov = nullptr;  // max_iovs entries in IoSlots::iovs
};

struct IoSlots {  // per I/O queue
    std::vector<PendingIo> slots;
    std::vector<host::IoVec> iovs;
    std::vector<uint16_t> free;  // capacity reserved for every slot: pushing never allocates
};

constexpr uint16_t kMaxIoQueues = 64;
constexpr uint16_t kMaxQueueDepth = 1024;
constexpr uint16_t kMaxIovs = 256;

// One lane: the controllers whose connections are on it. Changed by connect (the host to itself)
// and by disconnect (from the lane's thread); a line of its own, as lanes run on different threads.
struct alignas(64) HostLane {
    std::vector<nvmeddp_ctrlr*> ctrlrs;
    uint64_t completions = 0;  // delivered by the current poll round of this lane
};

constexpr uint16_t kMaxLanes = 16;

}  // namespace

struct nvmeddp_host {
    std::unique_ptr<host::HostStack> stack;  // null with kernel sockets
    std::vector<HostLane> lanes;
};

struct nvmeddp_ctrlr {
    nvmeddp_host* owner = nullptr;
    uint16_t lane = 0;
    uint16_t max_iovs = 0;
    // Declared before the controller, so destroyed after it: the controller releases its transports
    // through the factory, and the offload must outlive the queues it observes.
    std::unique_ptr<host::SocketTransportFactory> sockets;
    std::unique_ptr<host::TcpTransportFactory> tcp;
    std::unique_ptr<host::DdpOffload> offload;
    std::unique_ptr<host::Controller> controller;
    std::vector<IoSlots> queues;
    char reason[160]{};  // text of an NVMe status without a reason of its own, during a callback
};

namespace {

// One round over a lane: its queue pair (or each of its controllers' sockets, waiting up to
// wait_ms), then its controllers' timers and what the offload device still has to let go of.
// Returns completions delivered, plus 1 when frames arrived or were sent.
int poll_lane(nvmeddp_host& h, uint16_t k, int wait_ms) {
    HostLane& lane = h.lanes[k];
    lane.completions = 0;
    int frames = 0;
    if (h.stack) frames = h.stack->poll_lane(k) ? 1 : 0;
    for (nvmeddp_ctrlr* c : lane.ctrlrs) {
        if (c->sockets) c->sockets->poll(wait_ms);
    }
    const uint64_t now = now_ms();
    for (nvmeddp_ctrlr* c : lane.ctrlrs) {
        c->controller->poll(now);
        if (c->offload) c->offload->finish_removals();
    }
    return static_cast<int>(lane.completions) + frames;
}

// Every lane, from the one thread that has the host.
int poll_host(nvmeddp_host& h, int wait_ms) {
    int n = 0;
    for (uint16_t k = 0; k < h.lanes.size(); ++k) n += poll_lane(h, k, wait_ms);
    return n;
}

void on_io_done(void* ctx, const host::Completion& c) {
    PendingIo& io = *static_cast<PendingIo*>(ctx);
    nvmeddp_ctrlr& ctrlr = *io.ctrlr;
    const nvmeddp_io_cb cb = io.cb;
    void* const arg = io.arg;
    io.cb = nullptr;
    // Free before the callback: it may submit the next command into this very slot.
    ctrlr.queues[io.queue].free.push_back(io.index);
    nvmeddp_io_completion out{};
    out.sct = c.status.sct();
    out.sc = c.status.sc();
    out.dnr = c.status.dnr() ? 1 : 0;
    out.dw0 = c.dw0;
    out.bytes = c.bytes;
    out.reason = c.reason;
    if (out.reason == nullptr && !c.status.ok()) out.reason = nvme::describe(c.status, ctrlr.reason, sizeof ctrlr.reason);
    ++ctrlr.owner->lanes[ctrlr.lane].completions;
    cb(arg, &out);
}

int code_of(host::SubmitResult r) {
    switch (r) {
        case host::SubmitResult::Ok: return NVMEDDP_HOST_OK;
        case host::SubmitResult::QueueFull: return NVMEDDP_HOST_E_QUEUE_FULL;
        case host::SubmitResult::NotReady: return NVMEDDP_HOST_E_NOT_READY;
        case host::SubmitResult::TooLarge: return NVMEDDP_HOST_E_TOO_LARGE;
        case host::SubmitResult::Failed: break;
    }
    return NVMEDDP_HOST_E_FAILED;
}

bool ready(const nvmeddp_ctrlr& c) {
    return c.controller->state() == host::ControllerState::Ready && !c.controller->shutting_down();
}

enum class IoKind { Read, Write, Flush };

int submit(nvmeddp_ctrlr* c, IoKind kind, uint16_t queue, uint64_t slba, uint32_t nlb, const nvmeddp_iov* iov,
           int iovcnt, nvmeddp_io_cb cb, void* arg) {
    if (c == nullptr || cb == nullptr) return NVMEDDP_HOST_E_INVALID_ARGUMENT;
    if (!ready(*c)) return NVMEDDP_HOST_E_NOT_READY;
    host::Controller& k = *c->controller;
    if (queue >= k.io_queue_count()) return NVMEDDP_HOST_E_BAD_QUEUE;
    if (kind != IoKind::Flush) {
        if (iov == nullptr || iovcnt <= 0 || nlb == 0) return NVMEDDP_HOST_E_INVALID_ARGUMENT;
        if (iovcnt > c->max_iovs) return NVMEDDP_HOST_E_TOO_MANY_IOVS;
        const uint64_t len = uint64_t{nlb} * k.block_size();
        if (nlb > 65536 || len > k.io_queue(queue).config().max_data_len) return NVMEDDP_HOST_E_TOO_LARGE;
        uint64_t covered = 0;
        for (int i = 0; i < iovcnt; ++i) {
            if (iov[i].base == nullptr || iov[i].len == 0 || iov[i].len > UINT32_MAX) return NVMEDDP_HOST_E_INVALID_ARGUMENT;
            covered += iov[i].len;
        }
        if (covered < len) return NVMEDDP_HOST_E_BUFFER_TOO_SMALL;
    }
    IoSlots& q = c->queues[queue];
    if (q.free.empty()) return NVMEDDP_HOST_E_QUEUE_FULL;
    PendingIo& io = q.slots[q.free.back()];
    q.free.pop_back();
    io.cb = cb;
    io.arg = arg;
    // The entries that hold the transfer, the last cut to its end: a list covering exactly what
    // moves is one the offload registers as it stands (DdpReceive::setup), with no copy of its own.
    int n = 0;
    if (kind != IoKind::Flush) {
        uint64_t left = uint64_t{nlb} * k.block_size();
        while (left > 0) {
            const uint64_t take = iov[n].len < left ? iov[n].len : left;
            io.iov[n] = host::IoVec{iov[n].base, take};
            left -= take;
            ++n;
        }
    }
    const std::span<const host::IoVec> data(io.iov, static_cast<size_t>(n));
    host::SubmitResult r = host::SubmitResult::Failed;
    switch (kind) {
        case IoKind::Read: r = k.read(queue, slba, nlb, data, on_io_done, &io); break;
        case IoKind::Write: r = k.write(queue, slba, nlb, data, on_io_done, &io); break;
        case IoKind::Flush: r = k.flush(queue, on_io_done, &io); break;
    }
    if (r != host::SubmitResult::Ok) {
        io.cb = nullptr;
        q.free.push_back(io.index);
    }
    return code_of(r);
}

// Shuts the controller down (bounded), then frees it, polling only its lane. shutdown() closes the I/O
// queues first, so every command of the caller's completes (kHostPathError) before its slot goes; a
// read whose buffers the offload device has not let go of yet completes once it has (the engine lets
// go at its next receive burst on this lane), and until then the device may still read the list in
// its slot: the slots are freed only after.
void disconnect(nvmeddp_ctrlr* c) {
    nvmeddp_host& h = *c->owner;
    const uint16_t k = c->lane;
    c->controller->shutdown();
    const uint64_t deadline = now_ms() + host::Controller::kShutdownTimeoutMs + 1000;
    while ((c->controller->shutting_down() || c->controller->io_outstanding() != 0) && now_ms() < deadline) {
        poll_lane(h, k, 1);
    }
    std::erase(h.lanes[k].ctrlrs, c);
    if (c->controller->io_outstanding() != 0) {
        // The device never let go within the bound: the controller, its slots and the offload's
        // records are kept (leaked), since freeing them could let the device read freed memory.
        std::fprintf(stderr, "nvmeddp: controller disconnect: %u reads not let go of by the offload device: their "
                     "memory is kept\n", c->controller->io_outstanding());
        return;
    }
    // Its connections as the device still holds them (a queue closed by the shutdown has asked for
    // their removal already, sk_del): the offload's destruction removes the rest.
    std::vector<ddp::ConnectionHandle> held;
    if (c->offload) c->offload->handles(held);
    ddp::Device* device = h.stack ? h.stack->device() : nullptr;
    delete c;
    if (device == nullptr || held.empty()) return;
    // Bounded: the engine lets go at its next receive burst on this lane's queue.
    ddp::Stats ignored;
    const uint64_t end = now_ms() + 500;
    while (!held.empty() && now_ms() < end) {
        poll_lane(h, k, 0);
        std::erase_if(held, [&](ddp::ConnectionHandle handle) {
            device->poll(handle);
            return device->connection_stats(handle, ignored) != ddp::Status::Ok;
        });
    }
}

}  // namespace

extern "C" {

const char* nvmeddp_host_strerror(int status) {
    switch (status) {
        case NVMEDDP_HOST_OK: return "success";
        case NVMEDDP_HOST_E_INVALID_ARGUMENT: return "invalid argument (NULL pointer, zero count or option out of range)";
        case NVMEDDP_HOST_E_BAD_TRID: return "the transport ID does not parse";
        case NVMEDDP_HOST_E_STACK: return "the host's DPDK stack could not be brought up";
        case NVMEDDP_HOST_E_CONNECT: return "the controller failed to come up";
        case NVMEDDP_HOST_E_TIMEOUT: return "the controller was not ready in time";
        case NVMEDDP_HOST_E_NO_MEMORY: return "out of memory";
        case NVMEDDP_HOST_E_QUEUE_FULL: return "the I/O queue is full: poll for completions first";
        case NVMEDDP_HOST_E_NOT_READY: return "the controller is not ready (failed or shutting down)";
        case NVMEDDP_HOST_E_TOO_LARGE: return "the transfer is larger than the controller takes in one command";
        case NVMEDDP_HOST_E_TOO_MANY_IOVS: return "more iovecs than max_iovs of the connection";
        case NVMEDDP_HOST_E_BAD_QUEUE: return "no such I/O queue";
        case NVMEDDP_HOST_E_BUFFER_TOO_SMALL: return "the iovecs cover fewer bytes than the blocks transferred";
        case NVMEDDP_HOST_E_FAILED: return "the queue refused the command";
        default: return "unknown status";
    }
}

void nvmeddp_host_opts_default(struct nvmeddp_host_opts* opts) {
    if (opts == nullptr) return;
    std::memset(opts, 0, sizeof *opts);
    opts->offload = 1;
    opts->seed = 1;
    opts->lanes = 1;
}

int nvmeddp_host_create(const struct nvmeddp_host_opts* opts, struct nvmeddp_host** out, char* err, size_t errlen) try {
    if (opts == nullptr || out == nullptr || opts->eal_argc < 0 || (opts->eal_argc > 0 && opts->eal_argv == nullptr)) {
        set_error(err, errlen, "nvmeddp_host_create: opts and out must not be NULL, eal_argv must hold eal_argc strings");
        return NVMEDDP_HOST_E_INVALID_ARGUMENT;
    }
    *out = nullptr;
    const uint16_t lanes = opts->lanes == 0 ? 1 : opts->lanes;
    if (lanes > kMaxLanes) {
        set_error(err, errlen, "lanes must be 1..16");
        return NVMEDDP_HOST_E_INVALID_ARGUMENT;
    }
    auto h = std::make_unique<nvmeddp_host>();
    h->lanes.resize(lanes);
    if (!opts->kernel_tcp) {
        if (opts->port == nullptr || opts->local_ip == nullptr) {
            set_error(err, errlen, "a DPDK host needs port and local_ip (or kernel_tcp = 1)");
            return NVMEDDP_HOST_E_INVALID_ARGUMENT;
        }
        host::HostStackConfig sc;
        sc.port = opts->port;
        sc.local_ip = opts->local_ip;
        if (opts->mac != nullptr) sc.mac = opts->mac;
        for (int i = 0; i < opts->eal_argc; ++i) {
            if (opts->eal_argv[i] == nullptr) {
                set_error(err, errlen, "eal_argv[" + std::to_string(i) + "] is NULL");
                return NVMEDDP_HOST_E_INVALID_ARGUMENT;
            }
            sc.eal_args.emplace_back(opts->eal_argv[i]);
        }
        sc.offload = opts->offload != 0;
        sc.lanes = lanes;
        if (opts->faults_rx != nullptr) sc.faults_rx = opts->faults_rx;
        sc.seed = opts->seed;
        if (opts->log != nullptr) {
            const nvmeddp_log_fn log = opts->log;
            void* const log_arg = opts->log_arg;
            sc.log = [log, log_arg](const std::string& line) { log(log_arg, line.c_str()); };
        }
        std::string why;
        h->stack = host::HostStack::create(sc, &why);
        if (!h->stack) {
            set_error(err, errlen, why);
            return NVMEDDP_HOST_E_STACK;
        }
    }
    *out = h.release();
    return NVMEDDP_HOST_OK;
} catch (const std::bad_alloc&) {
    set_error(err, errlen, "out of memory");
    return NVMEDDP_HOST_E_NO_MEMORY;
}

void nvmeddp_host_destroy(struct nvmeddp_host* h) {
    if (h == nullptr) return;
    for (HostLane& lane : h->lanes) {
        while (!lane.ctrlrs.empty()) disconnect(lane.ctrlrs.back());
    }
    // No one polls any more: the device completes the connection removals itself.
    if (h->stack) h->stack->stop_polling();
    delete h;
}

int nvmeddp_host_poll(struct nvmeddp_host* h) { return h != nullptr ? poll_host(*h, 0) : 0; }

int nvmeddp_host_poll_lane(struct nvmeddp_host* h, uint16_t lane) {
    if (h == nullptr || lane >= h->lanes.size()) return -NVMEDDP_HOST_E_INVALID_ARGUMENT;
    return poll_lane(*h, lane, 0);
}

uint16_t nvmeddp_host_lanes(const struct nvmeddp_host* h) {
    return h != nullptr ? static_cast<uint16_t>(h->lanes.size()) : 1;
}

int nvmeddp_host_lane_stats(const struct nvmeddp_host* h, uint16_t lane, struct nvmeddp_lane_stats* out) {
    if (h == nullptr || out == nullptr || !h->stack || lane >= h->stack->lanes()) return NVMEDDP_HOST_E_INVALID_ARGUMENT;
    const nvmeddp::tcp::Endpoint& endpoint = h->stack->endpoint(lane);
    const nvmeddp::tcp::EndpointStats& s = endpoint.stats();
    *out = nvmeddp_lane_stats{};
    out->rx_frames = s.rx_frames;
    out->tx_frames = endpoint.tx_frames();
    out->rx_ns = nvmeddp::tcp::timer_cycles_in(s.rx_burst_cycles, 1'000'000'000);
    out->tx_ns = nvmeddp::tcp::timer_cycles_in(s.tx_burst_cycles, 1'000'000'000);
    return NVMEDDP_HOST_OK;
}

struct nvmeddp_device* nvmeddp_host_device(struct nvmeddp_host* h) {
    if (h == nullptr || !h->stack) return nullptr;
    // The same object nvmeddp/ddp.h's functions take (ddp/c_api.cpp).
    return reinterpret_cast<nvmeddp_device*>(h->stack->device());
}

void nvmeddp_ctrlr_opts_default(struct nvmeddp_ctrlr_opts* opts) {
    if (opts == nullptr) return;
    std::memset(opts, 0, sizeof *opts);
    opts->io_queues = 1;
    opts->queue_depth = 32;
    opts->max_iovs = 16;
    opts->offload = 1;
    opts->kato_ms = 5000;
    opts->timeout_ms = 10000;
    opts->command_timeout_ms = 30000;
    opts->reconnect_delay_ms = 0;
    opts->ctrl_loss_tmo_ms = 0;
    opts->fail_io_on_loss = 0;
}

int nvmeddp_ctrlr_connect(struct nvmeddp_host* h, const char* trid, const struct nvmeddp_ctrlr_opts* opts,
                          struct nvmeddp_ctrlr** out, char* err, size_t errlen) try {
    if (h == nullptr || trid == nullptr || out == nullptr) {
        set_error(err, errlen, "nvmeddp_ctrlr_connect: host, trid and out must not be NULL");
        return NVMEDDP_HOST_E_INVALID_ARGUMENT;
    }
    *out = nullptr;
    nvmeddp_ctrlr_opts o;
    nvmeddp_ctrlr_opts_default(&o);
    if (opts != nullptr) o = *opts;
    const char* bad = nullptr;
    if (o.io_queues < 1 || o.io_queues > kMaxIoQueues) bad = "io_queues must be 1..64";
    else if (o.queue_depth < 1 || o.queue_depth > kMaxQueueDepth) bad = "queue_depth must be 1..1024";
    else if (o.max_iovs < 1 || o.max_iovs > kMaxIovs) bad = "max_iovs must be 1..256";
    else if (o.hpda > 31) bad = "hpda must be 0..31";
    else if (o.timeout_ms == 0 || o.command_timeout_ms == 0) bad = "timeout_ms and command_timeout_ms must not be 0";
    else if (o.lane >= h->lanes.size()) bad = "lane must be below the host's lanes";
    if (bad != nullptr) {
        set_error(err, errlen, bad);
        return NVMEDDP_HOST_E_INVALID_ARGUMENT;
    }
    host::TransportId id;
    std::string why;
    if (!host::parse_transport_id(trid, id, &why)) {
        set_error(err, errlen, why);  // names the key
        return NVMEDDP_HOST_E_BAD_TRID;
    }
    if (id.subnqn.empty()) {
        set_error(err, errlen, "transport ID: subnqn is missing (the subsystem to connect to)");
        return NVMEDDP_HOST_E_BAD_TRID;
    }

    auto c = std::make_unique<nvmeddp_ctrlr>();
    c->owner = h;
    c->lane = o.lane;
    c->max_iovs = o.max_iovs;
    host::ControllerConfig cc;
    cc.subnqn = id.subnqn;
    cc.hostnqn = o.hostnqn != nullptr ? std::string(o.hostnqn) : id.hostnqn;
    cc.io_queues = o.io_queues;
    cc.queue_depth = o.queue_depth;
    cc.header_digest = o.header_digest != 0;
    cc.data_digest = o.data_digest != 0;
    cc.disable_sq_flow_control = o.disable_sq_flow_control != 0;
    cc.hpda = o.hpda;
    cc.kato_ms = o.kato_ms;
    cc.nsid = o.nsid;
    // The wait below is the bound the caller gave; the controller's own ends later, so a slow
    // connection times out with E_TIMEOUT and that message.
    cc.connect_timeout_ms = o.timeout_ms + 1000;
    cc.command_timeout_ms = o.command_timeout_ms;
    cc.reconnect_delay_ms = o.reconnect_delay_ms;
    cc.ctrl_loss_tmo_ms = o.ctrl_loss_tmo_ms;
    cc.requeue_io = o.fail_io_on_loss == 0;
    host::TransportFactory* factory = nullptr;
    if (h->stack) {
        const auto remote = nvmeddp::tcp::IpAddress::parse(id.traddr);
        if (!remote) {
            set_error(err, errlen, "transport ID: traddr \"" + id.traddr + "\" is not an IPv4 or IPv6 address");
            return NVMEDDP_HOST_E_BAD_TRID;
        }
        c->tcp = h->stack->transports_to(*remote, id.port(), o.lane);
        factory = c->tcp.get();
        if (o.offload != 0 && h->stack->device() != nullptr) {
            c->offload = std::make_unique<host::DdpOffload>(*h->stack->device(), o.lane);
            cc.io_queue_observer = c->offload.get();
        }
    } else {
        c->sockets = std::make_unique<host::SocketTransportFactory>(id.traddr, id.port());
        factory = c->sockets.get();
    }
    c->controller = std::make_unique<host::Controller>(cc, *factory);
    c->queues.resize(o.io_queues);
    for (uint16_t q = 0; q < o.io_queues; ++q) {
        IoSlots& s = c->queues[q];
        s.slots.resize(o.queue_depth);
        s.iovs.resize(size_t{o.queue_depth} * o.max_iovs);
        s.free.reserve(o.queue_depth);
        for (uint16_t i = o.queue_depth; i-- > 0;) {
            s.slots[i] = PendingIo{c.get(), q, i, nullptr, nullptr, &s.iovs[size_t{i} * o.max_iovs]};
            s.free.push_back(i);
        }
    }
    if (!c->controller->start(&why)) {
        set_error(err, errlen, "cannot connect: " + why);
        return NVMEDDP_HOST_E_CONNECT;
    }
    h->lanes[o.lane].ctrlrs.push_back(c.get());
    nvmeddp_ctrlr* const raw = c.release();  // owned by the host's list from here on
    const uint64_t deadline = now_ms() + o.timeout_ms;
    while (raw->controller->state() == host::ControllerState::Connecting && now_ms() < deadline) poll_host(*h, 1);
    switch (raw->controller->state()) {
        case host::ControllerState::Ready:
            *out = raw;
            return NVMEDDP_HOST_OK;
        case host::ControllerState::Connecting:
            set_error(err, errlen, "the controller was not ready within " + std::to_string(o.timeout_ms) + " ms");
            disconnect(raw);
            return NVMEDDP_HOST_E_TIMEOUT;
        default:
            set_error(err, errlen, raw->controller->failure().empty() ? std::string("the controller closed")
                                                                       : raw->controller->failure());
            disconnect(raw);
            return NVMEDDP_HOST_E_CONNECT;
    }
} catch (const std::bad_alloc&) {
    set_error(err, errlen, "out of memory");
    return NVMEDDP_HOST_E_NO_MEMORY;
}

void nvmeddp_ctrlr_disconnect(struct nvmeddp_ctrlr* c) {
    if (c != nullptr) disconnect(c);
}

int nvmeddp_ctrlr_read(struct nvmeddp_ctrlr* c, uint16_t queue, uint64_t slba, uint32_t nlb,
                       const struct nvmeddp_iov* iov, int iovcnt, nvmeddp_io_cb cb, void* arg) {
    return submit(c, IoKind::Read, queue, slba, nlb, iov, iovcnt, cb, arg);
}

int nvmeddp_ctrlr_write(struct nvmeddp_ctrlr* c, uint16_t queue, uint64_t slba, uint32_t nlb,
                        const struct nvmeddp_iov* iov, int iovcnt, nvmeddp_io_cb cb, void* arg) {
    return submit(c, IoKind::Write, queue, slba, nlb, iov, iovcnt, cb, arg);
}

int nvmeddp_ctrlr_flush(struct nvmeddp_ctrlr* c, uint16_t queue, nvmeddp_io_cb cb, void* arg) {
    return submit(c, IoKind::Flush, queue, 0, 0, nullptr, 0, cb, arg);
}

uint32_t nvmeddp_ctrlr_nsid(const struct nvmeddp_ctrlr* c) { return c != nullptr ? c->controller->nsid() : 0; }

uint32_t nvmeddp_ctrlr_block_size(const struct nvmeddp_ctrlr* c) { return c != nullptr ? c->controller->block_size() : 0; }

uint64_t nvmeddp_ctrlr_num_blocks(const struct nvmeddp_ctrlr* c) {
    return c != nullptr ? c->controller->namespace_blocks() : 0;
}

uint16_t nvmeddp_ctrlr_io_queues(const struct nvmeddp_ctrlr* c) { return c != nullptr ? c->controller->io_queue_count() : 0; }

uint16_t nvmeddp_ctrlr_queue_depth(const struct nvmeddp_ctrlr* c) {
    if (c == nullptr || c->controller->io_queue_count() == 0) return 0;
    return c->controller->io_queue(0).depth();
}

uint32_t nvmeddp_ctrlr_max_transfer(const struct nvmeddp_ctrlr* c) {
    if (c == nullptr || c->controller->io_queue_count() == 0) return 0;
    return c->controller->io_queue(0).config().max_data_len;
}

int nvmeddp_ctrlr_queue_stats(const struct nvmeddp_ctrlr* c, uint16_t queue, struct nvmeddp_queue_stats* out) {
    if (c == nullptr || out == nullptr) return NVMEDDP_HOST_E_INVALID_ARGUMENT;
    if (queue >= c->controller->io_queue_count()) return NVMEDDP_HOST_E_BAD_QUEUE;
    const host::QueueStats& s = c->controller->io_queue(queue).stats();
    *out = nvmeddp_queue_stats{s.commands,      s.completions,    s.errors,           s.timeouts,
                               s.c2h_pdus,      s.c2h_bytes,      s.h2c_pdus,         s.h2c_bytes,
                               s.r2ts,          s.capsule_resps,  s.success_flags,    s.bytes_copied,
                               s.bytes_placed,  s.digests_computed, s.digests_offloaded, s.digest_errors,
                               s.term_reqs_sent, s.term_reqs_received};
    return NVMEDDP_HOST_OK;
}

const char* nvmeddp_ctrlr_failure(const struct nvmeddp_ctrlr* c) {
    if (c == nullptr || c->controller->state() != host::ControllerState::Failed) return nullptr;
    return c->controller->failure().empty() ? "the controller failed" : c->controller->failure().c_str();
}

}  // extern "C"
