#include "dpdk_test_support.hpp"

#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>

#include "pmd/dpdk/eal.hpp"
#include "pmd/dpdk/mbuf_meta.hpp"
#include "testlib/flow_config.hpp"

namespace nvmeddp::dpdk_test {

namespace {

std::string g_eal_error = "EAL not initialised";
rte_mempool* g_pool = nullptr;

class EalEnvironment : public testing::Environment {
public:
    void SetUp() override {
        pmd::EalOptions o;
        o.lcores = "0";
        o.program = "pmd_dpdk_tests";
        g_eal_error = pmd::init_eal(o);
        if (!g_eal_error.empty()) return;
        g_pool = rte_pktmbuf_pool_create("nvmeddp_test_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
        if (g_pool == nullptr) g_eal_error = std::string("rte_pktmbuf_pool_create: ") + rte_strerror(rte_errno);
    }
};
[[maybe_unused]] testing::Environment* const g_env = testing::AddGlobalTestEnvironment(new EalEnvironment);

ddp::ConnectionConfig config_for(const testlib::FlowSpec& f, const testlib::ReadStreamOptions& so, uint32_t first_seq,
                                 uint16_t queue) {
    ddp::ConnectionConfig c;
    c.tuple = testlib::host_tuple(f);
    c.data_digest = so.data_digest;
    c.header_digest = so.header_digest;
    c.rcv_seq = first_seq;
    c.rx_queue = queue;
    return c;
}

}  // namespace

const std::string& eal_error() { return g_eal_error; }
rte_mempool* pool() { return g_pool; }

uint16_t loopback_ring_port(const std::string& name, uint16_t queues) {
    std::vector<rte_ring*> rings;
    for (uint16_t q = 0; q < queues; ++q) {
        rings.push_back(rte_ring_create((name + "_r" + std::to_string(q)).c_str(), 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ));
        if (rings.back() == nullptr) return UINT16_MAX;
    }
    const int port = rte_eth_from_rings(name.c_str(), rings.data(), queues, rings.data(), queues, 0);
    if (port < 0) return UINT16_MAX;
    pmd::PortSetup s;
    s.port_id = static_cast<uint16_t>(port);
    s.rx_queues = s.tx_queues = queues;
    s.pool = g_pool;
    const std::string err = pmd::configure_port(s);
    EXPECT_TRUE(err.empty()) << err;
    return static_cast<uint16_t>(port);
}

uint16_t nvmeddp_nic(const std::string& name, uint16_t queues, uint16_t rx_descriptors, const std::string& args) {
    if (rte_vdev_init(name.c_str(), args.c_str()) != 0) return UINT16_MAX;
    uint16_t port = 0;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port) != 0) return UINT16_MAX;
    pmd::PortSetup s;
    s.port_id = port;
    s.rx_queues = s.tx_queues = queues;
    s.rx_descriptors = rx_descriptors;
    s.pool = g_pool;
    const std::string err = pmd::configure_port(s);
    EXPECT_TRUE(err.empty()) << err;
    return port;
}

rte_mbuf* chain_of(const std::vector<uint8_t>& frame, std::initializer_list<uint16_t> sizes) {
    rte_mbuf* head = nullptr;
    const uint16_t* size = sizes.begin();
    for (size_t at = 0; at < frame.size();) {
        rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
        const size_t n = std::min<size_t>(*size, frame.size() - at);
        char* to = m != nullptr ? rte_pktmbuf_append(m, static_cast<uint16_t>(n)) : nullptr;
        if (to == nullptr) {
            rte_pktmbuf_free(m);
            rte_pktmbuf_free(head);
            return nullptr;
        }
        std::memcpy(to, frame.data() + at, n);
        at += n;
        if (head == nullptr) {
            head = m;
        } else if (rte_pktmbuf_chain(head, m) != 0) {
            rte_pktmbuf_free(m);
            rte_pktmbuf_free(head);
            return nullptr;
        }
        if (++size == sizes.end()) size = sizes.begin();
    }
    return head;
}

rte_mbuf* to_mbuf(const std::vector<uint8_t>& frame, size_t seg) {
    return chain_of(frame, {static_cast<uint16_t>(std::min<size_t>(seg, UINT16_MAX))});
}

