// flow create|list|destroy|query|flush: rte_flow rules of a port in a simplified grammar
// (flow_spec.hpp), with the shell's own rule ids per port, as dpdk-testpmd keeps them.
#include <cmdline_parse_ipaddr.h>
#include <cmdline_parse_num.h>
#include <cmdline_parse_string.h>
#include <rte_errno.h>
#include <rte_flow.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "command_set.hpp"
#include "flow_spec.hpp"
#include "shell_state.hpp"

namespace nvmeddp::shell {

namespace {

struct CreateResult {
    cmdline_fixed_string_t flow, create;
    uint16_t port_id;
    cmdline_fixed_string_t tcp, src;
    cmdline_ipaddr_t src_ip;
    uint16_t sport;
    cmdline_fixed_string_t dst;
    cmdline_ipaddr_t dst_ip;
    uint16_t dport;
    cmdline_multi_string_t rest;
};
cmdline_parse_token_string_t create_flow = TOKEN_STRING_INITIALIZER(CreateResult, flow, "flow");
cmdline_parse_token_string_t create_create = TOKEN_STRING_INITIALIZER(CreateResult, create, "create");
cmdline_parse_token_num_t create_port = TOKEN_NUM_INITIALIZER(CreateResult, port_id, RTE_UINT16);
cmdline_parse_token_string_t create_tcp = TOKEN_STRING_INITIALIZER(CreateResult, tcp, "tcp");
cmdline_parse_token_string_t create_src = TOKEN_STRING_INITIALIZER(CreateResult, src, "src");
cmdline_parse_token_ipaddr_t create_src_ip = TOKEN_IPADDR_INITIALIZER(CreateResult, src_ip);
cmdline_parse_token_num_t create_sport = TOKEN_NUM_INITIALIZER(CreateResult, sport, RTE_UINT16);
cmdline_parse_token_string_t create_dst = TOKEN_STRING_INITIALIZER(CreateResult, dst, "dst");
cmdline_parse_token_ipaddr_t create_dst_ip = TOKEN_IPADDR_INITIALIZER(CreateResult, dst_ip);
cmdline_parse_token_num_t create_dport = TOKEN_NUM_INITIALIZER(CreateResult, dport, RTE_UINT16);
cmdline_parse_token_string_t create_rest = TOKEN_STRING_INITIALIZER(CreateResult, rest, TOKEN_STRING_MULTI);

struct PortResult {  // flow list|flush <port_id>
    cmdline_fixed_string_t flow, what;
    uint16_t port_id;
};
cmdline_parse_token_string_t port_flow = TOKEN_STRING_INITIALIZER(PortResult, flow, "flow");
cmdline_parse_token_string_t port_what = TOKEN_STRING_INITIALIZER(PortResult, what, "list#flush");
cmdline_parse_token_num_t port_id = TOKEN_NUM_INITIALIZER(PortResult, port_id, RTE_UINT16);

struct DestroyResult {
    cmdline_fixed_string_t flow, destroy;
    uint16_t port_id;
    cmdline_fixed_string_t rule;
    uint32_t id;
};
cmdline_parse_token_string_t destroy_flow = TOKEN_STRING_INITIALIZER(DestroyResult, flow, "flow");
cmdline_parse_token_string_t destroy_destroy = TOKEN_STRING_INITIALIZER(DestroyResult, destroy, "destroy");
cmdline_parse_token_num_t destroy_port = TOKEN_NUM_INITIALIZER(DestroyResult, port_id, RTE_UINT16);
cmdline_parse_token_string_t destroy_rule = TOKEN_STRING_INITIALIZER(DestroyResult, rule, "rule");
cmdline_parse_token_num_t destroy_id = TOKEN_NUM_INITIALIZER(DestroyResult, id, RTE_UINT32);

struct QueryResult {
    cmdline_fixed_string_t flow, query;
    uint16_t port_id;
    uint32_t id;
    cmdline_fixed_string_t count;
};
cmdline_parse_token_string_t query_flow = TOKEN_STRING_INITIALIZER(QueryResult, flow, "flow");
cmdline_parse_token_string_t query_query = TOKEN_STRING_INITIALIZER(QueryResult, query, "query");
cmdline_parse_token_num_t query_port = TOKEN_NUM_INITIALIZER(QueryResult, port_id, RTE_UINT16);
cmdline_parse_token_num_t query_id = TOKEN_NUM_INITIALIZER(QueryResult, id, RTE_UINT32);
cmdline_parse_token_string_t query_count = TOKEN_STRING_INITIALIZER(QueryResult, count, "count");

FlowRule* find_rule(uint16_t port, uint32_t id) {
    auto it = state().flows.find(port);
    if (it == state().flows.end()) return nullptr;
    for (FlowRule& r : it->second.rules) {
        if (r.id == id) return &r;
    }
    return nullptr;
}

void on_create(void* parsed, struct cmdline*, void*) {
    const auto* r = static_cast<CreateResult*>(parsed);
    if (!check_port(r->port_id)) return;
    FlowTuple t;
    if (r->src_ip.family != r->dst_ip.family) {
        std::printf("Bad arguments: the source and destination addresses are of different families\n");
        return;
    }
    t.ipv6 = r->src_ip.family == AF_INET6;
    if (t.ipv6) {
        t.src6 = r->src_ip.addr.ipv6;
        t.dst6 = r->dst_ip.addr.ipv6;
    } else {
        t.src4 = r->src_ip.addr.ipv4;
        t.dst4 = r->dst_ip.addr.ipv4;
    }
    t.sport = r->sport;
    t.dport = r->dport;
    FlowSpec spec;
    std::string error;
    if (!parse_flow_spec(r->rest, spec, error)) {
        std::printf("Bad arguments: %s\n", error.c_str());
        return;
    }
    PortFlows& table = state().flows[r->port_id];
    const uint32_t id = table.next_id;
    const FlowRequest request(t, spec, id);
    rte_flow_error flow_error{};
    rte_flow* flow = rte_flow_create(r->port_id, request.attr(), request.pattern(), request.actions(), &flow_error);
    if (flow == nullptr) {
        print_flow_error(flow_error, rte_errno);
        return;
    }
    ++table.next_id;
    table.rules.push_back(FlowRule{id, flow, spec.priority, flow_rule_text(t, spec)});
    std::printf("Flow rule #%u created\n", id);
}

void on_list_or_flush(void* parsed, struct cmdline*, void*) {
    const auto* r = static_cast<PortResult*>(parsed);
    if (!check_port(r->port_id)) return;
    PortFlows& table = state().flows[r->port_id];
    if (!std::strcmp(r->what, "list")) {
        if (table.rules.empty()) {
            std::printf("Port %u: no flow rules created from the shell\n", r->port_id);
            return;
        }
        std::printf("ID\tPrio\tRule\n");
        for (const FlowRule& f : table.rules) std::printf("%u\t%u\t%s\n", f.id, f.priority, f.text.c_str());
        return;
    }
    // Only the shell's rules: rte_flow_flush would also remove the steering rules the offload
    // installed for its connections, and their traffic would silently stop being offloaded.
    unsigned destroyed = 0;
    for (auto it = table.rules.begin(); it != table.rules.end();) {
        rte_flow_error e{};
        if (rte_flow_destroy(r->port_id, it->flow, &e) != 0) {
            print_flow_error(e, rte_errno);
            ++it;
            continue;
        }
        ++destroyed;
        it = table.rules.erase(it);
    }
    std::printf("Port %u: %u flow rule(s) destroyed (those created from the shell; the offload's own stay)\n",
                r->port_id, destroyed);
}

void on_destroy(void* parsed, struct cmdline*, void*) {
    const auto* r = static_cast<DestroyResult*>(parsed);
    if (!check_port(r->port_id)) return;
    FlowRule* f = find_rule(r->port_id, r->id);
    if (f == nullptr) {
        std::printf("Flow rule #%u not found on port %u\n", r->id, r->port_id);
        return;
    }
    rte_flow_error e{};
    if (rte_flow_destroy(r->port_id, f->flow, &e) != 0) {
        print_flow_error(e, rte_errno);
        return;
    }
    std::erase_if(state().flows[r->port_id].rules, [id = r->id](const FlowRule& x) { return x.id == id; });
    std::printf("Flow rule #%u destroyed\n", r->id);
}

void on_query(void* parsed, struct cmdline*, void*) {
    const auto* r = static_cast<QueryResult*>(parsed);
    if (!check_port(r->port_id)) return;
    FlowRule* f = find_rule(r->port_id, r->id);
    if (f == nullptr) {
        std::printf("Flow rule #%u not found on port %u\n", r->id, r->port_id);
        return;
    }
    rte_flow_action action{};
    action.type = RTE_FLOW_ACTION_TYPE_COUNT;
    rte_flow_query_count count{};
    rte_flow_error e{};
    if (rte_flow_query(r->port_id, f->flow, &action, &count, &e) != 0) {
        print_flow_error(e, rte_errno);
        return;
    }
    std::printf("Flow rule #%u COUNT: hits %s%" PRIu64 ", bytes %s%" PRIu64 "\n", r->id, count.hits_set ? "" : "(not set) ",
                count.hits, count.bytes_set ? "" : "(not set) ", count.bytes);
}

}  // namespace

void add_flow_commands(CommandSet& set) {
    set.add(on_create,
            "flow create <port_id> tcp src <ip> <port> dst <ip> <port> [priority N] actions [queue N] [mark N] [count] "
            "[drop]: an ingress rule for one TCP 5-tuple (ETH / IPV4 or IPV6 / TCP, addresses and ports exact)",
            {&create_flow, &create_create, &create_port, &create_tcp, &create_src, &create_src_ip, &create_sport,
             &create_dst, &create_dst_ip, &create_dport, &create_rest});
    set.add(on_list_or_flush,
            "flow list|flush <port_id>: list the rules created from the shell, or destroy them all",
            {&port_flow, &port_what, &port_id});
    set.add(on_destroy, "flow destroy <port_id> rule <id>: destroy one rule",
            {&destroy_flow, &destroy_destroy, &destroy_port, &destroy_rule, &destroy_id});
    set.add(on_query, "flow query <port_id> <id> count: the rule's COUNT action's hits and bytes",
            {&query_flow, &query_query, &query_port, &query_id, &query_count});
}

}  // namespace nvmeddp::shell
