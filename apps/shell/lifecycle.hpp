// The shell's startup and its end.
//
// Ports: the NVMe/TCP host's port (--port, when --local-ip is given) is configured and started by
// the HostStack, which needs it configured its own way (one queue pair, its mbuf pool, MARK
// negotiation) and closes it when it goes; `port stop` / `port start` then only stop and start it
// (the configuration stays), and stop is refused while a controller is connected. Every other port
// is configured by the shell with one queue pair and started, as dpdk-testpmd does, so that `show`
// and `flow` have a started port to act on. Nobody polls those ports; they are for rte_flow only.
#pragma once

#include <string>

#include "shell_state.hpp"

namespace nvmeddp::shell {

// Initialises the EAL and brings the ports up. Empty on success, else why not.
std::string start_shell(ShellState& s);

// Disconnects, destroys the shell's rte_flow rules, stops the stack (sk_del for every sk_add:
// printed and checked), closes the ports and the EAL. False when something did not end cleanly.
bool end_shell(ShellState& s);

}  // namespace nvmeddp::shell
