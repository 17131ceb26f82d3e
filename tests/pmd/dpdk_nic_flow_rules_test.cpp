// net_nvmeddp's rte_flow as an application sees it (rte_flow_validate / create / destroy / flush /
// query), with frames sent through a loopback net_nvmeddp port to see what the rules do: the error
// type and cause of each refusal (attributes, masks, ranges, duplicate actions, RSS over several
// queues), priorities, COUNT with reset, DROP, stale handles after destroy and flush, rules kept
// across stop/start, and the full table of 65536 rules.
#include <gtest/gtest.h>
#include <rte_errno.h>
#include <rte_bus_vdev.h>
#include <rte_ethdev.h>
#include <rte_flow.h>

#include <array>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "dpdk_test_support.hpp"
#include "flow_items.hpp"
#include "testlib/frame_gen.hpp"

using namespace nvmeddp;
using namespace nvmeddp::dpdk_test;

namespace {

constexpr uint16_t kQueues = 2;

testlib::FlowSpec flow_no(uint32_t i) {
    testlib::FlowSpec f;
    f.src_ip = {10, uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)};
    f.dst_ip = {192, 0, 2, 2};
    f.src_port = 4420;
    f.dst_port = 40000;
    return f;
}

// The specs of one flow's rule (default masks: none given) and the confs of the actions a test uses.
struct RuleParts {
    rte_flow_attr attr{};
    rte_flow_item_ipv4 ip{};
    rte_flow_item_tcp tcp{};
    rte_flow_action_queue queue0{0}, queue1{1};
    rte_flow_action_mark mark{0};
    rte_flow_action_count count{};
    uint16_t one_queue[1] = {1};
    uint16_t two_queues[2] = {0, 1};
    rte_flow_action_rss rss_one{}, rss_two{};

    explicit RuleParts(const testlib::FlowSpec& f, uint32_t priority = 0) {
        attr.ingress = 1;
        attr.priority = priority;
        std::memcpy(&ip.hdr.src_addr, f.src_ip.data(), 4);
        std::memcpy(&ip.hdr.dst_addr, f.dst_ip.data(), 4);
        tcp.hdr.src_port = rte_cpu_to_be_16(f.src_port);
        tcp.hdr.dst_port = rte_cpu_to_be_16(f.dst_port);
        rss_one.queue_num = 1;
        rss_one.queue = one_queue;
        rss_two.queue_num = 2;
        rss_two.queue = two_queues;
    }
    std::vector<rte_flow_item> pattern() const {
        return {item(RTE_FLOW_ITEM_TYPE_ETH), item(RTE_FLOW_ITEM_TYPE_IPV4, &ip), item(RTE_FLOW_ITEM_TYPE_TCP, &tcp),
                item(RTE_FLOW_ITEM_TYPE_END)};
    }
};

// Everything an application learns from one refusal.
struct Refusal {
    int rc = 0;
    int rte_errno_value = 0;
    rte_flow_error error{};
};

Refusal validate(uint16_t port, const rte_flow_attr& attr, const std::vector<rte_flow_item>& pattern,
                 const std::vector<rte_flow_action>& actions) {
    Refusal r;
    r.rc = rte_flow_validate(port, &attr, pattern.data(), actions.data(), &r.error);
    r.rte_errno_value = rte_errno;
    // create agrees: refuses for the same reason, or makes the rule (removed again here)
    rte_flow_error error{};
    rte_flow* flow = rte_flow_create(port, &attr, pattern.data(), actions.data(), &error);
    EXPECT_EQ(flow == nullptr, r.rc != 0);
    if (flow != nullptr) {
        EXPECT_EQ(rte_flow_destroy(port, flow, &error), 0);
    } else {
        EXPECT_EQ(error.type, r.error.type);
    }
    return r;
}

#define EXPECT_REFUSED_AS(r, code, error_type, what)                                        \
    do {                                                                                   \
        const Refusal& r_ = (r);                                                           \
        EXPECT_EQ(r_.rc, -(code)) << (r_.error.message ? r_.error.message : "");           \
        EXPECT_EQ(r_.error.type, (error_type)) << (r_.error.message ? r_.error.message : ""); \
        EXPECT_EQ(r_.error.cause, static_cast<const void*>(what));                          \
        EXPECT_NE(r_.error.message, nullptr);                                              \
    } while (0)

