// The shell's commands as DPDK's cmdline library wants them: a null-terminated array of instances,
// each a handler, a help string and its tokens.
//
// Instances are built at run time (not as static initialisers) because cmdline_parse_inst_t ends
// in a flexible array of tokens, which C++ cannot initialise statically. Each commands_*.cpp file
// adds its topic's commands through add(); `help` prints every help string in that order.
#pragma once

#include <cmdline_parse.h>

#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <vector>

namespace nvmeddp::shell {

using Handler = void (*)(void* parsed, struct cmdline* cl, void* data);

class CommandSet {
public:
    CommandSet() { context_.push_back(nullptr); }
    // tokens: pointers to cmdline_parse_token_*_t objects that live as long as the set.
    void add(Handler handler, const char* help, std::initializer_list<void*> tokens);
    cmdline_parse_ctx_t* context() noexcept { return context_.data(); }
    // Every command's help string, in the order they were added.
    std::vector<const char*> help_strings() const;

private:
    struct FreeInstance {
        void operator()(cmdline_parse_inst_t* p) const noexcept { std::free(p); }
    };
    std::vector<std::unique_ptr<cmdline_parse_inst_t, FreeInstance>> owned_;
    std::vector<cmdline_parse_inst_t*> context_;  // what cmdline_new takes, null-terminated
};

// The topics (commands_*.cpp).
void add_general_commands(CommandSet& set);  // help, quit
void add_port_commands(CommandSet& set);     // show port ..., port start|stop
void add_flow_commands(CommandSet& set);     // flow create|list|destroy|query|flush
void add_ddp_commands(CommandSet& set);      // ddp caps, show ddp stats|conn
void add_nvme_commands(CommandSet& set);     // connect, disconnect, read, write

}  // namespace nvmeddp::shell
