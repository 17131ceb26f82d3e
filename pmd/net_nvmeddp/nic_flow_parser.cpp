#include "pmd/net_nvmeddp/nic_flow_parser.hpp"

#include <rte_byteorder.h>

#include <cstddef>
#include <cstring>
#include <type_traits>

namespace nvmeddp::pmd {

namespace {

constexpr const char* kShape = "pattern must be ETH / [VLAN / [VLAN /]] IPV4 or IPV6 / TCP / END";
constexpr const char* kRange = "ranges (last) are not supported";
constexpr uint8_t kTcp = 6;

bool all_bytes(const void* p, size_t n, uint8_t v) noexcept {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) {
        if (b[i] != v) return false;
    }
    return true;
}

int refuse(rte_flow_error* error, int code, rte_flow_error_type type, const void* cause, const char* why) noexcept {
    return rte_flow_error_set(error, code, type, cause, why);
}

// The item's mask, or its default one (rte_flow.h defines the defaults for C only). T is the item's
// spec struct; `fallback` is the default mask.
template <typename T>
T mask_of(const rte_flow_item* item, const T& fallback) noexcept {
    return item->mask != nullptr ? *static_cast<const T*>(item->mask) : fallback;
}

bool is_range_bytes(const rte_flow_item* item, const uint8_t* m, const uint8_t* s, const uint8_t* l, size_t n) noexcept {
    if (item->last == nullptr) return false;
    if (item->spec == nullptr) return true;
    bool zero = true, same = true;
    for (size_t i = 0; i < n; ++i) {
        zero = zero && (l[i] & m[i]) == 0;
        same = same && (l[i] & m[i]) == (s[i] & m[i]);
    }
    return !zero && !same;
}

// Whether `last` asks for a range: under the mask, a last of zeros or equal to the spec does not
// (rte_flow.h). Compared over the whole struct, which is stricter than field by field: refusing a
// rule is always allowed, matching more than asked is not. Only for item structs without padding
// (padding bytes hold anything); ETH has its own below.
template <typename T>
bool is_range(const rte_flow_item* item, const T& mask) noexcept {
    static_assert(std::has_unique_object_representations_v<T>, "a struct with padding: compare its fields");
    return is_range_bytes(item, reinterpret_cast<const uint8_t*>(&mask), static_cast<const uint8_t*>(item->spec),
                          static_cast<const uint8_t*>(item->last), sizeof(T));
}

// The EtherType the next item implies (what an ETH type or a VLAN inner type may be matched with),
// or 0 when it implies none this NIC matches (a further VLAN tag has one of two TPIDs).
uint16_t ether_type_before(rte_flow_item_type next) noexcept {
    if (next == RTE_FLOW_ITEM_TYPE_IPV4) return 0x0800;
    if (next == RTE_FLOW_ITEM_TYPE_IPV6) return 0x86DD;
    return 0;
}

// A masked EtherType field is allowed when it is exactly the one `next` implies.
bool ether_type_ok(rte_be16_t mask, rte_be16_t spec, rte_flow_item_type next) noexcept {
    if (mask == 0) return true;
    const uint16_t implied = ether_type_before(next);
    return implied != 0 && mask == RTE_BE16(0xFFFF) && rte_be_to_cpu_16(spec) == implied;
}

// An ETH item struct with its fields copied into a zeroed one: rte_flow_item_eth has two bytes of
// padding after the header, which may hold anything and must take no part in comparisons.
rte_flow_item_eth eth_fields(const rte_flow_item_eth& from) noexcept {
    rte_flow_item_eth to{};
    std::memcpy(&to.hdr, &from.hdr, sizeof to.hdr);
    to.has_vlan = from.has_vlan;
    to.reserved = from.reserved;
    return to;
}

bool eth_is_range(const rte_flow_item* item, const rte_flow_item_eth& mask) noexcept {
    if (item->last == nullptr || item->spec == nullptr) return item->last != nullptr;
    const rte_flow_item_eth m = eth_fields(mask);
    const rte_flow_item_eth spec = eth_fields(*static_cast<const rte_flow_item_eth*>(item->spec));
    const rte_flow_item_eth last = eth_fields(*static_cast<const rte_flow_item_eth*>(item->last));
    return is_range_bytes(item, reinterpret_cast<const uint8_t*>(&m), reinterpret_cast<const uint8_t*>(&spec),
                          reinterpret_cast<const uint8_t*>(&last), sizeof m);
}

int check_eth(const rte_flow_item* item, rte_flow_item_type next, rte_flow_error* error) noexcept {
    if (item->spec == nullptr) {  // any Ethernet frame
        if (item->last != nullptr) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, item, kRange);
        return 0;
    }
    rte_flow_item_eth fallback{};
    std::memset(&fallback.hdr.dst_addr, 0xFF, sizeof fallback.hdr.dst_addr);
    std::memset(&fallback.hdr.src_addr, 0xFF, sizeof fallback.hdr.src_addr);
    rte_flow_item_eth m = eth_fields(mask_of(item, fallback));
    if (eth_is_range(item, m)) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, item, kRange);
    const auto& s = *static_cast<const rte_flow_item_eth*>(item->spec);
    if (!all_bytes(&m.hdr.dst_addr, sizeof m.hdr.dst_addr, 0) || !all_bytes(&m.hdr.src_addr, sizeof m.hdr.src_addr, 0)) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item,
                      "ETH cannot match MAC addresses (give no spec, or a mask without them)");
    }
    if (!ether_type_ok(m.hdr.ether_type, s.hdr.ether_type, next)) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item,
                      "ETH type can only be matched as the IP item after it implies (0x0800, 0x86DD)");
    }
    if (m.has_vlan != 0 && s.has_vlan != (next == RTE_FLOW_ITEM_TYPE_VLAN ? 1u : 0u)) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "ETH has_vlan contradicts the pattern");
    }
    if (m.reserved != 0) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "ETH mask has reserved bits set");
    }
    return 0;
}

