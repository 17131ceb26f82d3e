// ddp caps <port_id> on|off|placement|digest; show ddp stats <port_id>; show ddp conn.
#include <cmdline_parse_num.h>
#include <cmdline_parse_string.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "command_set.hpp"
#include "ddp/stat_names.hpp"
#include "ddp_text.hpp"
#include "nvmetcp/host/ddp_receive.hpp"
#include "pmd/dpdk/offload_port.hpp"
#include "shell_state.hpp"

namespace nvmeddp::shell {

namespace {

struct CapsResult {
    cmdline_fixed_string_t ddp, caps;
    uint16_t port_id;
    cmdline_fixed_string_t which;
};
cmdline_parse_token_string_t caps_ddp = TOKEN_STRING_INITIALIZER(CapsResult, ddp, "ddp");
cmdline_parse_token_string_t caps_caps = TOKEN_STRING_INITIALIZER(CapsResult, caps, "caps");
cmdline_parse_token_num_t caps_port = TOKEN_NUM_INITIALIZER(CapsResult, port_id, RTE_UINT16);
cmdline_parse_token_string_t caps_which = TOKEN_STRING_INITIALIZER(CapsResult, which, "on#off#placement#digest");

struct StatsResult {
    cmdline_fixed_string_t show, ddp, stats;
    uint16_t port_id;
};
cmdline_parse_token_string_t stats_show = TOKEN_STRING_INITIALIZER(StatsResult, show, "show");
cmdline_parse_token_string_t stats_ddp = TOKEN_STRING_INITIALIZER(StatsResult, ddp, "ddp");
cmdline_parse_token_string_t stats_stats = TOKEN_STRING_INITIALIZER(StatsResult, stats, "stats");
cmdline_parse_token_num_t stats_port = TOKEN_NUM_INITIALIZER(StatsResult, port_id, RTE_UINT16);

struct ConnResult {
    cmdline_fixed_string_t show, ddp, conn;
};
cmdline_parse_token_string_t conn_show = TOKEN_STRING_INITIALIZER(ConnResult, show, "show");
cmdline_parse_token_string_t conn_ddp = TOKEN_STRING_INITIALIZER(ConnResult, ddp, "ddp");
cmdline_parse_token_string_t conn_conn = TOKEN_STRING_INITIALIZER(ConnResult, conn, "conn");

ddp::Device* device_of(uint16_t port_id) {
    if (!check_port(port_id)) return nullptr;
    pmd::OffloadPort* o = pmd::OffloadPort::of_port(port_id);
    if (o == nullptr) std::printf("Port %u has no DDP offload (net_nvmeddp runs one with ddp=on)\n", port_id);
    return o != nullptr ? &o->device() : nullptr;
}

void on_caps(void* parsed, struct cmdline*, void*) {
    const auto* r = static_cast<CapsResult*>(parsed);
    ddp::Device* d = device_of(r->port_id);
    if (d == nullptr) return;
    ddp::Caps want = 0;
    if (!std::strcmp(r->which, "on")) want = d->supported_caps();
    else if (!std::strcmp(r->which, "placement")) want = ddp::cap::kPlacement;
    else if (!std::strcmp(r->which, "digest")) want = ddp::cap::kDataDigest;
    if (const ddp::Status st = d->set_caps(want); st != ddp::Status::Ok) {
        std::printf("Port %u: %s cannot enable %s: %s (supported: %s)\n", r->port_id, d->name(), caps_text(want).c_str(),
                    ddp::to_string(st), caps_text(d->supported_caps()).c_str());
        return;
    }
    std::printf("Port %u: ddp caps %s\n", r->port_id, caps_text(d->enabled_caps()).c_str());
}

void on_stats(void* parsed, struct cmdline*, void*) {
    const auto* r = static_cast<StatsResult*>(parsed);
    ddp::Device* d = device_of(r->port_id);
    if (d == nullptr) return;
    const ddp::Stats st = d->stats();
    std::printf("DDP statistics of port %u (%s, caps %s):\n", r->port_id, d->name(), caps_text(d->enabled_caps()).c_str());
    for (const ddp::StatName& c : ddp::kStatNames) std::printf("  %s: %" PRIu64 "\n", c.name, st.*c.field);
}

void on_conn(void*, struct cmdline*, void*) {
    ShellState& s = state();
    if (!s.session) {
        std::printf("Not connected\n");
        return;
    }
    nvmetcp::host::Controller& c = s.session->controller();
    ddp::Device* d = s.stack->device();
    for (uint16_t i = 0; i < c.io_queue_count(); ++i) {
        nvmetcp::host::Queue& q = c.io_queue(i);
        const nvmetcp::host::QueueStats& qs = q.stats();
        std::printf("qid %u: host: %" PRIu64 " C2H bytes placed by the device, %" PRIu64 " copied; data digests %" PRIu64
                    " offloaded, %" PRIu64 " computed\n",
                    q.qid(), qs.bytes_placed, qs.bytes_copied, qs.digests_offloaded, qs.digests_computed);
        nvmetcp::host::DdpReceive* receive = q.offload();
        ddp::Stats st{};
        if (d == nullptr || receive == nullptr || d->connection_stats(receive->handle(), st) != ddp::Status::Ok) {
            std::printf("qid %u: device: not offloaded\n", q.qid());
            continue;
        }
        std::printf("qid %u: device: setup %" PRIu64 " teardown %" PRIu64 " placed %" PRIu64 " bytes in %" PRIu64
                    " packets, seen %" PRIu64 " packets, digests %" PRIu64 " offloaded, drop %" PRIu64
                    ", resync requests %" PRIu64 "\n",
                    q.qid(), st.setup, st.teardown, st.placed_bytes, st.placed_packets, st.packets, st.digest_offloaded,
                    st.drop, st.resync_requests);
    }
}

}  // namespace

void add_ddp_commands(CommandSet& set) {
    set.add(on_caps, "ddp caps <port_id> on|off|placement|digest: what the port's DDP device does from now on",
            {&caps_ddp, &caps_caps, &caps_port, &caps_which});
    set.add(on_stats, "show ddp stats <port_id>: the DDP device's counters (Linux's ULP DDP names first)",
            {&stats_show, &stats_ddp, &stats_stats, &stats_port});
    set.add(on_conn, "show ddp conn: per connection, what the device and the host did on each I/O queue",
            {&conn_show, &conn_ddp, &conn_conn});
}

}  // namespace nvmeddp::shell
