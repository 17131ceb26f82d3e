// NVMe commands as an NVMe/TCP host and controller exchange them: opcodes, the fabrics commands
// (Connect, Property Get/Set), the SGL descriptors NVMe/TCP uses, status codes, controller registers,
// and builders for the submission queue entries both sides need.
//
// Field offsets follow the NVMe base specification 2.0 and NVMe over Fabrics 1.1; the wire structs
// (alignment 1, little-endian fields) pin their layout with static_asserts as pdu.hpp does. Data
// structures returned by Identify and Get Log Page are in nvme_data.hpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nvmetcp/pdu.hpp"
#include "nvmetcp/wire_int.hpp"

namespace nvmeddp::nvmetcp::nvme {

namespace admin_opcode {
inline constexpr uint8_t kGetLogPage = 0x02;
inline constexpr uint8_t kIdentify = 0x06;
inline constexpr uint8_t kAbort = 0x08;
inline constexpr uint8_t kSetFeatures = 0x09;
inline constexpr uint8_t kGetFeatures = 0x0A;
inline constexpr uint8_t kAsyncEventRequest = 0x0C;
inline constexpr uint8_t kKeepAlive = 0x18;
inline constexpr uint8_t kFabrics = 0x7F;  // also valid on I/O queues (Connect)
}  // namespace admin_opcode

namespace io_opcode {
inline constexpr uint8_t kFlush = 0x00;
inline constexpr uint8_t kWrite = 0x01;
inline constexpr uint8_t kRead = 0x02;
}  // namespace io_opcode

// Fabrics command types (byte 4 of a fabrics SQE).
namespace fctype {
inline constexpr uint8_t kPropertySet = 0x00;
inline constexpr uint8_t kConnect = 0x01;
inline constexpr uint8_t kPropertyGet = 0x04;
}  // namespace fctype

// SQE byte 1: PSDT = 01b (SGL, metadata contiguous); fabrics requires SGLs for every command.
inline constexpr uint8_t kSqeFlagsSgl = 0x40;

// SGL descriptor identifier (byte 15): type in bits 7:4, subtype in bits 3:0.
namespace sgl {
// Data comes in C2HData / goes in H2CData (after an R2T): Transport SGL Data Block, Transport
// Specific subtype. Also what a command without data carries, with length 0.
inline constexpr uint8_t kTransportDataBlock = 0x5A;
// In-capsule data: Data Block with the Offset subtype; address = offset into the in-capsule data.
inline constexpr uint8_t kInCapsuleDataBlock = 0x01;
}  // namespace sgl

struct SglDescriptor {
    le64 address;
    le32 length;
    uint8_t reserved[3];
    uint8_t identifier;  // sgl::k*
};
static_assert(sizeof(SglDescriptor) == 16);
static_assert(offsetof(SglDescriptor, length) == 8 && offsetof(SglDescriptor, identifier) == 15);

// A descriptor of data_len bytes with the given identifier (sgl::k*), every other byte zero.
inline SglDescriptor make_sgl(uint32_t data_len, uint8_t identifier) noexcept {
    SglDescriptor d{};
    d.length.set(data_len);
    d.identifier = identifier;
    return d;
}

// Controller registers reached through Property Get/Set (offsets and the fields the host uses).
namespace reg {
inline constexpr uint32_t kCap = 0x00;   // 8 bytes
inline constexpr uint32_t kVs = 0x08;    // 4 bytes
inline constexpr uint32_t kCc = 0x14;    // 4 bytes
inline constexpr uint32_t kCsts = 0x1C;  // 4 bytes

constexpr uint32_t cap_mqes(uint64_t cap) noexcept { return static_cast<uint32_t>(cap & 0xFFFF); }  // 0's based
constexpr uint32_t cap_timeout_ms(uint64_t cap) noexcept { return static_cast<uint32_t>((cap >> 24) & 0xFF) * 500; }

inline constexpr uint32_t kCcEnable = 1u << 0;
inline constexpr uint32_t kCcShnNormal = 1u << 14;  // shutdown notification, normal
inline constexpr uint32_t kCcShnMask = 3u << 14;
// CC as a host writes it to enable: NVM command set, 4 KiB pages, round robin, 64-byte SQEs and
// 16-byte CQEs (IOSQES 6, IOCQES 4).
inline constexpr uint32_t kCcEnableValue = kCcEnable | (6u << 16) | (4u << 20);

inline constexpr uint32_t kCstsReady = 1u << 0;
inline constexpr uint32_t kCstsFatal = 1u << 1;
inline constexpr uint32_t kCstsShstMask = 3u << 2;
inline constexpr uint32_t kCstsShstComplete = 2u << 2;
}  // namespace reg

// Connect command (fabrics SQE with fctype kConnect).
struct ConnectCommand {
    uint8_t opcode;  // kFabrics
    uint8_t flags;
    le16 cid;
    uint8_t fctype;
    uint8_t reserved0[19];
    SglDescriptor sgl;  // the 1024-byte ConnectData, in capsule
    le16 recfmt;        // 0
    le16 qid;           // 0: admin queue
    le16 sqsize;        // 0's based
    uint8_t cattr;      // bit 2: disable SQ flow control
    uint8_t reserved1;
    le32 kato;          // keep alive timeout in ms (admin queue)
    uint8_t reserved2[12];
};
static_assert(sizeof(ConnectCommand) == sizeof(NvmeSqe));
static_assert(offsetof(ConnectCommand, fctype) == 4 && offsetof(ConnectCommand, sgl) == 24 &&
              offsetof(ConnectCommand, recfmt) == 40 && offsetof(ConnectCommand, qid) == 42 &&
              offsetof(ConnectCommand, sqsize) == 44 && offsetof(ConnectCommand, cattr) == 46 &&
              offsetof(ConnectCommand, kato) == 48);

inline constexpr uint8_t kCattrDisableSqFlowControl = 0x04;
inline constexpr uint16_t kDynamicCntlid = 0xFFFF;  // "any controller" in ConnectData.cntlid

struct ConnectData {
    uint8_t hostid[16];
    le16 cntlid;
    uint8_t reserved0[238];
    char subnqn[256];
    char hostnqn[256];
    uint8_t reserved1[256];
};
static_assert(sizeof(ConnectData) == 1024);
static_assert(offsetof(ConnectData, cntlid) == 16 && offsetof(ConnectData, subnqn) == 256 &&
              offsetof(ConnectData, hostnqn) == 512);

// Property Get / Property Set (fabrics SQE with fctype kPropertyGet / kPropertySet).
struct PropertyCommand {
    uint8_t opcode;  // kFabrics
    uint8_t flags;
    le16 cid;
    uint8_t fctype;
    uint8_t reserved0[35];
    uint8_t attrib;  // bits 2:0 size: 0 = 4 bytes, 1 = 8 bytes
    uint8_t reserved1[3];
    le32 offset;
    le64 value;      // Property Set only
    uint8_t reserved2[8];
};
static_assert(sizeof(PropertyCommand) == sizeof(NvmeSqe));
static_assert(offsetof(PropertyCommand, attrib) == 40 && offsetof(PropertyCommand, offset) == 44 &&
              offsetof(PropertyCommand, value) == 48);

inline constexpr uint8_t kPropertySize4 = 0;
inline constexpr uint8_t kPropertySize8 = 1;

// Identify CNS values and feature identifiers the host and target use.
namespace cns {
inline constexpr uint8_t kNamespace = 0x00;
inline constexpr uint8_t kController = 0x01;
inline constexpr uint8_t kActiveNamespaces = 0x02;
inline constexpr uint8_t kNamespaceDescriptors = 0x03;
}  // namespace cns

namespace feature {
inline constexpr uint8_t kNumberOfQueues = 0x07;
inline constexpr uint8_t kAsyncEventConfig = 0x0B;
inline constexpr uint8_t kKeepAliveTimer = 0x0F;
}  // namespace feature

namespace log_page {
inline constexpr uint8_t kErrorInformation = 0x01;
inline constexpr uint8_t kSmartHealth = 0x02;
inline constexpr uint8_t kDiscovery = 0x70;
}  // namespace log_page

inline constexpr char kDiscoveryNqn[] = "nqn.2014-08.org.nvmexpress.discovery";
inline constexpr uint32_t kIdentifyDataLen = 4096;

// Completion status: the CQE status field without the phase bit. Status code type in bits 10:8,
// status code in bits 7:0, DNR (do not retry) bit 14.
struct Status {
    uint16_t value = 0;  // (cqe.status >> 1)

