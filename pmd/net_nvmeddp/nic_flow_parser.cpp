#include "pmd/net_nvmeddp/nic_flow_parser.hpp"

#include <rte_byteorder.h>

#include <cstddef>
#include <cstring>

namespace nvmeddp::pmd {

namespace {

constexpr const char* kShape = "pattern must be ETH / [VLAN / [VLAN /]] IPV4 or IPV6 / TCP / END";

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
// spec struct; `fallback` is filled with the default mask when the item has none.
template <typename T>
const T& mask_of(const rte_flow_item* item, T& fallback) noexcept {
    return item->mask != nullptr ? *static_cast<const T*>(item->mask) : fallback;
}

int check_eth(const rte_flow_item* item, rte_flow_error* error) noexcept {
    if (item->type != RTE_FLOW_ITEM_TYPE_ETH) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, item, kShape);
    if (item->last != nullptr) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, item, "ranges (last) are not supported");
    }
    if (item->spec == nullptr) return 0;  // any Ethernet frame, whatever the mask
    // With a spec, the default mask would match both MAC addresses: only an all-zero mask is "any".
    const auto* m = static_cast<const rte_flow_item_eth*>(item->mask);
    if (m == nullptr || !all_bytes(&m->hdr, sizeof m->hdr, 0) || m->has_vlan != 0) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "ETH must match any frame (no spec, or a mask of zeros)");
    }
    return 0;
}

// A VLAN item matches one tag's VID exactly (mask 0x0fff on the TCI, the default) and nothing else.
int parse_vlan(const rte_flow_item* item, uint16_t& vid, rte_flow_error* error) noexcept {
    if (item->spec == nullptr) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_SPEC, item, "VLAN needs a spec with the VID");
    if (item->last != nullptr) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, item, "ranges (last) are not supported");
    }
    rte_flow_item_vlan fallback{};
    fallback.hdr.vlan_tci = RTE_BE16(0x0FFF);
    rte_flow_item_vlan m = mask_of(item, fallback);
    if (m.hdr.vlan_tci != RTE_BE16(0x0FFF)) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "VLAN must match the VID exactly (TCI mask 0x0fff)");
    }
    m.hdr.vlan_tci = 0;
    if (!all_bytes(&m.hdr, sizeof m.hdr, 0) || m.has_more_vlan != 0) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "only the VLAN ID can be matched");
    }
    vid = rte_be_to_cpu_16(static_cast<const rte_flow_item_vlan*>(item->spec)->hdr.vlan_tci) & 0x0FFF;
    return 0;
}

int parse_ip(const rte_flow_item* item, uint16_t sport, uint16_t dport, uint16_t vlan, uint16_t outer_vlan, FlowKey& key,
             rte_flow_error* error) noexcept {
    if (item->type != RTE_FLOW_ITEM_TYPE_IPV4 && item->type != RTE_FLOW_ITEM_TYPE_IPV6) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, item, kShape);
    }
    if (item->spec == nullptr) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_SPEC, item, "IPV4 / IPV6 needs a spec with both addresses");
    }
    if (item->last != nullptr) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, item, "ranges (last) are not supported");
    }
    if (item->type == RTE_FLOW_ITEM_TYPE_IPV4) {
        rte_flow_item_ipv4 fallback{};
        fallback.hdr.src_addr = fallback.hdr.dst_addr = RTE_BE32(0xFFFFFFFF);
        rte_flow_item_ipv4 m = mask_of(item, fallback);
        if (m.hdr.src_addr != RTE_BE32(0xFFFFFFFF) || m.hdr.dst_addr != RTE_BE32(0xFFFFFFFF)) {
            return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "IPv4 addresses must be matched exactly");
        }
        m.hdr.src_addr = m.hdr.dst_addr = 0;
        if (!all_bytes(&m, sizeof m, 0)) {
            return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "only the IPv4 addresses can be matched");
        }
        const auto* s = static_cast<const rte_flow_item_ipv4*>(item->spec);
        key = FlowKey::ipv4(reinterpret_cast<const uint8_t*>(&s->hdr.src_addr),
                            reinterpret_cast<const uint8_t*>(&s->hdr.dst_addr), sport, dport, vlan, outer_vlan);
        return 0;
    }
    rte_flow_item_ipv6 fallback{};
    std::memset(fallback.hdr.src_addr, 0xFF, sizeof fallback.hdr.src_addr);
    std::memset(fallback.hdr.dst_addr, 0xFF, sizeof fallback.hdr.dst_addr);
    rte_flow_item_ipv6 m = mask_of(item, fallback);
    if (!all_bytes(m.hdr.src_addr, sizeof m.hdr.src_addr, 0xFF) || !all_bytes(m.hdr.dst_addr, sizeof m.hdr.dst_addr, 0xFF)) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "IPv6 addresses must be matched exactly");
    }
    std::memset(m.hdr.src_addr, 0, sizeof m.hdr.src_addr);
    std::memset(m.hdr.dst_addr, 0, sizeof m.hdr.dst_addr);
    // The header and the extension-header bits: the struct has no padding (40 + 4 bytes).
    static_assert(sizeof(rte_flow_item_ipv6) == sizeof(rte_ipv6_hdr) + sizeof(uint32_t));
    if (!all_bytes(&m, sizeof m, 0)) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, item, "only the IPv6 addresses can be matched");
    }
    const auto* s = static_cast<const rte_flow_item_ipv6*>(item->spec);
    key = FlowKey::ipv6(s->hdr.src_addr, s->hdr.dst_addr, sport, dport, vlan, outer_vlan);
    return 0;
}

