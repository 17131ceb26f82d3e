// Results of the DDP control plane, as values: no exceptions on the I/O path.
//
// The numeric values are the C API's (include/nvmeddp/ddp.h), so a status crosses that boundary
// unchanged; c_api.cpp pins each one with a static_assert.
#pragma once

#include <cstdint>

namespace nvmeddp::ddp {

enum class Status : uint8_t {
    Ok = 0,
    InProgress = 1,  // accepted; completes later (teardown callback from poll())

    UnknownConnection = 10,
    ConnectionDeleting = 11,
    TooManyConnections = 12,
    BadAddress = 13,
    BadQueueDepth = 14,
    BadPda = 15,
    BadRxQueue = 16,

    CommandIdOutOfRange = 20,
    CommandIdBusy = 21,
    TeardownPending = 22,
    NotRegistered = 23,
    AlreadyTornDown = 24,
    EmptyBufferList = 25,
    TooManySegments = 26,
    BadSegment = 27,
    MisalignedSegment = 28,
    LengthMismatch = 29,
    IoTooLarge = 30,
    IoBelowThreshold = 31,
    PlacementDisabled = 32,

    Unsupported = 40,
    NoResyncPending = 41,
    StaleResync = 42,
    DriverFailed = 43,
    InvalidArgument = 44,
};

// One sentence per status, e.g. "command id already registered".
const char* to_string(Status status) noexcept;

// Ok and InProgress are successes; everything else is a refusal that changed nothing.
constexpr bool succeeded(Status s) noexcept { return s == Status::Ok || s == Status::InProgress; }

}  // namespace nvmeddp::ddp
