// nvmeddp-shell: a dpdk-testpmd-style interactive program for the nvmeddp offload (ports, rte_flow,
// the DDP device, an NVMe/TCP host). See print_usage() in options.cpp and `help`.
//
// The command line is DPDK's cmdline library. Commands are read one character at a time with
// cmdline_poll() between rounds of the host's pump, so that a connected controller keeps its keep
// alive and timers going while the prompt waits (cmdline_interact() would block in read()).
#include <cmdline.h>
#include <cmdline_socket.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "command_set.hpp"
#include "lifecycle.hpp"
#include "options.hpp"
#include "shell_state.hpp"

namespace {

using namespace nvmeddp::shell;

// SIGINT / SIGTERM end the shell as quit does (the connections closed, sk_del for every sk_add)
// once the running command is done, instead of leaving the target and the terminal to clean up.
volatile std::sig_atomic_t g_signalled = 0;
void on_signal(int) { g_signalled = 1; }

CommandSet make_commands() {
    CommandSet set;
    add_general_commands(set);
    add_port_commands(set);
    add_flow_commands(set);
    add_ddp_commands(set);
    add_nvme_commands(set);
    return set;
}

// The commands of --cmdline-file, each run as it is read (they pump the host themselves).
bool run_file(ShellState& s, CommandSet& commands) {
    cmdline* cl = cmdline_file_new(commands.context(), s.options.prompt.c_str(), s.options.cmdline_file.c_str());
    if (cl == nullptr) {
        std::printf("--cmdline-file %s: cannot open: %s\n", s.options.cmdline_file.c_str(), std::strerror(errno));
        return false;
    }
    cmdline_interact(cl);
    cmdline_free(cl);
    std::printf("\n");
    return true;
}

// Commands from stdin until quit or its end; the host is pumped while nothing arrives.
void run_stdin(ShellState& s, CommandSet& commands) {
    cmdline* cl = cmdline_stdin_new(commands.context(), s.options.prompt.c_str());
    if (cl == nullptr) {
        std::printf("cannot read commands from stdin\n");
        return;
    }
    while (!s.quit && !g_signalled) {
        pollfd in{STDIN_FILENO, POLLIN, 0};
        // A short wait keeps the keep alive and TCP timers on time without spinning a core.
        const int ready = ::poll(&in, 1, 1);
        if (ready > 0) {
            const int status = cmdline_poll(cl);  // one character (or the end of stdin: an implicit quit)
            if (status < 0 || status == RDLINE_EXITED) break;
        } else if (ready < 0 && errno != EINTR) {
            break;
        }
        s.pump();
    }
    cmdline_stdin_exit(cl);
    std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
    // Line by line: the command line library echoes with write(2), our output must not lag behind it.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    ShellState s;
    std::string message;
    switch (parse_options(argc, argv, s.options, message)) {
        case ParseOutcome::Help: print_usage(argv[0]); return 0;
        case ParseOutcome::Error: std::fprintf(stderr, "nvmeddp-shell: %s\n", message.c_str()); return 2;
        case ParseOutcome::Run: break;
    }
    set_state(&s);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    if (std::string e = start_shell(s); !e.empty()) {
        std::fprintf(stderr, "nvmeddp-shell: %s\n", e.c_str());
        end_shell(s);
        return 1;
    }
    CommandSet commands = make_commands();
    if (!s.options.cmdline_file.empty()) run_file(s, commands);
    if (!s.quit && !g_signalled) run_stdin(s, commands);
    if (g_signalled) std::printf("Signal received: quitting\n");
    const bool clean = end_shell(s);
    std::printf("Bye%s\n", clean ? "" : " (not everything ended cleanly, see above)");
    return clean ? 0 : 1;
}
