// net_nvmeddp stacked on a lower port (port=<name>): the lower port is owned and hidden, configured
// through ours, and what it receives is steered, marked and checksum-checked by ours; tx goes out
// through it. The lower port here is a net_ring port whose tx queue q feeds its own rx queue q.
// Also: its devargs, read without an EAL, and refused at probe with a log line naming the fault.
#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cstdio>
#include <string>
#include <vector>

#include "ddp/device_registry.hpp"
#include "dpdk_test_support.hpp"
#include "pmd/dpdk/connection_flow_pattern.hpp"
#include "pmd/dpdk/mbuf_meta.hpp"
#include "pmd/dpdk/offload_port.hpp"
#include "pmd/net_nvmeddp/vdev_args.hpp"
#include "testlib/frame_gen.hpp"

using namespace nvmeddp;
using namespace nvmeddp::dpdk_test;

namespace {

// A ring port nobody has configured yet (net_nvmeddp configures it), with `queues` queue pairs.
uint16_t unconfigured_ring_port(const std::string& name, uint16_t queues) {
    std::vector<rte_ring*> rings;
    for (uint16_t q = 0; q < queues; ++q) {
        rings.push_back(rte_ring_create((name + "_r" + std::to_string(q)).c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ));
        if (rings.back() == nullptr) return UINT16_MAX;
    }
    const int port = rte_eth_from_rings(name.c_str(), rings.data(), queues, rings.data(), queues, 0);
    return port < 0 ? UINT16_MAX : static_cast<uint16_t>(port);
}

std::string port_name(uint16_t port) {
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    rte_eth_dev_get_name_by_port(port, name);
    return name;
}

bool listed(uint16_t port) {
    uint16_t p = 0;
    RTE_ETH_FOREACH_DEV(p) {
        if (p == port) return true;
    }
    return false;
}

// The rule for the frames of `flow` (sent by its src to its dst) -> QUEUE(queue) + MARK(mark).
rte_flow* steer(uint16_t port, const testlib::FlowSpec& flow, uint16_t queue, uint32_t mark) {
    rte_flow_attr attr{};
    attr.ingress = 1;
    ddp::ConnectionTuple tuple;
    tuple.family = ddp::IpFamily::Ipv4;
    std::copy(flow.dst_ip.begin(), flow.dst_ip.end(), tuple.local_addr.begin());
    std::copy(flow.src_ip.begin(), flow.src_ip.end(), tuple.remote_addr.begin());
    tuple.local_port = flow.dst_port;
    tuple.remote_port = flow.src_port;
    const pmd::ConnectionFlowPattern pattern(tuple);
    rte_flow_action_queue to{queue};
    rte_flow_action_mark id{mark};
    rte_flow_action actions[3]{};
    actions[0] = {RTE_FLOW_ACTION_TYPE_QUEUE, &to};
    actions[1] = {RTE_FLOW_ACTION_TYPE_MARK, &id};
    actions[2].type = RTE_FLOW_ACTION_TYPE_END;
    rte_flow_error error{};
    rte_flow* rule = rte_flow_create(port, &attr, pattern.items(), actions, &error);
    EXPECT_NE(rule, nullptr) << (error.message != nullptr ? error.message : "no reason");
    return rule;
}

std::vector<uint8_t> tcp_frame(const testlib::FlowSpec& flow, uint32_t seq) {
    std::vector<uint8_t> payload(300, static_cast<uint8_t>(seq));
    testlib::TcpFields tcp;
    tcp.seq = seq;
    return testlib::build_frame(flow, tcp, payload).bytes;
}

void send(uint16_t port, uint16_t q, const std::vector<uint8_t>& frame) {
    rte_mbuf* m = to_mbuf(frame);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(rte_eth_tx_burst(port, q, &m, 1), 1);
}

std::vector<rte_mbuf*> receive(uint16_t port, uint16_t q) {
    std::vector<rte_mbuf*> got(64);
    got.resize(rte_eth_rx_burst(port, q, got.data(), static_cast<uint16_t>(got.size())));
    return got;
}

void free_all(std::vector<rte_mbuf*>& v) {
    for (rte_mbuf* m : v) rte_pktmbuf_free(m);
    v.clear();
}

uint64_t xstat(uint16_t port, const char* name) {
    uint64_t id = 0, value = 0;
    if (rte_eth_xstats_get_id_by_name(port, name, &id) != 0) return UINT64_MAX;
    if (rte_eth_xstats_get_by_id(port, &id, &value, 1) != 1) return UINT64_MAX;
    return value;
}

// What the PMD logged while `fn` ran.
template <typename Fn>
std::string logged_during(Fn fn) {
    char* text = nullptr;
    size_t size = 0;
    FILE* mem = open_memstream(&text, &size);
    rte_openlog_stream(mem);
    fn();
    rte_openlog_stream(nullptr);
    std::fclose(mem);
    std::string s(text != nullptr ? text : "");
    std::free(text);
    return s;
}

// Sends a flow's frames on tx queue 0 (the lower ring port receives them on its queue 0) and hands
// what rx queue 1 returns to the host model. Polling rx queue 0 is what passes them on to queue 1,
// as an application polls every queue; queue 0 itself must deliver none of them.
void pump_steered_to_queue1(uint16_t port, Flow& f) {
    const auto& frames = f.frames.frames;
    for (size_t i = 0; i < frames.size(); i += 16) {
        const size_t n = std::min<size_t>(16, frames.size() - i);
        rte_mbuf* burst[16];
        for (size_t k = 0; k < n; ++k) {
            burst[k] = to_mbuf(frames[i + k].bytes);
            ASSERT_NE(burst[k], nullptr);
        }
        ASSERT_EQ(rte_eth_tx_burst(port, 0, burst, static_cast<uint16_t>(n)), n);
        ASSERT_EQ(rte_eth_rx_burst(port, 0, burst, 16), 0) << "a steered connection's frame stayed on queue 0";
        ASSERT_EQ(rte_eth_rx_burst(port, 1, burst, 16), n);
        for (size_t k = 0; k < n; ++k) {
            const std::vector<uint8_t> frame = payload_of(burst[k], 0, burst[k]->pkt_len);
            f.host->on_frame(frame, frames[i + k].truth.layout, pmd::MbufMeta::has(burst[k]) ? pmd::MbufMeta::get(burst[k]) : nullptr);
            rte_pktmbuf_free(burst[k]);
        }
    }
}

}  // namespace

