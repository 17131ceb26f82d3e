// The admin queue of the built-in target: Connect, properties, Identify, features, log pages, and
// the errors a host gets for commands out of order or with bad fields.
#include <gtest/gtest.h>

#include <cstring>

#include "nvmetcp/nvme_data.hpp"
#include "target_fixture.hpp"

namespace nvmeddp::nvmetcp::target::testing {
namespace {

using namespace nvme;

template <typename T>
T as(const std::vector<uint8_t>& bytes) {
    T value;
    EXPECT_EQ(bytes.size(), sizeof value);
    std::memcpy(&value, bytes.data(), std::min(bytes.size(), sizeof value));
    return value;
}

TEST(TargetAdmin, ConnectPropertiesAndEnable) {
    RunningTarget t;
    TestClient c(t.port());
    ASSERT_TRUE(c.initialize());
    auto connected = c.connect(0, kDynamicCntlid, 32, false, t.config().subnqn);
    ASSERT_TRUE(connected);
    ASSERT_TRUE(connected->status().ok()) << status_text(connected->status());
    const uint32_t cntlid = connected->cqe.dw0.get();
    EXPECT_GE(cntlid, 1u);
    EXPECT_LE(cntlid, 0xFFEFu);
    EXPECT_EQ(connected->cqe.sqid.get(), 0);
    EXPECT_EQ(connected->cqe.sqhd.get(), 1);  // the Connect itself was entry 0

    auto cap = c.execute(make_property_get(c.next_cid(), reg::kCap, true));
    ASSERT_TRUE(cap && cap->status().ok());
    const uint64_t value = cap->cqe.dw0.get() | uint64_t{cap->cqe.dw1.get()} << 32;
    EXPECT_EQ(reg::cap_mqes(value), t.config().max_queue_depth - 1u);
    EXPECT_EQ((value >> 16) & 1, 1u);                 // CQR
    EXPECT_EQ(reg::cap_timeout_ms(value), 5000u);     // TO 10
    EXPECT_EQ((value >> 37) & 1, 1u);                 // CSS: NVM
    EXPECT_EQ((value >> 48) & 0xF, 0u);               // MPSMIN 4 KiB

    auto vs = c.execute(make_property_get(c.next_cid(), reg::kVs, false));
    ASSERT_TRUE(vs && vs->status().ok());
    EXPECT_EQ(vs->cqe.dw0.get(), 0x00010400u);

    auto four_byte_cap = c.execute(make_property_get(c.next_cid(), reg::kCap, false));
    ASSERT_TRUE(four_byte_cap);
    EXPECT_EQ(four_byte_cap->status(), status::kInvalidField);

    // Before CC.EN, Identify is a command sequence error.
    auto early = c.execute(make_identify(c.next_cid(), cns::kController, 0));
    ASSERT_TRUE(early);
    EXPECT_EQ(early->status(), status::kCommandSequenceError);

    auto csts = c.execute(make_property_get(c.next_cid(), reg::kCsts, false));
    ASSERT_TRUE(csts && csts->status().ok());
    EXPECT_EQ(csts->cqe.dw0.get() & reg::kCstsReady, 0u);
    ASSERT_TRUE(c.enable_controller());
    auto cc = c.execute(make_property_get(c.next_cid(), reg::kCc, false));
    ASSERT_TRUE(cc && cc->status().ok());
    EXPECT_EQ(cc->cqe.dw0.get(), reg::kCcEnableValue);

    // Shutdown notification completes at once.
    auto shn = c.execute(make_property_set(c.next_cid(), reg::kCc, reg::kCcEnableValue | reg::kCcShnNormal, false));
    ASSERT_TRUE(shn && shn->status().ok());
    csts = c.execute(make_property_get(c.next_cid(), reg::kCsts, false));
    ASSERT_TRUE(csts && csts->status().ok());
    EXPECT_EQ(csts->cqe.dw0.get() & reg::kCstsShstMask, reg::kCstsShstComplete);
}

TEST(TargetAdmin, SubmissionQueueHeadAdvancesAndWraps) {
    RunningTarget t;
    TestClient c(t.port());
    ASSERT_TRUE(c.initialize());
    ASSERT_TRUE(c.connect(0, kDynamicCntlid, 4, false, t.config().subnqn));
    for (uint16_t expected : {2, 3, 0, 1, 2}) {
        auto r = c.execute(make_property_get(c.next_cid(), reg::kVs, false));
        ASSERT_TRUE(r);
        EXPECT_EQ(r->cqe.sqhd.get(), expected);
    }
}

TEST(TargetAdmin, IdentifyControllerAndNamespace) {
    TargetConfig config = test_config();
    config.block_size = 4096;
    config.in_capsule_data = 16384;
    RunningTarget t(config);
    uint16_t cntlid = 0;
    auto c = admin_session(t, &cntlid);
    ASSERT_TRUE(c);

    auto ctrl = c->execute(make_identify(c->next_cid(), cns::kController, 0));
    ASSERT_TRUE(ctrl && ctrl->status().ok()) << status_text(ctrl->status());
    const auto id = as<IdentifyController>(ctrl->data);
    EXPECT_EQ(field_text(id.mn, sizeof id.mn), "nvmeddp built-in target");
    EXPECT_FALSE(field_text(id.sn, sizeof id.sn).empty());
    EXPECT_EQ(id.cntlid.get(), cntlid);
    EXPECT_EQ(id.ver.get(), 0x00010400u);
    EXPECT_EQ(id.cntrltype, 1);
    EXPECT_EQ(id.mdts, 10);
    EXPECT_EQ(id.kas.get(), 1);
    EXPECT_EQ(id.sqes, 0x66);
    EXPECT_EQ(id.cqes, 0x44);
    EXPECT_EQ(id.nn.get(), 1u);
    EXPECT_EQ(id.maxcmd.get(), config.max_queue_depth);
    EXPECT_EQ(id.sgls.get() & 1u, 1u);
    EXPECT_NE(id.sgls.get() & (1u << 20), 0u);
    EXPECT_EQ(id.sgls.get() & (1u << 2), 0u);  // no keyed SGLs on TCP
    EXPECT_EQ(std::string(id.subnqn), config.subnqn);
    EXPECT_EQ(id.ioccsz.get(), (64u + 16384u) / 16);
    EXPECT_EQ(id.iorcsz.get(), 1u);
    EXPECT_EQ(id.icdoff.get(), 0);
    EXPECT_EQ(id.msdbd, 1);
    EXPECT_EQ(reinterpret_cast<const uint8_t*>(&id)[259], 3);  // AERL

    auto ns = c->execute(make_identify(c->next_cid(), cns::kNamespace, 1));
    ASSERT_TRUE(ns && ns->status().ok());
    const auto nsid = as<IdentifyNamespace>(ns->data);
    EXPECT_EQ(nsid.nsze.get(), config.namespace_bytes / 4096);
    EXPECT_EQ(nsid.ncap.get(), nsid.nsze.get());
    EXPECT_EQ(nsid.nuse.get(), nsid.nsze.get());
    EXPECT_EQ(nsid.nlbaf, 0);
    EXPECT_EQ(nsid.flbas, 0);
    EXPECT_EQ(block_size(nsid), 4096u);
    const uint8_t zero[16] = {};
    EXPECT_NE(std::memcmp(nsid.nguid, zero, 16), 0);

    auto list = c->execute(make_identify(c->next_cid(), cns::kActiveNamespaces, 0));
    ASSERT_TRUE(list && list->status().ok());
    ASSERT_EQ(list->data.size(), 4096u);
    EXPECT_EQ(load_le32(list->data.data()), 1u);
    EXPECT_EQ(load_le32(list->data.data() + 4), 0u);

    auto descriptors = c->execute(make_identify(c->next_cid(), cns::kNamespaceDescriptors, 1));
    ASSERT_TRUE(descriptors && descriptors->status().ok());
    EXPECT_EQ(descriptors->data[0], 2);   // NIDT NGUID
    EXPECT_EQ(descriptors->data[1], 16);  // NIDL
    EXPECT_EQ(std::memcmp(descriptors->data.data() + 4, nsid.nguid, 16), 0);

    auto other_ns = c->execute(make_identify(c->next_cid(), cns::kNamespace, 2));
    ASSERT_TRUE(other_ns);
    EXPECT_EQ(other_ns->status(), status::kInvalidNamespace);
    auto other_cns = c->execute(make_identify(c->next_cid(), 0x10, 0));
    ASSERT_TRUE(other_cns);
    EXPECT_EQ(other_cns->status(), status::kInvalidField);
}

TEST(TargetAdmin, FeaturesKeepAliveAbortAndAsyncEvents) {
    TargetConfig config = test_config();
    config.max_io_queues = 4;
    RunningTarget t(config);
    uint16_t cntlid = 0;
    auto c = admin_session(t, &cntlid);
    ASSERT_TRUE(c);

    auto queues = c->execute(make_set_features(c->next_cid(), feature::kNumberOfQueues, (7u << 16) | 7u));
    ASSERT_TRUE(queues && queues->status().ok());
    EXPECT_EQ(queues->cqe.dw0.get(), (3u << 16) | 3u);  // 8 asked, 4 granted
    auto fewer = c->execute(make_set_features(c->next_cid(), feature::kNumberOfQueues, (1u << 16) | 1u));
    ASSERT_TRUE(fewer && fewer->status().ok());
    EXPECT_EQ(fewer->cqe.dw0.get(), (1u << 16) | 1u);
    auto got = c->execute(make_get_features(c->next_cid(), feature::kNumberOfQueues));
    ASSERT_TRUE(got && got->status().ok());
    EXPECT_EQ(got->cqe.dw0.get(), (1u << 16) | 1u);
    // Two queues granted: qid 3 is refused, qid 2 accepted.
    TestClient q3(t.port());
    ASSERT_TRUE(q3.initialize());
    auto refused = q3.connect(3, cntlid, 32, false, config.subnqn);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status(), status::kConnectInvalidParameters);
    EXPECT_EQ(refused->cqe.dw0.get(), offsetof(ConnectCommand, qid));
    auto q2 = io_session(t, cntlid, 2);
    ASSERT_TRUE(q2);