#define EXPECT_VALID(r)                                                            \
    do {                                                                           \
        const Refusal& r_ = (r);                                                   \
        EXPECT_EQ(r_.rc, 0) << (r_.error.message ? r_.error.message : "");         \
    } while (0)

struct Arrival {
    int queue = -1;  // -1: on no rx queue
    bool marked = false;
    uint32_t mark = 0;
    uint32_t bytes = 0;
};

// Sends the frames of `flows` through tx queue 0 and returns, for each, where it arrived (frames are
// told apart by their IPv4 identification, the low 16 bits of the TCP sequence number).
std::vector<Arrival> send(uint16_t port, const std::vector<testlib::FlowSpec>& flows) {
    std::vector<Arrival> out(flows.size());
    const std::vector<uint8_t> payload(100, 0x5A);
    for (size_t at = 0; at < flows.size();) {
        const size_t n = std::min<size_t>(32, flows.size() - at);
        std::array<rte_mbuf*, 32> tx{};
        for (size_t i = 0; i < n; ++i) {
            testlib::TcpFields tcp;
            tcp.seq = static_cast<uint32_t>(i);
            const auto frame = testlib::build_frame(flows[at + i], tcp, payload).bytes;
            out[at + i].bytes = static_cast<uint32_t>(frame.size());
            tx[i] = to_mbuf(frame);
            EXPECT_NE(tx[i], nullptr);
            if (tx[i] == nullptr) return out;
        }
        EXPECT_EQ(rte_eth_tx_burst(port, 0, tx.data(), static_cast<uint16_t>(n)), n);
        for (uint16_t q = 0; q < kQueues; ++q) {
            std::array<rte_mbuf*, 32> rx{};
            const uint16_t got = rte_eth_rx_burst(port, q, rx.data(), 32);
            for (uint16_t k = 0; k < got; ++k) {
                const uint8_t* ip = rte_pktmbuf_mtod_offset(rx[k], const uint8_t*, 14);
                const size_t i = static_cast<size_t>(ip[4] << 8 | ip[5]);  // the IPv4 identification
                if (i < n) {
                    Arrival& a = out[at + i];
                    a.queue = q;
                    a.marked = (rx[k]->ol_flags & RTE_MBUF_F_RX_FDIR_ID) != 0;
                    a.mark = a.marked ? rx[k]->hash.fdir.hi : 0;
                }
                rte_pktmbuf_free(rx[k]);
            }
        }
        at += n;
    }
    return out;
}

Arrival send_one(uint16_t port, const testlib::FlowSpec& f) { return send(port, {f})[0]; }

uint64_t xstat(uint16_t port, const char* name) {
    uint64_t id = 0, value = 0;
    EXPECT_EQ(rte_eth_xstats_get_id_by_name(port, name, &id), 0) << name;
    EXPECT_EQ(rte_eth_xstats_get_by_id(port, &id, &value, 1), 1);
    return value;
}

// A loopback net_nvmeddp port with two queues, removed again when the test ends: the binary's tests
// together would otherwise run out of ports (RTE_MAX_ETHPORTS).
class RulesNic {
public:
    explicit RulesNic(std::string name) : name_(std::move(name)), id_(nvmeddp_nic(name_, kQueues)) {
        EXPECT_NE(id_, UINT16_MAX) << "net_nvmeddp vdev not available";
    }
    ~RulesNic() {
        if (id_ != UINT16_MAX) {
            EXPECT_EQ(rte_vdev_uninit(name_.c_str()), 0);
        }
    }
    RulesNic(const RulesNic&) = delete;
    RulesNic& operator=(const RulesNic&) = delete;
    operator uint16_t() const { return id_; }

private:
    std::string name_;
    uint16_t id_;
};

rte_flow* create(uint16_t port, const RuleParts& p, const std::vector<rte_flow_action>& actions) {
    rte_flow_error error{};
    rte_flow* flow = rte_flow_create(port, &p.attr, p.pattern().data(), actions.data(), &error);
    EXPECT_NE(flow, nullptr) << (error.message ? error.message : "");
    return flow;
}

const auto kEnd = action(RTE_FLOW_ACTION_TYPE_END);

}  // namespace

