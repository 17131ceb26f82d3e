#include "flow_spec.hpp"

#include <arpa/inet.h>
#include <rte_byteorder.h>
#include <rte_errno.h>

#include <cstdio>
#include <cstring>
#include <sstream>

#include "common/cli.hpp"

namespace nvmeddp::shell {

namespace {

bool read_number(std::istringstream& in, const char* what, uint64_t max, uint64_t& out, std::string& error) {
    std::string word;
    if (!(in >> word) || !cli::parse_u64(word.c_str(), 0, max, out)) {
        error = std::string(what) + " needs a number from 0 to " + std::to_string(max) + (word.empty() ? "" : ", got '" + word + "'");
        return false;
    }
    return true;
}

std::string address_text(const FlowTuple& t, bool source) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (t.ipv6) inet_ntop(AF_INET6, source ? &t.src6 : &t.dst6, text, sizeof text);
    else inet_ntop(AF_INET, source ? &t.src4 : &t.dst4, text, sizeof text);
    return text;
}

// What each rte_flow_error_type is about, after its comment in rte_flow.h.
const char* error_type_text(int type) {
    switch (type) {
        case RTE_FLOW_ERROR_TYPE_NONE: return "no error";
        case RTE_FLOW_ERROR_TYPE_UNSPECIFIED: return "cause unspecified";
        case RTE_FLOW_ERROR_TYPE_HANDLE: return "flow rule (handle)";
        case RTE_FLOW_ERROR_TYPE_ATTR_GROUP: return "group field";
        case RTE_FLOW_ERROR_TYPE_ATTR_PRIORITY: return "priority field";
        case RTE_FLOW_ERROR_TYPE_ATTR_INGRESS: return "ingress field";
        case RTE_FLOW_ERROR_TYPE_ATTR_EGRESS: return "egress field";
        case RTE_FLOW_ERROR_TYPE_ATTR_TRANSFER: return "transfer field";
        case RTE_FLOW_ERROR_TYPE_ATTR: return "attributes structure";
        case RTE_FLOW_ERROR_TYPE_ITEM_NUM: return "pattern length";
        case RTE_FLOW_ERROR_TYPE_ITEM_SPEC: return "item specification";
        case RTE_FLOW_ERROR_TYPE_ITEM_LAST: return "item specification range";
        case RTE_FLOW_ERROR_TYPE_ITEM_MASK: return "item specification mask";
        case RTE_FLOW_ERROR_TYPE_ITEM: return "specific pattern item";
        case RTE_FLOW_ERROR_TYPE_ACTION_NUM: return "number of actions";
        case RTE_FLOW_ERROR_TYPE_ACTION_CONF: return "action configuration";
        case RTE_FLOW_ERROR_TYPE_ACTION: return "specific action";
        case RTE_FLOW_ERROR_TYPE_STATE: return "current device state";
        default: return "unknown type";
    }
}

}  // namespace

bool parse_flow_spec(const std::string& text, FlowSpec& out, std::string& error) {
    out = FlowSpec{};
    std::istringstream in(text);
    std::string word;
    bool in_actions = false;
    bool any_action = false;
    uint64_t v = 0;
    while (in >> word) {
        if (!in_actions) {
            if (word == "priority") {
                if (!read_number(in, "priority", UINT32_MAX, v, error)) return false;
                out.priority = static_cast<uint32_t>(v);
            } else if (word == "actions") {
                in_actions = true;
            } else {
                error = "expected 'priority N' or 'actions', got '" + word + "'";
                return false;
            }
            continue;
        }
        bool repeated = false;
        if (word == "queue") {
            repeated = out.has_queue;
            if (!read_number(in, "queue", UINT16_MAX, v, error)) return false;
            out.has_queue = true;
            out.queue = static_cast<uint16_t>(v);
        } else if (word == "mark") {
            repeated = out.has_mark;
            if (!read_number(in, "mark", UINT32_MAX, v, error)) return false;
            out.has_mark = true;
            out.mark = static_cast<uint32_t>(v);
        } else if (word == "count") {
            repeated = out.count;
            out.count = true;
        } else if (word == "drop") {
            repeated = out.drop;
            out.drop = true;
        } else {
            error = "unknown action '" + word + "' (queue N, mark N, count, drop)";
            return false;
        }
        if (repeated) {
            error = "action '" + word + "' given twice";
            return false;
        }
        any_action = true;
    }
    if (!in_actions || !any_action) {
        error = "no actions: end the rule with 'actions' and at least one of queue N, mark N, count, drop";
        return false;
    }
    return true;
}