    auto kato = c->execute(make_set_features(c->next_cid(), feature::kKeepAliveTimer, 15000));
    ASSERT_TRUE(kato && kato->status().ok());
    auto kato_get = c->execute(make_get_features(c->next_cid(), feature::kKeepAliveTimer));
    ASSERT_TRUE(kato_get && kato_get->status().ok());
    EXPECT_EQ(kato_get->cqe.dw0.get(), 15000u);
    auto aec = c->execute(make_set_features(c->next_cid(), feature::kAsyncEventConfig, 0x100));
    ASSERT_TRUE(aec && aec->status().ok());
    auto unknown_feature = c->execute(make_set_features(c->next_cid(), 0x42, 0));
    ASSERT_TRUE(unknown_feature);
    EXPECT_EQ(unknown_feature->status(), status::kInvalidField);

    auto keep_alive = c->execute(make_keep_alive(c->next_cid()));
    ASSERT_TRUE(keep_alive && keep_alive->status().ok());
    NvmeSqe abort = make_sqe(admin_opcode::kAbort, c->next_cid(), 0, 0, sgl::kTransportDataBlock);
    auto aborted = c->execute(abort);
    ASSERT_TRUE(aborted && aborted->status().ok());
    EXPECT_EQ(aborted->cqe.dw0.get() & 1u, 1u);  // not aborted