TEST(NicFlowRules, AttributesAreRefusedWithTheirOwnErrorTypes) {
    REQUIRE_EAL();
    const RulesNic port("net_nvmeddp_attr");
    ASSERT_NE(port, UINT16_MAX);
    RuleParts p(flow_no(1));
    const std::vector<rte_flow_action> acts{action(RTE_FLOW_ACTION_TYPE_QUEUE, &p.queue1), kEnd};
    rte_flow_attr attr = p.attr;
    attr.egress = 1;
    EXPECT_REFUSED_AS(validate(port, attr, p.pattern(), acts), ENOTSUP, RTE_FLOW_ERROR_TYPE_ATTR_EGRESS, &attr);
    attr = p.attr;
    attr.ingress = 0;  // ethdev's validate refuses transfer with ingress itself
    attr.transfer = 1;
    EXPECT_REFUSED_AS(validate(port, attr, p.pattern(), acts), ENOTSUP, RTE_FLOW_ERROR_TYPE_ATTR_TRANSFER, &attr);
    attr = p.attr;
    attr.group = 1;
    EXPECT_REFUSED_AS(validate(port, attr, p.pattern(), acts), ENOTSUP, RTE_FLOW_ERROR_TYPE_ATTR_GROUP, &attr);
    attr = p.attr;
    attr.ingress = 0;
    EXPECT_REFUSED_AS(validate(port, attr, p.pattern(), acts), EINVAL, RTE_FLOW_ERROR_TYPE_ATTR_INGRESS, &attr);
    attr = p.attr;
    attr.priority = 0xFFFFFFFF;  // any priority is a priority
    EXPECT_VALID(validate(port, attr, p.pattern(), acts));
}