// A VLAN item matches one tag's VID exactly (mask 0x0fff on the TCI, the default).
int parse_vlan(const rte_flow_item* item, rte_flow_item_type next, uint16_t& vid, rte_flow_error* error) noexcept {
    if (item->spec == nullptr) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_SPEC, item, "VLAN needs a spec with the VID");
    rte_flow_item_vlan fallback{};
    fallback.hdr.vlan_tci = RTE_BE16(0x0FFF);
    rte_flow_item_vlan m = mask_of(item, fallback);
    if (is_range(item, m)) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, item, kRange);
    const auto& s = *static_cast<const rte_flow_item_vlan*>(item->spec);
    if (m.hdr.vlan_tci != RTE_BE16(0x0FFF)) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "VLAN must match the VID exactly (TCI mask 0x0fff)");
    }
    if (!ether_type_ok(m.hdr.eth_proto, s.hdr.eth_proto, next) ||
        (m.has_more_vlan != 0 && s.has_more_vlan != (next == RTE_FLOW_ITEM_TYPE_VLAN ? 1u : 0u))) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item,
                      "only the VLAN ID can be matched (and the inner type or has_more_vlan as the pattern implies)");
    }
    m.hdr = {};
    m.has_more_vlan = 0;
    if (!all_bytes(&m, sizeof m, 0)) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "VLAN mask has reserved bits set");
    }
    vid = rte_be_to_cpu_16(s.hdr.vlan_tci) & 0x0FFF;
    return 0;
}

// The IP protocol field may be matched as the TCP item after it implies.
bool protocol_ok(uint8_t mask, uint8_t spec) noexcept { return mask == 0 || (mask == 0xFF && spec == kTcp); }

