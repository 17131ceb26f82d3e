#include "report.hpp"

#include <cstdio>

namespace nvmeddp::host_app {

void add(nvmetcp::host::QueueStats& sum, const nvmetcp::host::QueueStats& s, int sign) {
    auto f = [&](uint64_t& a, uint64_t b) { a = sign > 0 ? a + b : a - b; };
    f(sum.commands, s.commands);
    f(sum.completions, s.completions);
    f(sum.errors, s.errors);
    f(sum.c2h_pdus, s.c2h_pdus);
    f(sum.c2h_bytes, s.c2h_bytes);
    f(sum.bytes_copied, s.bytes_copied);
    f(sum.bytes_placed, s.bytes_placed);
    f(sum.digests_computed, s.digests_computed);
    f(sum.digests_offloaded, s.digests_offloaded);
    f(sum.digest_errors, s.digest_errors);
    f(sum.digests_left_to_device, s.digests_left_to_device);
    f(sum.device_digest_waits, s.device_digest_waits);
}

nvmetcp::host::QueueStats queue_totals(nvmetcp::host::Controller& c) { return c.io_stats(); }

ddp::Stats stats_delta(const ddp::Stats& after, const ddp::Stats& before) {
    ddp::Stats d{};
    const auto* a = reinterpret_cast<const uint64_t*>(&after);
    const auto* b = reinterpret_cast<const uint64_t*>(&before);
    auto* o = reinterpret_cast<uint64_t*>(&d);
    for (size_t i = 0; i < sizeof(ddp::Stats) / sizeof(uint64_t); ++i) o[i] = a[i] - b[i];
    return d;
}

std::string size_text(uint32_t bytes) {
    if (bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
    if (bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
    return std::to_string(bytes) + " B";
}

void print_table(const std::vector<Row>& rows, bool dpdk) {
    std::printf("\n%-8s %-7s %9s %8s %12s %8s %9s %9s %8s %7s\n", "size", "offload", "IOPS", "Gbit/s",
                dpdk ? "busy ms/GiB" : "", "copied", "placed", "dgst sw", "dgst dev", "resync");
    for (const Row& r : rows) {
        const double gib = r.result.bytes / double(1ull << 30);
        const double data = r.queues.bytes_copied + r.queues.bytes_placed;
        const uint64_t digests = r.queues.digests_computed + r.queues.digests_offloaded;
        char busy[32] = "";
        if (dpdk && gib > 0) std::snprintf(busy, sizeof busy, "%.1f", r.busy_seconds * 1e3 / gib);
        std::printf("%-8s %-7s %9.0f %8.2f %12s %7.1f%% %8.1f%% %8.1f%% %8.1f%% %7llu\n", size_text(r.size).c_str(),
                    r.offload ? "on" : "off", r.result.seconds > 0 ? r.result.ios_ok / r.result.seconds : 0.0,
                    r.result.seconds > 0 ? r.result.bytes * 8 / r.result.seconds / 1e9 : 0.0, busy,
                    data > 0 ? 100.0 * r.queues.bytes_copied / data : 0.0,
                    data > 0 ? 100.0 * r.queues.bytes_placed / data : 0.0,
                    digests > 0 ? 100.0 * r.queues.digests_computed / digests : 0.0,
                    digests > 0 ? 100.0 * r.queues.digests_offloaded / digests : 0.0,
                    static_cast<unsigned long long>(r.device.resync));
    }
    std::printf("copied / placed: read data the host copied / found in its buffer already (placed by the device)\n"
                "dgst sw / dgst dev: data digests the host computed / took from the device's verdict\n");
    if (dpdk)
        std::printf("busy ms/GiB: host lcore time in poll rounds that received or sent frames, per GiB read (idle\n"
                    "polling excluded); with the offload on it includes our software device, which runs in the same\n"
                    "lcore's receive path (a NIC with the offload would take that work off the host)\n");
}

void print_sent_digests(const char* mode, const nvmetcp::host::QueueStats& queues, const ddp::Stats& device) {
    if (queues.digests_left_to_device == 0 && device.tx_ddgst_written == 0) return;
    std::printf("nvmeddp-host: offload %s: data digests of sent PDUs: %llu left to the device, %llu written by it, "
                "%llu written again in retransmissions; the send path waited %llu times for acknowledgements, to keep "
                "within the device's memory of them\n",
                mode, static_cast<unsigned long long>(queues.digests_left_to_device),
                static_cast<unsigned long long>(device.tx_ddgst_written),
                static_cast<unsigned long long>(device.tx_ddgst_rewritten),
                static_cast<unsigned long long>(queues.device_digest_waits));
}

bool report_nvme056(const std::vector<Row>& rows, uint32_t io_threshold, uint32_t caps) {
    bool any = false, met = true;
    for (const Row& r : rows) {
        if (!r.offload || !r.port_counted) continue;
        if (!any) {
            std::printf("\nnvme/056 figures (offload on; against the port's rx counters during each run):\n"
                        "%-8s %10s %8s %12s %8s %6s %7s  %s\n",
                        "size", "rx frames", "placed", "rx bytes", "placed", "drop", "resync", "blktests nvme/056 bar");
            any = true;
        }
        const double frames = double(r.port_rx_frames), bytes = double(r.port_rx_bytes);
        const double pkt_pct = frames > 0 ? 100.0 * double(r.device.placed_packets) / frames : 0.0;
        const double byte_pct = bytes > 0 ? 100.0 * double(r.device.placed_bytes) / bytes : 0.0;
        const double drop_pct = frames > 0 ? 100.0 * double(r.device.drop) / frames : 0.0;
        const double resync_pct = frames > 0 ? 100.0 * double(r.device.resync_requests) / frames : 0.0;
        std::string verdict = "not judged (outside 32 KiB..1 MiB)";
        const bool nothing_placed = r.device.placed_packets == 0 && r.device.placed_bytes == 0;
        if ((caps & NVMEDDP_CAP_PLACEMENT) == 0) {
            const bool ok = nothing_placed && r.device.setup_fail == 0;
            verdict = ok ? "met: placement cap off, nothing placed" : "NOT MET: placed or tried to with the cap off";
            met = met && ok;
        } else if (io_threshold > 0 && r.size < io_threshold) {
            const bool ok = nothing_placed && r.device.setup == 0 && r.device.setup_fail == 0;
            verdict = ok ? "met: below the io threshold, nothing placed" : "NOT MET: placed below the io threshold";
            met = met && ok;
        } else if (r.size >= (32u << 10) && r.size <= (1u << 20)) {
            std::string why;
            if (pkt_pct < 95.0) why += " packets < 95%;";
            if (byte_pct < 90.0) why += " bytes < 90%;";
            if (drop_pct >= 5.0) why += " drops >= 5%;";
            if (resync_pct >= 5.0) why += " resyncs >= 5%;";
            if (r.device.setup_fail > 0) why += " setup failures;";
            verdict = why.empty() ? "met (>= 95% packets, >= 90% bytes)" : "NOT MET:" + why;
            met = met && why.empty();
        }
        std::printf("%-8s %10llu %7.1f%% %12llu %7.1f%% %5.1f%% %6.1f%%  %s\n", size_text(r.size).c_str(),
                    static_cast<unsigned long long>(r.port_rx_frames), pkt_pct,
                    static_cast<unsigned long long>(r.port_rx_bytes), byte_pct, drop_pct, resync_pct, verdict.c_str());
    }
    if (!any) {
        std::printf("nvme/056 figures: no offload-on run over a DPDK port to judge\n");
        return false;
    }
    std::printf("placed: packets with bytes the device placed (Linux's rx-nvme-tcp-packets) per frame the port\n"
                "received, and placed payload bytes per byte it received (frames whole, headers included)\n");
    return met;
}

}  // namespace nvmeddp::host_app
