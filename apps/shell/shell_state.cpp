#include "shell_state.hpp"

#include <cstdio>

namespace nvmeddp::shell {

namespace {
ShellState* g_state = nullptr;
}

ShellState& state() { return *g_state; }
void set_state(ShellState* s) noexcept { g_state = s; }

void ShellState::pump() {
    if (!stack || !started[stack->port_id()]) return;
    if (session) session->pump();
    else stack->poll();
}

bool check_port(uint16_t port_id) {
    if (rte_eth_dev_is_valid_port(port_id)) return true;
    std::printf("Invalid port %u\n", port_id);
    return false;
}

}  // namespace nvmeddp::shell