int parse_ipv4(const rte_flow_item* item, uint16_t sport, uint16_t dport, uint16_t vlan, uint16_t outer_vlan, FlowKey& key,
               rte_flow_error* error) noexcept {
    rte_flow_item_ipv4 fallback{};
    fallback.hdr.src_addr = fallback.hdr.dst_addr = RTE_BE32(0xFFFFFFFF);
    rte_flow_item_ipv4 m = mask_of(item, fallback);
    if (is_range(item, m)) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, item, kRange);
    const auto& s = *static_cast<const rte_flow_item_ipv4*>(item->spec);
    if (m.hdr.src_addr != RTE_BE32(0xFFFFFFFF) || m.hdr.dst_addr != RTE_BE32(0xFFFFFFFF)) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "IPv4 addresses must be matched exactly");
    }
    const bool proto = protocol_ok(m.hdr.next_proto_id, s.hdr.next_proto_id);
    m.hdr.src_addr = m.hdr.dst_addr = 0;
    m.hdr.next_proto_id = 0;
    if (!proto || !all_bytes(&m, sizeof m, 0)) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "only the IPv4 addresses can be matched (and protocol 6)");
    }
    key = FlowKey::ipv4(reinterpret_cast<const uint8_t*>(&s.hdr.src_addr), reinterpret_cast<const uint8_t*>(&s.hdr.dst_addr),
                        sport, dport, vlan, outer_vlan);
    return 0;
}

int parse_ipv6(const rte_flow_item* item, uint16_t sport, uint16_t dport, uint16_t vlan, uint16_t outer_vlan, FlowKey& key,
               rte_flow_error* error) noexcept {
    rte_flow_item_ipv6 fallback{};
    std::memset(fallback.hdr.src_addr, 0xFF, sizeof fallback.hdr.src_addr);
    std::memset(fallback.hdr.dst_addr, 0xFF, sizeof fallback.hdr.dst_addr);
    rte_flow_item_ipv6 m = mask_of(item, fallback);
    if (is_range(item, m)) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, item, kRange);
    const auto& s = *static_cast<const rte_flow_item_ipv6*>(item->spec);
    if (!all_bytes(m.hdr.src_addr, sizeof m.hdr.src_addr, 0xFF) || !all_bytes(m.hdr.dst_addr, sizeof m.hdr.dst_addr, 0xFF)) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "IPv6 addresses must be matched exactly");
    }
    const bool proto = protocol_ok(m.hdr.proto, s.hdr.proto);
    std::memset(m.hdr.src_addr, 0, sizeof m.hdr.src_addr);
    std::memset(m.hdr.dst_addr, 0, sizeof m.hdr.dst_addr);
    m.hdr.proto = 0;
    // The header and the extension-header bits: the struct has no padding (40 + 4 bytes).
    static_assert(sizeof(rte_flow_item_ipv6) == sizeof(rte_ipv6_hdr) + sizeof(uint32_t));
    if (!proto || !all_bytes(&m, sizeof m, 0)) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "only the IPv6 addresses can be matched (and protocol 6)");
    }
    key = FlowKey::ipv6(s.hdr.src_addr, s.hdr.dst_addr, sport, dport, vlan, outer_vlan);
    return 0;
}

int parse_ip(const rte_flow_item* item, uint16_t sport, uint16_t dport, uint16_t vlan, uint16_t outer_vlan, FlowKey& key,
             rte_flow_error* error) noexcept {
    if (item->spec == nullptr) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_SPEC, item, "IPV4 / IPV6 needs a spec with both addresses");
    }
    return item->type == RTE_FLOW_ITEM_TYPE_IPV4 ? parse_ipv4(item, sport, dport, vlan, outer_vlan, key, error)
                                                 : parse_ipv6(item, sport, dport, vlan, outer_vlan, key, error);
}

