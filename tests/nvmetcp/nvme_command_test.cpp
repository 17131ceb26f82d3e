// The NVMe command builders put each field where the NVMe and fabrics specifications say (checked
// byte by byte against the offsets, not against the structs the builders use).
#include <gtest/gtest.h>

#include <cstring>

#include "nvmetcp/nvme_command.hpp"
#include "nvmetcp/nvme_data.hpp"

namespace nvmeddp::nvmetcp::nvme {
namespace {

const uint8_t* raw(const NvmeSqe& sqe) { return reinterpret_cast<const uint8_t*>(&sqe); }

TEST(NvmeCommand, ConnectPutsQueueSizeFlowControlAndKatoAtTheirOffsets) {
    const NvmeSqe sqe = make_connect(7, 3, 128, 5000, true);
    const uint8_t* b = raw(sqe);
    EXPECT_EQ(b[0], 0x7F);
    EXPECT_EQ(b[1], 0x40);  // PSDT = SGL
    EXPECT_EQ(b[2], 7);
    EXPECT_EQ(b[4], fctype::kConnect);
    EXPECT_EQ(b[24 + 15], sgl::kInCapsuleDataBlock);
    EXPECT_EQ(load_le32(b + 24 + 8), 1024u);
    EXPECT_EQ(b[42], 3);    // qid
    EXPECT_EQ(b[44], 127);  // sqsize, 0's based
    EXPECT_EQ(b[46], 0x04);
    EXPECT_EQ(load_le32(b + 48), 0u) << "KATO belongs to the admin queue's Connect only";
    EXPECT_EQ(load_le32(raw(make_connect(1, 0, 32, 5000, false)) + 48), 5000u);
}

TEST(NvmeCommand, AConnectForOneOutstandingCommandAsksForTheSmallestLegalQueue) {
    // SQSIZE 0 (one entry) is refused by targets: depth 1 (fio iodepth=1) asks for two entries.
    EXPECT_EQ(raw(make_connect(1, 1, 1, 0, false))[44], 1);
    EXPECT_EQ(raw(make_connect(1, 1, 2, 0, false))[44], 1);
    EXPECT_EQ(raw(make_connect(1, 1, 3, 0, false))[44], 2);
}

TEST(NvmeCommand, ConnectDataRefusesAnNqnThatDoesNotFit) {
    ConnectData data;
    const uint8_t hostid[16] = {1, 2, 3};
    ASSERT_TRUE(make_connect_data(data, "nqn.sub", "nqn.host", hostid, kDynamicCntlid));
    EXPECT_STREQ(data.subnqn, "nqn.sub");
    EXPECT_STREQ(data.hostnqn, "nqn.host");
    EXPECT_EQ(data.cntlid.get(), 0xFFFF);
    EXPECT_EQ(reinterpret_cast<const uint8_t*>(&data)[1], 2);
    const std::string long_nqn(256, 'x');
    EXPECT_FALSE(make_connect_data(data, long_nqn.c_str(), "nqn.host", hostid, 0));
}

TEST(NvmeCommand, PropertySetCarriesOffsetSizeAndValue) {
    const NvmeSqe sqe = make_property_set(9, reg::kCc, reg::kCcEnableValue, false);
    const uint8_t* b = raw(sqe);
    EXPECT_EQ(b[4], fctype::kPropertySet);
    EXPECT_EQ(b[40], kPropertySize4);
    EXPECT_EQ(load_le32(b + 44), reg::kCc);
    EXPECT_EQ(load_le32(b + 48), reg::kCcEnableValue);
    EXPECT_EQ(raw(make_property_get(1, reg::kCap, true))[40], kPropertySize8);
    EXPECT_EQ(raw(make_property_get(1, reg::kCap, true))[4], fctype::kPropertyGet);
}

TEST(NvmeCommand, ReadAndWriteCarryLbaCountAndTheRightSgl) {
    const NvmeSqe rd = make_read(5, 1, 0x1'0000'0002ull, 8, 4096);
    EXPECT_EQ(rd.opcode, io_opcode::kRead);
    EXPECT_EQ(slba_of(rd), 0x1'0000'0002ull);
    EXPECT_EQ(nlb_of(rd), 8u);
    EXPECT_EQ(load_le32(raw(rd) + 48), 7u) << "NLB is 0's based on the wire";
    EXPECT_EQ(sgl_of(rd).identifier, sgl::kTransportDataBlock);
    EXPECT_EQ(sgl_of(rd).length.get(), 4096u);
    EXPECT_EQ(sgl_of(make_write(5, 1, 0, 1, 512, true)).identifier, sgl::kInCapsuleDataBlock);
    EXPECT_EQ(sgl_of(make_write(5, 1, 0, 1, 512, false)).identifier, sgl::kTransportDataBlock);
}

TEST(NvmeCommand, GetLogPageSplitsTheDwordCountAcrossNumdlAndNumdu) {
    const NvmeSqe sqe = make_get_log_page(2, log_page::kDiscovery, 0x40000 + 4096, 1024);
    const uint32_t numd = (0x40000 + 4096) / 4 - 1;
    EXPECT_EQ(sqe.cdw10.get() & 0xFF, log_page::kDiscovery);
    EXPECT_EQ(sqe.cdw10.get() >> 16, numd & 0xFFFF);
    EXPECT_EQ(sqe.cdw11.get() & 0xFFFF, numd >> 16);
    EXPECT_EQ(sqe.cdw12.get(), 1024u);
}

TEST(NvmeCommand, StatusKeepsTypeCodeAndDnrApartFromThePhaseBit) {
    NvmeCqe cqe;
    std::memset(&cqe, 0, sizeof cqe);
    set_status(cqe, status::kConnectInvalidHost);
    EXPECT_EQ(cqe.status.get() & 1, 0);
    EXPECT_EQ(status_of(cqe), status::kConnectInvalidHost);
    EXPECT_EQ(status_of(cqe).sct(), 1);
    EXPECT_EQ(status_of(cqe).sc(), 0x84);
    EXPECT_TRUE(status_of(cqe).dnr());
    char buf[96];
    EXPECT_STREQ(describe(status::kConnectInvalidHost, buf, sizeof buf), "connect: invalid host (sct 1 sc 0x84, dnr)");
    EXPECT_STREQ(describe(status::kSuccess, buf, sizeof buf), "success");
}

TEST(NvmeData, FixedWidthTextFieldsTrimPaddingAndStopAtNul) {
    char sn[20];
    set_field_text(sn, sizeof sn, "NVMEDDP01", ' ');
    EXPECT_EQ(sn[19], ' ');
    EXPECT_EQ(field_text(sn, sizeof sn), "NVMEDDP01");
    IdentifyNamespace ns;
    std::memset(&ns, 0, sizeof ns);
    ns.flbas = 1;
    ns.lbaf[1].lbads = 12;
    EXPECT_EQ(block_size(ns), 4096u);
    ns.lbaf[1].lbads = 3;
    EXPECT_EQ(block_size(ns), 0u);
}

}  // namespace
}  // namespace nvmeddp::nvmetcp::nvme
