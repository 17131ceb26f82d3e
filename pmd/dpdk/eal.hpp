// EAL bring-up with this project's defaults for machines without hugepages or PCI devices.
//
// Defaults: --no-huge (IOVA as VA), --no-pci, -m 512, --no-shconf, --no-telemetry, a file prefix unique to the
// process, EAL logging at warning level. A real NIC host overrides them (hugepages, PCI allow list)
// with its own arguments, which come after the defaults and win.
#pragma once

#include <string>
#include <vector>

namespace nvmeddp::pmd {

struct EalOptions {
    bool no_huge = true;
    bool no_pci = true;
    unsigned memory_mb = 512;
    std::string lcores;                 // -l; empty: EAL's default (all cores)
    std::vector<std::string> vdevs;     // --vdev arguments, e.g. "net_ring0"
    std::vector<std::string> extra;     // anything else, appended last
    std::string program = "nvmeddp";
};

// The EAL argument list these options produce (for logs and --help).
std::vector<std::string> eal_arguments(const EalOptions& options);

// Initialises the EAL once per process. Returns an empty string on success (also when it was
// already initialised by an earlier call), else what went wrong, with DPDK's reason.
std::string init_eal(const EalOptions& options);

bool eal_initialised() noexcept;

// An lcore list for -l: the first n CPUs this process may run on (its affinity), one lcore each, so
// that polling lcores never share a CPU. Empty with *error when there are fewer than n.
std::string first_cpus(unsigned n, std::string* error);

}  // namespace nvmeddp::pmd