int parse_tcp(const rte_flow_item* item, uint16_t& sport, uint16_t& dport, rte_flow_error* error) noexcept {
    if (item->spec == nullptr) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_SPEC, item, "TCP needs a spec with both ports");
    }
    rte_flow_item_tcp fallback{};
    fallback.hdr.src_port = fallback.hdr.dst_port = RTE_BE16(0xFFFF);
    rte_flow_item_tcp m = mask_of(item, fallback);
    if (is_range(item, m)) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, item, kRange);
    if (m.hdr.src_port != RTE_BE16(0xFFFF) || m.hdr.dst_port != RTE_BE16(0xFFFF)) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "TCP ports must be matched exactly");
    }
    m.hdr.src_port = m.hdr.dst_port = 0;
    if (!all_bytes(&m, sizeof m, 0)) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "only the TCP ports can be matched");
    }
    const auto* s = static_cast<const rte_flow_item_tcp*>(item->spec);
    sport = rte_be_to_cpu_16(s->hdr.src_port);
    dport = rte_be_to_cpu_16(s->hdr.dst_port);
    return 0;
}

// What the action list has said so far: a second of a kind, or a contradiction, names the action
// that makes it.
struct ActionsSeen {
    const rte_flow_action* fate = nullptr;  // QUEUE, RSS or DROP
    bool mark = false, count = false;
};

int set_queue(const rte_flow_action* a, uint16_t index, uint16_t rx_queues, NicRuleAction& action, rte_flow_error* error) noexcept {
    if (index >= rx_queues) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a, "queue index beyond the rx queues");
    action.has_queue = true;
    action.queue = index;
    return 0;
}

int parse_action(const rte_flow_action* a, uint16_t rx_queues, ActionsSeen& seen, NicRuleAction& action,
                 rte_flow_error* error) noexcept {
    constexpr const char* kTwoFates = "only one of QUEUE, RSS and DROP per rule, once";
    switch (a->type) {
        case RTE_FLOW_ACTION_TYPE_QUEUE: {
            if (seen.fate != nullptr) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, kTwoFates);
            seen.fate = a;
            if (a->conf == nullptr) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a, "QUEUE without its index");
            return set_queue(a, static_cast<const rte_flow_action_queue*>(a->conf)->index, rx_queues, action, error);
        }
        case RTE_FLOW_ACTION_TYPE_RSS: {
            if (seen.fate != nullptr) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, kTwoFates);
            seen.fate = a;
            const auto* rss = static_cast<const rte_flow_action_rss*>(a->conf);
            if (rss == nullptr) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a, "RSS without its queues");
            if (rss->queue_num != 1) {
                return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "RSS must name exactly one queue (spreading is not supported)");
            }
            if (rss->queue == nullptr) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a, "RSS without its queues");
            return set_queue(a, rss->queue[0], rx_queues, action, error);
        }
        case RTE_FLOW_ACTION_TYPE_DROP:
            if (seen.fate != nullptr) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, kTwoFates);
            if (seen.mark) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "DROP cannot go with MARK");
            seen.fate = a;
            action.drop = true;
            return 0;
        case RTE_FLOW_ACTION_TYPE_MARK:
            if (seen.mark) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "MARK given twice");
            if (action.drop) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "MARK cannot go with DROP");
            seen.mark = true;
            if (a->conf == nullptr) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a, "MARK without its id");
            action.has_mark = true;
            action.mark = static_cast<const rte_flow_action_mark*>(a->conf)->id;
            return 0;
        case RTE_FLOW_ACTION_TYPE_COUNT:
            // Its conf (a counter id) may be null; this NIC gives every rule its own counters.
            if (seen.count) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "COUNT given twice");
            seen.count = true;
            action.count = true;
            return 0;
        default:
            return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a,
                          "only QUEUE, RSS (one queue), DROP, MARK and COUNT actions");
    }
}

