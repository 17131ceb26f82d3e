// The C API of include/nvmeddp/ddp.h over ddp::Device: argument checks for what C cannot express
// (NULL pointers), then the same calls. No exception leaves it.
#include <cstring>
#include <new>

#include "ddp/device.hpp"
#include "ddp/device_registry.hpp"
#include "nvmeddp/ddp.h"

namespace ddp = nvmeddp::ddp;
using ddp::Status;

// The C and C++ codes are one list.
#define NVMEDDP_SAME(c, cpp) static_assert(static_cast<int>(Status::cpp) == (c))
NVMEDDP_SAME(NVMEDDP_OK, Ok);
NVMEDDP_SAME(NVMEDDP_IN_PROGRESS, InProgress);
NVMEDDP_SAME(NVMEDDP_E_UNKNOWN_CONNECTION, UnknownConnection);
NVMEDDP_SAME(NVMEDDP_E_CONNECTION_DELETING, ConnectionDeleting);
NVMEDDP_SAME(NVMEDDP_E_TOO_MANY_CONNECTIONS, TooManyConnections);
NVMEDDP_SAME(NVMEDDP_E_BAD_ADDRESS, BadAddress);
NVMEDDP_SAME(NVMEDDP_E_BAD_QUEUE_DEPTH, BadQueueDepth);
NVMEDDP_SAME(NVMEDDP_E_BAD_PDA, BadPda);
NVMEDDP_SAME(NVMEDDP_E_BAD_RX_QUEUE, BadRxQueue);
NVMEDDP_SAME(NVMEDDP_E_CID_OUT_OF_RANGE, CommandIdOutOfRange);
NVMEDDP_SAME(NVMEDDP_E_CID_BUSY, CommandIdBusy);
NVMEDDP_SAME(NVMEDDP_E_TEARDOWN_PENDING, TeardownPending);
NVMEDDP_SAME(NVMEDDP_E_NOT_REGISTERED, NotRegistered);
NVMEDDP_SAME(NVMEDDP_E_ALREADY_TORN_DOWN, AlreadyTornDown);
NVMEDDP_SAME(NVMEDDP_E_EMPTY_BUFFER_LIST, EmptyBufferList);
NVMEDDP_SAME(NVMEDDP_E_TOO_MANY_SEGMENTS, TooManySegments);
NVMEDDP_SAME(NVMEDDP_E_BAD_SEGMENT, BadSegment);
NVMEDDP_SAME(NVMEDDP_E_MISALIGNED_SEGMENT, MisalignedSegment);
NVMEDDP_SAME(NVMEDDP_E_LENGTH_MISMATCH, LengthMismatch);
NVMEDDP_SAME(NVMEDDP_E_IO_TOO_LARGE, IoTooLarge);
NVMEDDP_SAME(NVMEDDP_E_IO_BELOW_THRESHOLD, IoBelowThreshold);
NVMEDDP_SAME(NVMEDDP_E_PLACEMENT_DISABLED, PlacementDisabled);
NVMEDDP_SAME(NVMEDDP_E_UNSUPPORTED, Unsupported);
NVMEDDP_SAME(NVMEDDP_E_NO_RESYNC_PENDING, NoResyncPending);
NVMEDDP_SAME(NVMEDDP_E_STALE_RESYNC, StaleResync);
NVMEDDP_SAME(NVMEDDP_E_DRIVER, DriverFailed);
NVMEDDP_SAME(NVMEDDP_E_INVALID_ARGUMENT, InvalidArgument);
#undef NVMEDDP_SAME
static_assert(NVMEDDP_CAP_PLACEMENT == ddp::cap::kPlacement && NVMEDDP_CAP_DATA_DIGEST == ddp::cap::kDataDigest);
static_assert(NVMEDDP_RESYNC_NONE == static_cast<int>(ddp::ResyncOutcome::None) &&
              NVMEDDP_RESYNC_CONFIRMED == static_cast<int>(ddp::ResyncOutcome::Confirmed) &&
              NVMEDDP_RESYNC_REFUSED == static_cast<int>(ddp::ResyncOutcome::Refused));
