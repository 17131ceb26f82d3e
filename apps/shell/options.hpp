// Command line of nvmeddp-shell: EAL arguments first, then `--` and the shell's own options
// (the order dpdk-testpmd uses).
#pragma once

#include <string>
#include <vector>

namespace nvmeddp::shell {

struct Options {
    std::vector<std::string> eal;  // everything before `--`
    std::string cmdline_file;      // commands run before those from stdin (empty: none)
    std::string port = "net_nvmeddp0";  // the port the NVMe/TCP host uses
    bool port_given = false;       // --port was on the command line (a missing port is then an error)
    std::string local_ip;          // this host's address on that port; empty: no host (connect refused)
    std::string mac;               // this host's MAC; empty: the port's
    std::string hostnqn;           // empty: the controller's default
    unsigned io_timeout_s = 10;    // bound of every wait a command makes
    std::string prompt = "nvmeddp> ";
};

enum class ParseOutcome { Run, Help, Error };

// Reads argv; on Error, `message` says which option is wrong and why.
ParseOutcome parse_options(int argc, char** argv, Options& options, std::string& message);
void print_usage(const char* argv0);

}  // namespace nvmeddp::shell
