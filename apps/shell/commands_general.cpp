// help and quit.
#include <cmdline.h>
#include <cmdline_parse_string.h>

#include <cstdio>

#include "command_set.hpp"
#include "shell_state.hpp"

namespace nvmeddp::shell {

namespace {

const CommandSet* g_commands = nullptr;  // for `help`; the set outlives the command line

struct WordResult {
    cmdline_fixed_string_t word;
};

cmdline_parse_token_string_t help_word = TOKEN_STRING_INITIALIZER(WordResult, word, "help");
cmdline_parse_token_string_t quit_word = TOKEN_STRING_INITIALIZER(WordResult, word, "quit");

void on_help(void*, struct cmdline*, void*) {
    std::printf("Commands (TAB completes, ? after a word shows what may follow):\n");
    for (const char* help : g_commands->help_strings()) std::printf("  %s\n", help);
}

void on_quit(void*, struct cmdline* cl, void*) {
    state().quit = true;
    cmdline_quit(cl);
}

}  // namespace

void add_general_commands(CommandSet& set) {
    g_commands = &set;
    set.add(on_help, "help: list the commands", {&help_word});
    set.add(on_quit, "quit: disconnect, close the ports and exit", {&quit_word});
}

}  // namespace nvmeddp::shell
