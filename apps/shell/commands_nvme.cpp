// connect, disconnect, read, write: the NVMe/TCP host over the shell's host stack. Writes send the
// namespace pattern (nvmetcp/byte_pattern.hpp) of the blocks they write and reads check every byte
// against it, so against nvmeddp-target (whose RAM namespace holds that pattern) any read is
// checkable and writes keep it so.
#include <cmdline_parse_num.h>
#include <cmdline_parse_string.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "command_set.hpp"
#include "common/cli.hpp"
#include "ddp_text.hpp"
#include "nvmetcp/byte_pattern.hpp"
#include "nvmetcp/nvme_data.hpp"
#include "shell_state.hpp"

namespace nvmeddp::shell {

namespace {

struct ConnectResult {
    cmdline_fixed_string_t connect, traddr;
    uint16_t trsvcid;
    cmdline_fixed_string_t subnqn;
    cmdline_multi_string_t options;
};
cmdline_parse_token_string_t connect_word = TOKEN_STRING_INITIALIZER(ConnectResult, connect, "connect");
cmdline_parse_token_string_t connect_traddr = TOKEN_STRING_INITIALIZER(ConnectResult, traddr, nullptr);
cmdline_parse_token_num_t connect_trsvcid = TOKEN_NUM_INITIALIZER(ConnectResult, trsvcid, RTE_UINT16);
cmdline_parse_token_string_t connect_subnqn = TOKEN_STRING_INITIALIZER(ConnectResult, subnqn, nullptr);
cmdline_parse_token_string_t connect_options = TOKEN_STRING_INITIALIZER(ConnectResult, options, TOKEN_STRING_MULTI);

struct WordResult {
    cmdline_fixed_string_t word;
};
cmdline_parse_token_string_t disconnect_word = TOKEN_STRING_INITIALIZER(WordResult, word, "disconnect");

struct IoResult {
    cmdline_fixed_string_t op;
    uint64_t lba;
    uint32_t blocks;
    cmdline_fixed_string_t qid_word;
    uint16_t qid;
};
cmdline_parse_token_string_t io_op = TOKEN_STRING_INITIALIZER(IoResult, op, "read#write");
cmdline_parse_token_num_t io_lba = TOKEN_NUM_INITIALIZER(IoResult, lba, RTE_UINT64);
cmdline_parse_token_num_t io_blocks = TOKEN_NUM_INITIALIZER(IoResult, blocks, RTE_UINT32);
cmdline_parse_token_string_t io_qid_word = TOKEN_STRING_INITIALIZER(IoResult, qid_word, "qid");
cmdline_parse_token_num_t io_qid = TOKEN_NUM_INITIALIZER(IoResult, qid, RTE_UINT16);

// "queues N", "digest none|header|data|both", in any order.
bool parse_connect_options(const char* text, ConnectRequest& req, std::string& error) {
    std::istringstream in(text);
    std::string word, value;
    while (in >> word) {
        if (!(in >> value)) {
            error = "'" + word + "' needs a value";
            return false;
        }
        uint64_t v = 0;
        if (word == "queues") {
            if (!cli::parse_u64(value.c_str(), 1, 8, v)) {
                error = "queues needs a number from 1 to 8, got '" + value + "'";
                return false;
            }
            req.io_queues = static_cast<uint16_t>(v);
        } else if (word == "digest") {
            if (value == "none") req.header_digest = req.data_digest = false;
            else if (value == "header") req.header_digest = true, req.data_digest = false;
            else if (value == "data") req.header_digest = false, req.data_digest = true;
            else if (value == "both") req.header_digest = req.data_digest = true;
            else {
                error = "digest needs none, header, data or both, got '" + value + "'";
                return false;
            }
        } else {
            error = "unknown connect option '" + word + "' (queues N, digest none|header|data|both)";
            return false;
        }
    }
    return true;
}

void on_connect(void* parsed, struct cmdline*, void*) {
    const auto* r = static_cast<ConnectResult*>(parsed);
    ShellState& s = state();
    if (!s.stack) {
        std::printf("No NVMe/TCP host: start the shell with --local-ip (and --port, default net_nvmeddp0)\n");
        return;
    }
    if (s.session) {
        std::printf("Connected already (to %s): disconnect first\n", s.session->request().subnqn.c_str());
        return;
    }
    if (!s.started[s.stack->port_id()]) {
        std::printf("Port %u is stopped: port start %u first\n", s.stack->port_id(), s.stack->port_id());
        return;
    }
    ConnectRequest req;
    req.traddr = r->traddr;
    req.trsvcid = r->trsvcid;
    req.subnqn = r->subnqn;
    req.hostnqn = s.options.hostnqn;
    std::string error;
    if (!parse_connect_options(r->options, req, error)) {
        std::printf("Bad arguments: %s\n", error.c_str());
        return;
    }
    s.session = NvmeSession::connect(*s.stack, req, s.options.io_timeout_s, &error);
    if (!s.session) {
        std::printf("connect to %s at %s:%u failed: %s\n", req.subnqn.c_str(), req.traddr.c_str(), req.trsvcid,
                    error.c_str());
        return;
    }
    nvmetcp::host::Controller& c = s.session->controller();
    std::printf("Connected to %s at %s:%u: %s, cntlid %u, namespace %u: %" PRIu64 " blocks of %u bytes, %u I/O queue(s), "
                "header digest %s, data digest %s\n",
                req.subnqn.c_str(), req.traddr.c_str(), req.trsvcid,
                nvmetcp::nvme::field_text(c.identify().mn, sizeof c.identify().mn).c_str(), c.admin_queue().cntlid(),
                c.nsid(), c.namespace_blocks(), c.block_size(), c.io_queue_count(), req.header_digest ? "on" : "off",
                req.data_digest ? "on" : "off");
    if (const ddp::Device* d = s.stack->device()) {
        std::printf("Offload: %s, caps %s, %u connection(s) offloaded\n", d->name(), caps_text(d->enabled_caps()).c_str(),
                    s.session->offload() != nullptr ? s.session->offload()->connections() : 0);
    }
}

void on_connect_plain(void* parsed, struct cmdline* cl, void* data) {
    static_cast<ConnectResult*>(parsed)->options[0] = '\0';  // no options token: the defaults
    on_connect(parsed, cl, data);
}

void on_disconnect(void*, struct cmdline*, void*) {
    ShellState& s = state();
    if (!s.session) {
        std::printf("Not connected\n");
        return;
    }
    std::vector<std::string> report;
    s.session->disconnect(&report);
    s.session.reset();
    for (const auto& line : report) std::printf("disconnect: %s\n", line.c_str());
    std::printf("Disconnected\n");
}

void run_io(const IoResult& r, uint16_t qid) {
    ShellState& s = state();
    if (!s.session) {
        std::printf("Not connected\n");
        return;
    }
    const bool write = !std::strcmp(r.op, "write");
    nvmetcp::host::Controller& c = s.session->controller();
    const uint64_t first_byte = r.lba * c.block_size();
    const uint64_t bytes = uint64_t{r.blocks} * c.block_size();
    std::vector<uint8_t> data;
    if (write && bytes <= (4u << 20)) {
        data.resize(bytes);
        nvmetcp::fill_pattern(nvmetcp::kNamespacePattern, first_byte, data);
    }
    const IoOutcome out = s.session->io(write, r.lba, r.blocks, qid, data);
    char what[256];
    std::snprintf(what, sizeof what, "%s lba %" PRIu64 " blocks %u (%" PRIu64 " bytes) qid %u", write ? "write" : "read", r.lba, r.blocks, bytes,
                  qid);
    if (!out.completed) {
        std::printf("%s: no completion within %u s (the queue fails it when its command timeout passes)\n", what,
                    s.options.io_timeout_s);
        return;
    }
    if (!out.ok) {
        std::printf("%s: failed: %s\n", what, out.failure.c_str());
        return;
    }
    if (write) {
        std::printf("%s: ok\n", what);
        return;
    }
    const size_t bad = nvmetcp::first_mismatch(nvmetcp::kNamespacePattern, first_byte, out.data);
    if (bad < out.data.size()) {
        std::printf("%s: WRONG data at offset %zu: 0x%02x, the pattern has 0x%02x\n", what, bad, out.data[bad],
                    nvmetcp::pattern_byte(nvmetcp::kNamespacePattern, first_byte + bad));
        return;
    }
    std::printf("%s: ok (%" PRIu64 " bytes placed by the device, %" PRIu64 " copied)\n", what, out.bytes_placed,
                out.bytes_copied);
}

void on_io(void* parsed, struct cmdline*, void*) {
    const auto* r = static_cast<IoResult*>(parsed);
    run_io(*r, r->qid);
}

void on_io_first_queue(void* parsed, struct cmdline*, void*) { run_io(*static_cast<IoResult*>(parsed), 1); }

}  // namespace

void add_nvme_commands(CommandSet& set) {
    set.add(on_connect_plain, "connect <traddr> <trsvcid> <subnqn>: connect to an NVMe/TCP controller (1 I/O queue, no digests)",
            {&connect_word, &connect_traddr, &connect_trsvcid, &connect_subnqn});
    set.add(on_connect,
            "connect <traddr> <trsvcid> <subnqn> [queues N] [digest none|header|data|both]: the same with options",
            {&connect_word, &connect_traddr, &connect_trsvcid, &connect_subnqn, &connect_options});
    set.add(on_disconnect, "disconnect: shut the controller down and close its connections",
            {&disconnect_word});
    set.add(on_io_first_queue,
            "read|write <lba> <blocks>: on I/O queue 1; writes send the namespace pattern, reads check every byte",
            {&io_op, &io_lba, &io_blocks});
    set.add(on_io, "read|write <lba> <blocks> qid <N>: the same on I/O queue N",
            {&io_op, &io_lba, &io_blocks, &io_qid_word, &io_qid});
}

}  // namespace nvmeddp::shell
