// net_nvmeddp's rte_flow parser (pmd/net_nvmeddp/nic_flow_parser.hpp) through rte_flow_validate and
// rte_flow_create, on patterns and action lists of every odd shape an application may pass: each
// is refused with an error naming a reason, or accepted exactly when it is the one rule shape the
// NIC supports. Every array is handed over twice: as a heap copy of exactly its length (so
// AddressSanitizer reports any read past its END) and at the very end of a page followed by an
// inaccessible one (so any read past it crashes the test, sanitizer or not).
#include <gtest/gtest.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "dpdk_test_support.hpp"
#include "flow_items.hpp"

using namespace nvmeddp::dpdk_test;

namespace {

// `items` copied to the end of a page with an inaccessible page after it.
template <typename T>
class GuardedArray {
public:
    explicit GuardedArray(const std::vector<T>& items) {
        const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        const size_t bytes = items.size() * sizeof(T);
        len_ = ((bytes + page - 1) / page + 1) * page;
        void* p = mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return;
        base_ = static_cast<uint8_t*>(p);
        uint8_t* guard = base_ + len_ - page;
        if (mprotect(guard, page, PROT_NONE) != 0) return;
        data_ = reinterpret_cast<T*>(guard - bytes);
        std::memcpy(static_cast<void*>(data_), items.data(), bytes);
    }
    ~GuardedArray() {
        if (base_ != nullptr) munmap(base_, len_);
    }
    GuardedArray(const GuardedArray&) = delete;
    GuardedArray& operator=(const GuardedArray&) = delete;
    const T* get() const { return data_; }

private:
    uint8_t* base_ = nullptr;
    size_t len_ = 0;
    T* data_ = nullptr;
};

// The specs and masks of a rule the NIC accepts: 192.0.2.1:4420 -> 192.0.2.2:40000 (and IPv6).
struct Rule {
    rte_flow_attr attr{};
    rte_flow_item_ipv4 ip4{}, ip4_mask{};
    rte_flow_item_ipv6 ip6{}, ip6_mask{};
    rte_flow_item_tcp tcp{}, tcp_mask{};
    rte_flow_item_eth eth_any{};  // spec and mask of zeros: any frame
    rte_flow_action_queue queue{0};
    rte_flow_action_mark mark{7};