int parse_actions(const rte_flow_action* actions, uint16_t rx_queues, NicRuleAction& action, rte_flow_error* error) noexcept {
    if (actions == nullptr) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_NUM, nullptr, "no actions");
    action = NicRuleAction{};
    ActionsSeen seen;
    bool any = false;
    for (const rte_flow_action* a = actions; a->type != RTE_FLOW_ACTION_TYPE_END; ++a) {
        if (a->type == RTE_FLOW_ACTION_TYPE_VOID) continue;
        if (int rc = parse_action(a, rx_queues, seen, action, error); rc != 0) return rc;
        any = true;
    }
    if (!any) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_NUM, actions, "no action before END");
    return 0;
}

int check_attr(const rte_flow_attr* attr, rte_flow_error* error) noexcept {
    if (attr == nullptr) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR, nullptr, "no attributes");
    if (attr->egress) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ATTR_EGRESS, attr, "egress rules are not supported");
    if (attr->transfer) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ATTR_TRANSFER, attr, "transfer rules are not supported");
    if (attr->group != 0) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ATTR_GROUP, attr, "only group 0");
    if (!attr->ingress) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR_INGRESS, attr, "a rule must be ingress");
    return 0;
}

}  // namespace

int parse_nic_rule(const rte_flow_attr* attr, const rte_flow_item* pattern, const rte_flow_action* actions,
                   uint16_t rx_queues, NicRule& rule, rte_flow_error* error) noexcept {
    if (int rc = check_attr(attr, error); rc != 0) return rc;
    if (pattern == nullptr) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM_NUM, nullptr, "no pattern");

    // The non-VOID items, read up to END and no further. More than five is already not our shape.
    constexpr size_t kMaxItems = 5;  // ETH, two VLAN tags, IP, TCP
    const rte_flow_item* items[kMaxItems] = {};
    size_t n = 0;
    const rte_flow_item* it = pattern;
    for (; it->type != RTE_FLOW_ITEM_TYPE_END; ++it) {
        if (it->type == RTE_FLOW_ITEM_TYPE_VOID) continue;
        if (n == kMaxItems) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, it, kShape);
        items[n++] = it;
    }
    const auto type_at = [&](size_t i) { return i < n ? items[i]->type : RTE_FLOW_ITEM_TYPE_END; };
    // ETH, up to two VLANs, IP, TCP: name the first item that is not where it should be (or END,
    // where an item is missing).
    const auto misplaced = [&](size_t i) { return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, i < n ? items[i] : it, kShape); };
    size_t at = 0;
    if (type_at(at) != RTE_FLOW_ITEM_TYPE_ETH) return misplaced(at);
    if (int rc = check_eth(items[at], type_at(at + 1), error); rc != 0) return rc;
    ++at;
    uint16_t vids[2] = {};
    size_t tags = 0;
    for (; type_at(at) == RTE_FLOW_ITEM_TYPE_VLAN; ++at) {
        if (tags == 2) return misplaced(at);
        if (int rc = parse_vlan(items[at], type_at(at + 1), vids[tags++], error); rc != 0) return rc;
    }
    if (type_at(at) != RTE_FLOW_ITEM_TYPE_IPV4 && type_at(at) != RTE_FLOW_ITEM_TYPE_IPV6) return misplaced(at);
    const rte_flow_item* ip = items[at++];
    if (type_at(at) != RTE_FLOW_ITEM_TYPE_TCP) return misplaced(at);
    const rte_flow_item* tcp = items[at++];
    if (at != n) return misplaced(at);
    // The tag nearest the IP header is the connection's VLAN, as the frame parser keys it.
    const uint16_t vlan = tags > 0 ? vids[tags - 1] : 0;
    const uint16_t outer_vlan = tags > 1 ? vids[0] : 0;
    // The TCP item before the IP item: the key is built once, from addresses and ports together.
    uint16_t sport = 0, dport = 0;
    if (int rc = parse_tcp(tcp, sport, dport, error); rc != 0) return rc;
    if (int rc = parse_ip(ip, sport, dport, vlan, outer_vlan, rule.key, error); rc != 0) return rc;
    rule.priority = attr->priority;
    return parse_actions(actions, rx_queues, rule.action, error);
}

}  // namespace nvmeddp::pmd