TEST(NicStacked, OwnsTheLowerPortAndSteersWhatItReceives) {
    REQUIRE_EAL();
    const uint16_t lower = unconfigured_ring_port("stk_lower0", 2);
    ASSERT_NE(lower, UINT16_MAX);
    ASSERT_EQ(rte_vdev_init("net_nvmeddp_stk0", ("port=" + port_name(lower)).c_str()), 0);
    uint16_t port = 0;
    ASSERT_EQ(rte_eth_dev_get_port_by_name("net_nvmeddp_stk0", &port), 0);
    EXPECT_TRUE(listed(port));
    EXPECT_FALSE(listed(lower)) << "the lower port must be owned by net_nvmeddp, hidden from applications";
    rte_ether_addr ours{}, theirs{};
    rte_eth_macaddr_get(port, &ours);
    rte_eth_macaddr_get(lower, &theirs);
    EXPECT_TRUE(rte_is_same_ether_addr(&ours, &theirs));

    // More tx queues than the lower port has: refused (it would have to share one between lcores).
    rte_eth_conf conf{};
    EXPECT_NE(rte_eth_dev_configure(port, 2, 3, &conf), 0);

    pmd::PortSetup s;
    s.port_id = port;
    s.rx_queues = 3;  // one more than the lower port: it receives only what rules steer to it
    s.tx_queues = 2;
    s.pool = pool();
    ASSERT_EQ(pmd::configure_port(s), "");
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(lower, &info), 0);
    rte_eth_link link{};
    ASSERT_EQ(rte_eth_link_get_nowait(port, &link), 0);
    EXPECT_EQ(link.link_status, RTE_ETH_LINK_UP);

    auto to_q1 = testlib::ipv4_flow();
    auto to_q2 = testlib::ipv4_flow();
    to_q2.dst_port = 40001;
    auto no_rule = testlib::ipv4_flow();
    no_rule.dst_port = 40002;
    ASSERT_NE(steer(port, to_q1, 1, 7), nullptr);
    ASSERT_NE(steer(port, to_q2, 2, 8), nullptr);

    // All sent on tx queue 0: the lower ring port receives them all on its rx queue 0.
    for (uint32_t i = 0; i < 4; ++i) {
        send(port, 0, tcp_frame(to_q1, 1000 + 300 * i));
        send(port, 0, tcp_frame(to_q2, 5000 + 300 * i));
        send(port, 0, tcp_frame(no_rule, 9000 + 300 * i));
    }
    auto q0 = receive(port, 0);  // polls the lower queue 0 and passes frames on to queues 1 and 2
    ASSERT_EQ(q0.size(), 4u);
    for (rte_mbuf* m : q0) EXPECT_EQ(m->ol_flags & RTE_MBUF_F_RX_FDIR_ID, 0u) << "no rule, no mark";
    auto q1 = receive(port, 1);
    auto q2 = receive(port, 2);
    ASSERT_EQ(q1.size(), 4u);
    ASSERT_EQ(q2.size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
        ASSERT_NE(q1[i]->ol_flags & RTE_MBUF_F_RX_FDIR_ID, 0u);
        EXPECT_EQ(q1[i]->hash.fdir.hi, 7u);
        EXPECT_EQ(q2[i]->hash.fdir.hi, 8u);
        EXPECT_EQ(q1[i]->port, port);
        // In order, as sent.
        EXPECT_EQ(payload_of(q1[i], q1[i]->pkt_len - 1, 1)[0], static_cast<uint8_t>(1000 + 300 * i));
        EXPECT_EQ(payload_of(q2[i], q2[i]->pkt_len - 1, 1)[0], static_cast<uint8_t>(5000 + 300 * i));
    }
    free_all(q0);
    free_all(q1);
    free_all(q2);
    EXPECT_EQ(xstat(port, "rx_steered_to_other_queue_packets"), 8u);
    EXPECT_EQ(xstat(port, "rx_q1_packets"), 4u);
    rte_eth_stats st{};
    ASSERT_EQ(rte_eth_stats_get(port, &st), 0);
    EXPECT_EQ(st.ipackets, 12u);
    EXPECT_EQ(st.opackets, 12u);

    // The ring port checks no checksums: ours does, in software, when the application asks.
    // configure_port() asked; a frame with a payload byte changed is reported BAD.
    auto bad = tcp_frame(no_rule, 1);
    bad.back() ^= 0x01;
    send(port, 1, bad);
    auto got = receive(port, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_BAD);
    free_all(got);

    // A caller taking one frame at a time still gets them all, in order: the port polls the lower
    // queue a full burst at a time and keeps what the caller did not take.
    for (uint32_t i = 0; i < 5; ++i) send(port, 0, tcp_frame(no_rule, 100 + i));
    for (uint32_t i = 0; i < 5; ++i) {
        rte_mbuf* one = nullptr;
        ASSERT_EQ(rte_eth_rx_burst(port, 0, &one, 1), 1) << "frame " << i;
        EXPECT_EQ(payload_of(one, one->pkt_len - 1, 1)[0], static_cast<uint8_t>(100 + i));
        rte_pktmbuf_free(one);
    }
    rte_mbuf* none = nullptr;
    EXPECT_EQ(rte_eth_rx_burst(port, 0, &none, 1), 0);

    // Stop drops what was steered and not yet received.
    send(port, 0, tcp_frame(to_q1, 1));
    got = receive(port, 0);
    EXPECT_TRUE(got.empty());
    ASSERT_EQ(rte_eth_dev_stop(port), 0);
    ASSERT_EQ(rte_eth_dev_start(port), 0);
    got = receive(port, 1);
    EXPECT_TRUE(got.empty()) << "a frame queued before stop was delivered after start";
    free_all(got);

    // Closing ours closes the lower port as well.
    ASSERT_EQ(rte_eth_dev_stop(port), 0);
    ASSERT_EQ(rte_eth_dev_close(port), 0);
    EXPECT_FALSE(rte_eth_dev_is_valid_port(lower));
    EXPECT_EQ(rte_vdev_uninit("net_nvmeddp_stk0"), 0);
}