std::vector<uint8_t> payload_of(rte_mbuf* m, uint32_t offset, uint32_t len) {
    std::vector<uint8_t> out(len);
    const void* p = rte_pktmbuf_read(m, offset, len, out.data());
    if (p != out.data()) std::memcpy(out.data(), p, len);
    return out;
}

Flow make_flow(ddp::Device& dev, const testlib::FlowSpec& spec, uint32_t mss, uint64_t seed, uint16_t queue,
               const testlib::FaultPlan& faults) {
    Flow f;
    testlib::ReadStreamOptions so;
    so.commands = 20;
    so.min_len = 2000;
    so.max_len = 50000;
    so.data_digest = true;
    so.other_pdu_rate = 0.2;
    so.seed = seed;
    testlib::FrameGenOptions fo;
    fo.flow = spec;
    fo.mss = mss;
    fo.first_seq = static_cast<uint32_t>(seed * 0x10000001u);
    f.stream = testlib::generate_read_stream(so);
    f.frames = testlib::generate_frames(f.stream.bytes, fo, faults);
    EXPECT_EQ(dev.add_connection(config_for(spec, so, fo.first_seq, queue), f.handle), ddp::Status::Ok);
    testlib::DdpHostModel::Options ho;
    ho.data_digest = true;
    ho.first_seq = fo.first_seq;
    ho.segments_per_buffer = 3;
    ho.ipv6 = spec.ipv6;
    f.host = std::make_unique<testlib::DdpHostModel>(&dev, f.handle, ho);
    for (const auto& r : f.stream.reads) f.host->register_read(r.cid, static_cast<uint32_t>(r.data.size()));
    return f;
}

void pump(uint16_t port, uint16_t q, Flow& f, size_t burst, int rx_q, size_t seg) {
    const auto rq = static_cast<uint16_t>(rx_q < 0 ? q : rx_q);
    const auto& frames = f.frames.frames;
    for (size_t i = 0; i < frames.size(); i += burst) {
        const size_t n = std::min(burst, frames.size() - i);
        rte_mbuf* tx[64];
        for (size_t k = 0; k < n; ++k) {
            tx[k] = to_mbuf(frames[i + k].bytes, seg);
            ASSERT_NE(tx[k], nullptr) << "mbuf pool exhausted";
        }
        ASSERT_EQ(rte_eth_tx_burst(port, q, tx, static_cast<uint16_t>(n)), n);
        rte_mbuf* rx[64];
        size_t got = 0;
        for (int spins = 0; got < n && spins < 1000000; ++spins) {
            got += rte_eth_rx_burst(port, rq, rx + got, static_cast<uint16_t>(n - got));
        }
        ASSERT_EQ(got, n) << "frames sent on tx queue " << q << " did not come back on rx queue " << rq;
        for (size_t k = 0; k < n; ++k) {
            const auto& truth = frames[i + k].truth;
            const std::vector<uint8_t> frame = payload_of(rx[k], 0, rx[k]->pkt_len);
            f.host->on_frame(frame, truth.layout, pmd::MbufMeta::has(rx[k]) ? pmd::MbufMeta::get(rx[k]) : nullptr);
            rte_pktmbuf_free(rx[k]);
        }
        // (teardowns are synchronous here: the engine ran inside rx_burst, on this thread)
    }
}

std::unique_ptr<pmd::OffloadPort> attach(uint16_t port, uint16_t rx_queues, std::vector<std::string>* log) {
    pmd::OffloadPortOptions o;
    o.port_id = port;
    o.rx_queues = rx_queues;
    o.log = [log](const std::string& l) {
        if (log != nullptr) log->push_back(l);
    };
    std::string err;
    auto offload = pmd::OffloadPort::attach(o, err);
    EXPECT_NE(offload, nullptr) << err;
    return offload;
}

bool all_correct(const Flow& f) {
    for (const auto& r : f.stream.reads) {
        if (f.host->contents(r.cid) != r.data || !f.host->guards_intact(r.cid)) return false;
    }
    return true;
}

}  // namespace nvmeddp::dpdk_test