    // Four AERs are held; the fifth exceeds the limit; a command reusing a held cid conflicts.
    for (uint16_t cid = 900; cid < 904; ++cid) {
        c->send_command(make_sqe(admin_opcode::kAsyncEventRequest, cid, 0, 0, sgl::kTransportDataBlock));
    }
    auto fifth = c->execute(make_sqe(admin_opcode::kAsyncEventRequest, 904, 0, 0, sgl::kTransportDataBlock));
    ASSERT_TRUE(fifth);
    EXPECT_EQ(fifth->status(), status::kAsyncEventLimitExceeded);
    auto conflict = c->execute(make_keep_alive(901));
    ASSERT_TRUE(conflict);
    EXPECT_EQ(conflict->status(), status::kCommandIdConflict);

    auto unknown = c->execute(make_sqe(0x55, c->next_cid(), 0, 0, sgl::kTransportDataBlock));
    ASSERT_TRUE(unknown);
    EXPECT_EQ(unknown->status(), status::kInvalidOpcode);
    NvmeSqe prp = make_keep_alive(c->next_cid());
    prp.flags = 0;  // PSDT 00b: PRPs, which fabrics do not have
    auto bad_psdt = c->execute(prp);
    ASSERT_TRUE(bad_psdt);
    EXPECT_EQ(bad_psdt->status(), status::kInvalidField);
}

TEST(TargetAdmin, CommandsBeforeConnectAreSequenceErrors) {
    RunningTarget t;
    TestClient c(t.port());
    ASSERT_TRUE(c.initialize());
    auto before = c.execute(make_identify(c.next_cid(), cns::kController, 0));
    ASSERT_TRUE(before);
    EXPECT_EQ(before->status(), status::kCommandSequenceError);
    auto property = c.execute(make_property_get(c.next_cid(), reg::kVs, false));
    ASSERT_TRUE(property);
    EXPECT_EQ(property->status(), status::kCommandSequenceError);
    auto read = c.execute(make_read(c.next_cid(), 1, 0, 1, 512));
    ASSERT_TRUE(read);
    EXPECT_EQ(read->status(), status::kCommandSequenceError);
}

TEST(TargetAdmin, ConnectRefusals) {
    RunningTarget t;
    {
        TestClient c(t.port());
        ASSERT_TRUE(c.initialize());
        auto r = c.connect(0, kDynamicCntlid, 32, false, "nqn.2026-12.io.nvmeddp:someone-else");
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status(), status::kConnectInvalidParameters);
        EXPECT_EQ(r->cqe.dw0.get(), (1u << 16) | offsetof(ConnectData, subnqn));
        auto empty_host = c.connect(0, kDynamicCntlid, 32, false, t.config().subnqn, "");
        ASSERT_TRUE(empty_host);
        EXPECT_EQ(empty_host->status(), status::kConnectInvalidParameters);
        EXPECT_EQ(empty_host->cqe.dw0.get(), (1u << 16) | offsetof(ConnectData, hostnqn));
        auto too_deep = c.connect(0, kDynamicCntlid, 1024, false, t.config().subnqn);
        ASSERT_TRUE(too_deep);
        EXPECT_EQ(too_deep->status(), status::kConnectInvalidParameters);
        EXPECT_EQ(too_deep->cqe.dw0.get(), offsetof(ConnectCommand, sqsize));
        auto static_cntlid = c.connect(0, 5, 32, false, t.config().subnqn);
        ASSERT_TRUE(static_cntlid);
        EXPECT_EQ(static_cntlid->status(), status::kConnectInvalidParameters);
    }
    uint16_t cntlid = 0;
    {
        TestClient admin(t.port());
        ASSERT_TRUE(admin.initialize());
        auto ok = admin.connect(0, kDynamicCntlid, 32, false, t.config().subnqn);
        ASSERT_TRUE(ok && ok->status().ok());
        cntlid = static_cast<uint16_t>(ok->cqe.dw0.get());

        TestClient io(t.port());
        ASSERT_TRUE(io.initialize());
        // Not enabled yet.
        auto not_ready = io.connect(1, cntlid, 32, false, t.config().subnqn);
        ASSERT_TRUE(not_ready);
        EXPECT_EQ(not_ready->status(), status::kCommandSequenceError);
        ASSERT_TRUE(admin.enable_controller());
        auto bad_cntlid = io.connect(1, static_cast<uint16_t>(cntlid + 100), 32, false, t.config().subnqn);
        ASSERT_TRUE(bad_cntlid);
        EXPECT_EQ(bad_cntlid->status(), status::kConnectInvalidParameters);
        EXPECT_EQ(bad_cntlid->cqe.dw0.get(), (1u << 16) | offsetof(ConnectData, cntlid));
        auto other_host = io.connect(1, cntlid, 32, false, t.config().subnqn, "nqn.2026-12.io.nvmeddp:intruder");
        ASSERT_TRUE(other_host);
        EXPECT_EQ(other_host->status(), status::kConnectInvalidParameters);
        auto too_high = io.connect(9, cntlid, 32, false, t.config().subnqn);  // 8 I/O queues at most
        ASSERT_TRUE(too_high);
        EXPECT_EQ(too_high->status(), status::kConnectInvalidParameters);
        auto good = io.connect(1, cntlid, 32, false, t.config().subnqn);
        ASSERT_TRUE(good && good->status().ok());
        auto again = io.connect(1, cntlid, 32, false, t.config().subnqn);
        ASSERT_TRUE(again);
        EXPECT_EQ(again->status(), status::kCommandSequenceError);

        TestClient duplicate(t.port());
        ASSERT_TRUE(duplicate.initialize());
        auto twice = duplicate.connect(1, cntlid, 32, false, t.config().subnqn);
        ASSERT_TRUE(twice);
        EXPECT_EQ(twice->status(), status::kCommandSequenceError);

        // The admin queue goes: its controller and I/O queue with it.
    }
    TestClient late(t.port());
    ASSERT_TRUE(late.initialize());
    auto gone = late.connect(2, cntlid, 32, false, t.config().subnqn);
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->status(), status::kConnectInvalidParameters);
}

