#include "ddp/status.hpp"

namespace nvmeddp::ddp {

const char* to_string(Status status) noexcept {
    switch (status) {
        case Status::Ok: return "ok";
        case Status::InProgress: return "in progress: completes from poll()";
        case Status::UnknownConnection: return "unknown or stale connection handle";
        case Status::ConnectionDeleting: return "connection is being removed";
        case Status::TooManyConnections: return "device already offloads its maximum number of connections";
        case Status::BadAddress: return "bad 5-tuple: unknown address family, port 0, or a VLAN ID over 4095 (or an outer one without an inner one)";
        case Status::BadQueueDepth: return "queue depth is 0 or above the device's maximum";
        case Status::BadPda: return "PDU data alignment above 31";
        case Status::BadRxQueue: return "receive queue the device does not have";
        case Status::CommandIdOutOfRange: return "command id at or above the queue depth";
        case Status::CommandIdBusy: return "command id already registered";
        case Status::TeardownPending: return "previous teardown of this command id not complete";
        case Status::NotRegistered: return "command id has no registration";
        case Status::AlreadyTornDown: return "command id already torn down";
        case Status::EmptyBufferList: return "empty buffer list";
        case Status::TooManySegments: return "buffer list longer than the device's max_sgl_entries";
        case Status::BadSegment: return "buffer segment with a null address, zero length, or wrapping";
        case Status::MisalignedSegment: return "buffer segment violates the device's segment alignment";
        case Status::LengthMismatch: return "segment lengths do not add up to the total length";
        case Status::IoTooLarge: return "I/O larger than the device's max_io_size";
        case Status::IoBelowThreshold: return "I/O smaller than the device's io_threshold";
        case Status::PlacementDisabled: return "placement is switched off";
        case Status::Unsupported: return "capability not offered by the device";
        case Status::NoResyncPending: return "no resync request pending";
        case Status::StaleResync: return "resync answer to a request that is no longer current";
        case Status::DriverFailed: return "the offload driver refused";
        case Status::InvalidArgument: return "invalid argument";
    }
    return "unknown status";
}

}  // namespace nvmeddp::ddp