    Rule() {
        attr.ingress = 1;
        const uint8_t a[4] = {192, 0, 2, 1}, b[4] = {192, 0, 2, 2};
        std::memcpy(&ip4.hdr.src_addr, a, 4);
        std::memcpy(&ip4.hdr.dst_addr, b, 4);
        ip4_mask.hdr.src_addr = ip4_mask.hdr.dst_addr = 0xFFFFFFFF;
        ip6.hdr.src_addr[0] = 0x20;
        ip6.hdr.dst_addr[0] = 0x20;
        ip6.hdr.dst_addr[15] = 2;
        std::memset(ip6_mask.hdr.src_addr, 0xFF, 16);
        std::memset(ip6_mask.hdr.dst_addr, 0xFF, 16);
        tcp.hdr.src_port = rte_cpu_to_be_16(4420);
        tcp.hdr.dst_port = rte_cpu_to_be_16(40000);
        tcp_mask.hdr.src_port = tcp_mask.hdr.dst_port = 0xFFFF;
    }
    std::vector<rte_flow_item> v4() const {
        return {item(RTE_FLOW_ITEM_TYPE_ETH), item(RTE_FLOW_ITEM_TYPE_IPV4, &ip4, &ip4_mask),
                item(RTE_FLOW_ITEM_TYPE_TCP, &tcp, &tcp_mask), item(RTE_FLOW_ITEM_TYPE_END)};
    }
    std::vector<rte_flow_action> queue_and_mark() const {
        return {action(RTE_FLOW_ACTION_TYPE_QUEUE, &queue), action(RTE_FLOW_ACTION_TYPE_MARK, &mark),
                action(RTE_FLOW_ACTION_TYPE_END)};
    }
};

struct Verdict {
    int rc = 0;          // rte_flow_validate's
    bool created = false;
    std::string message;  // of the refusal
    rte_flow_error_type type = RTE_FLOW_ERROR_TYPE_NONE;
};

// Validates and creates (and destroys again) the rule with the arrays handed over one way.
Verdict run(uint16_t port, const rte_flow_attr& attr, const rte_flow_item* pattern, const rte_flow_action* actions) {
    Verdict v;
    rte_flow_error error{};
    v.rc = rte_flow_validate(port, &attr, pattern, actions, &error);
    if (v.rc != 0) {
        v.message = error.message != nullptr ? error.message : "";
        v.type = error.type;
    }
    rte_flow_error create_error{};
    rte_flow* flow = rte_flow_create(port, &attr, pattern, actions, &create_error);
    v.created = flow != nullptr;
    if (flow != nullptr) {
        EXPECT_EQ(rte_flow_destroy(port, flow, &create_error), 0);
    } else {
        // create refuses for the same reason validate gave
        EXPECT_STREQ(create_error.message, v.message.c_str());
    }
    return v;
}

// Both ways (exact-size heap copies, then arrays ending at a guard page); they must agree.
Verdict check(uint16_t port, const rte_flow_attr& attr, const std::vector<rte_flow_item>& pattern,
              const std::vector<rte_flow_action>& actions) {
    const auto heap_pattern = std::make_unique<rte_flow_item[]>(pattern.size());
    std::copy(pattern.begin(), pattern.end(), heap_pattern.get());
    const auto heap_actions = std::make_unique<rte_flow_action[]>(actions.size());
    std::copy(actions.begin(), actions.end(), heap_actions.get());
    const Verdict heap = run(port, attr, heap_pattern.get(), heap_actions.get());

    const GuardedArray<rte_flow_item> guarded_pattern(pattern);
    const GuardedArray<rte_flow_action> guarded_actions(actions);
    EXPECT_NE(guarded_pattern.get(), nullptr);
    EXPECT_NE(guarded_actions.get(), nullptr);
    const Verdict guarded = run(port, attr, guarded_pattern.get(), guarded_actions.get());
    EXPECT_EQ(heap.rc, guarded.rc);
    EXPECT_EQ(heap.message, guarded.message);
    return heap;
}

uint16_t flow_nic(const std::string& name) {
    const uint16_t port = nvmeddp_nic(name, 2);
    EXPECT_NE(port, UINT16_MAX) << "net_nvmeddp vdev not available";
    return port;
}

#define EXPECT_REFUSED(v, why)                                                 \
    do {                                                                       \
        const Verdict& v_ = (v);                                               \
        EXPECT_LT(v_.rc, 0);                                                   \
        EXPECT_FALSE(v_.created);                                              \
        EXPECT_NE(v_.message.find(why), std::string::npos) << v_.message;      \
    } while (0)

#define EXPECT_ACCEPTED(v)                                 \
    do {                                                   \
        const Verdict& v_ = (v);                           \
        EXPECT_EQ(v_.rc, 0) << v_.message;                 \
        EXPECT_TRUE(v_.created);                           \
    } while (0)

}  // namespace

TEST(NicFlow, ShortPatternsAreRefusedWithoutReadingPastTheirEnd) {
    REQUIRE_EAL();
    const uint16_t port = flow_nic("net_nvmeddp_short");
    ASSERT_NE(port, UINT16_MAX);
    const Rule r;
    const auto acts = r.queue_and_mark();
    const char* shape = "pattern must be ETH / [VLAN / [VLAN /]] IPV4 or IPV6 / TCP / END";
    const auto end = item(RTE_FLOW_ITEM_TYPE_END);
    EXPECT_REFUSED(check(port, r.attr, {end}, acts), shape);
    EXPECT_REFUSED(check(port, r.attr, {item(RTE_FLOW_ITEM_TYPE_ETH), end}, acts), shape);
    EXPECT_REFUSED(check(port, r.attr, {item(RTE_FLOW_ITEM_TYPE_VOID), item(RTE_FLOW_ITEM_TYPE_VOID), end}, acts), shape);
    EXPECT_REFUSED(check(port, r.attr, {item(RTE_FLOW_ITEM_TYPE_ETH), item(RTE_FLOW_ITEM_TYPE_VOID), end}, acts), shape);
    EXPECT_REFUSED(check(port, r.attr, {item(RTE_FLOW_ITEM_TYPE_ETH), item(RTE_FLOW_ITEM_TYPE_IPV4), end}, acts), shape);
    EXPECT_REFUSED(check(port, r.attr, {item(RTE_FLOW_ITEM_TYPE_ETH), item(RTE_FLOW_ITEM_TYPE_IPV4, &r.ip4, &r.ip4_mask), end}, acts), shape);
    EXPECT_REFUSED(check(port, r.attr, {item(RTE_FLOW_ITEM_TYPE_ETH), item(RTE_FLOW_ITEM_TYPE_IPV6, &r.ip6, &r.ip6_mask), item(RTE_FLOW_ITEM_TYPE_VOID), end}, acts), shape);
    EXPECT_REFUSED(check(port, r.attr, {item(RTE_FLOW_ITEM_TYPE_TCP, &r.tcp, &r.tcp_mask), end}, acts), shape);
    EXPECT_REFUSED(check(port, r.attr, {item(RTE_FLOW_ITEM_TYPE_IPV4, &r.ip4, &r.ip4_mask), item(RTE_FLOW_ITEM_TYPE_TCP, &r.tcp, &r.tcp_mask), end}, acts), shape);
    // Every pattern the NIC supports, cut short after each item.
    const auto full = r.v4();
    for (size_t keep = 0; keep < full.size() - 1; ++keep) {
        std::vector<rte_flow_item> p(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(keep));
        p.push_back(end);
        EXPECT_REFUSED(check(port, r.attr, p, acts), shape);
    }
}