    constexpr uint8_t sct() const noexcept { return static_cast<uint8_t>((value >> 8) & 0x7); }
    constexpr uint8_t sc() const noexcept { return static_cast<uint8_t>(value & 0xFF); }
    constexpr bool dnr() const noexcept { return (value & 0x4000) != 0; }
    constexpr bool ok() const noexcept { return sct() == 0 && sc() == 0; }
    constexpr bool operator==(const Status&) const noexcept = default;
};

constexpr Status make_status(uint8_t sct, uint8_t sc, bool dnr = false) noexcept {
    return Status{static_cast<uint16_t>((sct & 0x7) << 8 | sc | (dnr ? 0x4000 : 0))};
}

namespace status {
inline constexpr uint8_t kSctGeneric = 0;
inline constexpr uint8_t kSctCommandSpecific = 1;
inline constexpr uint8_t kSctPath = 3;

inline constexpr Status kSuccess = make_status(kSctGeneric, 0x00);
inline constexpr Status kInvalidOpcode = make_status(kSctGeneric, 0x01, true);
inline constexpr Status kInvalidField = make_status(kSctGeneric, 0x02, true);
inline constexpr Status kCommandIdConflict = make_status(kSctGeneric, 0x03, true);
inline constexpr Status kDataTransferError = make_status(kSctGeneric, 0x04);
inline constexpr Status kInternalError = make_status(kSctGeneric, 0x06);
inline constexpr Status kAbortRequested = make_status(kSctGeneric, 0x07);
inline constexpr Status kInvalidNamespace = make_status(kSctGeneric, 0x0B, true);
inline constexpr Status kSglLengthInvalid = make_status(kSctGeneric, 0x0F, true);
inline constexpr Status kSglTypeInvalid = make_status(kSctGeneric, 0x11, true);
inline constexpr Status kCommandSequenceError = make_status(kSctGeneric, 0x0C, true);
inline constexpr Status kTransientTransportError = make_status(kSctGeneric, 0x22);
inline constexpr Status kLbaOutOfRange = make_status(kSctGeneric, 0x80, true);
inline constexpr Status kInvalidQueueId = make_status(kSctCommandSpecific, 0x01, true);
inline constexpr Status kInvalidQueueSize = make_status(kSctCommandSpecific, 0x02, true);
inline constexpr Status kAsyncEventLimitExceeded = make_status(kSctCommandSpecific, 0x05, true);
inline constexpr Status kInvalidLogPage = make_status(kSctCommandSpecific, 0x09, true);
inline constexpr Status kConnectIncompatibleFormat = make_status(kSctCommandSpecific, 0x80, true);
inline constexpr Status kConnectControllerBusy = make_status(kSctCommandSpecific, 0x81);
inline constexpr Status kConnectInvalidParameters = make_status(kSctCommandSpecific, 0x82, true);
inline constexpr Status kConnectInvalidHost = make_status(kSctCommandSpecific, 0x84, true);
// Host-side statuses (never on the wire), as the Linux host reports them: the transport lost the
// command (disconnect, fatal protocol error), or the host gave up on it (timeout, teardown).
inline constexpr Status kHostPathError = make_status(kSctPath, 0x70);
inline constexpr Status kHostAbortedCommand = make_status(kSctPath, 0x71);
}  // namespace status

// "success", "invalid field in command (sct 0 sc 0x02, dnr)", ... into buf; returns buf.
const char* describe(Status status, char* buf, unsigned len) noexcept;

// Status of a CQE (its phase bit dropped).
inline Status status_of(const NvmeCqe& cqe) noexcept { return Status{static_cast<uint16_t>(cqe.status.get() >> 1)}; }
inline void set_status(NvmeCqe& cqe, Status s) noexcept { cqe.status.set(static_cast<uint16_t>(s.value << 1)); }

// --- Submission queue entries (cid filled in by the caller's queue unless given) ------------------

// An SQE with opcode, PSDT=SGL and an SGL of kind `sgl_identifier` for `data_len` bytes.
NvmeSqe make_sqe(uint8_t opcode, uint16_t cid, uint32_t nsid, uint32_t data_len, uint8_t sgl_identifier) noexcept;

// Connect for queue `qid` (0: admin) with `queue_depth` entries (sent 0's based), KATO in ms (admin
// queue only), flow control disabled on request (the controller then may send SUCCESS).
NvmeSqe make_connect(uint16_t cid, uint16_t qid, uint16_t queue_depth, uint32_t kato_ms,
                     bool disable_sq_flow_control) noexcept;
// The 1024 bytes a Connect carries in capsule. NQNs longer than 255 characters are refused (false).
bool make_connect_data(ConnectData& out, const char* subnqn, const char* hostnqn, const uint8_t hostid[16],
                       uint16_t cntlid) noexcept;

NvmeSqe make_property_get(uint16_t cid, uint32_t offset, bool eight_bytes) noexcept;
NvmeSqe make_property_set(uint16_t cid, uint32_t offset, uint64_t value, bool eight_bytes) noexcept;
NvmeSqe make_identify(uint16_t cid, uint8_t cns, uint32_t nsid) noexcept;
NvmeSqe make_set_features(uint16_t cid, uint8_t fid, uint32_t cdw11) noexcept;
NvmeSqe make_get_features(uint16_t cid, uint8_t fid) noexcept;
NvmeSqe make_keep_alive(uint16_t cid) noexcept;
// Get Log Page of `len` bytes (a multiple of 4) from byte `offset` of log `lid`.
NvmeSqe make_get_log_page(uint16_t cid, uint8_t lid, uint32_t len, uint64_t offset) noexcept;
// Read/Write of `nlb` blocks (1-based count) at `slba`; `data_len` = nlb * block size. A write whose
// data goes in capsule says so (the SGL differs).
NvmeSqe make_read(uint16_t cid, uint32_t nsid, uint64_t slba, uint32_t nlb, uint32_t data_len) noexcept;
NvmeSqe make_write(uint16_t cid, uint32_t nsid, uint64_t slba, uint32_t nlb, uint32_t data_len, bool in_capsule) noexcept;
NvmeSqe make_flush(uint16_t cid, uint32_t nsid) noexcept;

// Field accessors for the controller side.
inline uint8_t fabrics_type(const NvmeSqe& sqe) noexcept { return reinterpret_cast<const uint8_t*>(&sqe)[4]; }
inline const SglDescriptor& sgl_of(const NvmeSqe& sqe) noexcept {
    return *reinterpret_cast<const SglDescriptor*>(sqe.dptr);
}
inline uint64_t slba_of(const NvmeSqe& sqe) noexcept {
    return static_cast<uint64_t>(sqe.cdw11.get()) << 32 | sqe.cdw10.get();
}
inline uint32_t nlb_of(const NvmeSqe& sqe) noexcept { return (sqe.cdw12.get() & 0xFFFF) + 1; }  // 1-based

}  // namespace nvmeddp::nvmetcp::nvme
