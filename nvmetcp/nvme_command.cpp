#include "nvmetcp/nvme_command.hpp"

#include <cstdio>
#include <cstring>

#include "nvmetcp/nvme_data.hpp"

namespace nvmeddp::nvmetcp::nvme {
namespace {

template <typename Command>
NvmeSqe as_sqe(const Command& command) noexcept {
    static_assert(sizeof(Command) == sizeof(NvmeSqe));
    NvmeSqe sqe;
    std::memcpy(&sqe, &command, sizeof sqe);
    return sqe;
}

const char* generic_name(uint8_t sc) noexcept {
    switch (sc) {
        case 0x00: return "success";
        case 0x01: return "invalid command opcode";
        case 0x02: return "invalid field in command";
        case 0x03: return "command id conflict";
        case 0x04: return "data transfer error";
        case 0x06: return "internal error";
        case 0x07: return "command abort requested";
        case 0x0B: return "invalid namespace or format";
        case 0x0C: return "command sequence error";
        case 0x0F: return "data SGL length invalid";
        case 0x11: return "SGL descriptor type invalid";
        case 0x22: return "transient transport error";
        case 0x80: return "LBA out of range";
        case 0x81: return "capacity exceeded";
        case 0x82: return "namespace not ready";
        default: return nullptr;
    }
}

const char* command_specific_name(uint8_t sc) noexcept {
    switch (sc) {
        case 0x01: return "invalid queue identifier";
        case 0x02: return "invalid queue size";
        case 0x05: return "asynchronous event request limit exceeded";
        case 0x09: return "invalid log page";
        case 0x80: return "connect: incompatible format";
        case 0x81: return "connect: controller busy";
        case 0x82: return "connect: invalid parameters";
        case 0x84: return "connect: invalid host";
        default: return nullptr;
    }
}

const char* path_name(uint8_t sc) noexcept {
    switch (sc) {
        case 0x70: return "host path error (transport lost the command)";
        case 0x71: return "command aborted by host";
        default: return nullptr;
    }
}

}  // namespace

const char* describe(Status s, char* buf, unsigned len) noexcept {
    const char* name = nullptr;
    if (s.sct() == status::kSctGeneric) name = generic_name(s.sc());
    else if (s.sct() == status::kSctCommandSpecific) name = command_specific_name(s.sc());
    else if (s.sct() == status::kSctPath) name = path_name(s.sc());
    if (s.ok()) std::snprintf(buf, len, "success");
    else
        std::snprintf(buf, len, "%s (sct %u sc 0x%02x%s)", name ? name : "status", s.sct(), s.sc(),
                      s.dnr() ? ", dnr" : "");
    return buf;
}

NvmeSqe make_sqe(uint8_t opcode, uint16_t cid, uint32_t nsid, uint32_t data_len, uint8_t sgl_identifier) noexcept {
    NvmeSqe sqe;
    std::memset(&sqe, 0, sizeof sqe);
    sqe.opcode = opcode;
    sqe.flags = kSqeFlagsSgl;
    sqe.cid.set(cid);
    sqe.nsid.set(nsid);
    const SglDescriptor d = make_sgl(data_len, sgl_identifier);
    std::memcpy(sqe.dptr, &d, sizeof d);
    return sqe;
}

NvmeSqe make_connect(uint16_t cid, uint16_t qid, uint16_t queue_depth, uint32_t kato_ms,
                     bool disable_sq_flow_control) noexcept {
    ConnectCommand c;
    std::memset(&c, 0, sizeof c);
    c.opcode = admin_opcode::kFabrics;
    c.flags = kSqeFlagsSgl;
    c.cid.set(cid);
    c.fctype = fctype::kConnect;
    c.sgl = make_sgl(sizeof(ConnectData), sgl::kInCapsuleDataBlock);
    c.qid.set(qid);
    // SQSIZE is 0's based and a queue has at least two entries (NVMe base spec; Linux's nvmet and
    // ours refuse 0): a host that keeps one command outstanding (fio iodepth=1) asks for two.
    c.sqsize.set(static_cast<uint16_t>(queue_depth > 2 ? queue_depth - 1 : 1));
    c.cattr = disable_sq_flow_control ? kCattrDisableSqFlowControl : 0;
    c.kato.set(qid == 0 ? kato_ms : 0);
    return as_sqe(c);
}

bool make_connect_data(ConnectData& out, const char* subnqn, const char* hostnqn, const uint8_t hostid[16],
                       uint16_t cntlid) noexcept {
    std::memset(&out, 0, sizeof out);
    const size_t sub_len = std::strlen(subnqn), host_len = std::strlen(hostnqn);
    if (sub_len >= sizeof out.subnqn || host_len >= sizeof out.hostnqn) return false;
    std::memcpy(out.hostid, hostid, sizeof out.hostid);
    out.cntlid.set(cntlid);
    std::memcpy(out.subnqn, subnqn, sub_len);
    std::memcpy(out.hostnqn, hostnqn, host_len);
    return true;
}

NvmeSqe make_property_get(uint16_t cid, uint32_t offset, bool eight_bytes) noexcept {
    PropertyCommand c;
    std::memset(&c, 0, sizeof c);
    c.opcode = admin_opcode::kFabrics;
    c.flags = kSqeFlagsSgl;
    c.cid.set(cid);
    c.fctype = fctype::kPropertyGet;
    c.attrib = eight_bytes ? kPropertySize8 : kPropertySize4;
    c.offset.set(offset);
    return as_sqe(c);
}

NvmeSqe make_property_set(uint16_t cid, uint32_t offset, uint64_t value, bool eight_bytes) noexcept {
    NvmeSqe sqe = make_property_get(cid, offset, eight_bytes);
    PropertyCommand c;
    std::memcpy(&c, &sqe, sizeof c);
    c.fctype = fctype::kPropertySet;
    c.value.set(value);
    return as_sqe(c);
}

NvmeSqe make_identify(uint16_t cid, uint8_t cns, uint32_t nsid) noexcept {
    NvmeSqe sqe = make_sqe(admin_opcode::kIdentify, cid, nsid, kIdentifyDataLen, sgl::kTransportDataBlock);
    sqe.cdw10.set(cns);
    return sqe;
}

NvmeSqe make_set_features(uint16_t cid, uint8_t fid, uint32_t cdw11) noexcept {
    NvmeSqe sqe = make_sqe(admin_opcode::kSetFeatures, cid, 0, 0, sgl::kTransportDataBlock);
    sqe.cdw10.set(fid);
    sqe.cdw11.set(cdw11);
    return sqe;
}

NvmeSqe make_get_features(uint16_t cid, uint8_t fid) noexcept {
    NvmeSqe sqe = make_sqe(admin_opcode::kGetFeatures, cid, 0, 0, sgl::kTransportDataBlock);
    sqe.cdw10.set(fid);
    return sqe;
}

NvmeSqe make_keep_alive(uint16_t cid) noexcept {
    return make_sqe(admin_opcode::kKeepAlive, cid, 0, 0, sgl::kTransportDataBlock);
}

NvmeSqe make_get_log_page(uint16_t cid, uint8_t lid, uint32_t len, uint64_t offset) noexcept {
    NvmeSqe sqe = make_sqe(admin_opcode::kGetLogPage, cid, 0, len, sgl::kTransportDataBlock);
    const uint32_t numd = len / 4 - 1;  // 0's based dwords, split into NUMDL (cdw10) and NUMDU (cdw11)
    sqe.cdw10.set(lid | (numd & 0xFFFF) << 16);
    sqe.cdw11.set(numd >> 16);
    sqe.cdw12.set(static_cast<uint32_t>(offset));
    sqe.cdw13.set(static_cast<uint32_t>(offset >> 32));
    return sqe;
}

NvmeSqe make_read(uint16_t cid, uint32_t nsid, uint64_t slba, uint32_t nlb, uint32_t data_len) noexcept {
    NvmeSqe sqe = make_sqe(io_opcode::kRead, cid, nsid, data_len, sgl::kTransportDataBlock);
    sqe.cdw10.set(static_cast<uint32_t>(slba));
    sqe.cdw11.set(static_cast<uint32_t>(slba >> 32));
    sqe.cdw12.set((nlb - 1) & 0xFFFF);
    return sqe;
}

NvmeSqe make_write(uint16_t cid, uint32_t nsid, uint64_t slba, uint32_t nlb, uint32_t data_len, bool in_capsule) noexcept {
    NvmeSqe sqe = make_read(cid, nsid, slba, nlb, data_len);
    sqe.opcode = io_opcode::kWrite;
    if (in_capsule) {
        const SglDescriptor d = make_sgl(data_len, sgl::kInCapsuleDataBlock);
        std::memcpy(sqe.dptr, &d, sizeof d);
    }
    return sqe;
}

NvmeSqe make_flush(uint16_t cid, uint32_t nsid) noexcept {
    return make_sqe(io_opcode::kFlush, cid, nsid, 0, sgl::kTransportDataBlock);
}

std::string field_text(const char* field, size_t width) {
    size_t n = 0;
    while (n < width && field[n] != '\0') ++n;
    while (n > 0 && field[n - 1] == ' ') --n;
    return std::string(field, n);
}

void set_field_text(char* field, size_t width, const std::string& text, char pad) {
    const size_t n = text.size() < width ? text.size() : width;
    std::memcpy(field, text.data(), n);
    std::memset(field + n, pad, width - n);
}

}  // namespace nvmeddp::nvmetcp::nvme
