#include "pmd/dpdk/eal.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <sched.h>
#include <unistd.h>

#include <mutex>

namespace nvmeddp::pmd {

namespace {
std::mutex g_mutex;
bool g_initialised = false;
}  // namespace

std::vector<std::string> eal_arguments(const EalOptions& o) {
    std::vector<std::string> args{o.program};
    if (o.no_huge) args.push_back("--no-huge");
    if (o.no_pci) args.push_back("--no-pci");
    args.push_back("-m");
    args.push_back(std::to_string(o.memory_mb));
    args.push_back("--no-shconf");
    args.push_back("--no-telemetry");
    args.push_back("--file-prefix=nvmeddp-" + std::to_string(getpid()));
    // emplace_back: GCC 12's link-time optimisation warns (falsely) of an overread in push_back's
    // temporary of this literal.
    args.emplace_back("--log-level=lib.eal:warning");
    if (!o.lcores.empty()) {
        args.push_back("-l");
        args.push_back(o.lcores);
    }
    for (const auto& v : o.vdevs) args.push_back("--vdev=" + v);
    args.insert(args.end(), o.extra.begin(), o.extra.end());
    return args;
}

std::string init_eal(const EalOptions& options) {
    std::lock_guard lock(g_mutex);
    if (g_initialised) return {};
    std::vector<std::string> args = eal_arguments(options);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
        std::string cmd;
        for (const auto& a : args) cmd += (cmd.empty() ? "" : " ") + a;
        return std::string("rte_eal_init failed: ") + rte_strerror(rte_errno) + " (arguments: " + cmd + ")";
    }
    g_initialised = true;
    return {};
}

std::string first_cpus(unsigned n, std::string* error) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        *error = "cannot read this process's CPU affinity";
        return {};
    }
    std::string list;
    unsigned found = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && found < n; ++cpu) {
        if (!CPU_ISSET(cpu, &set)) continue;
        list += (found++ == 0 ? "" : ",") + std::to_string(cpu);
    }
    if (found < n) {
        *error = std::to_string(n) + " lcores asked, but this process may run on " + std::to_string(CPU_COUNT(&set)) +
                 " CPU(s): a polling lcore needs a CPU of its own";
        return {};
    }
    return list;
}

bool eal_initialised() noexcept {
    std::lock_guard lock(g_mutex);
    return g_initialised;
}

}  // namespace nvmeddp::pmd