// ddp=on (the default when stacked): the port runs the offload on its queues, registered for hosts
// to find, and its statistics are the port's xstats under Linux's ULP DDP names.
TEST(NicStacked, RunsTheOffloadOnItsOwnQueues) {
    REQUIRE_EAL();
    const uint16_t lower = unconfigured_ring_port("stk_lower2", 2);
    ASSERT_NE(lower, UINT16_MAX);
    ASSERT_EQ(rte_vdev_init("net_nvmeddp_stk2", ("port=" + port_name(lower) + ",ddp_max_io=1M").c_str()), 0);
    uint16_t port = 0;
    ASSERT_EQ(rte_eth_dev_get_port_by_name("net_nvmeddp_stk2", &port), 0);
    EXPECT_EQ(ddp::find_device("nvmeddp-sw:net_nvmeddp_stk2"), nullptr) << "no offload before the port starts";
    EXPECT_EQ(xstat(port, "rx_nvme_tcp_sk_add"), UINT64_MAX);
    pmd::PortSetup s;
    s.port_id = port;
    s.rx_queues = s.tx_queues = 2;
    s.pool = pool();
    ASSERT_EQ(pmd::configure_port(s), "");
    ddp::Device* dev = ddp::find_device("nvmeddp-sw:net_nvmeddp_stk2");
    ASSERT_NE(dev, nullptr) << "the started port registers its offload";
    EXPECT_EQ(dev->limits().rx_queues, 2);
    EXPECT_EQ(dev->limits().max_io_size, 1u << 20);

    // A connection offloaded on queue 1: the port's own rule steers it there, and every read's bytes
    // arrive right in the host model's buffers.
    auto spec = testlib::ipv4_flow();
    Flow f = make_flow(*dev, spec, 1460, 11, 1);
    pump_steered_to_queue1(port, f);
    EXPECT_TRUE(all_correct(f));
    const ddp::Stats st = dev->stats();
    EXPECT_EQ(xstat(port, "rx_nvme_tcp_sk_add"), 1u);
    EXPECT_GT(st.placed_bytes, 0u);
    EXPECT_EQ(xstat(port, "rx_nvme_tcp_bytes"), st.placed_bytes);
    EXPECT_EQ(xstat(port, "rx_nvme_tcp_packets"), st.placed_packets);
    EXPECT_EQ(xstat(port, "rx_nvme_tcp_setup"), st.setup);
    EXPECT_EQ(xstat(port, "rx_steered_to_other_queue_packets"), f.frames.frames.size());
    // Removal completes when queue 1's engine next runs (or, once the port closes, on the control path).
    EXPECT_EQ(dev->remove_connection(f.handle), ddp::Status::InProgress);
    rte_mbuf* none[4];
    EXPECT_EQ(rte_eth_rx_burst(port, 1, none, 4), 0);
    dev->poll_all();
    EXPECT_EQ(xstat(port, "rx_nvme_tcp_sk_del"), 1u);

    ASSERT_EQ(rte_eth_dev_stop(port), 0);
    ASSERT_EQ(rte_eth_dev_close(port), 0);
    EXPECT_EQ(ddp::find_device("nvmeddp-sw:net_nvmeddp_stk2"), nullptr) << "closing the port unregisters its offload";
    EXPECT_EQ(rte_vdev_uninit("net_nvmeddp_stk2"), 0);
}