TEST(NicFlowRules, MasksAndRangesAreRefusedNamingTheItem) {
    REQUIRE_EAL();
    const RulesNic port("net_nvmeddp_masks");
    ASSERT_NE(port, UINT16_MAX);
    RuleParts p(flow_no(2));
    const std::vector<rte_flow_action> acts{action(RTE_FLOW_ACTION_TYPE_QUEUE, &p.queue1), kEnd};
    // NULL masks everywhere: the default masks, which are exactly what the NIC matches.
    EXPECT_VALID(validate(port, p.attr, p.pattern(), acts));
    rte_flow_item_vlan vlan{};
    vlan.hdr.vlan_tci = rte_cpu_to_be_16(100);
    EXPECT_VALID(validate(port, p.attr,
                          {item(RTE_FLOW_ITEM_TYPE_ETH), item(RTE_FLOW_ITEM_TYPE_VLAN, &vlan), item(RTE_FLOW_ITEM_TYPE_IPV4, &p.ip),
                           item(RTE_FLOW_ITEM_TYPE_TCP, &p.tcp), item(RTE_FLOW_ITEM_TYPE_END)},
                          acts));

    // ETH with a spec and no mask: the default mask is both MAC addresses.
    rte_flow_item_eth eth{};
    auto pat = p.pattern();
    pat[0] = item(RTE_FLOW_ITEM_TYPE_ETH, &eth);
    EXPECT_REFUSED_AS(validate(port, p.attr, pat, acts), ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, &pat[0]);
    // ETH type as the IPV4 item implies: accepted; another type: refused.
    rte_flow_item_eth eth_type_mask{}, eth_ipv4{}, eth_ipv6{};
    eth_type_mask.hdr.ether_type = 0xFFFF;
    eth_ipv4.hdr.ether_type = rte_cpu_to_be_16(0x0800);
    eth_ipv6.hdr.ether_type = rte_cpu_to_be_16(0x86DD);
    pat[0] = item(RTE_FLOW_ITEM_TYPE_ETH, &eth_ipv4, &eth_type_mask);
    EXPECT_VALID(validate(port, p.attr, pat, acts));
    pat[0] = item(RTE_FLOW_ITEM_TYPE_ETH, &eth_ipv6, &eth_type_mask);
    EXPECT_REFUSED_AS(validate(port, p.attr, pat, acts), ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, &pat[0]);

    // IPv4: a prefix instead of an address, a field the NIC does not match, the protocol TCP implies.
    pat = p.pattern();
    rte_flow_item_ipv4 prefix{}, tos{}, proto{};
    prefix.hdr.src_addr = rte_cpu_to_be_32(0xFFFFFF00);
    prefix.hdr.dst_addr = 0xFFFFFFFF;
    pat[1] = item(RTE_FLOW_ITEM_TYPE_IPV4, &p.ip, &prefix);
    EXPECT_REFUSED_AS(validate(port, p.attr, pat, acts), ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, &pat[1]);
    tos.hdr.src_addr = tos.hdr.dst_addr = 0xFFFFFFFF;
    tos.hdr.type_of_service = 0xFF;
    pat[1] = item(RTE_FLOW_ITEM_TYPE_IPV4, &p.ip, &tos);
    EXPECT_REFUSED_AS(validate(port, p.attr, pat, acts), ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, &pat[1]);
    proto.hdr.src_addr = proto.hdr.dst_addr = 0xFFFFFFFF;
    proto.hdr.next_proto_id = 0xFF;
    rte_flow_item_ipv4 ip_tcp = p.ip, ip_udp = p.ip;
    ip_tcp.hdr.next_proto_id = 6;
    ip_udp.hdr.next_proto_id = 17;
    pat[1] = item(RTE_FLOW_ITEM_TYPE_IPV4, &ip_tcp, &proto);
    EXPECT_VALID(validate(port, p.attr, pat, acts));
    pat[1] = item(RTE_FLOW_ITEM_TYPE_IPV4, &ip_udp, &proto);
    EXPECT_REFUSED_AS(validate(port, p.attr, pat, acts), ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, &pat[1]);

    // TCP flags.
    pat = p.pattern();
    rte_flow_item_tcp flags{};
    flags.hdr.src_port = flags.hdr.dst_port = 0xFFFF;
    flags.hdr.tcp_flags = 0x02;
    pat[2] = item(RTE_FLOW_ITEM_TYPE_TCP, &p.tcp, &flags);
    EXPECT_REFUSED_AS(validate(port, p.attr, pat, acts), ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, &pat[2]);

    // last: a range is refused; a last equal to the spec, or of zeros, is no range (rte_flow.h).
    rte_flow_item_tcp upper = p.tcp, zeros{};
    upper.hdr.dst_port = rte_cpu_to_be_16(40010);
    pat[2] = item(RTE_FLOW_ITEM_TYPE_TCP, &p.tcp, nullptr, &upper);
    EXPECT_REFUSED_AS(validate(port, p.attr, pat, acts), ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, &pat[2]);
    pat[2] = item(RTE_FLOW_ITEM_TYPE_TCP, &p.tcp, nullptr, &p.tcp);
    EXPECT_VALID(validate(port, p.attr, pat, acts));
    pat[2] = item(RTE_FLOW_ITEM_TYPE_TCP, &p.tcp, nullptr, &zeros);
    EXPECT_VALID(validate(port, p.attr, pat, acts));
    pat = p.pattern();
    rte_flow_item_ipv4 ip_upper = p.ip;
    ip_upper.hdr.src_addr = rte_cpu_to_be_32(0x0A0000FF);
    pat[1] = item(RTE_FLOW_ITEM_TYPE_IPV4, &p.ip, nullptr, &ip_upper);
    EXPECT_REFUSED_AS(validate(port, p.attr, pat, acts), ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, &pat[1]);
    rte_flow_item_vlan vlan_upper = vlan;
    vlan_upper.hdr.vlan_tci = rte_cpu_to_be_16(200);
    const std::vector<rte_flow_item> tagged{item(RTE_FLOW_ITEM_TYPE_ETH), item(RTE_FLOW_ITEM_TYPE_VLAN, &vlan, nullptr, &vlan_upper),
                                            item(RTE_FLOW_ITEM_TYPE_IPV4, &p.ip), item(RTE_FLOW_ITEM_TYPE_TCP, &p.tcp),
                                            item(RTE_FLOW_ITEM_TYPE_END)};
    EXPECT_REFUSED_AS(validate(port, p.attr, tagged, acts), ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, &tagged[1]);
    // ETH without a spec but with a last: a range of nothing.
    pat = p.pattern();
    pat[0] = item(RTE_FLOW_ITEM_TYPE_ETH, nullptr, nullptr, &eth);
    EXPECT_REFUSED_AS(validate(port, p.attr, pat, acts), ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, &pat[0]);
    // Wildcards (no spec) are not exact matches.
    pat = p.pattern();
    pat[2] = item(RTE_FLOW_ITEM_TYPE_TCP);
    EXPECT_REFUSED_AS(validate(port, p.attr, pat, acts), ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_SPEC, &pat[2]);
}

