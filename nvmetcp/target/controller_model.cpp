#include "nvmetcp/target/controller_model.hpp"

#include <cstdio>
#include <cstring>

#include "nvmetcp/nvme_command.hpp"

namespace nvmeddp::nvmetcp::target {
namespace {

uint64_t fnv1a(const std::string& text, uint64_t seed) noexcept {
    uint64_t h = seed;
    for (unsigned char c : text) h = (h ^ c) * 0x100000001B3ull;
    return h;
}

// Identify Controller bytes nvme_data.hpp leaves reserved (NVMe base specification 2.0, figure 275).
namespace id_offset {
constexpr size_t kAcl = 258;   // abort command limit, 0's based
constexpr size_t kAerl = 259;  // asynchronous event request limit, 0's based
constexpr size_t kElpe = 262;  // error log page entries, 0's based
}  // namespace id_offset

constexpr uint8_t kNidtNguid = 2;  // namespace identification descriptor type: NGUID

}  // namespace

uint64_t controller_capabilities(const TargetConfig& config) noexcept {
    uint64_t cap = static_cast<uint64_t>(config.max_queue_depth - 1);  // MQES, 0's based
    cap |= uint64_t{1} << 16;                                           // CQR: queues must be contiguous
    cap |= uint64_t{kCapTimeout} << 24;                                 // TO
    cap |= uint64_t{1} << 37;                                           // CSS: NVM command set
    return cap;                                                         // MPSMIN = MPSMAX = 0: 4 KiB
}

std::array<uint8_t, 16> namespace_guid(const std::string& subnqn) noexcept {
    std::array<uint8_t, 16> guid{};
    const uint64_t a = fnv1a(subnqn, 0xCBF29CE484222325ull), b = fnv1a(subnqn + "/ns1", 0x84222325CBF29CE4ull);
    for (int i = 0; i < 8; ++i) {
        guid[i] = static_cast<uint8_t>(a >> (8 * i));
        guid[8 + i] = static_cast<uint8_t>(b >> (8 * i));
    }
    return guid;
}

nvme::IdentifyController identify_controller(const TargetConfig& config, const Controller& controller) {
    nvme::IdentifyController id;
    std::memset(&id, 0, sizeof id);
    char serial[21];
    std::snprintf(serial, sizeof serial, "nvmeddp%012llx",
                  static_cast<unsigned long long>(fnv1a(config.subnqn, 0xCBF29CE484222325ull) & 0xFFFFFFFFFFFFull));
    nvme::set_field_text(id.sn, sizeof id.sn, serial, ' ');
    nvme::set_field_text(id.mn, sizeof id.mn, "nvmeddp built-in target", ' ');
    nvme::set_field_text(id.fr, sizeof id.fr, "0.1", ' ');
    id.mdts = kMdts;
    id.cntlid.set(controller.cntlid);
    id.ver.set(kVersion);
    id.cntrltype = controller.discovery ? 2 : 1;
    auto* raw = reinterpret_cast<uint8_t*>(&id);
    raw[id_offset::kAcl] = 3;
    raw[id_offset::kAerl] = kAsyncEventLimit - 1;
    raw[id_offset::kElpe] = 0;
    id.kas.set(1);      // keep alive granularity 100 ms
    id.sqes = 0x66;     // 64-byte SQEs, required and maximum
    id.cqes = 0x44;     // 16-byte CQEs
    id.maxcmd.set(config.max_queue_depth);
    id.nn.set(controller.discovery ? 0 : config.nsid);  // NN: the largest namespace id there may be
    id.vwc = 1;  // a volatile write cache (RAM): hosts send Flush, which the target accepts
    // SGLs supported (bit 0, no alignment requirement), Transport SGL Data Block descriptors
    // (bit 21), and an offset in the address of an in-capsule Data Block (bit 20). No keyed SGLs:
    // those are RDMA's.
    id.sgls.set(1u << 0 | 1u << 20 | 1u << 21);
    nvme::set_field_text(id.subnqn, sizeof id.subnqn, controller.discovery ? nvme::kDiscoveryNqn : config.subnqn, 0);
    id.ioccsz.set((64 + config.in_capsule_data) / 16);
    id.iorcsz.set(1);
    id.icdoff.set(0);
    id.fcatt = 0;  // dynamic controller model
    id.msdbd = 1;
    return id;
}

nvme::IdentifyNamespace identify_namespace(const RamNamespace& ns) {
    nvme::IdentifyNamespace id;
    std::memset(&id, 0, sizeof id);
    id.nsze.set(ns.blocks());
    id.ncap.set(ns.blocks());
    id.nuse.set(ns.blocks());
    id.nlbaf = 0;
    id.flbas = 0;
    std::memcpy(id.nguid, ns.nguid().data(), sizeof id.nguid);
    uint8_t lbads = 0;
    while ((1u << lbads) < ns.block_size()) ++lbads;
    id.lbaf[0].lbads = lbads;
    return id;
}

std::vector<uint8_t> active_namespace_list(const RamNamespace& ns, uint32_t after) {
    std::vector<uint8_t> list(nvme::kIdentifyDataLen, 0);
    if (after < ns.nsid()) store_le32(list.data(), ns.nsid());
    return list;
}

std::vector<uint8_t> namespace_descriptor_list(const RamNamespace& ns) {
    std::vector<uint8_t> list(nvme::kIdentifyDataLen, 0);
    list[0] = kNidtNguid;
    list[1] = 16;  // NIDL
    std::memcpy(list.data() + 4, ns.nguid().data(), 16);
    return list;
}

}  // namespace nvmeddp::nvmetcp::target
