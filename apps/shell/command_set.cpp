#include "command_set.hpp"

#include <new>

namespace nvmeddp::shell {

void CommandSet::add(Handler handler, const char* help, std::initializer_list<void*> tokens) {
    const size_t bytes = sizeof(cmdline_parse_inst_t) + (tokens.size() + 1) * sizeof(cmdline_parse_token_hdr_t*);
    auto* inst = static_cast<cmdline_parse_inst_t*>(std::calloc(1, bytes));
    if (inst == nullptr) throw std::bad_alloc();
    inst->f = handler;
    inst->data = nullptr;
    inst->help_str = help;
    size_t i = 0;
    for (void* t : tokens) inst->tokens[i++] = static_cast<cmdline_parse_token_hdr_t*>(t);
    inst->tokens[i] = nullptr;
    owned_.emplace_back(inst);
    context_.back() = inst;
    context_.push_back(nullptr);
}

std::vector<const char*> CommandSet::help_strings() const {
    std::vector<const char*> out;
    for (const auto& inst : owned_) out.push_back(inst->help_str);
    return out;
}

}  // namespace nvmeddp::shell