TEST(NicFlowRules, DuplicateActionsAreRefusedNamingTheSecond) {
    REQUIRE_EAL();
    const RulesNic port("net_nvmeddp_dups");
    ASSERT_NE(port, UINT16_MAX);
    RuleParts p(flow_no(3));
    const auto queue = action(RTE_FLOW_ACTION_TYPE_QUEUE, &p.queue1);
    const auto rss = action(RTE_FLOW_ACTION_TYPE_RSS, &p.rss_one);
    const auto drop = action(RTE_FLOW_ACTION_TYPE_DROP);
    const auto mark = action(RTE_FLOW_ACTION_TYPE_MARK, &p.mark);
    const auto count = action(RTE_FLOW_ACTION_TYPE_COUNT, &p.count);
    const auto v = action(RTE_FLOW_ACTION_TYPE_VOID);
    const std::vector<std::pair<rte_flow_action, rte_flow_action>> refused{
        {queue, queue}, {queue, rss}, {rss, queue}, {rss, rss},   {drop, drop},   {drop, queue}, {queue, drop},
        {rss, drop},    {drop, rss},  {drop, mark}, {mark, drop}, {mark, mark},   {count, count}};
    for (const auto& [first, second] : refused) {
        SCOPED_TRACE(std::to_string(first.type) + " then " + std::to_string(second.type));
        const std::vector<rte_flow_action> acts{first, v, v, second, kEnd};  // VOIDs between: still the second
        EXPECT_REFUSED_AS(validate(port, p.attr, p.pattern(), acts), EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, &acts[3]);
    }
    // What goes together does.
    for (const auto& acts : std::vector<std::vector<rte_flow_action>>{
             {queue, mark, count, kEnd}, {rss, mark, kEnd}, {drop, count, kEnd}, {count, kEnd}, {mark, kEnd}, {drop, kEnd}}) {
        EXPECT_VALID(validate(port, p.attr, p.pattern(), acts));
    }
}

TEST(NicFlowRules, RssToOneQueueIsQueueAndMoreQueuesAreRefused) {
    REQUIRE_EAL();
    const RulesNic port("net_nvmeddp_rss");
    ASSERT_NE(port, UINT16_MAX);
    RuleParts p(flow_no(4));
    const std::vector<rte_flow_action> two{action(RTE_FLOW_ACTION_TYPE_RSS, &p.rss_two), kEnd};
    EXPECT_REFUSED_AS(validate(port, p.attr, p.pattern(), two), ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, &two[0]);
    rte_flow_action_rss none{};
    const std::vector<rte_flow_action> zero{action(RTE_FLOW_ACTION_TYPE_RSS, &none), kEnd};
    EXPECT_REFUSED_AS(validate(port, p.attr, p.pattern(), zero), ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, &zero[0]);
    uint16_t beyond_queue[1] = {kQueues};
    rte_flow_action_rss beyond = p.rss_one;
    beyond.queue = beyond_queue;
    const std::vector<rte_flow_action> far{action(RTE_FLOW_ACTION_TYPE_RSS, &beyond), kEnd};
    EXPECT_REFUSED_AS(validate(port, p.attr, p.pattern(), far), EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, &far[0]);

    EXPECT_EQ(send_one(port, flow_no(4)).queue, 0);  // no rule: tx queue 0's own rx queue
    rte_flow* flow = create(port, p, {action(RTE_FLOW_ACTION_TYPE_RSS, &p.rss_one), kEnd});
    ASSERT_NE(flow, nullptr);
    EXPECT_EQ(send_one(port, flow_no(4)).queue, 1);
    // and it is the same rule as QUEUE 1: one of them per key and priority
    rte_flow_error error{};
    const std::vector<rte_flow_action> queue1{action(RTE_FLOW_ACTION_TYPE_QUEUE, &p.queue1), kEnd};
    EXPECT_EQ(rte_flow_create(port, &p.attr, p.pattern().data(), queue1.data(), &error), nullptr);
    EXPECT_EQ(rte_errno, EEXIST);
    EXPECT_EQ(rte_flow_destroy(port, flow, &error), 0);
}