TEST(TargetAdmin, AdminQueueLossClosesIoQueues) {
    RunningTarget t;
    uint16_t cntlid = 0;
    auto admin = admin_session(t, &cntlid);
    ASSERT_TRUE(admin);
    auto io = io_session(t, cntlid, 1);
    ASSERT_TRUE(io);
    admin.reset();
    EXPECT_TRUE(io->wait_closed());
    EXPECT_TRUE(io->closed_by_target());
}

TEST(TargetAdmin, DiscoveryControllerLogPage) {
    TargetConfig config = test_config();
    RunningTarget t(config);
    TestClient c(t.port());
    ASSERT_TRUE(c.initialize());
    auto connected = c.connect(0, kDynamicCntlid, 32, false, kDiscoveryNqn);
    ASSERT_TRUE(connected && connected->status().ok());
    ASSERT_TRUE(c.enable_controller());

    auto id = c.execute(make_identify(c.next_cid(), cns::kController, 0));
    ASSERT_TRUE(id && id->status().ok());
    const auto ctrl = as<IdentifyController>(id->data);
    EXPECT_EQ(ctrl.cntrltype, 2);
    EXPECT_EQ(std::string(ctrl.subnqn), kDiscoveryNqn);
    auto ns = c.execute(make_identify(c.next_cid(), cns::kNamespace, 1));
    ASSERT_TRUE(ns);
    EXPECT_EQ(ns->status(), status::kInvalidField);

    auto head = c.execute(make_get_log_page(c.next_cid(), log_page::kDiscovery, 1024, 0));
    ASSERT_TRUE(head && head->status().ok());
    const auto header = as<DiscoveryLogHeader>(head->data);
    EXPECT_EQ(header.numrec.get(), 1u);
    EXPECT_EQ(header.recfmt.get(), 0);
    EXPECT_NE(header.genctr.get(), 0u);

    auto entry_page = c.execute(make_get_log_page(c.next_cid(), log_page::kDiscovery, 1024, 1024));
    ASSERT_TRUE(entry_page && entry_page->status().ok());
    const auto e = as<DiscoveryLogEntry>(entry_page->data);
    EXPECT_EQ(e.trtype, trtype::kTcp);
    EXPECT_EQ(e.adrfam, adrfam::kIpv4);
    EXPECT_EQ(e.subtype, subtype::kNvmSubsystem);
    EXPECT_EQ(e.treq, 0);
    EXPECT_EQ(e.portid.get(), 1);
    EXPECT_EQ(e.cntlid.get(), 0xFFFF);
    EXPECT_EQ(e.asqsz.get(), 32);
    EXPECT_EQ(field_text(e.trsvcid, sizeof e.trsvcid), std::to_string(t.port()));
    EXPECT_EQ(field_text(e.traddr, sizeof e.traddr), "127.0.0.1");
    EXPECT_EQ(std::string(e.subnqn), config.subnqn);
    EXPECT_EQ(e.tsas[0], 0);

    // Past the end: zeros. Misaligned offset: invalid field. Other logs: invalid log page.
    auto tail = c.execute(make_get_log_page(c.next_cid(), log_page::kDiscovery, 4096, 1024));
    ASSERT_TRUE(tail && tail->status().ok());
    ASSERT_EQ(tail->data.size(), 4096u);
    EXPECT_EQ(std::memcmp(tail->data.data(), entry_page->data.data(), 1024), 0);
    for (size_t i = 1024; i < 4096; ++i) ASSERT_EQ(tail->data[i], 0) << i;
    auto smart = c.execute(make_get_log_page(c.next_cid(), log_page::kSmartHealth, 512, 0));
    ASSERT_TRUE(smart);
    EXPECT_EQ(smart->status(), status::kInvalidLogPage);

    // A discovery controller has no I/O queues.
    TestClient io(t.port());
    ASSERT_TRUE(io.initialize());
    auto refused = io.connect(1, static_cast<uint16_t>(connected->cqe.dw0.get()), 32, false, kDiscoveryNqn);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status(), status::kConnectInvalidParameters);
}

TEST(TargetAdmin, IoControllerLogPages) {
    RunningTarget t;
    uint16_t cntlid = 0;
    auto c = admin_session(t, &cntlid);
    ASSERT_TRUE(c);
    auto smart = c->execute(make_get_log_page(c->next_cid(), log_page::kSmartHealth, 512, 0));
    ASSERT_TRUE(smart && smart->status().ok());
    EXPECT_EQ(smart->data, std::vector<uint8_t>(512, 0));
    auto discovery = c->execute(make_get_log_page(c->next_cid(), log_page::kDiscovery, 1024, 0));
    ASSERT_TRUE(discovery);
    EXPECT_EQ(discovery->status(), status::kInvalidLogPage);
}

}  // namespace
}  // namespace nvmeddp::nvmetcp::target::testing