TEST(NicFlow, ItemsWithoutWhatTheRuleNeedsAreRefused) {
    REQUIRE_EAL();
    const uint16_t port = flow_nic("net_nvmeddp_odd");
    ASSERT_NE(port, UINT16_MAX);
    Rule r;
    const auto acts = r.queue_and_mark();
    const auto eth = item(RTE_FLOW_ITEM_TYPE_ETH);
    const auto end = item(RTE_FLOW_ITEM_TYPE_END);
    const auto ip4 = item(RTE_FLOW_ITEM_TYPE_IPV4, &r.ip4, &r.ip4_mask);
    const auto ip6 = item(RTE_FLOW_ITEM_TYPE_IPV6, &r.ip6, &r.ip6_mask);
    const auto tcp = item(RTE_FLOW_ITEM_TYPE_TCP, &r.tcp, &r.tcp_mask);
    EXPECT_REFUSED(check(port, r.attr, {eth, ip6, item(RTE_FLOW_ITEM_TYPE_TCP), end}, acts), "TCP needs a spec");
    EXPECT_REFUSED(check(port, r.attr, {eth, item(RTE_FLOW_ITEM_TYPE_IPV4), tcp, end}, acts), "needs a spec");
    EXPECT_REFUSED(check(port, r.attr, {eth, item(RTE_FLOW_ITEM_TYPE_IPV6), tcp, end}, acts), "needs a spec");
    EXPECT_REFUSED(check(port, r.attr, {eth, ip4, tcp, tcp, end}, acts), "pattern must be");
    EXPECT_REFUSED(check(port, r.attr, {eth, ip4, item(RTE_FLOW_ITEM_TYPE_UDP), end}, acts), "pattern must be");
    EXPECT_REFUSED(check(port, r.attr, {eth, eth, tcp, end}, acts), "pattern must be");
    // A spec with the default mask on ETH matches MAC addresses: not "any frame".
    EXPECT_REFUSED(check(port, r.attr, {item(RTE_FLOW_ITEM_TYPE_ETH, &r.eth_any), ip4, tcp, end}, acts), "ETH cannot match MAC addresses");
    // Ranges, and masks reaching past the addresses or ports.
    rte_flow_item_ipv4 ip4_upper = r.ip4;
    ip4_upper.hdr.dst_addr = rte_cpu_to_be_32(0xC0000209);
    rte_flow_item_tcp tcp_upper = r.tcp;
    tcp_upper.hdr.dst_port = rte_cpu_to_be_16(40010);
    EXPECT_REFUSED(check(port, r.attr, {eth, item(RTE_FLOW_ITEM_TYPE_IPV4, &r.ip4, &r.ip4_mask, &ip4_upper), tcp, end}, acts), "ranges");
    EXPECT_REFUSED(check(port, r.attr, {eth, ip4, item(RTE_FLOW_ITEM_TYPE_TCP, &r.tcp, &r.tcp_mask, &tcp_upper), end}, acts), "ranges");
    rte_flow_item_ipv4 wide4 = r.ip4_mask;
    wide4.hdr.next_proto_id = 0xFF;
    EXPECT_REFUSED(check(port, r.attr, {eth, item(RTE_FLOW_ITEM_TYPE_IPV4, &r.ip4, &wide4), tcp, end}, acts), "only the IPv4 addresses");
    rte_flow_item_ipv6 wide6 = r.ip6_mask;
    wide6.has_frag_ext = 1;
    EXPECT_REFUSED(check(port, r.attr, {eth, item(RTE_FLOW_ITEM_TYPE_IPV6, &r.ip6, &wide6), tcp, end}, acts), "only the IPv6 addresses");
    rte_flow_item_tcp wide_tcp = r.tcp_mask;
    wide_tcp.hdr.tcp_flags = 0xFF;
    EXPECT_REFUSED(check(port, r.attr, {eth, ip4, item(RTE_FLOW_ITEM_TYPE_TCP, &r.tcp, &wide_tcp), end}, acts), "only the TCP ports");
    rte_flow_item_tcp half_tcp = r.tcp_mask;
    half_tcp.hdr.dst_port = 0;
    EXPECT_REFUSED(check(port, r.attr, {eth, ip4, item(RTE_FLOW_ITEM_TYPE_TCP, &r.tcp, &half_tcp), end}, acts), "TCP ports must be matched exactly");
    // No pattern, no attributes, an egress rule.
    rte_flow_error error{};
    const auto heap_acts = acts;
    EXPECT_LT(rte_flow_validate(port, &r.attr, nullptr, heap_acts.data(), &error), 0);
    EXPECT_STREQ(error.message, "no pattern");
    rte_flow_attr egress{};
    egress.egress = 1;
    EXPECT_REFUSED(check(port, egress, r.v4(), acts), "egress rules are not supported");
}