TEST(NicFlowRules, TheLowerPriorityNumberWinsAndTheOtherTakesOverWhenItGoes) {
    REQUIRE_EAL();
    const RulesNic port("net_nvmeddp_prio");
    ASSERT_NE(port, UINT16_MAX);
    RuleParts low(flow_no(5), 3), high(flow_no(5), 1);
    low.mark.id = 30;
    high.mark.id = 10;
    rte_flow* a = create(port, low, {action(RTE_FLOW_ACTION_TYPE_QUEUE, &low.queue0), action(RTE_FLOW_ACTION_TYPE_MARK, &low.mark), kEnd});
    rte_flow* b = create(port, high, {action(RTE_FLOW_ACTION_TYPE_QUEUE, &high.queue1), action(RTE_FLOW_ACTION_TYPE_MARK, &high.mark), kEnd});
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    Arrival got = send_one(port, flow_no(5));
    EXPECT_EQ(got.queue, 1);
    EXPECT_TRUE(got.marked);
    EXPECT_EQ(got.mark, 10u);
    // Same key, same priority: EEXIST, naming the priority.
    RuleParts same(flow_no(5), 1);
    const std::vector<rte_flow_action> drop{action(RTE_FLOW_ACTION_TYPE_DROP), kEnd};
    EXPECT_REFUSED_AS(validate(port, same.attr, same.pattern(), drop), EEXIST, RTE_FLOW_ERROR_TYPE_ATTR_PRIORITY, &same.attr);
    rte_flow_error error{};
    ASSERT_EQ(rte_flow_destroy(port, b, &error), 0);
    got = send_one(port, flow_no(5));
    EXPECT_EQ(got.queue, 0);
    EXPECT_EQ(got.mark, 30u);
    ASSERT_EQ(rte_flow_destroy(port, a, &error), 0);
    got = send_one(port, flow_no(5));
    EXPECT_EQ(got.queue, 0);
    EXPECT_FALSE(got.marked);
}

TEST(NicFlowRules, CountIsQueriedAndReset) {
    REQUIRE_EAL();
    const RulesNic port("net_nvmeddp_count");
    ASSERT_NE(port, UINT16_MAX);
    RuleParts p(flow_no(6)), other(flow_no(7));
    rte_flow* counted = create(port, p, {action(RTE_FLOW_ACTION_TYPE_QUEUE, &p.queue1), action(RTE_FLOW_ACTION_TYPE_COUNT), kEnd});
    rte_flow* uncounted = create(port, other, {action(RTE_FLOW_ACTION_TYPE_QUEUE, &other.queue1), kEnd});
    ASSERT_NE(counted, nullptr);
    ASSERT_NE(uncounted, nullptr);
    const auto arrivals = send(port, {flow_no(6), flow_no(7), flow_no(6), flow_no(6), flow_no(8)});
    uint64_t bytes = 0;
    for (const size_t i : {size_t{0}, size_t{2}, size_t{3}}) {
        EXPECT_EQ(arrivals[i].queue, 1);
        bytes += arrivals[i].bytes;
    }
    const std::vector<rte_flow_action> count{action(RTE_FLOW_ACTION_TYPE_COUNT), kEnd};
    rte_flow_query_count q{};
    rte_flow_error error{};
    ASSERT_EQ(rte_flow_query(port, counted, count.data(), &q, &error), 0) << error.message;
    EXPECT_TRUE(q.hits_set);
    EXPECT_TRUE(q.bytes_set);
    EXPECT_EQ(q.hits, 3u);
    EXPECT_EQ(q.bytes, bytes);
    q = {};
    q.reset = 1;
    ASSERT_EQ(rte_flow_query(port, counted, count.data(), &q, &error), 0);
    EXPECT_EQ(q.hits, 3u);
    q = {};
    ASSERT_EQ(rte_flow_query(port, counted, count.data(), &q, &error), 0);
    EXPECT_EQ(q.hits, 0u);
    EXPECT_EQ(q.bytes, 0u);
    send(port, {flow_no(6)});
    ASSERT_EQ(rte_flow_query(port, counted, count.data(), &q, &error), 0);
    EXPECT_EQ(q.hits, 1u);
    // A rule without COUNT, and an action that cannot be queried: ENOTSUP naming the action.
    error = {};
    EXPECT_EQ(rte_flow_query(port, uncounted, count.data(), &q, &error), -ENOTSUP);
    EXPECT_EQ(error.type, RTE_FLOW_ERROR_TYPE_ACTION);
    EXPECT_EQ(error.cause, static_cast<const void*>(&count[0]));
    const std::vector<rte_flow_action> queue{action(RTE_FLOW_ACTION_TYPE_QUEUE, &p.queue1), kEnd};
    EXPECT_EQ(rte_flow_query(port, counted, queue.data(), &q, &error), -ENOTSUP);
    EXPECT_EQ(error.cause, static_cast<const void*>(&queue[0]));
    EXPECT_EQ(rte_flow_flush(port, &error), 0);
}

