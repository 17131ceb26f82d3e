// A short, complete NVMe/TCP session against a running target (nvmeddp-target), for the capture test:
// IC with both digests, admin queue (Connect, properties, Identify, Set Features), an I/O queue with
// a write through R2T and H2CData, an in-capsule write, a read of C2HData, a flush.
// usage: target_session PORT; exit 0 when every command succeeded and the data read back.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "test_client.hpp"

using namespace nvmeddp::nvmetcp;
using namespace nvmeddp::nvmetcp::nvme;
using nvmeddp::nvmetcp::target::testing::Completion;
using nvmeddp::nvmetcp::target::testing::TestClient;

namespace {

bool ok(const std::optional<Completion>& c, const char* what) {
    if (c && c->status().ok()) return true;
    std::fprintf(stderr, "target_session: %s failed\n", what);
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: target_session PORT SUBNQN\n");
        return 2;
    }
    const auto port = static_cast<uint16_t>(std::atoi(argv[1]));
    const std::string subnqn = argv[2];

    TestClient admin(port);
    if (!admin.initialize(0, true, true)) return std::fprintf(stderr, "target_session: IC failed\n"), 1;
    auto connected = admin.connect(0, kDynamicCntlid, 32, false, subnqn);
    if (!ok(connected, "admin Connect") || !admin.enable_controller()) return 1;
    const auto cntlid = static_cast<uint16_t>(connected->cqe.dw0.get());
    if (!ok(admin.execute(make_identify(admin.next_cid(), cns::kController, 0)), "Identify")) return 1;
    if (!ok(admin.execute(make_set_features(admin.next_cid(), feature::kNumberOfQueues, 0)), "Set Features")) return 1;

    TestClient io(port);
    if (!io.initialize(0, true, true)) return 1;
    if (!ok(io.connect(1, cntlid, 32, false, subnqn), "I/O Connect")) return 1;
    std::vector<uint8_t> data(16384);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31 + 7);
    const uint16_t cid = io.next_cid();
    io.send_command(make_write(cid, 1, 32, 32, 16384, false));
    auto r2t = io.wait_r2t();
    if (!r2t) return std::fprintf(stderr, "target_session: no R2T\n"), 1;
    io.send_pdu(make_h2c_data(cid, r2t->ttag.get(), 0, 8192, 0), {data.data(), 8192});
    io.send_pdu(make_h2c_data(cid, r2t->ttag.get(), 8192, 8192, pdu_flags::kLastPdu), {data.data() + 8192, 8192});
    if (!ok(io.wait_completion(cid), "Write (R2T)")) return 1;
    if (!ok(io.execute(make_write(io.next_cid(), 1, 0, 2, 1024, true), {data.data(), 1024}), "Write (in capsule)")) return 1;
    auto read = io.execute(make_read(io.next_cid(), 1, 32, 32, 16384));
    if (!ok(read, "Read") || read->data != data) return std::fprintf(stderr, "target_session: data differ\n"), 1;
    if (!ok(io.execute(make_flush(io.next_cid(), 1)), "Flush")) return 1;
    std::printf("target_session: every command succeeded\n");
    return 0;
}