int parse_tcp(const rte_flow_item* item, uint16_t& sport, uint16_t& dport, rte_flow_error* error) noexcept {
    if (item->type != RTE_FLOW_ITEM_TYPE_TCP) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, item, kShape);
    if (item->spec == nullptr) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_SPEC, item, "TCP needs a spec with both ports");
    }
    if (item->last != nullptr) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, item, "ranges (last) are not supported");
    }
    rte_flow_item_tcp fallback{};
    fallback.hdr.src_port = fallback.hdr.dst_port = RTE_BE16(0xFFFF);
    rte_flow_item_tcp m = mask_of(item, fallback);
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

int parse_actions(const rte_flow_action* actions, uint16_t rx_queues, NicRuleAction& action, rte_flow_error* error) noexcept {
    if (actions == nullptr) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_NUM, nullptr, "no actions");
    action = NicRuleAction{};
    for (const rte_flow_action* a = actions; a->type != RTE_FLOW_ACTION_TYPE_END; ++a) {
        switch (a->type) {
            case RTE_FLOW_ACTION_TYPE_VOID:
                continue;
            case RTE_FLOW_ACTION_TYPE_QUEUE: {
                if (a->conf == nullptr) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a, "QUEUE without its index");
                if (action.has_queue) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "QUEUE given twice");
                const auto* q = static_cast<const rte_flow_action_queue*>(a->conf);
                if (q->index >= rx_queues) {
                    return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a, "queue index beyond the rx queues");
                }
                action.has_queue = true;
                action.queue = q->index;
                continue;
            }
            case RTE_FLOW_ACTION_TYPE_MARK:
                if (a->conf == nullptr) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a, "MARK without its id");
                if (action.has_mark) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "MARK given twice");
                action.has_mark = true;
                action.mark = static_cast<const rte_flow_action_mark*>(a->conf)->id;
                continue;
            default:
                return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "only QUEUE and MARK actions");
        }
    }
    if (!action.has_queue && !action.has_mark) {
        return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_NUM, actions, "no QUEUE or MARK action");
    }
    return 0;
}

}  // namespace

int parse_nic_rule(const rte_flow_attr* attr, const rte_flow_item* pattern, const rte_flow_action* actions,
                   uint16_t rx_queues, FlowKey& key, NicRuleAction& action, rte_flow_error* error) noexcept {
    if (attr == nullptr) return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR, nullptr, "no attributes");
    if (!attr->ingress || attr->egress || attr->transfer || attr->group != 0) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ATTR, attr, "only ingress rules in group 0");
    }
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
    // ETH, up to two VLANs, IP, TCP: name the first item that is not where it should be (or END,
    // where an item is missing).
    size_t at = 0;
    if (at == n || items[at]->type != RTE_FLOW_ITEM_TYPE_ETH) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, at < n ? items[at] : it, kShape);
    if (int rc = check_eth(items[at++], error); rc != 0) return rc;
    uint16_t vids[2] = {};
    size_t tags = 0;
    for (; at < n && items[at]->type == RTE_FLOW_ITEM_TYPE_VLAN; ++at) {
        if (tags == 2) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, items[at], kShape);
        if (int rc = parse_vlan(items[at], vids[tags++], error); rc != 0) return rc;
    }
    if (at == n || (items[at]->type != RTE_FLOW_ITEM_TYPE_IPV4 && items[at]->type != RTE_FLOW_ITEM_TYPE_IPV6)) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, at < n ? items[at] : it, kShape);
    }
    const rte_flow_item* ip = items[at++];
    if (at == n || items[at]->type != RTE_FLOW_ITEM_TYPE_TCP) {
        return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, at < n ? items[at] : it, kShape);
    }
    const rte_flow_item* tcp = items[at++];
    if (at != n) return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, items[at], kShape);
    // The tag nearest the IP header is the connection's VLAN, as the frame parser keys it.
    const uint16_t vlan = tags > 0 ? vids[tags - 1] : 0;
    const uint16_t outer_vlan = tags > 1 ? vids[0] : 0;
    // The TCP item before the IP item: the key is built once, from addresses and ports together.
    uint16_t sport = 0, dport = 0;
    if (int rc = parse_tcp(tcp, sport, dport, error); rc != 0) return rc;
    if (int rc = parse_ip(ip, sport, dport, vlan, outer_vlan, key, error); rc != 0) return rc;
    return parse_actions(actions, rx_queues, action, error);
}

}  // namespace nvmeddp::pmd