std::string flow_rule_text(const FlowTuple& t, const FlowSpec& s) {
    std::string text = "tcp src " + address_text(t, true) + " " + std::to_string(t.sport) + " dst " +
                       address_text(t, false) + " " + std::to_string(t.dport);
    if (s.priority != 0) text += " priority " + std::to_string(s.priority);
    text += " actions";
    if (s.has_queue) text += " queue " + std::to_string(s.queue);
    if (s.has_mark) text += " mark " + std::to_string(s.mark);
    if (s.count) text += " count";
    if (s.drop) text += " drop";
    return text;
}

FlowRequest::FlowRequest(const FlowTuple& t, const FlowSpec& s, uint32_t count_id) {
    attr_.ingress = 1;
    attr_.priority = s.priority;
    // ETH with no spec: any frame; the addresses and ports with their default masks: exact.
    rte_flow_item item{};
    item.type = RTE_FLOW_ITEM_TYPE_ETH;
    pattern_.push_back(item);
    item = rte_flow_item{};
    if (t.ipv6) {
        std::memcpy(ipv6_.hdr.src_addr, &t.src6, sizeof ipv6_.hdr.src_addr);
        std::memcpy(ipv6_.hdr.dst_addr, &t.dst6, sizeof ipv6_.hdr.dst_addr);
        item.type = RTE_FLOW_ITEM_TYPE_IPV6;
        item.spec = &ipv6_;
    } else {
        ipv4_.hdr.src_addr = t.src4.s_addr;  // both in network order
        ipv4_.hdr.dst_addr = t.dst4.s_addr;
        item.type = RTE_FLOW_ITEM_TYPE_IPV4;
        item.spec = &ipv4_;
    }
    pattern_.push_back(item);
    item = rte_flow_item{};
    tcp_.hdr.src_port = rte_cpu_to_be_16(t.sport);
    tcp_.hdr.dst_port = rte_cpu_to_be_16(t.dport);
    item.type = RTE_FLOW_ITEM_TYPE_TCP;
    item.spec = &tcp_;
    pattern_.push_back(item);
    item = rte_flow_item{};
    item.type = RTE_FLOW_ITEM_TYPE_END;
    pattern_.push_back(item);

    auto action = [this](rte_flow_action_type type, const void* conf) {
        rte_flow_action a{};
        a.type = type;
        a.conf = conf;
        actions_.push_back(a);
    };
    queue_.index = s.queue;
    mark_.id = s.mark;
    count_.id = count_id;
    if (s.has_queue) action(RTE_FLOW_ACTION_TYPE_QUEUE, &queue_);
    if (s.has_mark) action(RTE_FLOW_ACTION_TYPE_MARK, &mark_);
    if (s.count) action(RTE_FLOW_ACTION_TYPE_COUNT, &count_);
    if (s.drop) action(RTE_FLOW_ACTION_TYPE_DROP, nullptr);
    action(RTE_FLOW_ACTION_TYPE_END, nullptr);
}

void print_flow_error(const rte_flow_error& error, int errno_value) {
    std::printf("Caught PMD error type %d (%s): %s: %s\n", static_cast<int>(error.type), error_type_text(error.type),
                error.message != nullptr ? error.message : "(no stated reason)", rte_strerror(errno_value));
}

}  // namespace nvmeddp::shell
