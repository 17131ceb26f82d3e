// What the shell's commands act on: the options, the host stack on its port, the connected
// controller, the rte_flow rules created from the shell, and which ports are started.
//
// One ShellState per process (the cmdline library's handlers get no context of ours): main() makes
// it and set_state() publishes it; the commands reach it through state().
#pragma once

#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_mempool.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nvme_session.hpp"
#include "nvmetcp/host/dpdk/host_stack.hpp"
#include "options.hpp"

namespace nvmeddp::shell {

// A rule created by `flow create`; its id is the shell's (testpmd-style), per port, from 0.
struct FlowRule {
    uint32_t id = 0;
    rte_flow* flow = nullptr;
    uint32_t priority = 0;
    std::string text;  // the pattern and actions as the user gave them
};

struct PortFlows {
    std::vector<FlowRule> rules;
    uint32_t next_id = 0;
};

struct ShellState {
    Options options;
    // The NVMe/TCP host's stack on options.port: made at startup when --local-ip is given. It
    // configured and started that port and closes it when destroyed.
    std::unique_ptr<nvmetcp::host::HostStack> stack;
    std::unique_ptr<NvmeSession> session;  // null while disconnected
    std::map<uint16_t, PortFlows> flows;
    std::array<bool, RTE_MAX_ETHPORTS> started{};      // by the shell or the stack, not stopped since
    std::array<bool, RTE_MAX_ETHPORTS> shell_owned{};  // configured by the shell (closed by it at the end)
    rte_mempool* pool = nullptr;  // rx buffers of the ports the shell configured
    bool quit = false;            // `quit` was given (in the command file or on stdin)

    bool is_stack_port(uint16_t port_id) const noexcept { return stack && stack->port_id() == port_id; }
    // One round of everything that must run while the prompt waits: the connected controller (keep
    // alive, timers) or, without one, the stack's port (ARP, connections closing). Never a stopped port.
    void pump();
};

ShellState& state();
void set_state(ShellState* s) noexcept;

// True when port_id is a port the shell can use; otherwise prints why and returns false.
bool check_port(uint16_t port_id);

}  // namespace nvmeddp::shell
