// nvmeddp-host: the NVMe/TCP host over a DPDK port with the receive offload, against any target.
// See print_usage() in options.cpp.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "nvmetcp/crc32c_copy.hpp"
#include "nvmetcp/host/controller.hpp"
#include "nvmetcp/host/discovery.hpp"
#include "nvmetcp/host/socket_transport.hpp"
#include "nvmetcp/host/dpdk/ddp_offload.hpp"
#include "nvmetcp/host/dpdk/host_stack.hpp"
#include "nvmetcp/host/dpdk/tcp_transport.hpp"
#include "pmd/dpdk/eal.hpp"
#include "options.hpp"
#include "lcore_group.hpp"
#include "report.hpp"
#include "pmd/fault/fault_rates.hpp"
#include "tcp/endpoint.hpp"
#include "workload.hpp"

namespace {

using namespace nvmeddp;
using host_app::Options;
using host_app::Row;
using host_app::add;
using host_app::print_table;
using host_app::queue_totals;
using host_app::size_text;
using host_app::stats_delta;

using host_app::now_ms;

// The DPDK stack's configuration from the command line. The option names are checked here, so that
// errors name them (the stack's own messages do not know the command line).
// --log-commands: the open file every run's workload writes its completed commands to (or null).
std::FILE* g_command_log = nullptr;

std::string stack_config(const Options& o, nvmetcp::host::HostStackConfig& c) {
    if (!tcp::IpAddress::parse(o.local_ip)) return "--local-ip " + o.local_ip + " is not an IPv4 or IPv6 address";
    if (!o.mac.empty() && !tcp::MacAddress::parse(o.mac)) return "--mac " + o.mac + " is not a MAC address";
    for (const auto& [name, spec] : {std::pair{"--faults-rx", &o.faults_rx}, std::pair{"--faults-tx", &o.faults_tx}}) {
        std::string err;
        if (!spec->empty() && !pmd::parse_fault_rates(*spec, &err)) return std::string(name) + ": " + err;
    }
    c.port = o.port;
    c.local_ip = o.local_ip;
    c.mac = o.mac;
    c.eal_args = o.eal;
    c.program = "nvmeddp-host";
    c.no_port_hint = "create it with --vdev after --";
    c.offload = o.offload != host_app::OffloadMode::Off;
    c.faults_rx = o.faults_rx;
    c.faults_tx = o.faults_tx;
    c.seed = o.seed;
    c.ddp_io_threshold = o.ddp_io_threshold;
    c.lro = o.lro;
    c.lanes = o.port_queues;
    if (o.lcores > 1) {
        std::string err;
        c.lcores = pmd::first_cpus(o.lcores, &err);
        if (c.lcores.empty()) return "--lcores " + std::to_string(o.lcores) + ": " + err;
    }
    c.log = [&o](const std::string& line) {
        if (!o.quiet) std::printf("offload: %s\n", line.c_str());
    };
    return {};
}

nvmetcp::host::ControllerConfig controller_config(const Options& o) {
    nvmetcp::host::ControllerConfig cc;
    cc.subnqn = o.subnqn;
    if (!o.hostnqn.empty()) cc.hostnqn = o.hostnqn;
    cc.io_queues = o.io_queues;
    cc.queue_depth = o.queue_depth;
    cc.nsid = o.nsid;
    cc.header_digest = o.header_digest;
    cc.data_digest = o.data_digest;
    cc.disable_sq_flow_control = o.disable_flow_control;
    cc.hpda = o.hpda;
    cc.reconnect_delay_ms = o.reconnect_delay_ms;
    cc.ctrl_loss_tmo_ms = o.ctrl_loss_tmo_ms;
    if (o.ctrl_loss_tmo_ms > 0 && o.reconnect_delay_ms == 0) cc.reconnect_delay_ms = 1000;
    cc.requeue_io = o.requeue_io;
    return cc;
}

// What each lcore did in the run just made (several lcores).
void print_shares(const host_app::LcoreGroup& group, const char* mode) {
    std::string line;
    for (size_t p = 0; p < group.shares().size(); ++p) {
        const auto& s = group.shares()[p];
        std::string queues;
        for (uint16_t q : s.queues) queues += (queues.empty() ? "" : ",") + std::to_string(q + 1);
        char part[160];
        std::snprintf(part, sizeof part, "%slcore #%zu (qid %s): %llu I/Os, busy %.1f ms", p == 0 ? "" : "; ", p,
                      queues.c_str(), static_cast<unsigned long long>(s.result.ios_ok + s.result.ios_failed),
                      1e3 * double(s.busy_cycles) / double(rte_get_tsc_hz()));
        line += part;
    }
    std::printf("nvmeddp-host: offload %s: %s; queues handed out %llu time(s), called back for the controller %llu\n", mode, line.c_str(),
                static_cast<unsigned long long>(group.pollers().hand_outs()),
                static_cast<unsigned long long>(group.pollers().call_backs()));
}

// Each I/O queue's TCP connection in the manner of `ss -ti` (over our DPDK TCP only).
void print_connections(nvmetcp::host::Controller& controller, const nvmetcp::host::HostStack* dpdk,
                       const char* mode) {
    if (dpdk == nullptr) return;
    for (uint16_t i = 0; i < controller.io_queue_count(); ++i) {
        const std::string info = nvmetcp::host::TcpTransportFactory::connection_info(controller.io_queue(i).transport());
        if (!info.empty()) std::printf("nvmeddp-host: offload %s: I/O queue %u: %s\n", mode, i + 1, info.c_str());
    }
}

// Connects, runs every size, shuts down. False when the controller could not be brought up or
// went away; rows get what was measured.
bool run_mode(const Options& o, bool offload_on, nvmetcp::host::TransportFactory& factory,
              const std::function<bool()>& move, ddp::Device* device, nvmetcp::host::HostStack* dpdk, std::vector<Row>& rows) {
    nvmetcp::host::ControllerConfig cc = controller_config(o);
    std::unique_ptr<nvmetcp::host::DdpOffload> offload;
    if (offload_on && device != nullptr) {
        device->set_caps(device->supported_caps() & (o.ddp_caps | (o.tx_digest_by_device ? NVMEDDP_CAP_TX_DATA_DIGEST : 0)));
        offload = std::make_unique<nvmetcp::host::DdpOffload>(*device, 0);
        offload->set_tx_digests(o.tx_digest_by_device);
        cc.io_queue_observer = offload.get();
    }
    nvmetcp::host::Controller controller(cc, factory);
    std::string err;
    const char* mode = offload_on ? "on" : "off";
    if (!controller.start(&err)) {
        std::printf("nvmeddp-host: offload %s: cannot start: %s\n", mode, err.c_str());
        return false;
    }
    // --caps-toggle N: the device's caps go off and on again every N completions (of the main
    // lcore's queues), while I/O runs: the host must fall back (copy, compute digests) and pick the
    // offload up again without a hiccup.
    uint64_t next_toggle = o.caps_toggle;
    uint64_t toggles = 0;
    host_app::LcoreGroup* lcores = nullptr;
    auto on_round = [&]() {
        if (next_toggle > 0 && device != nullptr && lcores != nullptr &&
            controller.state() == nvmetcp::host::ControllerState::Ready && lcores->main_completions() >= next_toggle) {
            next_toggle += o.caps_toggle;
            ++toggles;
            device->set_caps(device->enabled_caps() == 0 ? device->supported_caps() : 0);
        }
    };
    host_app::LcoreGroup group(controller, dpdk, dpdk != nullptr ? o.lcores : 1, move, on_round);
    lcores = &group;
    const uint64_t deadline = now_ms() + 10000;
    while (controller.state() == nvmetcp::host::ControllerState::Connecting && now_ms() < deadline) group.pump();
    if (controller.state() != nvmetcp::host::ControllerState::Ready) {
        std::printf("nvmeddp-host: offload %s: the controller is not ready: %s\n", mode,
                    controller.state() == nvmetcp::host::ControllerState::Connecting ? "no answer within 10 s"
                                                                                     : controller.failure().c_str());
        return false;
    }
    if (!o.quiet) {
        const auto& id = controller.identify();
        std::printf("nvmeddp-host: offload %s: connected to %s (%s, cntlid %u), namespace %u: %llu blocks of %u bytes, "
                    "%u I/O queue(s) of depth %u\n",
                    mode, o.subnqn.c_str(), nvmetcp::nvme::field_text(id.mn, sizeof id.mn).c_str(),
                    controller.admin_queue().cntlid(), controller.nsid(),
                    static_cast<unsigned long long>(controller.namespace_blocks()), controller.block_size(),
                    controller.io_queue_count(), o.queue_depth);
        // What the host's copies with digest run (the device's too, when the offload is ours in software).
        std::printf("nvmeddp-host: offload %s: copy + CRC32C path %s: %s\n", mode, nvmetcp::crc32c_copy_name(),
                    nvmetcp::crc32c_copy_default_reason());
    }
    bool ok = true;
    uint64_t digest_failures = 0;
    nvmetcp::host::QueueStats run_queues{};  // every row, writes included
    ddp::Stats run_device{};
    for (uint32_t size : o.sizes) {
        for (int write = 0; write < (o.writes ? 2 : 1); ++write) {
            host_app::WorkloadSpec spec;
            spec.io_size = size;
            spec.ios = o.ios;
            spec.depth = o.queue_depth;
            spec.write = write == 1;
            spec.seed = o.seed;
            spec.timeout_ms = uint64_t{o.timeout_s} * 1000;
            Row row;
            row.size = size;
            row.offload = offload_on;
            const auto q0 = queue_totals(controller);
            const ddp::Stats d0 = device ? device->stats() : ddp::Stats{};
            uint64_t rx_frames0 = 0, rx_bytes0 = 0, rx_frames1 = 0, rx_bytes1 = 0;
            row.port_counted = dpdk != nullptr && dpdk->port_rx(&rx_frames0, &rx_bytes0);
            row.result = group.run(spec, g_command_log);
            if (row.port_counted && dpdk->port_rx(&rx_frames1, &rx_bytes1)) {
                row.port_rx_frames = rx_frames1 - rx_frames0;
                row.port_rx_bytes = rx_bytes1 - rx_bytes0;
            }
            row.busy_seconds = double(group.busy_cycles()) / double(rte_get_tsc_hz());
            row.queues = queue_totals(controller);
            add(row.queues, q0, -1);
            if (device) row.device = stats_delta(device->stats(), d0);
            run_queues += row.queues;
            ddp::add_stats(run_device, row.device);
            const auto& r = row.result;
            const uint64_t excused = o.expect_digest_errors ? r.digest_failed : 0;
            const bool row_ok = r.ios_failed == excused && r.wrong_bytes == 0 && !r.timed_out;
            digest_failures += r.digest_failed;
            if (!o.quiet || !row_ok) {
                std::printf("nvmeddp-host: offload %s, %s %s: %llu I/Os ok, %llu failed (%llu data digest), %llu with "
                            "wrong bytes%s%s\n",
                            mode, size_text(size).c_str(), spec.write ? "write + read back" : "reads",
                            static_cast<unsigned long long>(r.ios_ok), static_cast<unsigned long long>(r.ios_failed),
                            static_cast<unsigned long long>(r.digest_failed),
                            static_cast<unsigned long long>(r.wrong_bytes), r.first_error.empty() ? "" : ": first: ",
                            r.first_error.c_str());
            }
            if (group.lcores() > 1 && !o.quiet) print_shares(group, mode);
            ok = ok && row_ok;
            if (!spec.write) rows.push_back(row);
            if (r.timed_out || controller.state() == nvmetcp::host::ControllerState::Failed) {
                std::printf("nvmeddp-host: offload %s: stopping: %s\n", mode,
                            controller.state() != nvmetcp::host::ControllerState::Failed ? "an I/O timed out"
                                                                                         : controller.failure().c_str());
                // What each I/O queue's TCP connection looked like then (retransmissions, windows,
                // out-of-order segments): printed even with --quiet, as a failure's evidence.
                print_connections(controller, dpdk, mode);
                return false;
            }
        }
    }
    if (controller.losses() > 0) {
        std::printf("nvmeddp-host: offload %s: the controller was lost %u time(s) and reconnected %u time(s); last "
                    "loss: %s\n",
                    mode, controller.losses(), controller.reconnects(), controller.last_loss().c_str());
    }
    if (device != nullptr && o.caps_toggle > 0) {
        std::printf("nvmeddp-host: offload %s: the device's caps were switched %llu times during the run\n", mode,
                    static_cast<unsigned long long>(toggles));
        device->set_caps(device->supported_caps());
    }
    if (offload_on) host_app::print_sent_digests(mode, run_queues, run_device);
    if (o.expect_digest_errors) {
        std::printf("nvmeddp-host: offload %s: %llu I/Os failed their data digest, as the target meant them to\n", mode,
                    static_cast<unsigned long long>(digest_failures));
        if (digest_failures == 0) {
            std::printf("nvmeddp-host: FAILED: --expect-digest-errors, but no I/O failed its data digest\n");
            ok = false;
        }
    }
    if (!o.quiet) print_connections(controller, dpdk, mode);
    controller.shutdown();
    const uint64_t end = now_ms() + 3000;
    while (controller.state() != nvmetcp::host::ControllerState::Idle && now_ms() < end) group.pump();
    if (offload && !o.quiet) std::printf("nvmeddp-host: offload on: %s\n", offload->summary().c_str());
    if (offload && offload->failed_adds() > 0) {
        std::printf("nvmeddp-host: FAILED: %s\n", offload->last_error().c_str());
        ok = false;
    }
    return ok;
}

// Asks the target's discovery controller what it offers (as `nvme discover` does); without
// --subnqn the first NVM subsystem reachable over TCP is the one to connect to. False: no answer.
bool discover(Options& o, nvmetcp::host::TransportFactory& factory, const std::function<bool()>& move) {
    nvmetcp::host::ControllerConfig cc;
    if (!o.hostnqn.empty()) cc.hostnqn = o.hostnqn;
    nvmetcp::host::DiscoveryClient client(cc, factory);
    std::string err;
    if (!client.start(&err)) {
        std::printf("nvmeddp-host: discovery: %s\n", err.c_str());
        return false;
    }
    using State = nvmetcp::host::DiscoveryClient::State;
    const uint64_t deadline = now_ms() + 10000;
    while ((client.state() == State::Connecting || client.state() == State::ReadingLog) && now_ms() < deadline) {
        move();
        client.poll(now_ms());
    }
    if (client.state() != State::Done) {
        std::printf("nvmeddp-host: discovery at %s:%s: %s\n", o.traddr.c_str(), o.trsvcid.c_str(),
                    client.state() == State::Failed ? client.failure().c_str() : "no answer within 10 s");
        return false;
    }
    std::printf("nvmeddp-host: discovery log of %s:%s (generation %llu): %zu entr%s\n", o.traddr.c_str(),
                o.trsvcid.c_str(), static_cast<unsigned long long>(client.generation()), client.entries().size(),
                client.entries().size() == 1 ? "y" : "ies");
    std::string chosen;
    for (const auto& e : client.entries()) {
        const bool nvm_tcp = e.subtype == nvmetcp::nvme::subtype::kNvmSubsystem && e.trtype == nvmetcp::nvme::trtype::kTcp;
        std::printf("  trtype %s adrfam %s subtype %s traddr %s trsvcid %s subnqn %s\n",
                    e.trtype == nvmetcp::nvme::trtype::kTcp ? "tcp" : std::to_string(e.trtype).c_str(),
                    e.adrfam == nvmetcp::nvme::adrfam::kIpv6 ? "ipv6" : "ipv4",
                    e.subtype == nvmetcp::nvme::subtype::kNvmSubsystem ? "nvme subsystem"
                    : e.subtype == nvmetcp::nvme::subtype::kCurrentDiscovery ? "current discovery subsystem"
                                                                             : "discovery subsystem referral",
                    e.traddr.c_str(), e.trsvcid.c_str(), e.subnqn.c_str());
        if (chosen.empty() && nvm_tcp) chosen = e.subnqn;
    }
    if (o.subnqn.empty()) {
        if (chosen.empty()) {
            std::printf("nvmeddp-host: the discovery log names no NVM subsystem over TCP: give --subnqn\n");
            return false;
        }
        o.subnqn = chosen;
        std::printf("nvmeddp-host: connecting to %s (the first NVM subsystem the log names)\n", o.subnqn.c_str());
    }
    return true;
}

// Discovery when asked for (or needed: no --subnqn), then the runs; false when anything failed.
bool run_all(Options& o, nvmetcp::host::TransportFactory& factory, const std::function<bool()>& move,
             nvmetcp::host::HostStack* stack, std::vector<Row>& rows) {
    if (o.discover || o.subnqn.empty()) {
        if (!discover(o, factory, move)) return false;
        if (o.discover) return true;
    }
    bool ok = true;
    for (int pass = 0; pass < 2; ++pass) {
        const bool on = pass == 1;
        if ((on && o.offload == host_app::OffloadMode::Off) || (!on && o.offload == host_app::OffloadMode::On)) continue;
        ok = run_mode(o, on, factory, move, on && stack != nullptr ? stack->device() : nullptr, stack, rows) && ok;
    }
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    // Line by line even into a pipe: a run killed by a test's timeout still shows how far it got.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    Options o;
    std::string message;
    switch (host_app::parse_options(argc, argv, o, message)) {
        case host_app::ParseOutcome::Help: host_app::print_usage(argv[0]); return 0;
        case host_app::ParseOutcome::Error: std::fprintf(stderr, "nvmeddp-host: %s\n", message.c_str()); return 2;
        case host_app::ParseOutcome::Run: break;
    }
    uint64_t port_number = 0;
    cli::parse_u64(o.trsvcid.c_str(), 1, 65535, port_number);
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> command_log(nullptr, &std::fclose);
    if (!o.log_commands.empty()) {
        command_log.reset(std::fopen(o.log_commands.c_str(), "w"));
        if (!command_log) {
            std::fprintf(stderr, "nvmeddp-host: --log-commands %s: %s\n", o.log_commands.c_str(), std::strerror(errno));
            return 2;
        }
    }
    g_command_log = command_log.get();
    std::vector<Row> rows;
    // The device's own (the port's devargs set it when the port runs the offload itself).
    uint32_t io_threshold = o.ddp_io_threshold;
    bool ok = true;
    if (o.kernel_tcp) {
        nvmetcp::host::SocketTransportFactory sockets(o.traddr, static_cast<uint16_t>(port_number));
        auto move = [&]() {
            sockets.poll(0);
            return true;
        };
        ok = run_all(o, sockets, move, nullptr, rows);
    } else {
        nvmetcp::host::HostStackConfig sc;
        std::string e = stack_config(o, sc);
        std::unique_ptr<nvmetcp::host::HostStack> s;
        if (e.empty()) s = nvmetcp::host::HostStack::create(sc, &e);
        if (!s) {
            std::fprintf(stderr, "nvmeddp-host: %s\n", e.c_str());
            return 1;
        }
        if (rte_lcore_count() < o.lcores) {  // EAL arguments after -- may have named other lcores
            std::fprintf(stderr, "nvmeddp-host: --lcores %u, but the EAL has %u lcore(s) (no -l/--lcores after --)\n",
                         o.lcores, rte_lcore_count());
            return 2;
        }
        if (s->device() != nullptr) io_threshold = s->device()->limits().io_threshold;
        if (s->uses_port_offload() && !o.quiet) {
            std::printf("nvmeddp-host: port %s runs the offload itself: device %s\n", o.port.c_str(), s->device()->name());
        }
        const auto remote = tcp::IpAddress::parse(o.traddr);
        if (!remote) {
            std::fprintf(stderr, "nvmeddp-host: --traddr %s is not an IPv4 or IPv6 address\n", o.traddr.c_str());
            return 2;
        }
        {
            const auto factory = s->transports_to(*remote, static_cast<uint16_t>(port_number));
            auto move = [&]() { return s->poll(); };
            ok = run_all(o, *factory, move, s.get(), rows);
        }
        // No lcore polls any more: the connections finish closing (or are reset), then the device
        // finishes the removals (sk_del) itself.
        if (const uint32_t reset = s->stop_polling(); reset > 0) {
            std::printf("nvmeddp-host: %u connection(s) did not finish closing within %u ms and were reset\n", reset,
                        sc.close_linger_ms);
        }
        if (!o.quiet || !ok) {  // after a failure, its evidence even with --quiet
            std::printf("%s\n", s->endpoints_info().c_str());
            // The port's own counters: frames it lost before anyone polled them show only here.
            if (const std::string line = s->port_counters(); !line.empty()) std::printf("%s\n", line.c_str());
        }
        if (s->shim()) std::printf("%s\n", s->shim()->summary().c_str());
        if (ddp::Device* device = s->device()) {
            const ddp::Stats d = device->stats();
            std::printf("device stats: sk_add %llu sk_del %llu setup %llu setup_fail %llu teardown %llu packets %llu "
                        "placed_bytes %llu digest_offloaded %llu resync_requests %llu resync %llu drop %llu\n",
                        (unsigned long long)d.sk_add, (unsigned long long)d.sk_del, (unsigned long long)d.setup,
                        (unsigned long long)d.setup_fail, (unsigned long long)d.teardown,
                        (unsigned long long)d.packets, (unsigned long long)d.placed_bytes,
                        (unsigned long long)d.digest_offloaded, (unsigned long long)d.resync_requests,
                        (unsigned long long)d.resync, (unsigned long long)d.drop);
            std::printf("device stats: placed_packets %llu; C2HData not placed (or their rest): no registration %llu, "
                        "out of range %llu, torn down %llu, rewrite %llu, behind the host %llu; bad checksum %llu\n",
                        (unsigned long long)d.placed_packets, (unsigned long long)d.place_no_registration,
                        (unsigned long long)d.place_out_of_range, (unsigned long long)d.place_torn_down,
                        (unsigned long long)d.place_rewrite, (unsigned long long)d.place_behind_host,
                        (unsigned long long)d.bad_checksum);
            std::printf("device stats: holes: late placed %llu bytes, digests verified across holes %llu, PDUs untracked %llu, "
                        "framing regained from a retransmitted header %llu, later copies matched %llu claimed %llu\n",
                        (unsigned long long)d.late_placed_bytes, (unsigned long long)d.digest_combined,
                        (unsigned long long)d.gap_untracked, (unsigned long long)d.framing_regained,
                        (unsigned long long)d.copies_matched, (unsigned long long)d.copies_claimed);
            // Every registration was given back: torn down by the host, or with its connection
            // (forced: a run stopped with reads outstanding).
            if (d.setup != d.teardown + d.forced_teardowns || d.sk_add != d.sk_del) {
                std::printf("nvmeddp-host: FAILED: a registration or connection leaked: setups %llu != teardowns %llu + "
                            "forced %llu or sk_add %llu != sk_del %llu\n",
                            (unsigned long long)d.setup, (unsigned long long)d.teardown,
                            (unsigned long long)d.forced_teardowns, (unsigned long long)d.sk_add,
                            (unsigned long long)d.sk_del);
                ok = false;
            }
        }
        s.reset();  // the endpoint, the device, the shim, then the port
    }
    print_table(rows, !o.kernel_tcp);
    if (!o.kernel_tcp && o.offload != host_app::OffloadMode::Off) {
        const bool met = host_app::report_nvme056(rows, io_threshold, o.ddp_caps);
        if (o.expect_nvme056 && !met) {
            std::printf("nvmeddp-host: the offload did not meet blktests nvme/056's bar (see above)\n");
            ok = false;
        }
    }
    if (!ok) std::printf("nvmeddp-host: FAILED (see above)\n");
    else if (o.expect_digest_errors)
        std::printf("nvmeddp-host: every I/O ended as it must: the right bytes, or failed its corrupted data digest\n");
    else std::printf("nvmeddp-host: every I/O completed with the right bytes\n");
    if (!o.kernel_tcp) rte_eal_cleanup();
    return ok ? 0 : 1;
}