TEST(NicFlow, OddActionListsAreRefused) {
    REQUIRE_EAL();
    const uint16_t port = flow_nic("net_nvmeddp_actions");
    ASSERT_NE(port, UINT16_MAX);
    Rule r;
    const auto pattern = r.v4();
    const auto end = action(RTE_FLOW_ACTION_TYPE_END);
    EXPECT_REFUSED(check(port, r.attr, pattern, {end}), "no action before END");
    EXPECT_REFUSED(check(port, r.attr, pattern, {action(RTE_FLOW_ACTION_TYPE_VOID), end}), "no action before END");
    EXPECT_REFUSED(check(port, r.attr, pattern, {action(RTE_FLOW_ACTION_TYPE_QUEUE), end}), "QUEUE without its index");
    EXPECT_REFUSED(check(port, r.attr, pattern, {action(RTE_FLOW_ACTION_TYPE_MARK), end}), "MARK without its id");
    EXPECT_REFUSED(check(port, r.attr, pattern, {action(RTE_FLOW_ACTION_TYPE_FLAG), end}), "only QUEUE, RSS (one queue), DROP, MARK and COUNT");
    EXPECT_REFUSED(check(port, r.attr, pattern, {action(RTE_FLOW_ACTION_TYPE_MARK, &r.mark), action(RTE_FLOW_ACTION_TYPE_MARK, &r.mark), end}),
                   "MARK given twice");
    rte_flow_action_queue beyond{2};
    EXPECT_REFUSED(check(port, r.attr, pattern, {action(RTE_FLOW_ACTION_TYPE_QUEUE, &beyond), end}), "queue index beyond");
    rte_flow_error error{};
    EXPECT_LT(rte_flow_validate(port, &r.attr, pattern.data(), nullptr, &error), 0);
    EXPECT_STREQ(error.message, "no actions");
    // Short lists of what is supported pass.
    EXPECT_ACCEPTED(check(port, r.attr, pattern, {action(RTE_FLOW_ACTION_TYPE_MARK, &r.mark), end}));
    EXPECT_ACCEPTED(check(port, r.attr, pattern, {action(RTE_FLOW_ACTION_TYPE_QUEUE, &r.queue), end}));
}