TEST(NicFlowRules, DropRulesDropFramesAndCountThem) {
    REQUIRE_EAL();
    const RulesNic port("net_nvmeddp_drop");
    ASSERT_NE(port, UINT16_MAX);
    RuleParts p(flow_no(9));
    const uint64_t dropped_before = xstat(port, "rx_flow_drop_packets");
    rte_flow* flow = create(port, p, {action(RTE_FLOW_ACTION_TYPE_DROP), action(RTE_FLOW_ACTION_TYPE_COUNT), kEnd});
    ASSERT_NE(flow, nullptr);
    const std::vector<testlib::FlowSpec> flows{flow_no(9), flow_no(10), flow_no(9), flow_no(9), flow_no(9)};
    const auto arrivals = send(port, flows);
    for (size_t i = 0; i < flows.size(); ++i) EXPECT_EQ(arrivals[i].queue, i == 1 ? 0 : -1) << i;
    EXPECT_EQ(xstat(port, "rx_flow_drop_packets") - dropped_before, 4u);
    const std::vector<rte_flow_action> count{action(RTE_FLOW_ACTION_TYPE_COUNT), kEnd};
    rte_flow_query_count q{};
    rte_flow_error error{};
    ASSERT_EQ(rte_flow_query(port, flow, count.data(), &q, &error), 0);
    EXPECT_EQ(q.hits, 4u);
    ASSERT_EQ(rte_flow_destroy(port, flow, &error), 0);
    EXPECT_EQ(send_one(port, flow_no(9)).queue, 0);
}

TEST(NicFlowRules, DestroyedRulesNoLongerMatchAndTheirHandlesAreRefused) {
    REQUIRE_EAL();
    const RulesNic port("net_nvmeddp_destroy");
    ASSERT_NE(port, UINT16_MAX);
    RuleParts p(flow_no(11));
    p.mark.id = 0xABCDEF;
    rte_flow* flow = create(port, p, {action(RTE_FLOW_ACTION_TYPE_QUEUE, &p.queue1), action(RTE_FLOW_ACTION_TYPE_MARK, &p.mark), kEnd});
    ASSERT_NE(flow, nullptr);
    Arrival got = send_one(port, flow_no(11));
    EXPECT_EQ(got.queue, 1);
    EXPECT_EQ(got.mark, 0xABCDEFu);
    rte_flow_error error{};
    ASSERT_EQ(rte_flow_destroy(port, flow, &error), 0);
    got = send_one(port, flow_no(11));
    EXPECT_EQ(got.queue, 0);
    EXPECT_FALSE(got.marked);
    error = {};
    EXPECT_EQ(rte_flow_destroy(port, flow, &error), -EINVAL);  // twice
    EXPECT_EQ(error.type, RTE_FLOW_ERROR_TYPE_HANDLE);
    EXPECT_EQ(rte_flow_destroy(port, nullptr, &error), -EINVAL);
}

// Flush, then the old handles: destroy and query refuse them, and never reach the rule made after the
// flush for the same flow; a handle of another port is refused by this one.
TEST(NicFlowRules, FlushInvalidatesEveryHandle) {
    REQUIRE_EAL();
    const RulesNic port("net_nvmeddp_flush");
    const RulesNic other_port("net_nvmeddp_flush_other");
    ASSERT_NE(port, UINT16_MAX);
    ASSERT_NE(other_port, UINT16_MAX);
    RuleParts p(flow_no(12));
    const std::vector<rte_flow_action> acts{action(RTE_FLOW_ACTION_TYPE_QUEUE, &p.queue1), action(RTE_FLOW_ACTION_TYPE_COUNT), kEnd};
    rte_flow* a = create(port, p, acts);
    ASSERT_NE(a, nullptr);
    rte_flow_error error{};
    ASSERT_EQ(rte_flow_flush(port, &error), 0);
    EXPECT_EQ(send_one(port, flow_no(12)).queue, 0);
    rte_flow* b = create(port, p, acts);
    ASSERT_NE(b, nullptr);
    EXPECT_NE(a, b);
    const std::vector<rte_flow_action> count{action(RTE_FLOW_ACTION_TYPE_COUNT), kEnd};
    rte_flow_query_count q{};
    EXPECT_EQ(rte_flow_destroy(port, a, &error), -EINVAL);
    EXPECT_EQ(error.type, RTE_FLOW_ERROR_TYPE_HANDLE);
    EXPECT_EQ(rte_flow_query(port, a, count.data(), &q, &error), -EINVAL);
    EXPECT_EQ(rte_flow_destroy(other_port, b, &error), -EINVAL);
    EXPECT_EQ(send_one(port, flow_no(12)).queue, 1);  // b is still there
    ASSERT_EQ(rte_flow_query(port, b, count.data(), &q, &error), 0);
    EXPECT_EQ(q.hits, 1u);
    EXPECT_EQ(rte_flow_destroy(port, b, &error), 0);
}

