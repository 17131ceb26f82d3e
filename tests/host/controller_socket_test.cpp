// The Controller over the kernel-socket transport against a scripted target on 127.0.0.1: the admin
// bring-up in order with its fields, I/O queues, reads/writes/flush, keep alive, shutdown, failures,
// and discovery.
#include <gtest/gtest.h>

#include "fake_target.hpp"
#include "nvmetcp/host/controller.hpp"
#include "nvmetcp/host/discovery.hpp"
#include "nvmetcp/host/socket_transport.hpp"
#include "nvmetcp/nvme_data.hpp"

namespace nvmeddp::nvmetcp::host::test {
namespace {

constexpr uint16_t kCntlid = 0x21;
constexpr uint32_t kBlock = 4096;
const char kSubnqn[] = "nqn.2024-01.io.nvmeddp:fake";

struct Options {
    bool digests = false;
    uint8_t hpda = 0;
    uint8_t cpda = 0;
    uint16_t io_queues = 1;
    uint16_t granted_queues = 1;
    uint32_t kato_ms = 0;
    bool discovery = false;
};

ControllerConfig controller_config(const Options& o) {
    ControllerConfig c;
    c.subnqn = kSubnqn;
    c.hostid[15] = 0x42;
    c.io_queues = o.io_queues;
    c.queue_depth = 16;
    c.header_digest = c.data_digest = o.digests;
    c.hpda = o.hpda;
    c.kato_ms = o.kato_ms;
    c.connect_timeout_ms = 2000;
    c.command_timeout_ms = 2000;
    return c;
}

// Drives the host side: the factory's sockets and the controller (or discovery client).
struct Host {
    std::unique_ptr<SocketTransportFactory> factory;
    std::function<void(uint64_t)> poll_owner;
    void pump() {
        factory->poll(1);
        if (poll_owner) poll_owner(now_ms());
    }
};

template <typename T>
std::vector<uint8_t> bytes_of(const T& value) {
    const auto* p = reinterpret_cast<const uint8_t*>(&value);
    return std::vector<uint8_t>(p, p + sizeof value);
}

nvme::PropertyCommand property_of(const CapturedPdu& pdu) {
    nvme::PropertyCommand p;
    const auto sqe = pdu.as<CapsuleCmdPdu>().sqe;
    std::memcpy(&p, &sqe, sizeof p);
    return p;
}

uint16_t cid_of(const CapturedPdu& pdu) { return pdu.as<CapsuleCmdPdu>().sqe.cid.get(); }

// IC + Connect on a new connection; checks what the host asked for and grants it.
FakeTarget::Conn* serve_connect(FakeTarget& target, const Options& o, uint16_t qid) {
    FakeTarget::Conn* c = target.accept();
    if (c == nullptr) return nullptr;
    const auto icreq = target.expect(*c, PduType::ICReq).as<ICReqPdu>();
    EXPECT_EQ(icreq.hpda, o.hpda);
    const uint8_t digests = o.digests ? ic_digest::kHeader | ic_digest::kData : 0;
    EXPECT_EQ(icreq.dgst, digests);
    target.send(*c, ControllerWire{}.icresp(o.cpda, digests, 8192));
    c->capture.set_params(o.digests, o.digests, o.cpda, 8192);
    c->wire.params = SendParams{o.digests, o.digests, o.hpda};
    const CapturedPdu connect = target.expect(*c, PduType::CapsuleCmd);
    nvme::ConnectCommand cmd;
    const auto sqe = connect.as<CapsuleCmdPdu>().sqe;
    std::memcpy(&cmd, &sqe, sizeof cmd);
    EXPECT_EQ(cmd.fctype, nvme::fctype::kConnect);
    EXPECT_EQ(cmd.qid.get(), qid);
    EXPECT_EQ(cmd.sqsize.get(), qid == 0 ? 31 : 15);
    EXPECT_EQ(cmd.kato.get(), qid == 0 ? o.kato_ms : 0u);
    nvme::ConnectData data{};
    EXPECT_EQ(connect.data.size(), sizeof data);
    std::memcpy(&data, connect.data.data(), std::min(connect.data.size(), sizeof data));
    EXPECT_EQ(data.cntlid.get(), qid == 0 ? nvme::kDynamicCntlid : kCntlid);
    EXPECT_STREQ(data.subnqn, o.discovery ? nvme::kDiscoveryNqn : kSubnqn);
    EXPECT_STREQ(data.hostnqn, "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000042");
    EXPECT_EQ(data.hostid[15], 0x42);
    target.send(*c, c->wire.capsule_resp(cid_of(connect), {}, kCntlid));
    return c;
}

// Answers a command that reads data: its C2HData (split in two) and CapsuleResp.
void reply_with_data(FakeTarget& target, FakeTarget::Conn& c, uint16_t cid, const std::vector<uint8_t>& data) {
    const std::span<const uint8_t> d(data);
    const size_t half = data.size() / 2;
    target.send(c, concat({c.wire.c2h(cid, 0, d.first(half)),
                           c.wire.c2h(cid, static_cast<uint32_t>(half), d.subspan(half), pdu_flags::kLastPdu),
                           c.wire.capsule_resp(cid)}));
}

// The admin bring-up, in the order the host must follow, with each command's fields checked.
FakeTarget::Conn* serve_admin(FakeTarget& target, const Options& o) {
    FakeTarget::Conn* a = serve_connect(target, o, 0);
    if (a == nullptr) return nullptr;

    auto p = target.expect(*a, PduType::CapsuleCmd);
    EXPECT_EQ(property_of(p).fctype, nvme::fctype::kPropertyGet);
    EXPECT_EQ(property_of(p).offset.get(), nvme::reg::kCap);
    EXPECT_EQ(property_of(p).attrib, nvme::kPropertySize8);
    const uint64_t cap = 127 | uint64_t{2} << 24;  // MQES 127 (0's based), TO 1 s
    target.send(*a, a->wire.capsule_resp(cid_of(p), {}, static_cast<uint32_t>(cap), static_cast<uint32_t>(cap >> 32)));

    p = target.expect(*a, PduType::CapsuleCmd);
    EXPECT_EQ(property_of(p).offset.get(), nvme::reg::kVs);
    EXPECT_EQ(property_of(p).attrib, nvme::kPropertySize4);
    target.send(*a, a->wire.capsule_resp(cid_of(p), {}, 0x00010400));

    p = target.expect(*a, PduType::CapsuleCmd);
    EXPECT_EQ(property_of(p).fctype, nvme::fctype::kPropertySet);
    EXPECT_EQ(property_of(p).offset.get(), nvme::reg::kCc);
    EXPECT_EQ(property_of(p).value.get(), nvme::reg::kCcEnableValue);
    target.send(*a, a->wire.capsule_resp(cid_of(p)));

    for (uint32_t csts : {0u, nvme::reg::kCstsReady}) {  // not ready at the first look
        p = target.expect(*a, PduType::CapsuleCmd);
        EXPECT_EQ(property_of(p).fctype, nvme::fctype::kPropertyGet);
        EXPECT_EQ(property_of(p).offset.get(), nvme::reg::kCsts);
        target.send(*a, a->wire.capsule_resp(cid_of(p), {}, csts));
    }

    p = target.expect(*a, PduType::CapsuleCmd);
    auto sqe = p.as<CapsuleCmdPdu>().sqe;
    EXPECT_EQ(sqe.opcode, nvme::admin_opcode::kIdentify);
    EXPECT_EQ(sqe.cdw10.get(), nvme::cns::kController);
    EXPECT_EQ(nvme::sgl_of(sqe).length.get(), 4096u);
    nvme::IdentifyController id{};
    id.cntlid.set(kCntlid);
    id.cntrltype = o.discovery ? 2 : 1;
    id.mdts = 5;                 // 128 KiB
    id.ioccsz.set((64 + 4096) / 16);  // 4 KiB in capsule
    std::strcpy(id.subnqn, o.discovery ? nvme::kDiscoveryNqn : kSubnqn);
    reply_with_data(target, *a, cid_of(p), bytes_of(id));
    if (o.discovery) return a;

    p = target.expect(*a, PduType::CapsuleCmd);
    sqe = p.as<CapsuleCmdPdu>().sqe;
    EXPECT_EQ(sqe.opcode, nvme::admin_opcode::kIdentify);
    EXPECT_EQ(sqe.cdw10.get(), nvme::cns::kActiveNamespaces);
    std::vector<uint8_t> list(4096);
    list[0] = 1;
    reply_with_data(target, *a, cid_of(p), list);

    p = target.expect(*a, PduType::CapsuleCmd);
    sqe = p.as<CapsuleCmdPdu>().sqe;
    EXPECT_EQ(sqe.cdw10.get(), nvme::cns::kNamespace);
    EXPECT_EQ(sqe.nsid.get(), 1u);
    nvme::IdentifyNamespace ns{};
    ns.nsze.set(1000);
    ns.lbaf[0].lbads = 12;
    reply_with_data(target, *a, cid_of(p), bytes_of(ns));

    p = target.expect(*a, PduType::CapsuleCmd);
    sqe = p.as<CapsuleCmdPdu>().sqe;
    EXPECT_EQ(sqe.opcode, nvme::admin_opcode::kSetFeatures);
    EXPECT_EQ(sqe.cdw10.get(), nvme::feature::kNumberOfQueues);
    const uint32_t asked = o.io_queues - 1u;
    EXPECT_EQ(sqe.cdw11.get(), asked | asked << 16);
    const uint32_t granted = o.granted_queues - 1u;
    target.send(*a, a->wire.capsule_resp(cid_of(p), {}, granted | granted << 16));
    return a;
}

struct Fixture {
    Options options;
    Host host;
    std::unique_ptr<FakeTarget> target;
    std::unique_ptr<Controller> ctrl;
    FakeTarget::Conn* admin = nullptr;
    std::vector<FakeTarget::Conn*> io;