static_assert(NVMEDDP_AF_INET == static_cast<int>(ddp::IpFamily::Ipv4) &&
              NVMEDDP_AF_INET6 == static_cast<int>(ddp::IpFamily::Ipv6));

namespace {

ddp::Device* device_of(nvmeddp_device* d) { return reinterpret_cast<ddp::Device*>(d); }
const ddp::Device* device_of(const nvmeddp_device* d) { return reinterpret_cast<const ddp::Device*>(d); }
nvmeddp_device* handle_of(ddp::Device* d) { return reinterpret_cast<nvmeddp_device*>(d); }
constexpr int code(Status s) { return static_cast<int>(s); }
constexpr int kInvalid = code(Status::InvalidArgument);

}  // namespace

extern "C" {

unsigned nvmeddp_device_count(void) {
    try {
        return static_cast<unsigned>(ddp::registered_devices().size());
    } catch (...) {
        return 0;
    }
}

nvmeddp_device* nvmeddp_device_get(unsigned index) {
    try {
        const auto all = ddp::registered_devices();
        return index < all.size() ? handle_of(all[index]) : nullptr;
    } catch (...) {
        return nullptr;
    }
}

nvmeddp_device* nvmeddp_device_find(const char* name) {
    if (name == nullptr) return nullptr;
    return handle_of(ddp::find_device(name));
}

const char* nvmeddp_device_name(const nvmeddp_device* dev) { return dev == nullptr ? "" : device_of(dev)->name(); }

int nvmeddp_get_limits(const nvmeddp_device* dev, struct nvmeddp_limits* out) {
    if (dev == nullptr || out == nullptr) return kInvalid;
    const ddp::DeviceLimits& l = device_of(dev)->limits();
    *out = nvmeddp_limits{l.max_connections, l.max_sgl_entries, l.max_io_size,       l.io_threshold,
                          l.max_queue_depth, l.segment_alignment, l.rx_queues, static_cast<uint8_t>(l.full_cid_range), 0,
                          l.tx_digests_in_flight};
    return code(Status::Ok);
}

int nvmeddp_get_caps(const nvmeddp_device* dev, uint32_t* supported, uint32_t* enabled) {
    if (dev == nullptr) return kInvalid;
    if (supported != nullptr) *supported = device_of(dev)->supported_caps();
    if (enabled != nullptr) *enabled = device_of(dev)->enabled_caps();
    return code(Status::Ok);
}

int nvmeddp_set_caps(nvmeddp_device* dev, uint32_t enabled) {
    if (dev == nullptr) return kInvalid;
    try {
        return code(device_of(dev)->set_caps(enabled));
    } catch (...) {
        return code(Status::DriverFailed);
    }
}

int nvmeddp_sk_add(nvmeddp_device* dev, const struct nvmeddp_conn_config* config, nvmeddp_conn* out) {
    if (out != nullptr) *out = 0;
    if (dev == nullptr || config == nullptr || out == nullptr) return kInvalid;
    ddp::ConnectionConfig c;
    c.tuple.family = static_cast<ddp::IpFamily>(config->family);
    std::memcpy(c.tuple.local_addr.data(), config->local_addr, 16);
    std::memcpy(c.tuple.remote_addr.data(), config->remote_addr, 16);
    c.tuple.local_port = config->local_port;
    c.tuple.remote_port = config->remote_port;
    c.tuple.vlan = config->vlan;
    c.tuple.outer_vlan = config->outer_vlan;
    c.queue_depth = config->queue_depth;
    c.rx_queue = config->rx_queue;
    c.rx_pda = config->rx_pda;
    c.header_digest = config->header_digest != 0;
    c.data_digest = config->data_digest != 0;
    c.rcv_seq = config->rcv_seq;
    c.tx_data_digest = config->tx_data_digest != 0;
    c.tx_pda = config->tx_pda;
    c.snd_seq = config->snd_seq;
    try {
        return code(device_of(dev)->add_connection(c, *out));
    } catch (const std::bad_alloc&) {
        return code(Status::DriverFailed);
    }
}

int nvmeddp_sk_del(nvmeddp_device* dev, nvmeddp_conn conn, nvmeddp_teardown_cb cb, void* arg, uint32_t* forced) {
    if (dev == nullptr) return kInvalid;
    try {
        return code(device_of(dev)->remove_connection(conn, cb, arg, forced));
    } catch (...) {
        return code(Status::DriverFailed);
    }
}

int nvmeddp_setup(nvmeddp_device* dev, nvmeddp_conn conn, uint16_t cid, const struct nvmeddp_segment* sgl,
                  uint32_t nsegs, uint64_t total_len) {
    if (dev == nullptr || (sgl == nullptr && nsegs != 0)) return kInvalid;
    return code(device_of(dev)->setup(conn, cid, std::span<const ddp::BufferSegment>(sgl, nsegs), total_len));
}

int nvmeddp_teardown(nvmeddp_device* dev, nvmeddp_conn conn, uint16_t cid, nvmeddp_teardown_cb cb, void* arg) {
    if (dev == nullptr) return kInvalid;
    return code(device_of(dev)->teardown(conn, cid, cb, arg));
}

unsigned nvmeddp_poll(nvmeddp_device* dev, nvmeddp_conn conn) {
    if (dev == nullptr) return 0;
    try {
        return device_of(dev)->poll(conn);
    } catch (...) {
        return 0;
    }
}

int nvmeddp_resync_pending(nvmeddp_device* dev, nvmeddp_conn conn, struct nvmeddp_resync_request* out) {
    if (dev == nullptr || out == nullptr) return kInvalid;
    const auto r = device_of(dev)->resync_pending(conn);
    if (!r) return code(Status::NoResyncPending);
    *out = nvmeddp_resync_request{r->seq, r->id};
    return code(Status::Ok);
}

int nvmeddp_resync_response(nvmeddp_device* dev, nvmeddp_conn conn, const struct nvmeddp_resync_request* req,
                            int confirm) {
    if (dev == nullptr || req == nullptr) return kInvalid;
    return code(device_of(dev)->resync_answer(conn, ddp::ResyncRequest{req->seq, req->id}, confirm != 0));
}

int nvmeddp_pdu_header(nvmeddp_device* dev, nvmeddp_conn conn, uint32_t tcp_seq) {
    if (dev == nullptr) return NVMEDDP_RESYNC_NONE;
    return static_cast<int>(device_of(dev)->on_pdu_header(conn, tcp_seq));
}

int nvmeddp_conn_id(const nvmeddp_device* dev, nvmeddp_conn conn, uint32_t* out) {
    if (dev == nullptr || out == nullptr) return kInvalid;
    return code(device_of(dev)->offload_id(conn, *out));
}

uint16_t nvmeddp_reg_tag(const nvmeddp_device* dev, nvmeddp_conn conn, uint16_t cid) {
    return dev == nullptr ? 0 : device_of(dev)->registration_tag(conn, cid);
}

int nvmeddp_filled(nvmeddp_device* dev, nvmeddp_conn conn, uint16_t cid, uint64_t offset) {
    if (dev == nullptr) return kInvalid;
    return code(device_of(dev)->filled(conn, cid, offset));
}

int nvmeddp_get_conn_stats(const nvmeddp_device* dev, nvmeddp_conn conn, struct nvmeddp_stats* out) {
    if (dev == nullptr || out == nullptr) return kInvalid;
    return code(device_of(dev)->connection_stats(conn, *out));
}

int nvmeddp_get_device_stats(const nvmeddp_device* dev, struct nvmeddp_stats* out) {
    if (dev == nullptr || out == nullptr) return kInvalid;
    try {
        *out = device_of(dev)->stats();
        return code(Status::Ok);
    } catch (...) {
        return code(Status::DriverFailed);
    }
}

const char* nvmeddp_strerror(int status) {
    if (status < 0 || status > 255) return "unknown status";
    return ddp::to_string(static_cast<Status>(status));
}

}  // extern "C"