TEST(NicFlow, TheSupportedShapeIsAcceptedInEveryForm) {
    REQUIRE_EAL();
    const uint16_t port = flow_nic("net_nvmeddp_accept");
    ASSERT_NE(port, UINT16_MAX);
    Rule r;
    const auto acts = r.queue_and_mark();
    const auto end = item(RTE_FLOW_ITEM_TYPE_END);
    const auto v = item(RTE_FLOW_ITEM_TYPE_VOID);
    const auto eth = item(RTE_FLOW_ITEM_TYPE_ETH);
    EXPECT_ACCEPTED(check(port, r.attr, r.v4(), acts));
    EXPECT_ACCEPTED(check(port, r.attr, {v, eth, v, item(RTE_FLOW_ITEM_TYPE_IPV6, &r.ip6, &r.ip6_mask), v,
                                         item(RTE_FLOW_ITEM_TYPE_TCP, &r.tcp, &r.tcp_mask), v, end},
                          {action(RTE_FLOW_ACTION_TYPE_VOID), action(RTE_FLOW_ACTION_TYPE_MARK, &r.mark),
                           action(RTE_FLOW_ACTION_TYPE_VOID), action(RTE_FLOW_ACTION_TYPE_QUEUE, &r.queue),
                           action(RTE_FLOW_ACTION_TYPE_END)}));
    // No masks: the default masks of IPV4 and TCP are exactly the addresses and the ports.
    EXPECT_ACCEPTED(check(port, r.attr, {eth, item(RTE_FLOW_ITEM_TYPE_IPV4, &r.ip4), item(RTE_FLOW_ITEM_TYPE_TCP, &r.tcp), end}, acts));
    EXPECT_ACCEPTED(check(port, r.attr, {eth, item(RTE_FLOW_ITEM_TYPE_IPV6, &r.ip6), item(RTE_FLOW_ITEM_TYPE_TCP, &r.tcp), end}, acts));
    // ETH with a spec and a mask of zeros is still any frame.
    EXPECT_ACCEPTED(check(port, r.attr, {item(RTE_FLOW_ITEM_TYPE_ETH, &r.eth_any, &r.eth_any), item(RTE_FLOW_ITEM_TYPE_IPV4, &r.ip4),
                                         item(RTE_FLOW_ITEM_TYPE_TCP, &r.tcp), end}, acts));
}

// VLAN items between ETH and IP: up to two (S-tag, C-tag), each matching its VID exactly.
TEST(NicFlow, VlanTagsAreMatchedByTheirVid) {
    REQUIRE_EAL();
    const uint16_t port = flow_nic("net_nvmeddp_vlan");
    ASSERT_NE(port, UINT16_MAX);
    const Rule r;
    const auto acts = r.queue_and_mark();
    const auto full = r.v4();  // ETH, IPV4, TCP, END
    rte_flow_item_vlan outer{}, inner{}, vid_mask{}, wide_mask{};
    outer.hdr.vlan_tci = rte_cpu_to_be_16(200);
    inner.hdr.vlan_tci = rte_cpu_to_be_16(100);
    vid_mask.hdr.vlan_tci = rte_cpu_to_be_16(0x0FFF);
    wide_mask.hdr.vlan_tci = rte_cpu_to_be_16(0xFFFF);
    const auto with = [&](std::vector<rte_flow_item> tags) {
        std::vector<rte_flow_item> p{full[0]};
        p.insert(p.end(), tags.begin(), tags.end());
        p.insert(p.end(), full.begin() + 1, full.end());
        return p;
    };
    EXPECT_ACCEPTED(check(port, r.attr, with({item(RTE_FLOW_ITEM_TYPE_VLAN, &inner, &vid_mask)}), acts));
    EXPECT_ACCEPTED(check(port, r.attr, with({item(RTE_FLOW_ITEM_TYPE_VLAN, &inner, nullptr)}), acts));  // default mask
    EXPECT_ACCEPTED(check(port, r.attr,
                          with({item(RTE_FLOW_ITEM_TYPE_VLAN, &outer, &vid_mask), item(RTE_FLOW_ITEM_TYPE_VLAN, &inner, &vid_mask)}),
                          acts));
    EXPECT_REFUSED(check(port, r.attr, with({item(RTE_FLOW_ITEM_TYPE_VLAN, &inner, &wide_mask)}), acts),
                   "VLAN must match the VID exactly");
    EXPECT_REFUSED(check(port, r.attr, with({item(RTE_FLOW_ITEM_TYPE_VLAN)}), acts), "VLAN needs a spec");
    EXPECT_REFUSED(check(port, r.attr,
                         with({item(RTE_FLOW_ITEM_TYPE_VLAN, &outer, &vid_mask), item(RTE_FLOW_ITEM_TYPE_VLAN, &inner, &vid_mask),
                               item(RTE_FLOW_ITEM_TYPE_VLAN, &inner, &vid_mask)}),
                         acts),
                   "pattern must be");
}