TEST(NicFlowRules, RulesSurviveStopAndStart) {
    REQUIRE_EAL();
    const RulesNic port("net_nvmeddp_keep");
    ASSERT_NE(port, UINT16_MAX);
    rte_eth_dev_info info{};
    ASSERT_EQ(rte_eth_dev_info_get(port, &info), 0);
    EXPECT_NE(info.dev_capa & RTE_ETH_DEV_CAPA_FLOW_RULE_KEEP, 0u);
    RuleParts p(flow_no(13));
    rte_flow* flow = create(port, p, {action(RTE_FLOW_ACTION_TYPE_QUEUE, &p.queue1), kEnd});
    ASSERT_NE(flow, nullptr);
    ASSERT_EQ(rte_eth_dev_stop(port), 0);
    ASSERT_EQ(rte_eth_dev_start(port), 0);
    EXPECT_EQ(send_one(port, flow_no(13)).queue, 1);
    rte_flow_error error{};
    EXPECT_EQ(rte_flow_destroy(port, flow, &error), 0);
}

// The whole table: 65536 rules made through rte_flow, every one matched by a frame; one more is
// refused; after a flush, a rule made in the first rule's slot is out of that rule's handle's reach.
TEST(NicFlowRules, SixtyFiveThousandRulesAreMadeAndMatched) {
    REQUIRE_EAL();
    const RulesNic port("net_nvmeddp_full");
    ASSERT_NE(port, UINT16_MAX);
    constexpr uint32_t n = 65536;
    std::vector<rte_flow*> flows(n);
    std::vector<testlib::FlowSpec> specs(n);
    for (uint32_t i = 0; i < n; ++i) {
        specs[i] = flow_no(i);
        RuleParts p(specs[i]);
        p.mark.id = i;
        rte_flow_error error{};
        const std::vector<rte_flow_action> acts{action(RTE_FLOW_ACTION_TYPE_QUEUE, i % 2 ? &p.queue1 : &p.queue0),
                                                action(RTE_FLOW_ACTION_TYPE_MARK, &p.mark), kEnd};
        flows[i] = rte_flow_create(port, &p.attr, p.pattern().data(), acts.data(), &error);
        ASSERT_NE(flows[i], nullptr) << i << ": " << (error.message ? error.message : "");
    }
    EXPECT_EQ(xstat(port, "flow_rules"), n);
    {
        RuleParts p(flow_no(n));
        rte_flow_error error{};
        const std::vector<rte_flow_action> acts{action(RTE_FLOW_ACTION_TYPE_QUEUE, &p.queue0), kEnd};
        EXPECT_EQ(rte_flow_create(port, &p.attr, p.pattern().data(), acts.data(), &error), nullptr);
        EXPECT_EQ(rte_errno, ENOSPC);
    }
    const auto arrivals = send(port, specs);
    uint32_t wrong = 0;
    for (uint32_t i = 0; i < n; ++i) {
        const Arrival& a = arrivals[i];
        if (a.queue != static_cast<int>(i % 2) || !a.marked || a.mark != i) ++wrong;
    }
    EXPECT_EQ(wrong, 0u);

    rte_flow_error error{};
    ASSERT_EQ(rte_flow_flush(port, &error), 0);
    EXPECT_EQ(xstat(port, "flow_rules"), 0u);
    RuleParts p(specs[0]);
    rte_flow* b = create(port, p, {action(RTE_FLOW_ACTION_TYPE_QUEUE, &p.queue1), kEnd});  // the oldest free slot: rule 0's
    ASSERT_NE(b, nullptr);
    // (The handle's low 16 bits are its slot, nic_flow_ops.cpp: this checks the test tests what it says.)
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b) & 0xFFFF, reinterpret_cast<uintptr_t>(flows[0]) & 0xFFFF) << "not rule 0's slot";
    EXPECT_EQ(rte_flow_destroy(port, flows[0], &error), -EINVAL);
    EXPECT_EQ(send_one(port, specs[0]).queue, 1);
    EXPECT_EQ(rte_flow_destroy(port, b, &error), 0);
    EXPECT_EQ(send_one(port, specs[0]).queue, 0);
}