    explicit Fixture(Options o) : options(o) {
        target = std::make_unique<FakeTarget>([this] { host.pump(); });
        host.factory = std::make_unique<SocketTransportFactory>("127.0.0.1", target->port());
        ctrl = std::make_unique<Controller>(controller_config(o), *host.factory);
        host.poll_owner = [this](uint64_t now) { ctrl->poll(now); };
    }

    bool bring_up() {
        std::string error;
        EXPECT_TRUE(ctrl->start(&error)) << error;
        admin = serve_admin(*target, options);
        if (admin == nullptr) return false;
        for (uint16_t q = 1; q <= options.granted_queues && !options.discovery; ++q) io.push_back(serve_connect(*target, options, q));
        return target->wait([&] { return ctrl->state() != ControllerState::Connecting; }, "the controller to be ready") &&
               ctrl->state() == ControllerState::Ready;
    }
};

class ControllerOverSockets : public ::testing::TestWithParam<bool> {};

TEST_P(ControllerOverSockets, BringsUpTheControllerInOrderAndMovesData) {
    Options o;
    o.digests = GetParam();
    o.hpda = GetParam() ? 1 : 0;
    o.cpda = GetParam() ? 2 : 0;
    o.io_queues = 3;
    o.granted_queues = 2;  // fewer than asked
    Fixture f(o);
    ASSERT_TRUE(f.bring_up()) << f.ctrl->failure();
    EXPECT_EQ(f.ctrl->io_queue_count(), 2);
    EXPECT_EQ(f.ctrl->block_size(), kBlock);
    EXPECT_EQ(f.ctrl->namespace_blocks(), 1000u);
    EXPECT_EQ(f.ctrl->nsid(), 1u);
    EXPECT_EQ(f.ctrl->version(), 0x00010400u);
    EXPECT_EQ(f.ctrl->admin_queue().cntlid(), kCntlid);
    EXPECT_EQ(f.ctrl->io_queue(1).config().qid, 2);
    EXPECT_EQ(f.ctrl->io_queue(0).config().in_capsule_data, 4096u);
    EXPECT_EQ(f.ctrl->io_queue(0).config().max_data_len, 128u << 10);

    // A read of two blocks on I/O queue 0.
    CompletionLog log;
    std::vector<uint8_t> buf(2 * kBlock);
    const IoVec iov[] = {{buf.data(), 2 * kBlock}};
    ASSERT_EQ(f.ctrl->read(0, 7, 2, iov, &CompletionLog::record, &log), SubmitResult::Ok);
    auto cmd = f.target->expect(*f.io[0], PduType::CapsuleCmd);
    auto sqe = cmd.as<CapsuleCmdPdu>().sqe;
    EXPECT_EQ(sqe.opcode, nvme::io_opcode::kRead);
    EXPECT_EQ(sqe.nsid.get(), 1u);
    EXPECT_EQ(nvme::slba_of(sqe), 7u);
    EXPECT_EQ(nvme::nlb_of(sqe), 2u);
    const auto data = pattern(2 * kBlock, 11);
    reply_with_data(*f.target, *f.io[0], cid_of(cmd), data);
    ASSERT_TRUE(f.target->wait([&] { return log.entries.size() == 1; }, "the read"));
    EXPECT_TRUE(log.entries[0].completion.status.ok());
    EXPECT_EQ(buf, data);

    // A write of three blocks on I/O queue 1: larger than in-capsule, so R2T -> H2CData (MAXH2CDATA 8192).
    const auto wdata = pattern(3 * kBlock, 12);
    const IoVec wiov[] = {{const_cast<uint8_t*>(wdata.data()), 3 * kBlock}};
    ASSERT_EQ(f.ctrl->write(1, 9, 3, wiov, &CompletionLog::record, &log), SubmitResult::Ok);
    cmd = f.target->expect(*f.io[1], PduType::CapsuleCmd);
    EXPECT_EQ(cmd.as<CapsuleCmdPdu>().sqe.opcode, nvme::io_opcode::kWrite);
    EXPECT_TRUE(cmd.data.empty());
    f.target->send(*f.io[1], f.io[1]->wire.r2t(cid_of(cmd), 1, 0, 3 * kBlock));
    std::vector<uint8_t> got;
    for (uint32_t len : {8192u, 4096u}) {
        const auto h2c = f.target->expect(*f.io[1], PduType::H2CData);
        EXPECT_EQ(h2c.as<H2CDataPdu>().datal.get(), len);
        EXPECT_EQ((h2c.flags & pdu_flags::kLastPdu) != 0, len == 4096u);
        got.insert(got.end(), h2c.data.begin(), h2c.data.end());
    }
    EXPECT_EQ(got, wdata);
    f.target->send(*f.io[1], f.io[1]->wire.capsule_resp(cid_of(cmd)));

    // A one-block write goes in capsule; then a flush.
    ASSERT_EQ(f.ctrl->write(0, 1, 1, wiov, &CompletionLog::record, &log), SubmitResult::Ok);
    cmd = f.target->expect(*f.io[0], PduType::CapsuleCmd);
    EXPECT_EQ(cmd.data.size(), kBlock);
    f.target->send(*f.io[0], f.io[0]->wire.capsule_resp(cid_of(cmd)));
    ASSERT_EQ(f.ctrl->flush(0, &CompletionLog::record, &log), SubmitResult::Ok);
    cmd = f.target->expect(*f.io[0], PduType::CapsuleCmd);
    EXPECT_EQ(cmd.as<CapsuleCmdPdu>().sqe.opcode, nvme::io_opcode::kFlush);
    f.target->send(*f.io[0], f.io[0]->wire.capsule_resp(cid_of(cmd)));
    ASSERT_TRUE(f.target->wait([&] { return log.entries.size() == 4; }, "write, write, flush"));
    for (const auto& e : log.entries) EXPECT_TRUE(e.completion.status.ok()) << e.reason;

    // Shutdown: CC.SHN, then CSTS until SHST says complete, then every connection closes.
    f.ctrl->shutdown();
    EXPECT_TRUE(f.ctrl->shutting_down());
    EXPECT_EQ(f.ctrl->read(0, 0, 1, iov, &CompletionLog::record, &log), SubmitResult::NotReady);
    auto p = f.target->expect(*f.admin, PduType::CapsuleCmd);
    EXPECT_EQ(property_of(p).offset.get(), nvme::reg::kCc);
    EXPECT_EQ(property_of(p).value.get() & nvme::reg::kCcShnMask, nvme::reg::kCcShnNormal);
    f.target->send(*f.admin, f.admin->wire.capsule_resp(cid_of(p)));
    p = f.target->expect(*f.admin, PduType::CapsuleCmd);
    EXPECT_EQ(property_of(p).offset.get(), nvme::reg::kCsts);
    f.target->send(*f.admin, f.admin->wire.capsule_resp(cid_of(p), {}, nvme::reg::kCstsShstComplete));
    ASSERT_TRUE(f.target->wait([&] { return f.ctrl->state() == ControllerState::Idle; }, "shutdown"));
    EXPECT_TRUE(f.target->wait_closed(*f.admin));
    EXPECT_TRUE(f.target->wait_closed(*f.io[0]));
    EXPECT_EQ(f.host.factory->open_connections(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Digests, ControllerOverSockets, ::testing::Bool());

TEST(ControllerSocket, TargetClosingFailsOutstandingIoWithHostPathError) {
    Fixture f(Options{});
    ASSERT_TRUE(f.bring_up()) << f.ctrl->failure();
    CompletionLog log;
    std::vector<uint8_t> buf(kBlock);
    const IoVec iov[] = {{buf.data(), kBlock}};
    ASSERT_EQ(f.ctrl->read(0, 0, 1, iov, &CompletionLog::record, &log), SubmitResult::Ok);
    f.target->expect(*f.io[0], PduType::CapsuleCmd);
    ::shutdown(f.io[0]->fd, SHUT_RDWR);
    ASSERT_TRUE(f.target->wait([&] { return !log.entries.empty(); }, "the read to fail"));
    EXPECT_EQ(log.entries[0].completion.status, nvme::status::kHostPathError);
    EXPECT_NE(log.entries[0].reason.find("closed by the peer"), std::string::npos) << log.entries[0].reason;
    ASSERT_TRUE(f.target->wait([&] { return f.ctrl->state() == ControllerState::Failed; }, "the controller to fail"));
    EXPECT_NE(f.ctrl->failure().find("I/O queue qid 1"), std::string::npos) << f.ctrl->failure();
}

TEST(ControllerSocket, ProtocolErrorOverTheSocketSendsTermReqAndCloses) {
    Fixture f(Options{});
    ASSERT_TRUE(f.bring_up()) << f.ctrl->failure();
    CompletionLog log;
    std::vector<uint8_t> buf(kBlock);
    const IoVec iov[] = {{buf.data(), kBlock}};
    ASSERT_EQ(f.ctrl->read(0, 0, 1, iov, &CompletionLog::record, &log), SubmitResult::Ok);
    const auto cmd = f.target->expect(*f.io[0], PduType::CapsuleCmd);
    f.target->send(*f.io[0], f.io[0]->wire.c2h(cid_of(cmd), 0, pattern(2 * kBlock, 1)));  // twice the length
    const auto term = f.target->expect(*f.io[0], PduType::H2CTermReq);
    EXPECT_EQ(term.as<TermReqPdu>().fes.get(), static_cast<uint16_t>(Fes::DataOutOfRange));
    EXPECT_EQ(term.data.size(), sizeof(C2HDataPdu));
    EXPECT_TRUE(f.target->wait_closed(*f.io[0]));
    ASSERT_TRUE(f.target->wait([&] { return !log.entries.empty(); }, "the read to fail"));
    EXPECT_EQ(log.entries[0].completion.status, nvme::status::kHostPathError);
}

TEST(ControllerSocket, KeepAliveIsSentEveryHalfKato) {
    Options o;
    o.kato_ms = 200;
    Fixture f(o);
    ASSERT_TRUE(f.bring_up()) << f.ctrl->failure();
    const uint64_t ready_at = now_ms();
    const auto ka = f.target->expect(*f.admin, PduType::CapsuleCmd);
    EXPECT_EQ(ka.as<CapsuleCmdPdu>().sqe.opcode, nvme::admin_opcode::kKeepAlive);
    EXPECT_GE(now_ms() - ready_at, 80u);
    f.target->send(*f.admin, f.admin->wire.capsule_resp(cid_of(ka)));
    EXPECT_EQ(f.target->expect(*f.admin, PduType::CapsuleCmd).as<CapsuleCmdPdu>().sqe.opcode, nvme::admin_opcode::kKeepAlive);
    EXPECT_EQ(f.ctrl->state(), ControllerState::Ready);
}

TEST(ControllerSocket, ConnectRejectedNamesTheStatus) {
    Fixture f(Options{});
    std::string error;
    ASSERT_TRUE(f.ctrl->start(&error)) << error;
    auto* c = f.target->accept();
    ASSERT_NE(c, nullptr);
    f.target->expect(*c, PduType::ICReq);
    f.target->send(*c, ControllerWire{}.icresp(0, 0, 8192));
    const auto connect = f.target->expect(*c, PduType::CapsuleCmd);
    f.target->send(*c, c->wire.capsule_resp(cid_of(connect), nvme::status::kConnectInvalidHost));
    ASSERT_TRUE(f.target->wait([&] { return f.ctrl->state() == ControllerState::Failed; }, "the controller to fail"));
    EXPECT_NE(f.ctrl->failure().find("admin queue connect"), std::string::npos) << f.ctrl->failure();
    EXPECT_NE(f.ctrl->failure().find("invalid host"), std::string::npos) << f.ctrl->failure();
}

TEST(ControllerSocket, ConnectionRefusedFailsTheController) {
    Fixture f(Options{});
    f.target->close_listener();  // nothing listens on the port any more
    std::string error;
    f.ctrl->start(&error);
    ASSERT_TRUE(f.target->wait([&] { return f.ctrl->state() == ControllerState::Failed; }, "the controller to fail"));
    EXPECT_NE(f.ctrl->failure().find("Connection refused"), std::string::npos) << f.ctrl->failure();
}

TEST(ControllerSocket, DiscoveryReadsTheLogHeaderThenAllRecords) {
    Options o;
    o.discovery = true;
    Host host;
    FakeTarget target([&] { host.pump(); });
    host.factory = std::make_unique<SocketTransportFactory>("127.0.0.1", target.port());
    DiscoveryClient client(controller_config(o), *host.factory);
    host.poll_owner = [&](uint64_t now) { client.poll(now); };
    std::string error;
    ASSERT_TRUE(client.start(&error)) << error;
    FakeTarget::Conn* a = serve_admin(target, o);
    ASSERT_NE(a, nullptr);

    nvme::DiscoveryLogHeader header{};
    header.genctr.set(5);
    header.numrec.set(2);
    std::vector<uint8_t> log = bytes_of(header);
    for (int i = 0; i < 2; ++i) {
        nvme::DiscoveryLogEntry e{};
        e.trtype = nvme::trtype::kTcp;
        e.adrfam = nvme::adrfam::kIpv4;
        e.subtype = nvme::subtype::kNvmSubsystem;
        e.portid.set(static_cast<uint16_t>(i + 1));
        e.cntlid.set(0xFFFF);
        nvme::set_field_text(e.trsvcid, sizeof e.trsvcid, std::to_string(4420 + i), ' ');
        nvme::set_field_text(e.traddr, sizeof e.traddr, "192.0.2." + std::to_string(i + 1), ' ');
        nvme::set_field_text(e.subnqn, sizeof e.subnqn, "nqn.2024-01.io.nvmeddp:sub" + std::to_string(i), '\0');
        const auto b = bytes_of(e);
        log.insert(log.end(), b.begin(), b.end());
    }
    auto p = target.expect(*a, PduType::CapsuleCmd);
    auto sqe = p.as<CapsuleCmdPdu>().sqe;
    EXPECT_EQ(sqe.opcode, nvme::admin_opcode::kGetLogPage);
    EXPECT_EQ(sqe.cdw10.get() & 0xFF, nvme::log_page::kDiscovery);
    EXPECT_EQ(nvme::sgl_of(sqe).length.get(), 1024u);
    reply_with_data(target, *a, cid_of(p), std::vector<uint8_t>(log.begin(), log.begin() + 1024));
    p = target.expect(*a, PduType::CapsuleCmd);
    EXPECT_EQ(nvme::sgl_of(p.as<CapsuleCmdPdu>().sqe).length.get(), 3072u);
    reply_with_data(target, *a, cid_of(p), log);
    ASSERT_TRUE(target.wait([&] { return client.state() == DiscoveryClient::State::Done ||
                                         client.state() == DiscoveryClient::State::Failed; }, "discovery"));
    ASSERT_EQ(client.state(), DiscoveryClient::State::Done) << client.failure();
    ASSERT_EQ(client.entries().size(), 2u);
    EXPECT_EQ(client.generation(), 5u);
    EXPECT_EQ(client.entries()[1].traddr, "192.0.2.2");
    EXPECT_EQ(client.entries()[1].trsvcid, "4421");
    EXPECT_EQ(client.entries()[0].subnqn, "nqn.2024-01.io.nvmeddp:sub0");
    EXPECT_EQ(client.entries()[0].subtype, nvme::subtype::kNvmSubsystem);
}

}  // namespace
}  // namespace nvmeddp::nvmetcp::host::test
