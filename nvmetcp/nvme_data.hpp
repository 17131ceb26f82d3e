// Data structures that NVMe commands return: Identify Controller, Identify Namespace and the discovery
// log page. Only the fields an NVMe/TCP host and our built-in target use are named; the rest stays
// reserved bytes, so each struct is exactly its wire size (static_asserts pin the offsets).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "nvmetcp/wire_int.hpp"

namespace nvmeddp::nvmetcp::nvme {

struct IdentifyController {
    le16 vid;
    le16 ssvid;
    char sn[20];  // space padded, not terminated
    char mn[40];
    char fr[8];
    uint8_t rab;
    uint8_t ieee[3];
    uint8_t cmic;
    uint8_t mdts;  // max data transfer size: 2^mdts * 4 KiB (CAP.MPSMIN), 0 = no limit
    le16 cntlid;
    le32 ver;
    uint8_t reserved0[27];
    uint8_t cntrltype;  // @111: 1 I/O controller, 2 discovery controller
    uint8_t reserved1[208];
    le16 kas;  // @320: keep alive granularity in 100 ms units
    uint8_t reserved2[190];
    uint8_t sqes;  // @512
    uint8_t cqes;
    le16 maxcmd;
    le32 nn;  // @516: number of namespaces
    le16 oncs;
    le16 fuses;
    uint8_t fna;
    uint8_t vwc;  // @525: volatile write cache present (bit 0)
    le16 awun;
    le16 awupf;
    uint8_t icsvscc;
    uint8_t nwpc;
    le16 acwu;
    uint8_t reserved3[2];
    le32 sgls;  // @536
    uint8_t reserved4[228];
    char subnqn[256];  // @768, null terminated
    uint8_t reserved5[768];
    le32 ioccsz;  // @1792: I/O queue command capsule size in 16-byte units (64 bytes SQE + in-capsule data)
    le32 iorcsz;  // response capsule size in 16-byte units
    le16 icdoff;  // in-capsule data offset in 16-byte units (0 for NVMe/TCP)
    uint8_t fcatt;
    uint8_t msdbd;
    le16 ofcs;
    uint8_t reserved6[242];
    uint8_t vendor[2048];
};
static_assert(sizeof(IdentifyController) == 4096);
static_assert(offsetof(IdentifyController, sn) == 4 && offsetof(IdentifyController, mn) == 24 &&
              offsetof(IdentifyController, fr) == 64 && offsetof(IdentifyController, mdts) == 77 &&
              offsetof(IdentifyController, cntlid) == 78 && offsetof(IdentifyController, ver) == 80 &&
              offsetof(IdentifyController, cntrltype) == 111 && offsetof(IdentifyController, kas) == 320 &&
              offsetof(IdentifyController, sqes) == 512 && offsetof(IdentifyController, maxcmd) == 514 &&
              offsetof(IdentifyController, nn) == 516 && offsetof(IdentifyController, vwc) == 525 &&
              offsetof(IdentifyController, sgls) == 536 && offsetof(IdentifyController, subnqn) == 768 &&
              offsetof(IdentifyController, ioccsz) == 1792 && offsetof(IdentifyController, iorcsz) == 1796 &&
              offsetof(IdentifyController, icdoff) == 1800 && offsetof(IdentifyController, msdbd) == 1803);

struct LbaFormat {
    le16 ms;       // metadata bytes per block
    uint8_t lbads;  // block size: 2^lbads bytes
    uint8_t rp;
};
static_assert(sizeof(LbaFormat) == 4);

struct IdentifyNamespace {
    le64 nsze;  // size in blocks
    le64 ncap;
    le64 nuse;
    uint8_t nsfeat;
    uint8_t nlbaf;  // number of LBA formats, 0's based
    uint8_t flbas;  // bits 3:0 the format in use
    uint8_t reserved0[77];
    uint8_t nguid[16];  // @104
    uint8_t eui64[8];   // @120
    LbaFormat lbaf[16];  // @128
    uint8_t reserved1[3904];
};
static_assert(sizeof(IdentifyNamespace) == 4096);
static_assert(offsetof(IdentifyNamespace, nlbaf) == 25 && offsetof(IdentifyNamespace, flbas) == 26 &&
              offsetof(IdentifyNamespace, nguid) == 104 && offsetof(IdentifyNamespace, lbaf) == 128);

inline uint32_t block_size(const IdentifyNamespace& ns) noexcept {
    const uint8_t lbads = ns.lbaf[ns.flbas & 0xF].lbads;
    return lbads >= 9 && lbads < 32 ? 1u << lbads : 0;  // 0: not a usable format
}

// Discovery log page (log page 0x70): a header, then one 1024-byte entry per record.
struct DiscoveryLogHeader {
    le64 genctr;
    le64 numrec;
    le16 recfmt;
    uint8_t reserved[1006];
};
static_assert(sizeof(DiscoveryLogHeader) == 1024);

namespace trtype {
inline constexpr uint8_t kTcp = 3;
}
namespace adrfam {
inline constexpr uint8_t kIpv4 = 1;
inline constexpr uint8_t kIpv6 = 2;
}
namespace subtype {
inline constexpr uint8_t kReferral = 1;
inline constexpr uint8_t kNvmSubsystem = 2;
inline constexpr uint8_t kCurrentDiscovery = 3;
}

struct DiscoveryLogEntry {
    uint8_t trtype;
    uint8_t adrfam;
    uint8_t subtype;
    uint8_t treq;
    le16 portid;
    le16 cntlid;
    le16 asqsz;
    uint8_t reserved0[22];
    char trsvcid[32];  // @32, space padded
    uint8_t reserved1[192];
    char subnqn[256];  // @256, null terminated
    char traddr[256];  // @512, space padded
    uint8_t tsas[256];  // @768: for TCP, byte 0 is SECTYPE
};
static_assert(sizeof(DiscoveryLogEntry) == 1024);
static_assert(offsetof(DiscoveryLogEntry, trsvcid) == 32 && offsetof(DiscoveryLogEntry, subnqn) == 256 &&
              offsetof(DiscoveryLogEntry, traddr) == 512 && offsetof(DiscoveryLogEntry, tsas) == 768);

// A fixed-width field as text: stops at the first NUL and drops trailing spaces (SN, MN, TRADDR...).
std::string field_text(const char* field, size_t width);
// Writes `text` into a fixed-width field, space padded (pad = ' ') or NUL padded (pad = 0); longer
// text is cut at the width (callers check lengths first where a cut would matter).
void set_field_text(char* field, size_t width, const std::string& text, char pad);

}  // namespace nvmeddp::nvmetcp::nvme
