// The shell's simplified rte_flow grammar, after the 5-tuple that the command's own tokens read:
//   [priority N] actions [queue N] [mark N] [count] [drop]
// (at least one action, each at most once), and its translation into rte_flow attributes, items
// (ETH / IPV4 or IPV6 / TCP / END, addresses and ports exact) and actions.
#pragma once

#include <rte_flow.h>

#include <cstdint>
#include <netinet/in.h>
#include <string>
#include <vector>

namespace nvmeddp::shell {

struct FlowTuple {
    bool ipv6 = false;
    in_addr src4{}, dst4{};
    in6_addr src6{}, dst6{};
    uint16_t sport = 0, dport = 0;  // host order
};

struct FlowSpec {
    uint32_t priority = 0;
    bool has_queue = false, has_mark = false, count = false, drop = false;
    uint16_t queue = 0;
    uint32_t mark = 0;
};

// Reads the text after the tuple. False with `error` saying what is wrong.
bool parse_flow_spec(const std::string& text, FlowSpec& out, std::string& error);

// "tcp src A P dst B Q priority N actions queue N mark N count drop": a rule as `flow list` shows it.
std::string flow_rule_text(const FlowTuple& tuple, const FlowSpec& spec);

// The rte_flow description of a rule; the pointers in attr/pattern/actions point into this object,
// so it must stay where it is while they are used (it is neither copied nor moved).
class FlowRequest {
public:
    FlowRequest(const FlowTuple& tuple, const FlowSpec& spec, uint32_t count_id);
    FlowRequest(const FlowRequest&) = delete;
    FlowRequest& operator=(const FlowRequest&) = delete;

    const rte_flow_attr* attr() const noexcept { return &attr_; }
    const rte_flow_item* pattern() const noexcept { return pattern_.data(); }
    const rte_flow_action* actions() const noexcept { return actions_.data(); }

private:
    rte_flow_attr attr_{};
    rte_flow_item_ipv4 ipv4_{};
    rte_flow_item_ipv6 ipv6_{};
    rte_flow_item_tcp tcp_{};
    rte_flow_action_queue queue_{};
    rte_flow_action_mark mark_{};
    rte_flow_action_count count_{};
    std::vector<rte_flow_item> pattern_;
    std::vector<rte_flow_action> actions_;
};

// "Caught PMD error type N (<what the type names>): <message>: <errno text>", as dpdk-testpmd
// reports an rte_flow refusal, so that people who grep testpmd's output find the same line.
void print_flow_error(const rte_flow_error& error, int errno_value);

}  // namespace nvmeddp::shell