// The lower port spreads frames over its queues its own way (af_packet: the kernel's fanout), so a
// queue's frames may land in another queue's lower queue. While that queue's own poller comes by,
// it passes them on; once it has been away for a while (its lcore stopped), the next poller of any
// queue adopts that lower queue, and the frames still reach the queue their rule names.
TEST(NicStacked, ALowerQueueWhosePollerIsAwayIsAdoptedByAnother) {
    REQUIRE_EAL();
    const uint16_t lower = unconfigured_ring_port("stk_lower3", 2);
    ASSERT_NE(lower, UINT16_MAX);
    ASSERT_EQ(rte_vdev_init("net_nvmeddp_stk3", ("port=" + port_name(lower) + ",ddp=off").c_str()), 0);
    uint16_t port = 0;
    ASSERT_EQ(rte_eth_dev_get_port_by_name("net_nvmeddp_stk3", &port), 0);
    pmd::PortSetup s;
    s.port_id = port;
    s.rx_queues = s.tx_queues = 2;
    s.pool = pool();
    ASSERT_EQ(pmd::configure_port(s), "");
    const auto to_q0 = testlib::ipv4_flow();
    ASSERT_NE(steer(port, to_q0, 0, 5), nullptr);

    auto q1 = receive(port, 1);  // queue 1's poller was here just now
    const auto polled = std::chrono::steady_clock::now();
    EXPECT_TRUE(q1.empty());
    const uint64_t adopted = xstat(port, "rx_lower_queue_adopted_polls");  // (queue 1 adopted lower queue 0, never polled)
    send(port, 1, tcp_frame(to_q0, 77));  // lands in lower queue 1: queue 0's frame in queue 1's lower queue
    auto q0 = receive(port, 0);
    // (Judged only when this thread was not held up past the 500 us a poller may be away.)
    if (std::chrono::steady_clock::now() - polled < std::chrono::microseconds(300)) {
        EXPECT_TRUE(q0.empty()) << "lower queue 1 was adopted although its own poller had just polled it";
        EXPECT_EQ(xstat(port, "rx_lower_queue_adopted_polls"), adopted);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // queue 1's poller is away
    if (q0.empty()) q0 = receive(port, 0);  // (held up past 500 us above: adopted there already)
    ASSERT_EQ(q0.size(), 1u) << "queue 0's frame stayed in lower queue 1, whose poller is away";
    EXPECT_EQ(q0[0]->hash.fdir.hi, 5u);
    EXPECT_EQ(payload_of(q0[0], q0[0]->pkt_len - 1, 1)[0], 77u);
    EXPECT_EQ(xstat(port, "rx_lower_queue_adopted_polls"), adopted + 1);
    free_all(q0);
    ASSERT_EQ(rte_eth_dev_stop(port), 0);
    ASSERT_EQ(rte_eth_dev_close(port), 0);
    EXPECT_EQ(rte_vdev_uninit("net_nvmeddp_stk3"), 0);
}

TEST(NicStacked, BadDevargsAreRefusedNamingTheFault) {
    REQUIRE_EAL();
    std::string log = logged_during([] { EXPECT_NE(rte_vdev_init("net_nvmeddp_bad0", "rx_mark=on,colour=blue"), 0); });
    EXPECT_NE(log.find("unknown devarg 'colour'"), std::string::npos) << log;
    log = logged_during([] { EXPECT_NE(rte_vdev_init("net_nvmeddp_bad1", "port=no_such_port_or_iface"), 0); });
    EXPECT_NE(log.find("port=no_such_port_or_iface is neither"), std::string::npos) << log;
    const uint16_t lower = unconfigured_ring_port("stk_lower1", 1);
    ASSERT_NE(lower, UINT16_MAX);
    ASSERT_EQ(rte_vdev_init("net_nvmeddp_owner", ("port=" + port_name(lower)).c_str()), 0);
    log = logged_during([&] { EXPECT_NE(rte_vdev_init("net_nvmeddp_bad2", ("port=" + port_name(lower)).c_str()), 0); });
    EXPECT_NE(log.find("owned by net_nvmeddp_owner"), std::string::npos) << log;
    uint16_t port = 0;
    EXPECT_NE(rte_eth_dev_get_port_by_name("net_nvmeddp_bad2", &port), 0) << "a refused vdev left a port behind";
    EXPECT_EQ(rte_vdev_uninit("net_nvmeddp_owner"), 0);
    EXPECT_FALSE(rte_eth_dev_is_valid_port(lower));
}

TEST(NicDevargs, AreReadAndRefusedWithTheirReason) {
    pmd::VdevArgs a;
    std::string error;
    ASSERT_TRUE(pmd::parse_vdev_args(nullptr, a, error));
    EXPECT_FALSE(a.stacked());
    ASSERT_TRUE(pmd::parse_vdev_args("port=veth1,queues=4,rx_mark=off", a, error)) << error;
    EXPECT_EQ(a.port, "veth1");
    EXPECT_EQ(a.iface_queues, 4);
    EXPECT_EQ(a.mark_mode, pmd::MarkMode::Off);
    ASSERT_TRUE(pmd::parse_vdev_args("mode=loopback,rx_mark=silent", a, error)) << error;
    EXPECT_FALSE(a.stacked());
    EXPECT_EQ(a.mark_mode, pmd::MarkMode::Silent);
    EXPECT_FALSE(a.ddp_enabled()) << "loopback ports run no offload unless asked";
    ASSERT_TRUE(pmd::parse_vdev_args("port=x,ddp_io_threshold=32K,ddp_max_io=2M", a, error)) << error;
    EXPECT_TRUE(a.ddp_enabled()) << "a stacked port runs the offload by default";
    EXPECT_EQ(a.ddp_io_threshold, 32u << 10);
    EXPECT_EQ(a.ddp_max_io, 2u << 20);
    ASSERT_TRUE(pmd::parse_vdev_args("port=x,ddp=off", a, error)) << error;
    EXPECT_FALSE(a.ddp_enabled());
    EXPECT_TRUE(a.tso && a.lro) << "a loopback port offers TSO and LRO unless told not to";
    ASSERT_TRUE(pmd::parse_vdev_args("mode=loopback,tso=off,lro=off", a, error)) << error;
    EXPECT_FALSE(a.tso);
    EXPECT_FALSE(a.lro);
    ASSERT_TRUE(pmd::parse_vdev_args("tso=on,lro=on", a, error)) << error;
    EXPECT_TRUE(a.tso && a.lro);
    ASSERT_TRUE(pmd::parse_vdev_args("port=veth1,tso=off,lro=off", a, error)) << error;
    EXPECT_FALSE(a.tso || a.lro) << "stacked, they are done in software over a lower port without them";

    const std::pair<const char*, const char*> refused[] = {
        {"colour=blue", "unknown devarg 'colour'"},
        {"rx_mark=maybe", "rx_mark='maybe'"},
        {"mode=ring", "mode='ring'"},
        {"port=a,port=b", "'port' given more than once"},
        {"port=veth1,queues=0", "queues='0'"},
        {"port=veth1,queues=17", "queues='17'"},
        {"port=veth1,queues=2x", "queues='2x'"},
        {"queues=2", "only with port="},
        {"port=veth1,mode=loopback", "exclude each other"},
        {"port=", "port= needs"},
        {"ddp=yes", "ddp='yes'"},
        {"ddp_io_threshold=1G", "ddp_io_threshold='1G'"},
        {"ddp_io_threshold=17592186044417M", "ddp_io_threshold='17592186044417M'"},  // wraps if shifted first
        {"ddp_max_io=1025M", "ddp_max_io='1025M'"},
        {"ddp_max_io=-1", "ddp_max_io='-1'"},
        {"ddp_io_threshold=64K,ddp_max_io=32K", "must not exceed"},
        {"ddp_max_io=0", "must not be 0"},
        {"tso=yes", "tso='yes'"},
        {"lro=", "lro='' is not on or off"},
        {"tso=on,tso=off", "'tso' given more than once"},
    };
    for (const auto& [args, why] : refused) {
        error.clear();
        EXPECT_FALSE(pmd::parse_vdev_args(args, a, error)) << args;
        EXPECT_NE(error.find(why), std::string::npos) << args << ": " << error;
    }
}
